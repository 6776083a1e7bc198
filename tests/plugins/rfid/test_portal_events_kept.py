"""The portal crossings ``GET /api/v1/rfid/portal-events`` lists are kept across a restart
of the appliance (in the plugin's data directory), newest first as before; the file is cut
back as it grows, and a line torn by a stop mid-write or a file that cannot be written
loses nothing else.

Cost: two appliance starts on one data directory, about a second; the rest, milliseconds."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from floki_rfid.portal_events import PortalEvents
from floki_rfid.portals import PortalCrossing

from floki_core.clock import ManualClock
from floki_core.config import parse_config
from floki_core.observations import Observation
from floki_core.sdk import ReceiverInfo
from floki_core.testing import Floki, installed_plugins, running_appliance
from tests.plugins.rfid.test_portal_in_the_appliance import crossings, library

EPC = "E28011700000020A1B2C3D4E"
CONFIG: dict[str, Any] = {
    "discovery": {"enabled": False},
    "server": {"tls": False},
    # Only the rfid plugin, as the floki fixture's floki_entry_points("rfid") would load.
    "plugins": {"disabled": [p for p in installed_plugins() if p != "rfid"]},
    "plugin": {
        "rfid": {
            "portals": [
                {"name": "library-door", "inner": "library-door:1", "outer": "library-door:2"}
            ]
        }
    },
}


def at_door(floki: Floki, port: int, seconds: float) -> Observation:
    read_at = dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC) + dt.timedelta(seconds=seconds)
    return Observation(
        technology="rfid",
        tag=EPC,
        receiver=f"library-door:{port}",
        observed_at=floki.clock.now(),
        rssi=-55.0,
        extras={"seen_count": 1, "last_seen": read_at.isoformat()},
    )


async def test_the_crossings_listed_are_kept_across_a_restart(
    tmp_path: Path, floki_migrated_database: Path
) -> None:
    clock = ManualClock(dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC))
    config = parse_config(CONFIG)
    data = tmp_path / "data"
    async with running_appliance(
        data, config, clock=clock, database=floki_migrated_database
    ) as floki:
        ids = await library(floki)
        await floki.inject([at_door(floki, 2, 0), at_door(floki, 1, 0.5)])
        clock.advance(60)
        await floki.inject([at_door(floki, 1, 60), at_door(floki, 2, 60.5)])
        kept = data / "plugins" / "rfid" / "portal-events.jsonl"
        await floki.eventually(
            lambda: kept.exists() and len(kept.read_bytes().splitlines()) == 2,
            "both crossings written",
        )
        before = await crossings(floki)
        tokens = dict(floki.tokens)
    assert [c["direction"] for c in before] == ["left", "entered"]

    async with running_appliance(data, config, clock=clock) as floki:
        floki.tokens.update(tokens)  # its test users are in the database already
        assert await crossings(floki) == before
        # ... and new ones join them.
        clock.advance(60)
        await floki.inject([at_door(floki, 2, 120), at_door(floki, 1, 120.5)])
        after = await crossings(floki)
        assert [c["direction"] for c in after] == ["entered", "left", "entered"]
        assert after[0]["asset_id"] == ids["E10001"]


def crossing(n: int) -> PortalCrossing:
    at = dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC) + dt.timedelta(seconds=n)
    door = ReceiverInfo(
        id=1, name="door", technology="rfid", identifier="library-door:1", zone_id=12
    )
    return PortalCrossing(
        portal="library-door",
        direction="entered",
        asset_id=n,
        epc=EPC,
        zone_id=12,
        read_at=at,
        observed_at=at,
        antenna="library-door:1",
        receiver=door,
        signal=None,
    )


async def test_the_file_holds_at_most_twice_what_is_listed_and_a_torn_line_is_skipped(
    tmp_path: Path,
) -> None:
    path = tmp_path / "portal-events.jsonl"
    events = PortalEvents(None, path=path, kept=3)
    for n in range(8):
        events.record([crossing(n)])
        await events.settle()
    assert len(path.read_bytes().splitlines()) <= 6
    with path.open("ab") as file:
        file.write(b'{"type": "rfid.portal", "at": "2026-01')  # the appliance stopped here
    again = PortalEvents(None, path=path, kept=3)
    await again.load()
    assert [e.entity_id for e in again.latest()] == [7, 6, 5]
    again.record([crossing(8)])
    await again.settle()
    last = PortalEvents(None, path=path, kept=3)
    await last.load()
    assert [e.entity_id for e in last.latest()] == [8, 7, 6]


async def test_a_file_that_cannot_be_written_is_said_once_and_the_list_goes_on(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "portal-events.jsonl").mkdir()  # not a file: every append fails
    events = PortalEvents(None, path=tmp_path / "portal-events.jsonl")
    for n in range(3):
        events.record([crossing(n)])
        await events.settle()
    said = [r.getMessage() for r in caplog.records if "could not be kept" in r.getMessage()]
    assert len(said) == 1, said
    assert [e.entity_id for e in events.latest()] == [2, 1, 0]
