"""``WS /api/v1/events``: live domain events for authenticated clients.

A socket lives as long as the token it was opened with would still open it: it is
closed (1008, with the reason) soon after the token is revoked or expires, its user's
password is reset or the user is disabled. Changes made through the API clear the token
cache, which checks every socket at once; changes made by another process (the CLI) are
seen when the socket's token is checked again, once the token cache has forgotten it.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import AsyncIterator, Iterable

import msgspec
from aiohttp import WSMsgType, web
from sqlalchemy.orm import Session

from floki_core.api.keys import CORE, ROUTE_SPEC, SOCKETS, TOKENS
from floki_core.api.middleware import allows
from floki_core.api.routing import ApiRoute, RouteTable
from floki_core.api.token_cache import TokenCache
from floki_core.core import Core
from floki_core.domain import Principal
from floki_core.storage.accounts import resolve_token

log = logging.getLogger(__name__)
_encoder = msgspec.json.Encoder()

POLICY_VIOLATION = 1008  # RFC 6455: the endpoint's policy no longer lets the client in
ENDED = (
    b"the token is no longer valid (revoked, expired, password reset or user disabled); "
    b"sign in again"
)


class EventSockets:
    """The open event sockets, each with the token and the policy it was opened under.

    ``check`` closes every socket whose token no longer passes its policy. It runs
    when the token cache is cleared, and every ``tick`` seconds for tokens the cache has
    forgotten (its time to live passed), which is how a change made by another process
    is seen. A token the cache still remembers is not read again.
    """

    def __init__(self, tick: float = 1.0) -> None:
        self.tick = tick
        self._open: dict[web.WebSocketResponse, tuple[str, str]] = {}
        self._checking = asyncio.Lock()
        self._wanted = False  # a check of every socket is asked for
        self._asked: asyncio.Task[None] | None = None

    def add(self, ws: web.WebSocketResponse, secret: str, policy: str) -> None:
        self._open[ws] = (secret, policy)

    def discard(self, ws: web.WebSocketResponse) -> None:
        self._open.pop(ws, None)

    async def check(self, core: Core, cache: TokenCache) -> None:
        async with self._checking:
            secrets = {secret for secret, _ in self._open.values()}
            found = {s: who for s in secrets if (who := cache.get(s)) is not None}
            forgotten = secrets - found.keys()
            if forgotten:
                generation = cache.generation
                looked_up = await core.read(_resolve_all, forgotten, core.clock.now())
                for secret, who in looked_up.items():
                    if who is not None:
                        cache.put(secret, who, generation)
                        found[secret] = who
            ended = [
                ws
                for ws, (secret, policy) in list(self._open.items())
                if not allows(policy, found.get(secret))
            ]
            for ws in ended:
                self.discard(ws)
            await _close_all(ended, POLICY_VIOLATION, ENDED)

    def check_soon(self, core: Core, cache: TokenCache) -> None:
        """Check every socket in the background (the token cache was just cleared)."""
        self._wanted = True  # a check under way may have read before the change: again
        if self._asked is None or self._asked.done():
            self._asked = asyncio.create_task(self._check_while_wanted(core, cache))

    async def _check_while_wanted(self, core: Core, cache: TokenCache) -> None:
        while self._wanted:
            self._wanted = False
            await self._check_logged(core, cache)

    async def stop(self) -> None:
        if self._asked is not None and not self._asked.done():
            self._asked.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._asked

    async def _check_logged(self, core: Core, cache: TokenCache) -> None:
        try:
            await self.check(core, cache)
        except Exception:
            log.exception("could not check the tokens of the open event sockets")

    async def run(self, core: Core, cache: TokenCache) -> None:
        """Check the sockets every ``tick`` seconds until cancelled."""
        while True:
            await asyncio.sleep(self.tick)
            if self._open:
                await self._check_logged(core, cache)


EVENT_SOCKETS: web.AppKey[EventSockets] = web.AppKey("event_sockets", EventSockets)


def _resolve_all(
    session: Session, secrets: Iterable[str], now: dt.datetime
) -> dict[str, Principal | None]:
    return {secret: resolve_token(session, secret, now=now) for secret in secrets}


async def _close_all(sockets: list[web.WebSocketResponse], code: int, reason: bytes) -> None:
    # Together: a client slow to answer the close holds up no other.
    results = await asyncio.gather(
        *(ws.close(code=code, message=reason) for ws in sockets), return_exceptions=True
    )
    for result in results:
        if isinstance(result, Exception):
            log.warning("closing an event socket failed: %s", result)


def _bearer(request: web.Request) -> str:
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" else ""


async def events(request: web.Request) -> web.WebSocketResponse:
    """Each message is a JSON array of events: ``[{"type", "at", "entity", ...}, ...]``."""
    ws = web.WebSocketResponse(heartbeat=30)
    await ws.prepare(request)
    bus = request.app[CORE].events
    queue = bus.subscribe()
    request.app[SOCKETS].add(ws)
    watched = request.app[EVENT_SOCKETS]
    watched.add(ws, _bearer(request), request[ROUTE_SPEC].policy)

    async def pump() -> None:
        while True:
            batch = await queue.get()
            await ws.send_str(_encoder.encode(batch).decode())

    sender = asyncio.create_task(pump())
    try:
        async for message in ws:  # clients only listen; reading notices the close
            if message.type == WSMsgType.ERROR:
                break
    finally:
        sender.cancel()
        with contextlib.suppress(asyncio.CancelledError, ConnectionError):
            await sender
        bus.unsubscribe(queue)
        watched.discard(ws)
        request.app[SOCKETS].discard(ws)
    return ws


async def close_sockets(app: web.Application) -> None:
    sockets = app[SOCKETS]
    for ws in list(sockets):
        await ws.close(code=1001, message=b"appliance shutting down")


async def _watch_tokens(app: web.Application) -> AsyncIterator[None]:
    """While the application runs: check the sockets' tokens on every clear of the
    token cache and every ``tick`` seconds."""
    watched, core, cache = app[EVENT_SOCKETS], app[CORE], app[TOKENS]
    stop_listening = cache.on_clear(lambda: watched.check_soon(core, cache))
    ticking = asyncio.create_task(watched.run(core, cache), name="ws-token-ticks")
    try:
        yield
    finally:
        stop_listening()
        ticking.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await ticking
        await watched.stop()


def add_routes(app: web.Application, table: RouteTable) -> None:
    table.add(
        app,
        ApiRoute(
            "GET",
            "/api/v1/events",
            "viewer",
            "WebSocket: live domain events as JSON arrays",
            "events",
            status=101,
            answers={400: "not a WebSocket upgrade request"},
        ),
        events,
    )
    app[EVENT_SOCKETS] = EventSockets()
    app.cleanup_ctx.append(_watch_tokens)
