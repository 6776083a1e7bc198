"""Signing in and out on a phone: the API's password check and lockout, a session cookie."""

from __future__ import annotations

from aiohttp import web

from floki_core.sdk import LoginRefused, Role
from floki_qr.pages import csrf
from floki_qr.pages.access import (
    HOME_PATH,
    FormRefused,
    Visit,
    current_session,
    end_session,
    form_refused_page,
    not_saved_page,
    read_form,
    safe_return,
    signed_in,
)
from floki_qr.pages.markup import render
from floki_qr.pages.responses import page, redirect
from floki_qr.pages.sessions import (
    Notice,
    clear_session_cookie,
    session_key,
    set_session_cookie,
)
from floki_qr.pages.state import PageState, open_page

_MAX_FIELD = 200


def _login_page(
    request: web.Request,
    state: PageState,
    *,
    target: str,
    username: str = "",
    notices: list[Notice] | None = None,
    status: int = 200,
) -> web.Response:
    token = csrf.new_login_token()
    minutes = state.settings.session_idle_minutes
    body = render(
        "login.html",
        csrf=token,
        next=target,
        username=username,
        idle=f"{minutes:g} minute" + ("" if minutes == 1 else "s"),
    )
    response = page("Sign in", body, notices=notices or [], status=status)
    csrf.set_login_token(request, response, token)
    return response


@open_page
async def login_form(request: web.Request, state: PageState) -> web.StreamResponse:
    target = safe_return(request.query.get("next"))
    if await current_session(state, request) is not None:
        return redirect(target)
    return _login_page(request, state, target=target)


@open_page
async def login(request: web.Request, state: PageState) -> web.StreamResponse:
    context = state.context
    try:
        form = await read_form(request, state)
    except FormRefused as exc:
        return form_refused_page(exc)
    target = safe_return(form.get("next"))
    username = form.get("username", "").strip()[:_MAX_FIELD]
    password = form.get("password", "")
    if not csrf.login_form_is_genuine(request, form):
        notice = Notice("The sign-in form had expired; please sign in again.", error=True)
        return _login_page(
            request, state, target=target, username=username, notices=[notice], status=403
        )
    if not username or not password or len(password) > _MAX_FIELD:
        notice = Notice("Enter your username and password.", error=True)
        return _login_page(
            request, state, target=target, username=username, notices=[notice], status=422
        )
    try:
        # The token's secret is never used: it lets a password reset, a disabled
        # account or a revocation end the phone's session as they end API sessions.
        result = await context.sign_ins.sign_in(
            username,
            password,
            address=request.remote or "",
            via="phone page",
            hours=state.settings.session_max_hours,
        )
    except Exception as exc:
        page = not_saved_page(state, exc, "phone sign-in")
        if page is None:
            raise
        return page
    if isinstance(result, LoginRefused):
        locked = result.retry_after is not None
        response = _login_page(
            request,
            state,
            target=target,
            username=username,
            notices=[Notice(str(result), error=True)],
            status=429 if locked else 401,
        )
        if result.retry_after is not None:
            response.headers["Retry-After"] = str(int(result.retry_after) + 1)
        return response
    previous = session_key(request)
    if previous:  # a phone handed over without signing out: that session ends here
        await end_session(state, previous)
    session = state.sessions.open(
        user_id=result.user_id,
        username=result.username,
        display_name=result.display_name,
        role=Role(result.role),
        now=context.clock.monotonic(),
        token_id=result.token_id,
    )
    response = redirect(target)
    set_session_cookie(request, response, session.key)
    csrf.clear_login_token(request, response)
    return response


@signed_in(Role.VIEWER, back=lambda request: HOME_PATH)
async def logout(request: web.Request, visit: Visit) -> web.StreamResponse:
    session = visit.session
    visit.state.sessions.close(session.key)
    await visit.context.sign_ins.sign_out(
        user_id=session.user_id,
        username=session.username,
        token_id=session.token_id,
        detail="signed out of the phone pages",
    )
    response = _login_page(
        request, visit.state, target=HOME_PATH, notices=[Notice("You are signed out.")]
    )
    clear_session_cookie(request, response)
    return response
