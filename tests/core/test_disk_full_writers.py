"""Every background writer that meets a full disk says so through the appliance's health,
as an API request would: health and metrics turn ``degraded``, the log says it once (then
once a minute, naming the writers refused), no writer logs a traceback per round, and
what waited is written when space is back.

The disk is made full for every write at once (each transaction fails with SQLite's own
"database or disk is full"), so that each writer is sure to meet it;
tests/reliability/test_disk_full.py does the same on a real full filesystem.
"""

from __future__ import annotations

import re
import time
from typing import Any

import pytest

from floki_core.config import AppConfig, parse_config
from floki_core.storage import health as storage_health
from floki_core.testing import Floki
from tests.fixtures.full_disk import FullDisk, portal_read

EPC = "E28011606000020000000002"
WARD, DIRTY = "PORTAL-WARD", "PORTAL-DIRTY-UTILITY"
# The writers this traffic (and the clock) sets to work, as the log names them. State
# rules act on moves once they are written (events follow the commit): with no move
# written there is nothing for them to refuse, and they catch up after.
WRITERS = (
    "writing locations",
    "writing tag batteries",
    "raising and resolving alerts",
    "the daily PPM work",
    "the loan sweep",
)


@pytest.fixture
def floki_config() -> AppConfig:
    return parse_config(
        {
            "discovery": {"enabled": False},
            "server": {"tls": False},
            # Reads a second apart move the asset at once (no read-zone dwell).
            "plugin": {"rfid": {"placement": {"dwell_seconds": 0}}},
            "location": {
                "flush_seconds": 0.01,
                "battery": {"write_seconds": 0.05},
                "resolver": {"dwell_seconds": {"default": 0}},
            },
            "workflow": {
                "ppm": {"check_seconds": 0.05},
                "alerts": {
                    "sweep_seconds": 0.05,
                    "settle_seconds": 0,
                    "rules": [{"name": "Tag batteries", "type": "low_battery"}],
                },
                "loans": {"sweep_minutes": 0.001},
                "states": {
                    "check_seconds": 0.05,
                    "location_rules": {
                        "dirty_utility": {
                            "to_state": "dirty",
                            "from_states": ["available"],
                            "dwell_seconds": 0,
                            "mode": "set",
                        }
                    },
                },
            },
        }
    )


async def _department(floki: Floki, admin: dict[str, str]) -> int:
    async def post(path: str, body: dict[str, Any]) -> int:
        resp = await floki.client.post(f"/api/v1{path}", json=body, headers=admin)
        assert resp.status == 201, await resp.text()
        made: int = (await resp.json())["id"]
        return made

    site = await post("/sites", {"name": "General"})
    for portal, name, kind in ((WARD, "Ward 5", "ward"), (DIRTY, "Dirty utility", "dirty_utility")):
        zone = await post("/zones", {"site_id": site, "name": name, "type": kind})
        await post(
            "/receivers",
            {"name": portal, "technology": "rfid", "identifier": portal, "zone_id": zone},
        )
    asset = await post("/assets", {"asset_number": "PUMP-7"})
    await post("/identifiers", {"asset_id": asset, "technology": "rfid", "value": EPC})
    return asset


async def test_every_background_writer_reports_a_full_disk_once_and_catches_up(
    floki: Floki, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    admin = await floki.headers("admin")
    asset = await _department(floki, admin)
    await portal_read(floki, EPC, WARD, 90)
    await floki.settle()
    disk = FullDisk(floki, monkeypatch)
    health = await (await floki.client.get("/api/v1/health")).json()
    assert health["status"] == "ok"

    disk.full = True
    caplog.clear()
    floki.advance(15 * 3600)  # past midnight: the daily PPM work runs
    # Into the dirty utility (a location rule acts at once), the battery low (an alert),
    # back and forth for half a second of the writers' rounds.
    started, reads = time.monotonic(), 0
    while time.monotonic() - started < 0.5:
        reads += 1
        await portal_read(floki, EPC, (DIRTY, WARD)[reads % 2], 5)
    await portal_read(floki, EPC, DIRTY, 5)

    health = await (await floki.client.get("/api/v1/health")).json()
    assert health["status"] == "degraded"
    assert any("disk is full" in p for p in health["problems"])
    metrics = await (await floki.client.get("/metrics", headers=admin)).text()
    assert 'floki_degraded{reason="disk_full"} 1' in metrics
    refused = re.search(r'floki_writes_refused_total\{reason="disk_full"\} (\d+)', metrics)
    assert refused is not None and int(refused.group(1)) > len(WRITERS)

    said = [r for r in caplog.records if r.name == storage_health.__name__]
    [first] = [r.getMessage() for r in said if "disk is full" in r.getMessage()]
    assert not [r for r in caplog.records if r.exc_info], [
        r.getMessage() for r in caplog.records if r.exc_info
    ]
    assert not [r for r in caplog.records if r.levelname == "ERROR" and r not in said]

    def still() -> list[str]:
        return [r.getMessage() for r in said if "still full" in r.getMessage()]

    assert still() == []
    floki.advance(61)
    await portal_read(floki, EPC, WARD, 5)
    said = []

    async def said_again() -> bool:
        nonlocal said
        said = [r for r in caplog.records if r.name == storage_health.__name__]
        return len(still()) == 1

    await floki.eventually(said_again, "the disk still full line")
    for writer in WRITERS:
        assert writer in first or writer in still()[0], (writer, first, still())

    disk.full = False
    await portal_read(floki, EPC, DIRTY, 5)

    # The writers catch up by themselves: the moves in history, the rule's state.
    async def caught_up() -> bool:
        resp = await floki.client.get(f"/api/v1/assets/{asset}/history", headers=admin)
        total: int = (await resp.json())["total"]
        state = (await (await floki.client.get(f"/api/v1/assets/{asset}", headers=admin)).json())[
            "state"
        ]
        return total == floki.core.locations.transitions and state == "dirty"

    await floki.eventually(caught_up, "the writers to catch up")
    floki.advance(10)
    health = await (await floki.client.get("/api/v1/health")).json()
    assert health["status"] == "ok", health
