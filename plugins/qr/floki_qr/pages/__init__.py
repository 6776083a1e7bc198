"""Phone pages served by the appliance: label pages, ward actions, the workshop scan page.

Every route here is registered with the ``public`` policy because the core's middleware
knows bearer tokens only, and a phone's browser carries a session cookie: each handler
is wrapped in ``access.signed_in``, which checks the session, the role and, on every
POST, the form's CSRF token. Login and static files are the only pages open to all.
"""

from __future__ import annotations

from floki_core.plugins.registry import RouteRegistry
from floki_qr.pages import actions, login, views, workshop
from floki_qr.pages.responses import STATIC_PREFIX, serve_static
from floki_qr.pages.settings import PageSettings

__all__ = ["PageSettings", "register_page_routes"]

_SIGNED_IN = " (phone page: session cookie; role checked by the page)"


def register_page_routes(registry: RouteRegistry) -> None:
    routes = [
        (
            "GET",
            "/q/{code}",
            views.label_page,
            "Open a Floki label: an asset's or a location's page",
        ),
        ("GET", "/8004/{giai}", views.label_page, "Open a GS1 Digital Link asset label (GIAI)"),
        ("GET", "/414/{gln}", views.label_page, "Open a GS1 Digital Link location label (GLN)"),
        (
            "GET",
            "/414/{gln}/254/{extension}",
            views.label_page,
            "Open a GS1 Digital Link location label (GLN with extension)",
        ),
        ("GET", "/phone", views.home, "Phone pages: start"),
        ("GET", "/phone/find", views.find_page, "Open a typed label code or asset number"),
        ("GET", "/phone/assets/{id}", views.asset_by_id, "An asset's page"),
        ("POST", "/phone/assets/{id}/state", actions.change_state, "Dirty, clean, faulty"),
        ("POST", "/phone/assets/{id}/here", actions.confirm_zone, "It's here: a zone picked"),
        (
            "POST",
            "/phone/assets/{id}/position",
            actions.confirm_position,
            "It's here: the phone's position, shared with consent",
        ),
        ("POST", "/phone/assets/{id}/loan", actions.loan_out, "Loan out"),
        ("POST", "/phone/assets/{id}/return", actions.loan_returned, "Returned from loan"),
        ("POST", "/phone/assets/{id}/ppm", actions.ppm_done, "PPM done (engineers)"),
        ("POST", "/phone/logout", login.logout, "Sign out"),
        ("GET", "/workshop", workshop.workshop_page, "Workshop scan page (engineers)"),
        ("POST", "/workshop/scan", workshop.workshop_scan, "One workshop scan (engineers)"),
    ]
    for method, path, handler, summary in routes:
        registry.add(method, path, handler, policy="public", summary=summary + _SIGNED_IN)
    registry.add("GET", "/phone/login", login.login_form, policy="public", summary="Sign-in page")
    registry.add("POST", "/phone/login", login.login, policy="public", summary="Sign in")
    registry.add(
        "GET",
        STATIC_PREFIX + "/{name}",
        serve_static,
        policy="public",
        summary="Style sheet and script of the phone pages",
    )
