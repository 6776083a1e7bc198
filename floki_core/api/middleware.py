"""Errors as JSON with a reason, the role policy of every route, and the appliance's
answer to a full disk."""

from __future__ import annotations

import asyncio
import datetime as dt
import errno
import logging
import os
import sqlite3
from pathlib import Path

import msgspec
from aiohttp import web
from sqlalchemy.exc import DataError, DBAPIError

from floki_core.api.bodies import ApiError, error_response
from floki_core.api.keys import CORE, PRINCIPAL, ROUTE_SPEC, ROUTES, TOKENS
from floki_core.api.routing import Handler
from floki_core.api.token_cache import StampWriter
from floki_core.core import Core
from floki_core.domain import Principal, Role
from floki_core.errors import Conflict, FlokiError, Forbidden, Invalid, NotFound
from floki_core.storage.accounts import LoginRefused, record_token_use, resolve_token

log = logging.getLogger(__name__)

_STATUS = {NotFound: 404, Forbidden: 403, Conflict: 409, Invalid: 422}


# --- a full disk ---------------------------------------------------------------------

DISK_FULL = "disk_full"
_LOCAL_FULL = (
    "the appliance's disk is full, so nothing can be saved; free space on it (old "
    "backups, exports, logs) and try again"
)
_SERVER_FULL = (
    "the database server's disk is full, so nothing can be saved; free space on it and try again"
)
_SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
PROBE_BYTES = 256 * 1024


def disk_full_cause(exc: BaseException | None) -> str | None:
    """Where a full disk stopped ``exc`` (or what it wraps): "sqlite", "postgresql" or
    "files"; None if it is some other failure."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
            return "files"
        if isinstance(exc, sqlite3.Error) and (
            getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL
            or "database or disk is full" in str(exc)
        ):
            return "sqlite"
        if getattr(exc, "sqlstate", None) == "53100":  # PostgreSQL's disk_full
            return "postgresql"
        exc = exc.orig if isinstance(exc, DBAPIError) else (exc.__cause__ or exc.__context__)
    return None


def probe_free_space(directory: Path) -> None:
    """Raise OSError (ENOSPC) unless a small file can be written and synced here."""
    probe = directory / ".floki-space-probe"
    try:
        with probe.open("wb") as out:
            out.write(bytes(PROBE_BYTES))
            out.flush()
            os.fsync(out.fileno())
    finally:
        probe.unlink(missing_ok=True)


class StorageHealth:
    """Whether the appliance can save what it is given.

    A write refused for want of space makes it ``degraded``: such requests answer 503
    with the reason, health and metrics say so, and the log says it once, then at most
    once per ``log_seconds`` with the count refused meanwhile. It recovers by itself: a
    write that goes through, or (SQLite, files) a probe of the disk, run at most every
    ``probe_seconds`` when health or metrics are asked, that finds space again.
    """

    def __init__(self, log_seconds: float = 60.0, probe_seconds: float = 5.0) -> None:
        self.log_seconds = log_seconds
        self.probe_seconds = probe_seconds
        self.where: str | None = None  # "sqlite", "postgresql" or "files" while full
        self.refused = 0  # requests refused for a full disk since start
        self._unlogged = 0
        self._logged_at = 0.0
        self._probed_at = 0.0

    @property
    def degraded(self) -> bool:
        return self.where is not None

    @property
    def reason(self) -> str | None:
        if self.where is None:
            return None
        return _SERVER_FULL if self.where == "postgresql" else _LOCAL_FULL

    def problems(self) -> list[str]:
        return [] if self.reason is None else [self.reason]

    def record_full(self, where: str, now: float) -> str:
        """A write was refused for want of space; returns the reason to answer."""
        self.refused += 1
        if self.where is None:
            self.where, self._logged_at, self._probed_at, self._unlogged = where, now, now, 0
            log.error("%s; writes are refused until there is space again", self.reason)
        elif now - self._logged_at >= self.log_seconds:
            log.warning(
                "disk still full: %d writes refused in the last %.0f s",
                self._unlogged + 1,
                now - self._logged_at,
            )
            self._logged_at, self._unlogged = now, 0
        else:
            self._unlogged += 1
        return self.reason or _LOCAL_FULL

    def record_space(self) -> None:
        if self.where is not None:
            self.where = None
            log.warning("disk space is back: writes are accepted again")

    async def recheck(self, directory: Path | None, now: float) -> None:
        """While degraded, look whether space is back (not more often than
        ``probe_seconds``); ``directory``: where to look, None to wait for a write."""
        if self.where is None or directory is None or now - self._probed_at < self.probe_seconds:
            return
        self._probed_at = now
        try:
            await asyncio.to_thread(probe_free_space, directory)
        except OSError as exc:
            if exc.errno not in (errno.ENOSPC, errno.EDQUOT):
                log.warning("cannot check the free space in %s: %s", directory, exc)
            return
        self.record_space()


def probe_directory(core: Core, storage: StorageHealth) -> Path | None:
    """Where space is missing: the SQLite database's folder or the data directory; None
    for a PostgreSQL server's disk, which only a write that goes through can show."""
    if storage.where == "postgresql":
        return None
    if storage.where == "sqlite" and core.db.backend == "sqlite":
        database = core.db.engine.url.database
        if database:
            return Path(database).parent
    return core.data_dir


STORAGE: web.AppKey[StorageHealth] = web.AppKey("storage_health", StorageHealth)


def _disk_full(request: web.Request, where: str) -> web.Response:
    storage = request.app.get(STORAGE)
    if storage is None:
        reason = _SERVER_FULL if where == "postgresql" else _LOCAL_FULL
    else:
        reason = storage.record_full(where, request.app[CORE].clock.monotonic())
    return error_response(503, reason, {"Retry-After": "60"})


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
        where = disk_full_cause(exc)
        if where is not None:
            return _disk_full(request, where)
        log.exception("%s %s failed", request.method, request.path)
        return error_response(500, "internal error; the appliance log has the details")
    if request.method not in _SAFE_METHODS and response.status < 400:
        storage = request.app.get(STORAGE)
        if storage is not None and storage.degraded:
            storage.record_space()  # a write went through: there is room again
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
        await core.write(record_token_use, stamps)

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
