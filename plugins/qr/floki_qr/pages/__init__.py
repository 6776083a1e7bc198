"""Phone pages served by the appliance: label pages, ward actions, the workshop scan page.

Every route here is registered with the ``public`` policy because the core's middleware
knows bearer tokens only, and a phone's browser carries a session cookie: each handler
is wrapped in ``access.signed_in``, which checks the session, the role and, on every
POST, the form's CSRF token. Login and static files are the only pages open to all.
"""

from __future__ import annotations

from floki_core.sdk import Answer, Param, PluginContext, RouteRegistry
from floki_qr.pages import actions, forms, login, views, workshop
from floki_qr.pages.responses import STATIC_PREFIX, serve_static
from floki_qr.pages.settings import PageSettings
from floki_qr.pages.state import page_state

__all__ = ["PageSettings", "register_page_routes"]

_SIGNED_IN = " (phone page: session cookie; role checked by the page)"


def register_page_routes(registry: RouteRegistry, context: PluginContext) -> None:
    # This appliance's sessions and settings, handed to each of its pages.
    state = page_state(context)
    form = "application/x-www-form-urlencoded"
    html = "text/html"
    label = {400: "the label cannot be read", 404: "the label names nothing in the register"}
    refused = {409: "not possible now; the asset page says why"}
    for path, summary in (
        ("/q/{code}", "Open a Floki label: an asset's or a location's page"),
        ("/8004/{giai}", "Open a GS1 Digital Link asset label (GIAI)"),
        ("/414/{gln}", "Open a GS1 Digital Link location label (GLN)"),
        (
            "/414/{gln}/254/{extension}",
            "Open a GS1 Digital Link location label (GLN with extension)",
        ),
    ):
        registry.add(
            "GET",
            path,
            views.label_page(state),
            policy="public",
            summary=summary + _SIGNED_IN,
            produces=html,
            session_role="viewer",
            answers=label,
        )
    registry.add(
        "GET",
        "/phone",
        views.home(state),
        policy="public",
        summary="Phone pages: start" + _SIGNED_IN,
        produces=html,
        session_role="viewer",
    )
    registry.add(
        "GET",
        "/phone/find",
        views.find_page(state),
        policy="public",
        summary="Open a typed label code or asset number" + _SIGNED_IN,
        produces=html,
        session_role="viewer",
        query=(Param("code", description="a label code or asset number"),),
        answers=label,
    )
    registry.add(
        "GET",
        "/phone/assets/{id}",
        views.asset_by_id(state),
        policy="public",
        summary="An asset's page" + _SIGNED_IN,
        produces=html,
        session_role="viewer",
    )
    for path, handler, summary, body, role in (
        (
            "/phone/assets/{id}/state",
            actions.change_state,
            "Dirty, clean, faulty",
            forms.StateForm,
            "staff",
        ),
        (
            "/phone/assets/{id}/here",
            actions.confirm_zone,
            "It's here: a zone picked",
            forms.HereForm,
            "staff",
        ),
        (
            "/phone/assets/{id}/position",
            actions.confirm_position,
            "It's here: the phone's position, shared with consent",
            forms.PositionForm,
            "staff",
        ),
        ("/phone/assets/{id}/loan", actions.loan_out, "Loan out", forms.LoanForm, "staff"),
        (
            "/phone/assets/{id}/return",
            actions.loan_returned,
            "Returned from loan",
            forms.ReturnForm,
            "staff",
        ),
        (
            "/phone/assets/{id}/ppm",
            actions.ppm_done,
            "PPM done (engineers)",
            forms.PpmForm,
            "engineer",
        ),
    ):
        registry.add(
            "POST",
            path,
            handler(state),
            policy="public",
            summary=summary + _SIGNED_IN,
            produces=html,
            session_role=role,
            status=303,
            body=body,
            body_type=form,
            answers=refused,
        )
    registry.add(
        "POST",
        "/phone/logout",
        login.logout(state),
        policy="public",
        summary="Sign out" + _SIGNED_IN,
        produces=html,
        session_role="viewer",
        body=forms.PageForm,
        body_type=form,
    )
    registry.add(
        "GET",
        "/workshop",
        workshop.workshop_page(state),
        policy="public",
        summary="Workshop scan page (engineers)" + _SIGNED_IN,
        produces=html,
        session_role="engineer",
    )
    registry.add(
        "POST",
        "/workshop/scan",
        workshop.workshop_scan(state),
        policy="public",
        summary="One workshop scan (engineers)" + _SIGNED_IN,
        produces=html,
        session_role="engineer",
        status=303,
        body=forms.ScanForm,
        body_type=form,
        answers={
            200: Answer(
                "the scan's entry, when the request accepts application/json", forms.ScanEntry
            ),
            422: Answer(
                "the scan was not done; the entry says why (application/json)", forms.ScanEntry
            ),
        },
    )
    registry.add(
        "GET",
        "/phone/login",
        login.login_form(state),
        policy="public",
        summary="Sign-in page",
        produces=html,
        query=(Param("next", description="the page to go on to"),),
        answers={303: "signed in already: on to the page asked for"},
    )
    registry.add(
        "POST",
        "/phone/login",
        login.login(state),
        policy="public",
        summary="Sign in",
        produces=html,
        status=303,
        body=forms.LoginForm,
        body_type=form,
        rate_limited=True,
        answers={
            401: "wrong username or password",
            403: "the sign-in form had expired; sign in again",
        },
    )
    registry.add(
        "GET",
        STATIC_PREFIX + "/{name}",
        serve_static,
        policy="public",
        summary="Style sheet and script of the phone pages",
        produces="text/css, text/javascript",
        answers={404: Answer("no such file", media_type="text/html")},
    )
