"""A stand-in for the Cisco Spaces firehose on 127.0.0.1: each GET with the API key is one
NDJSON stream of what is put in ``lines`` (``None`` ends it, as a dropped connection)."""

from __future__ import annotations

import asyncio
from types import TracebackType

from aiohttp import web

from floki_core.testing import Floki

KEY = "spaces-firehose-key"
EVENTS = "/api/partners/v1/firehose/events"


class Firehose:
    """Remembers each request's query (its fromTimestamp) in ``requests``."""

    def __init__(self) -> None:
        self.requests: list[dict[str, str]] = []
        self.lines: asyncio.Queue[bytes | None] = asyncio.Queue()
        self.runner: web.AppRunner | None = None
        self.url = ""

    async def __aenter__(self) -> Firehose:
        app = web.Application()
        app.router.add_get(EVENTS, self.stream)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}{EVENTS}"
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.lines.put_nowait(None)
        if self.runner is not None:
            await self.runner.cleanup()
            self.runner = None

    async def stream(self, request: web.Request) -> web.StreamResponse:
        if request.headers.get("X-API-Key") != KEY:
            return web.Response(status=401, text="invalid api key")
        self.requests.append(dict(request.query))
        resp = web.StreamResponse(headers={"Content-Type": "application/x-ndjson"})
        await resp.prepare(request)
        while (line := await self.lines.get()) is not None:
            await resp.write(line)
        return resp  # dropped: the connection ends here

    async def connected(self, times: int) -> None:
        await Floki.eventually(lambda: len(self.requests) >= times, f"connection {times}")
