"""Login, users and tokens."""

from __future__ import annotations

import datetime as dt

import msgspec
from aiohttp import web
from sqlalchemy.orm import Session

from floki_core import schemas
from floki_core.api.bodies import (
    ApiError,
    Page,
    json_response,
    page_response,
    path_id,
    principal,
    read_json,
)
from floki_core.api.keys import CORE, TOKENS
from floki_core.api.routing import ApiRoute, RouteTable
from floki_core.config import SecurityConfig
from floki_core.domain import Principal, Role, Token, TokenKind, User
from floki_core.errors import FlokiError, NotFound
from floki_core.security.passwords import generate_password
from floki_core.storage import accounts
from floki_core.storage.models import UserRow

PREFIX = "/api/v1"


class LoginResult(msgspec.Struct, kw_only=True):
    token: str
    expires_at: dt.datetime
    user: User


class IssuedToken(msgspec.Struct, kw_only=True):
    token: str  # shown once
    info: Token


class NewUser(msgspec.Struct, kw_only=True):
    user: User
    password: str | None = None  # only when generated


def _login(
    session: Session,
    body: schemas.LoginRequest,
    now: dt.datetime,
    policy: accounts.LockoutPolicy,
    source: str,
    hours: float,
) -> LoginResult | FlokiError:
    # Failures are returned, not raised, so the transaction keeps the failure count.
    try:
        user = accounts.authenticate(
            session, body.username, body.password, now=now, policy=policy, source=source
        )
    except accounts.LoginRefused as exc:
        return exc
    expires = now + dt.timedelta(hours=hours)
    who = Principal(user_id=user.id, username=user.username, role=user.role)
    _, secret = accounts.issue_token(
        session,
        user_id=user.id,
        name="login",
        kind=TokenKind.SESSION,
        now=now,
        expires_at=expires,
        actor=who,
    )
    return LoginResult(token=secret, expires_at=expires, user=user)


def lockout_policy(security: SecurityConfig) -> accounts.LockoutPolicy:
    """The lockout and failed-login limits of ``[security]``, read as every login page
    reads them (``LockoutPolicy.from_security``)."""
    return accounts.LockoutPolicy.from_security(security)


async def login(request: web.Request) -> web.Response:
    body = await read_json(request, schemas.LoginRequest)
    core = request.app[CORE]
    result = await core.write(
        _login,
        body,
        core.clock.now(),
        lockout_policy(core.config.security),
        request.remote or "",
        core.config.security.session_hours,
    )
    if isinstance(result, FlokiError):
        raise result
    return json_response(result)


async def logout(request: web.Request) -> web.Response:
    who = principal(request)
    if who.token_id is not None:
        core = request.app[CORE]
        await core.write(accounts.revoke_token, who.token_id, actor=who, now=core.clock.now())
        request.app[TOKENS].clear()
    return web.Response(status=204)


async def me(request: web.Request) -> web.Response:
    return json_response(principal(request))


async def list_users(request: web.Request) -> web.Response:
    core = request.app[CORE]
    users = await core.read(
        accounts.list_users, now=core.clock.now(), policy=lockout_policy(core.config.security)
    )
    return page_response(users, len(users), len(users), 0)


async def create_user(request: web.Request) -> web.Response:
    body = await read_json(request, schemas.UserCreate)
    core = request.app[CORE]
    password = body.password or generate_password()
    user = await core.write(
        accounts.create_user,
        username=body.username,
        role=body.role,
        password=password,
        display_name=body.display_name,
        actor=principal(request),
        now=core.clock.now(),
    )
    shown = None if body.password else password
    return json_response(NewUser(user=user, password=shown), 201)


async def update_user(request: web.Request) -> web.Response:
    body = await read_json(request, schemas.UserUpdate)
    if not body.given():
        raise ApiError(422, "no fields to change")
    core = request.app[CORE]
    user = await core.write(
        accounts.update_user,
        path_id(request),
        body.given(),
        actor=principal(request),
        now=core.clock.now(),
    )
    request.app[TOKENS].clear()  # a disabled user's tokens stop at once
    return json_response(user)


def _set_password(
    session: Session, user_id: int, password: str, who: Principal, now: dt.datetime
) -> User:
    row = session.get(UserRow, user_id)
    if row is None:
        raise NotFound(f"user {user_id} not found")
    return accounts.set_password(session, row.username, password, actor=who, now=now)


async def reset_password(request: web.Request) -> web.Response:
    body = await read_json(request, schemas.PasswordChange)
    core = request.app[CORE]
    password = body.password or generate_password()
    user = await core.write(
        _set_password, path_id(request), password, principal(request), core.clock.now()
    )
    request.app[TOKENS].clear()  # the user's ended sessions and tokens stop at once
    return json_response(NewUser(user=user, password=None if body.password else password))


def _create_token(
    session: Session, body: schemas.TokenCreate, who: Principal, now: dt.datetime
) -> IssuedToken:
    user_id = who.user_id
    if body.username is not None and body.username != who.username:
        if who.role is not Role.ADMIN:
            raise ApiError(403, "only admins create tokens for other users")
        user_id = accounts.get_user(session, body.username).id
    if body.device and who.role is not Role.ADMIN:
        raise ApiError(403, "only admins create device tokens")
    assert user_id is not None
    expires = now + dt.timedelta(days=body.expires_days) if body.expires_days else None
    kind = TokenKind.DEVICE if body.device else TokenKind.API
    token, secret = accounts.issue_token(
        session,
        user_id=user_id,
        name=body.name,
        kind=kind,
        now=now,
        expires_at=expires,
        actor=who,
    )
    return IssuedToken(token=secret, info=token)


async def create_token(request: web.Request) -> web.Response:
    body = await read_json(request, schemas.TokenCreate)
    core = request.app[CORE]
    issued = await core.write(_create_token, body, principal(request), core.clock.now())
    return json_response(issued, 201)


async def list_tokens(request: web.Request) -> web.Response:
    who = principal(request)
    mine = None if who.role is Role.ADMIN else who.user_id
    tokens = await request.app[CORE].read(accounts.list_tokens, mine)
    return page_response(tokens, len(tokens), len(tokens), 0)


async def revoke_token(request: web.Request) -> web.Response:
    core = request.app[CORE]
    token = await core.write(
        accounts.revoke_token, path_id(request), actor=principal(request), now=core.clock.now()
    )
    request.app[TOKENS].clear()
    return json_response(token)


def add_routes(app: web.Application, table: RouteTable) -> None:
    a, u, t = "auth", "users", "tokens"
    routes = [
        (
            ApiRoute(
                "POST",
                f"{PREFIX}/auth/login",
                "public",
                "Exchange username and password for a session token",
                a,
                body=schemas.LoginRequest,
                response=LoginResult,
                answers={401: "wrong username or password, or the user is disabled"},
                rate_limited=True,  # a username locked from this address, or too many failures
            ),
            login,
        ),
        (
            ApiRoute(
                "POST", f"{PREFIX}/auth/logout", "viewer", "Revoke the token in use", a, status=204
            ),
            logout,
        ),
        (
            ApiRoute(
                "GET",
                f"{PREFIX}/auth/me",
                "viewer",
                "Who the token belongs to",
                a,
                response=Principal,
            ),
            me,
        ),
        (
            ApiRoute("GET", f"{PREFIX}/users", "admin", "List users", u, response=Page[User]),
            list_users,
        ),
        (
            ApiRoute(
                "POST",
                f"{PREFIX}/users",
                "admin",
                "Create a user; a password is generated and returned once if none is given",
                u,
                body=schemas.UserCreate,
                response=NewUser,
                status=201,
                answers={409: "a user of that name exists"},
            ),
            create_user,
        ),
        (
            ApiRoute(
                "PATCH",
                f"{PREFIX}/users/{{id}}",
                "admin",
                "Change a user's role, name or disabled flag",
                u,
                body=schemas.UserUpdate,
                response=User,
                answers={409: "this is the last active admin"},
            ),
            update_user,
        ),
        (
            ApiRoute(
                "POST",
                f"{PREFIX}/users/{{id}}/password",
                "admin",
                "Set or generate a new password: clears lockouts, ends the user's sessions "
                "and API tokens",
                u,
                body=schemas.PasswordChange,
                response=NewUser,
            ),
            reset_password,
        ),
        (
            ApiRoute(
                "GET",
                f"{PREFIX}/tokens",
                "viewer",
                "API and device tokens (yours; every token for admins)",
                t,
                response=Page[Token],
            ),
            list_tokens,
        ),
        (
            ApiRoute(
                "POST",
                f"{PREFIX}/tokens",
                "viewer",
                "Create an API token (admins: for any user, or a device token)",
                t,
                body=schemas.TokenCreate,
                response=IssuedToken,
                status=201,
                answers={404: "no user of that name"},
            ),
            create_token,
        ),
        (
            ApiRoute(
                "DELETE", f"{PREFIX}/tokens/{{id}}", "viewer", "Revoke a token", t, response=Token
            ),
            revoke_token,
        ),
    ]
    for spec, handler in routes:
        table.add(app, spec, handler)
