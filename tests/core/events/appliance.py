"""Appliances for the event tests: more than one per test (a baseline beside the one under
test), a small register (two rooms with a QR reader each, pumps with QR labels) and
scans that move a pump from one room to the other."""

from __future__ import annotations

import contextlib
import datetime as dt
import re
import shutil
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient, TestServer

from floki_core.api.app import create_app
from floki_core.clock import ManualClock
from floki_core.config import parse_config
from floki_core.core import Core
from floki_core.observations import Observation
from floki_core.storage.database import DB_FILE
from floki_core.testing import Floki

API = "/api/v1"
READERS = {"room_a": "QR-READER-A", "room_b": "QR-READER-B"}


@contextlib.asynccontextmanager
async def appliance(
    data_dir: Path,
    migrated: Path,
    plugins: Sequence[tuple[str, object]] = (),
    *,
    observer_queue_size: int | None = None,
) -> AsyncIterator[Floki]:
    """A running appliance on ``data_dir``, as the ``floki`` fixture makes one."""
    data_dir.mkdir(parents=True)
    shutil.copyfile(migrated, data_dir / DB_FILE)
    config = parse_config({"discovery": {"enabled": False}, "server": {"tls": False}})
    clock = ManualClock(dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC))
    core = Core(data_dir, config, clock=clock, extra_plugins=plugins)
    if observer_queue_size is not None:
        core.events.observer_queue_size = observer_queue_size
    await core.start()
    try:
        async with TestClient(TestServer(create_app(core))) as client:
            yield Floki(core, client, clock)
    finally:
        await core.stop()


@dataclass
class Ward:
    zones: dict[str, int]
    pumps: dict[str, int]  # QR label -> asset id


async def post(floki: Floki, path: str, body: dict[str, Any]) -> dict[str, Any]:
    resp = await floki.client.post(API + path, json=body, headers=await floki.headers("admin"))
    data = await resp.json()
    assert resp.status == 201, (path, body, data)
    assert isinstance(data, dict)
    return data


async def build_ward(floki: Floki, pumps: int = 1) -> Ward:
    site = await post(floki, "/sites", {"name": "St Elsewhere"})
    zones: dict[str, int] = {}
    for key, reader in READERS.items():
        zone = await post(floki, "/zones", {"site_id": site["id"], "name": key, "type": "room"})
        zones[key] = zone["id"]
        await post(
            floki,
            "/receivers",
            {"name": reader, "technology": "qr", "identifier": reader, "zone_id": zone["id"]},
        )
    found: dict[str, int] = {}
    for n in range(1, pumps + 1):
        label = f"QR-PUMP-{n:03d}"
        asset = await post(floki, "/assets", {"asset_number": f"PUMP-{n:03d}"})
        await post(
            floki, "/identifiers", {"asset_id": asset["id"], "technology": "qr", "value": label}
        )
        found[label] = asset["id"]
    await floki.core.locations.reindex()
    return Ward(zones, found)


def scans(ward: Ward, room: str, at: dt.datetime) -> list[Observation]:
    """Every pump scanned at ``room``'s reader."""
    return [
        Observation(technology="qr", tag=label, receiver=READERS[room], observed_at=at)
        for label in ward.pumps
    ]


async def metric(floki: Floki, name: str, **labels: str) -> float | None:
    """One sample of ``/metrics``, or None when it is not there."""
    resp = await floki.client.get("/metrics", headers=await floki.headers("viewer"))
    assert resp.status == 200
    shown = ",".join(f'{k}="{v}"' for k, v in labels.items())
    wanted = f"{name}{{{shown}}}" if shown else name
    for line in (await resp.text()).splitlines():
        match = re.fullmatch(r"(\S+) (\S+)", line)
        if match and match[1] == wanted:
            return float(match[2])
    return None
