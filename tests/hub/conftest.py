"""A trust hub appliance ([hub] on PostgreSQL) reading a real nats-server's stream, and
site appliances publishing to it (tests/federation/conftest.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from floki_core.clock import ManualClock
from floki_core.config import parse_config
from floki_core.testing import Floki, installed_plugins, running_appliance
from tests.federation.conftest import NatsHub, Sites, committed_seq, drained, sites
from tests.fixtures.nats import STREAM, nats_hub, nats_pki

__all__ = ["NatsHub", "Sites", "committed_seq", "drained", "nats_hub", "nats_pki", "sites"]

WAIT_SECONDS = 10.0


class Hubs:
    """Starts the hub appliance (``async with hubs.run()``) on one PostgreSQL database
    that outlives each run, so a test can stop the hub and start it again."""

    def __init__(self, root: Path, clock: ManualClock, url: str, nats: NatsHub) -> None:
        self.root = root
        self.clock = clock
        self.url = url
        self.nats = nats
        # The kit makes a user per role on first use: kept across runs on one database.
        self.tokens: dict[str, str] = {}

    def section(self, **extra: Any) -> dict[str, Any]:
        return {
            "servers": self.nats.servers,
            "ca_file": str(self.nats.pki.ca_file),
            "user": "admin",
            "password": self.nats.passwords["admin"],
            "reconnect_seconds": 0.2,
            **extra,
        }

    @asynccontextmanager
    async def run(self, **extra: Any) -> AsyncIterator[Floki]:
        raw: dict[str, Any] = {
            "discovery": {"enabled": False},
            "server": {"tls": False},
            "plugins": {"disabled": list(installed_plugins())},
            "database": {"url": self.url},
            "hub": self.section(**extra),
        }
        async with running_appliance(self.root / "hub", parse_config(raw), clock=self.clock) as hub:
            hub.tokens.update(self.tokens)
            try:
                yield hub
            finally:
                self.tokens.update(hub.tokens)


@pytest.fixture
def hubs(
    tmp_path: Path, floki_clock: ManualClock, postgres_migrated_url: str, nats_hub: NatsHub
) -> Hubs:
    return Hubs(tmp_path, floki_clock, postgres_migrated_url, nats_hub)


async def hub_get(hub: Floki, path: str, role: str = "viewer") -> tuple[int, Any]:
    resp = await hub.client.get(f"/api/v1/hub/{path}", headers=await hub.headers(role))
    return resp.status, await resp.json()


async def site_figures(hub: Floki, site: str) -> dict[str, Any] | None:
    status, body = await hub_get(hub, "sites")
    assert status == 200, body
    return next((s for s in body["sites"] if s["site"] == site), None)


async def applied_through(hub: Floki, site: str, seq: int, timeout: float = WAIT_SECONDS) -> None:
    """Wait until the hub has applied the site's events up to ``seq``."""

    async def reached() -> bool:
        figures = await site_figures(hub, site)
        return figures is not None and figures["applied_seq"] >= seq

    await hub.eventually(reached, f"the hub to apply {site} through seq {seq}", timeout)


async def all_applied(hub: Floki, site: str, count: int, timeout: float = 20.0) -> None:
    """Wait until the hub has applied ``count`` events of the site. Those a stopped hub
    had been handed but not acknowledged come again only after the consumer's
    acknowledgement wait (10 s), behind later ones."""

    async def reached() -> bool:
        figures = await site_figures(hub, site)
        return figures is not None and figures["events_applied"] >= count

    await hub.eventually(reached, f"the hub to apply {count} events of {site}", timeout)


__all__ += ["STREAM", "Hubs", "all_applied", "applied_through", "hub_get", "hubs", "site_figures"]
