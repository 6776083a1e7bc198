"""Fixtures of the notifier tests: a real webhook receiver (aiohttp on a free loopback port)
and real SMTP servers (aiosmtpd)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest_asyncio
from aiohttp import web

from tests.fixtures.smtp import (  # noqa: F401  (fixtures are found by name)
    smtp_server,
    smtp_server_starttls,
)


@dataclass
class WebhookReceiver:
    """Answers each POST with the next of ``statuses`` (200 once they run out)."""

    url: str = ""
    statuses: list[int] = field(default_factory=list)
    requests: list[tuple[dict[str, str], bytes]] = field(default_factory=list)

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        self.requests.append((dict(request.headers), body))
        status = self.statuses.pop(0) if self.statuses else 200
        return web.json_response({"ok": status < 300}, status=status)


@pytest_asyncio.fixture
async def webhook_receiver() -> AsyncIterator[WebhookReceiver]:
    receiver = WebhookReceiver()
    app = web.Application()
    app.router.add_post("/hooks/floki", receiver.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    receiver.url = f"http://{host}:{port}/hooks/floki"
    try:
        yield receiver
    finally:
        await runner.cleanup()
