"""``WS /api/v1/events``: live domain events for authenticated clients."""

from __future__ import annotations

import asyncio
import contextlib

import msgspec
from aiohttp import WSMsgType, web

from floki_core.api.keys import CORE, SOCKETS
from floki_core.api.routing import ApiRoute, RouteTable

_encoder = msgspec.json.Encoder()


async def events(request: web.Request) -> web.WebSocketResponse:
    """Each message is a JSON array of events: ``[{"type", "at", "entity", ...}, ...]``."""
    ws = web.WebSocketResponse(heartbeat=30)
    await ws.prepare(request)
    bus = request.app[CORE].events
    queue = bus.subscribe()
    request.app[SOCKETS].add(ws)

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
        request.app[SOCKETS].discard(ws)
    return ws


async def close_sockets(app: web.Application) -> None:
    sockets = app[SOCKETS]
    for ws in list(sockets):
        await ws.close(code=1001, message=b"appliance shutting down")


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
