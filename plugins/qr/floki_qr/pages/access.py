"""Who may see and use a phone page: one decorator for the session, the role and forms.

The core's middleware authenticates bearer tokens; a phone's browser carries a session
cookie instead, so page routes are registered with the ``public`` policy and every one
of them is wrapped in ``signed_in``, which refuses what the middleware would have:
no session (back to the login page), a role too low (403), a forged or stale form (403).
"""

from __future__ import annotations

import functools
import urllib.parse
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

import msgspec
from aiohttp import web

from floki_core.sdk import (
    ApiError,
    Conflict,
    FlokiError,
    Forbidden,
    Invalid,
    NotFound,
    NotSaved,
    PluginContext,
    Principal,
    Role,
    read_raw,
)
from floki_qr.pages import csrf
from floki_qr.pages.responses import message_page, redirect
from floki_qr.pages.sessions import PageSession, session_key
from floki_qr.pages.settings import PageSettings
from floki_qr.pages.state import Handler, PageRoute, PageState

LOGIN_PATH = "/phone/login"
HOME_PATH = "/phone"
# Where a login may send the browser on: our own pages, never another site.
_RETURN_PREFIXES = ("/q/", "/8004/", "/414/", "/phone", "/workshop")

_STATUS: dict[type[FlokiError], int] = {
    NotFound: 404,
    Conflict: 409,
    Forbidden: 403,
    Invalid: 422,
    NotSaved: 503,
}
_TITLES = {
    404: "Not found",
    409: "Not possible now",
    403: "Not allowed",
    422: "Please check",
    503: "Not saved",
}
# A write refused for want of space, as the appliance's health says it.
_FULL_RETRY = {"Retry-After": "60"}


@dataclass(frozen=True)
class Visit:
    """A signed-in request: the page state, the session and the submitted form."""

    state: PageState
    session: PageSession
    form: Mapping[str, str]

    @property
    def context(self) -> PluginContext:
        return self.state.context

    @property
    def settings(self) -> PageSettings:
        return self.state.settings

    @property
    def principal(self) -> Principal:
        return self.session.principal

    def may(self, role: Role) -> bool:
        return self.session.role.at_least(role)

    def field(self, name: str) -> str:
        return self.form.get(name, "").strip()


PageHandler = Callable[[web.Request, Visit], Awaitable[web.StreamResponse]]


def safe_return(target: str | None) -> str:
    """A path on one of our pages, or the home page: a login never redirects off site."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return HOME_PATH
    if any(ord(c) < 32 for c in target):
        return HOME_PATH
    path = urllib.parse.urlsplit(target).path
    if not any(path == p.rstrip("/") or path.startswith(p) for p in _RETURN_PREFIXES):
        return HOME_PATH
    return target


def login_url(target: str) -> str:
    return f"{LOGIN_PATH}?{urllib.parse.urlencode({'next': safe_return(target)})}"


def error_status(exc: FlokiError | msgspec.ValidationError) -> int:
    if isinstance(exc, msgspec.ValidationError):
        return 422
    return next((s for t, s in _STATUS.items() if isinstance(exc, t)), 400)


def error_page(exc: FlokiError | msgspec.ValidationError, session: PageSession) -> web.Response:
    status = error_status(exc)
    response = message_page(
        _TITLES.get(status, "Not possible"),
        str(exc),
        status=status,
        session=session,
        link=(HOME_PATH, "Back to the start"),
    )
    if status == 503:
        response.headers.update(_FULL_RETRY)
    return response


def not_saved_page(
    state: PageState, exc: Exception, what: str, session: PageSession | None = None
) -> web.Response | None:
    """The page for a write a full disk refused (counted and logged by the appliance's
    health, as an API request's is); None if ``exc`` is some other failure."""
    reason = state.context.records.refused_write(exc, what)
    if reason is None:
        return None
    response = message_page(
        "Not saved",
        f"Floki could not save this: {reason}. Nothing was changed; please tell "
        "Clinical Engineering.",
        status=503,
        session=session,
        link=(HOME_PATH, "Back to the start"),
    )
    response.headers.update(_FULL_RETRY)
    return response


async def current_session(state: PageState, request: web.Request) -> PageSession | None:
    """The live session, with the user's role as it is now. A disabled user, a new
    password or a revoked session token signs the phone out."""
    context = state.context
    session = state.sessions.find(session_key(request), context.clock.monotonic())
    if session is None:
        return None
    role = await context.sign_ins.current_role(session.user_id, session.token_id)
    if role is None:
        state.sessions.close(session.key)
        return None
    session.role = role
    return session


async def end_session(state: PageState, key: str) -> None:
    """Sign a phone out: its session here and its token row in the database."""
    session = state.sessions.find(key, state.context.clock.monotonic())
    state.sessions.close(key)
    if session is None or session.token_id is None:
        return
    await state.context.sign_ins.revoke(session.token_id)


FORM_TYPE = "application/x-www-form-urlencoded"
_MAX_FIELDS = 100


class FormRefused(Exception):
    """A POST body that is not one of the pages' forms: answered with a page, not a 500."""

    def __init__(self, status: int, reason: str, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.headers = dict(headers or {})  # e.g. Connection: close after a broken body


def _sentence(reason: str) -> str:
    """An API reason ("the body is ...") as a sentence on a page."""
    text = reason[:1].upper() + reason[1:]
    return text if text.endswith(".") else text + "."


async def read_form(request: web.Request, state: PageState) -> dict[str, str]:
    """The submitted form's fields; the pages only ever send URL-encoded UTF-8 forms.

    Anything else is refused before it is parsed: a multipart parser would accept file
    uploads no page asks for, and its errors on a malformed body are not the client's
    to read.
    """
    if request.content_type != FORM_TYPE:
        raise FormRefused(
            415, f"This page accepts forms sent as {FORM_TYPE}, not {request.content_type}."
        )
    charset = request.charset
    if charset is not None and charset.lower().replace("-", "") != "utf8":
        raise FormRefused(415, f"Forms must be sent in UTF-8, not {charset}.")
    limit = state.context.config.server.max_body_bytes
    try:
        raw = await read_raw(request, limit)  # decoded if sent compressed
    except ApiError as exc:
        raise FormRefused(exc.status, _sentence(exc.reason), exc.headers) from None
    try:
        pairs = urllib.parse.parse_qsl(
            raw.decode("utf-8"),
            keep_blank_values=True,
            strict_parsing=False,
            errors="strict",
            max_num_fields=_MAX_FIELDS,
        )
    except UnicodeDecodeError:
        raise FormRefused(400, "The form is not valid UTF-8 text.") from None
    except ValueError:
        raise FormRefused(413, f"The form has more than {_MAX_FIELDS} fields.") from None
    return dict(pairs)


def form_refused_page(exc: FormRefused, session: PageSession | None = None) -> web.Response:
    response = message_page(
        "Form refused",
        f"{exc.reason} Nothing was changed.",
        status=exc.status,
        session=session,
        link=(HOME_PATH, "Back to the start"),
    )
    response.headers.update(exc.headers)
    return response


def signed_in(
    role: Role = Role.VIEWER, *, back: Callable[[web.Request], str] | None = None
) -> Callable[[PageHandler], PageRoute]:
    """Wrap a page handler: ``role`` at least, and a genuine form on every POST.

    ``back`` names the page to return to after signing in when a POST finds no session.
    """

    def wrap(handler: PageHandler) -> PageRoute:
        def bind(state: PageState) -> Handler:
            @functools.wraps(handler)
            async def guarded(request: web.Request) -> web.StreamResponse:
                return await _guarded(request, state, handler, role, back)

            return guarded

        return bind

    return wrap


async def _guarded(
    request: web.Request,
    state: PageState,
    handler: PageHandler,
    role: Role,
    back: Callable[[web.Request], str] | None,
) -> web.StreamResponse:
    """The session, the role and the form checked, then the page."""
    session = await current_session(state, request)
    posted = request.method == "POST"
    if session is None:
        target = back(request) if back is not None else request.path_qs
        if not posted:
            return redirect(login_url(target))
        return message_page(
            "Signed out",
            "Your session ended, so nothing was changed. Sign in and try again.",
            status=401,
            link=(login_url(target), "Sign in"),
        )
    try:
        form = await read_form(request, state) if posted else {}
    except FormRefused as exc:
        return form_refused_page(exc, session)
    if posted and not csrf.form_is_genuine(request, form, session.csrf):
        return message_page(
            "Form refused",
            "This form did not come from this page or has expired; nothing was "
            "changed. Go back, reload the page and try again.",
            status=403,
            session=session,
        )
    if not session.role.at_least(role):
        return message_page(
            "Not allowed",
            f"This needs the {role.value} role; you are signed in as {session.role.value}.",
            status=403,
            session=session,
            link=(HOME_PATH, "Back to the start"),
        )
    try:
        return await handler(request, Visit(state, session, form))
    except (FlokiError, msgspec.ValidationError) as exc:
        return error_page(exc, session)
    except Exception as exc:
        page = not_saved_page(state, exc, f"{request.method} {request.path}", session)
        if page is None:
            raise
        return page
