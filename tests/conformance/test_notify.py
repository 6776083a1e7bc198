"""Conformance of the notify plugin's notifiers, loaded through its entry point: alerts to
a real webhook receiver (aiohttp on a loopback port) and to a real SMTP server
(aiosmtpd)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import pytest
from aiohttp import web
from aiosmtpd.smtp import Envelope, Session

from floki_core.conformance import NotifierConformance
from tests.fixtures.smtp import SmtpServer
from tests.fixtures.smtp import _serve as serve_smtp


class WebhookReceiver:
    """A CMMS's webhook endpoint; answers 503 while failing."""

    def __init__(self) -> None:
        self.titles: list[str] = []
        self.failing = False
        self.url = ""
        self._runner: web.AppRunner | None = None

    async def handle(self, request: web.Request) -> web.Response:
        body = json.loads(await request.read())
        if self.failing:
            return web.json_response({"error": "restarting"}, status=503)
        self.titles += [alert["title"] for alert in body["alerts"]]
        return web.json_response({"ok": True})

    async def open(self) -> None:
        app = web.Application()
        app.router.add_post("/hooks/floki", self.handle)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.url = f"http://{host}:{port}/hooks/floki"

    def settings(self) -> Mapping[str, Any]:
        secret = "a-secret-shared-with-the-cmms-0042"
        return {"webhooks": [{"name": "cmms", "url": self.url, "secret": secret}]}

    def received(self) -> list[str]:
        return list(self.titles)

    async def fail(self) -> None:
        self.failing = True

    async def recover(self) -> None:
        self.failing = False

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None


class MailServer(SmtpServer):
    """An SMTP relay that answers 451 (try again later) while failing."""

    failing: bool = False

    async def handle_DATA(self, server: Any, session: Session, envelope: Envelope) -> str:
        if self.failing:
            return "451 Requested action aborted: local error in processing"
        return await super().handle_DATA(server, session, envelope)


class Mailbox:
    def __init__(self, server: MailServer) -> None:
        self.server = server

    async def open(self) -> None:
        pass  # the fixture runs the server

    def settings(self) -> Mapping[str, Any]:
        mail = {
            "name": "ce-team",
            "host": self.server.host,
            "port": self.server.port,
            "security": "none",
            "from_address": "floki@ward7.example.nhs.uk",
            "to": ["ce-team@example.nhs.uk"],
        }
        return {"emails": [mail]}

    def received(self) -> list[str]:
        # "[Floki] Raised (warning): <title>"
        return [str(m["Subject"]).split("): ", 1)[-1] for m in self.server.messages]

    async def fail(self) -> None:
        self.server.failing = True

    async def recover(self) -> None:
        self.server.failing = False

    async def close(self) -> None:
        pass


class TestWebhookConformance(NotifierConformance):
    plugin = "notify"
    notifier = "cmms"
    documentation = ("docs/alerts.md",)

    @pytest.fixture
    def notifier_peer(self) -> WebhookReceiver:
        return WebhookReceiver()


class TestEmailConformance(NotifierConformance):
    # The plugin-wide checks (entry point, settings) run once, in TestWebhookConformance.
    test_loads_through_its_entry_point = None
    test_config_defaults_validate_and_every_key_is_documented = None

    plugin = "notify"
    notifier = "ce-team"
    documentation = ("docs/alerts.md",)

    @pytest.fixture
    def notifier_peer(self) -> Any:
        for server in serve_smtp(MailServer()):
            yield Mailbox(server)
