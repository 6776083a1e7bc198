"""Errors as JSON with a reason (503 while the disk is full), and the role policy of
every route."""

from __future__ import annotations

import datetime as dt
import logging

import msgspec
from aiohttp import web
from sqlalchemy.exc import DataError

from floki_core.api.bodies import ApiError, error_response
from floki_core.api.keys import CORE, PRINCIPAL, ROUTE_SPEC, ROUTES, TOKENS
from floki_core.api.routing import Handler
from floki_core.api.token_cache import StampWriter
from floki_core.core import Core
from floki_core.domain import Principal, Role
from floki_core.errors import Conflict, FlokiError, Forbidden, Invalid, NotFound, NotSaved
from floki_core.storage.accounts import LoginRefused, record_token_use, resolve_token

log = logging.getLogger(__name__)

_STATUS = {NotFound: 404, Forbidden: 403, Conflict: 409, Invalid: 422}
_SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


def _request_name(request: web.Request) -> str:
    """The request as the log names it: its method and route, not the path sent."""
    resource = request.match_info.route.resource
    return f"{request.method} {resource.canonical if resource is not None else '(no route)'}"


@web.middleware
async def errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        response = await handler(request)
    except ApiError as exc:
        return error_response(exc.status, exc.reason, exc.headers)
    except LoginRefused as exc:
        if exc.retry_after is not None:
            retry = {"Retry-After": str(int(exc.retry_after) + 1)}
            return error_response(429, str(exc), retry)
        return error_response(401, str(exc))
    except NotSaved as exc:
        return error_response(503, str(exc), {"Retry-After": "60"})
    except FlokiError as exc:
        return error_response(_STATUS.get(type(exc), 400), str(exc))
    except msgspec.ValidationError as exc:
        return error_response(422, f"invalid value: {exc}")
    except DataError as exc:
        return error_response(422, f"value not accepted by the database: {exc.orig}")
    except web.HTTPException as exc:
        if exc.status >= 400 and exc.content_type != "application/json":
            return error_response(
                exc.status,
                exc.reason,
                {k: v for k, v in exc.headers.items() if k in ("Allow", "Retry-After")},
            )
        raise
    except Exception as exc:
        storage = request.app[CORE].storage
        reason = storage.refused_write(exc, _request_name(request))
        if reason is not None:
            return error_response(503, reason, {"Retry-After": "60"})
        log.exception("%s %s failed", request.method, request.path)
        return error_response(500, "internal error; the appliance log has the details")
    if request.method not in _SAFE_METHODS and response.status < 400:
        await request.app[CORE].storage.wrote()  # while degraded: is there room again?
    return response


def _bearer(request: web.Request) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return None


def allows(policy: str, who: Principal | None) -> bool:
    if policy == "public":
        return True
    if who is None:
        return False
    if policy == "device":
        return who.is_device or who.role is Role.ADMIN
    if who.role is None:  # device tokens reach nothing else
        return False
    return who.role.at_least(Role(policy))


def _stamp_writer(core: Core) -> StampWriter:
    async def write(stamps: dict[int, dt.datetime]) -> None:
        try:
            await core.write(record_token_use, stamps)
        except Exception as exc:
            core.storage.refused_write(exc, "recording when tokens were last used")
            raise  # the token cache keeps the stamps for its next try

    return write


async def flush_token_stamps(app: web.Application) -> None:
    """Write the tokens' last-used stamps kept in memory (on stop, and in tests)."""
    await app[TOKENS].close(_stamp_writer(app[CORE]))


@web.middleware
async def policy(request: web.Request, handler: Handler) -> web.StreamResponse:
    route = request.match_info.route
    if route.resource is None:
        return await handler(request)  # 404/405 from the router itself
    if any("\x00" in v for v in request.query.values()):
        raise ApiError(400, "query parameters may not contain NUL characters")
    spec = request.app[ROUTES].policy_for(route)
    if spec is None:
        # Fail closed: a route that reached the router without a declared policy.
        raise ApiError(403, "route has no access policy")
    who: Principal | None = None
    secret = _bearer(request)
    if secret is not None:
        core = request.app[CORE]
        cache = request.app[TOKENS]
        who = cache.get(secret)
        if who is None:
            generation = cache.generation
            # A read: under WAL it never waits for a writer (an import, a full disk).
            who = await core.read(resolve_token, secret, now=core.clock.now())
            if who is not None:
                # Not if a revocation cleared the cache while this check was running.
                cache.put(secret, who, generation)
        if who is not None and who.token_id is not None:
            cache.note_use(who.token_id, core.clock.now(), _stamp_writer(core))
        if who is None and spec.policy != "public":
            raise ApiError(
                401, "token is invalid, expired or revoked", {"WWW-Authenticate": "Bearer"}
            )
    if not allows(spec.policy, who):
        if who is None:
            raise ApiError(401, "authentication required", {"WWW-Authenticate": "Bearer"})
        raise ApiError(403, f"this needs the {spec.policy} role")
    request[PRINCIPAL] = who
    request[ROUTE_SPEC] = spec
    return await handler(request)
