"""Signing in and out on a phone: the API's password check and lockout, a session cookie."""

from __future__ import annotations

import datetime as dt

from aiohttp import web
from sqlalchemy.orm import Session

from floki_core.api.routes.accounts import lockout_policy
from floki_core.domain import Principal, Role, TokenKind, User
from floki_core.storage import accounts
from floki_core.storage.audit import write_audit
from floki_core.storage.models import TokenRow
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
from floki_qr.pages.state import PageState, page_state

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


async def login_form(request: web.Request) -> web.StreamResponse:
    state = page_state(request)
    target = safe_return(request.query.get("next"))
    if await current_session(state, request) is not None:
        return redirect(target)
    return _login_page(request, state, target=target)


def _sign_in(
    db: Session,
    username: str,
    password: str,
    now: dt.datetime,
    policy: accounts.LockoutPolicy,
    address: str,
    hours: float,
) -> tuple[User, int] | accounts.LoginRefused:
    """The user and the id of the session token standing for the phone's session.

    The token's secret is never used: the row lets a password reset, a disabled account
    or a revocation end the phone's session as they end API sessions, from any process.
    Refusals are returned, not raised, so the transaction keeps the failure count and its
    audit entry.
    """
    try:
        user = accounts.authenticate(
            db, username, password, now=now, policy=policy, source=address, via="phone page"
        )
    except accounts.LoginRefused as exc:
        return exc
    token, _ = accounts.issue_token(
        db,
        user_id=user.id,
        name="phone page",
        kind=TokenKind.SESSION,
        now=now,
        expires_at=now + dt.timedelta(hours=hours),
        actor=Principal(user_id=user.id, username=user.username, role=user.role),
    )
    return user, token.id


async def login(request: web.Request) -> web.StreamResponse:
    state = page_state(request)
    core = state.core
    try:
        form = await read_form(request)
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
        result = await core.write(
            _sign_in,
            username,
            password,
            core.clock.now(),
            lockout_policy(core.config.security),
            request.remote or "",
            state.settings.session_max_hours,
        )
    except Exception as exc:
        page = not_saved_page(state, exc, "phone sign-in")
        if page is None:
            raise
        return page
    if isinstance(result, accounts.LoginRefused):
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
    user, token_id = result
    previous = session_key(request)
    if previous:  # a phone handed over without signing out: that session ends here
        await end_session(state, previous)
    session = state.sessions.open(
        user_id=user.id,
        username=user.username,
        display_name=user.display_name,
        role=Role(user.role),
        now=core.clock.monotonic(),
        token_id=token_id,
    )
    response = redirect(target)
    set_session_cookie(request, response, session.key)
    csrf.clear_login_token(request, response)
    return response


def _audit_logout(
    db: Session, user_id: int, username: str, token_id: int | None, now: dt.datetime
) -> None:
    if token_id is not None:
        row = db.get(TokenRow, token_id)
        if row is not None and row.revoked_at is None:
            row.revoked_at = now
    write_audit(
        db,
        at=now,
        actor=username,
        action="logout",
        entity="users",
        entity_id=user_id,
        detail="signed out of the phone pages",
    )


@signed_in(Role.VIEWER, back=lambda request: HOME_PATH)
async def logout(request: web.Request, visit: Visit) -> web.StreamResponse:
    core = visit.core
    session = visit.session
    visit.state.sessions.close(session.key)
    await core.write(
        _audit_logout, session.user_id, session.username, session.token_id, core.clock.now()
    )
    response = _login_page(
        request, visit.state, target=HOME_PATH, notices=[Notice("You are signed out.")]
    )
    clear_session_cookie(request, response)
    return response
