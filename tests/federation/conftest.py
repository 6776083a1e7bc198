"""Site appliances with ``[federation]`` on, against a real nats-server (tests/fixtures/nats.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from floki_core.clock import ManualClock
from floki_core.config import parse_config
from floki_core.storage import outbox
from floki_core.testing import Floki, installed_plugins, running_appliance
from tests.fixtures.nats import NatsHub, nats_hub, nats_pki

__all__ = ["nats_hub", "nats_pki"]

WAIT_SECONDS = 10.0


class Sites:
    """Starts site appliances (``async with sites.run(...)``) on data dirs that persist
    between runs, so a test can stop one and start it again on the same database."""

    def __init__(self, root: Path, clock: ManualClock, database: Path) -> None:
        self.root = root
        self.clock = clock
        self.database = database

    @asynccontextmanager
    async def run(self, name: str, federation: dict[str, Any] | None) -> AsyncIterator[Floki]:
        data_dir = self.root / name
        fresh = not (data_dir / "floki.db").exists()
        raw: dict[str, Any] = {
            "discovery": {"enabled": False},
            "server": {"tls": False},
            # The ward's labels are QR: the other technologies' plugins are not needed.
            "plugins": {"disabled": [name for name in installed_plugins() if name != "qr"]},
        }
        if federation is not None:
            raw["federation"] = federation
        async with running_appliance(
            data_dir,
            parse_config(raw),
            clock=self.clock,
            database=self.database if fresh else None,
        ) as floki:
            yield floki


@pytest.fixture
def sites(tmp_path: Path, floki_clock: ManualClock, floki_migrated_database: Path) -> Sites:
    return Sites(tmp_path, floki_clock, floki_migrated_database)


async def link_status(floki: Floki) -> dict[str, Any]:
    resp = await floki.client.get("/api/v1/federation", headers=await floki.headers("engineer"))
    assert resp.status == 200, await resp.text()
    body: dict[str, Any] = await resp.json()
    return body


async def committed_seq(floki: Floki) -> int | None:
    """The sequence number of the newest event the appliance has committed for the hub."""
    return await floki.core.read(outbox.last_sequence)


async def drained(floki: Floki) -> None:
    """Wait until the hub has acknowledged every event committed so far."""
    newest = await committed_seq(floki)
    assert newest is not None, "nothing was committed for the hub"

    link = floki.core.federation
    assert link is not None
    await floki.eventually(
        lambda: link.status.last_acked_seq == newest,
        "the outbox to drain to the hub",
        timeout=WAIT_SECONDS,
    )


__all__ += ["NatsHub", "Sites", "committed_seq", "drained", "link_status", "sites"]
