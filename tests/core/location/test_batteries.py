"""Tag batteries: the latest reading per tag, the tags needing a battery, ``tag.battery_low``
once per flat battery, and readings that survive a restart on both database backends.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator, Sequence
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from floki_core.api.app import create_app
from floki_core.clock import ManualClock
from floki_core.config import AppConfig, parse_config
from floki_core.core import Core
from floki_core.errors import ConfigError
from floki_core.events import DomainEvent
from floki_core.location import batteries
from floki_core.observations import Extra, Observation
from floki_core.testing import Floki
from tests.core.location.register_builder import (
    Register,
    build_register,
    get_json,
    metric,
    metrics_text,
)

API = "/api/v1"
UNBOUND = "C0:FF:EE:00:00:99"


@pytest.fixture
def floki_config() -> AppConfig:
    return parse_config(
        {
            "discovery": {"enabled": False},
            "server": {"tls": False},
            "location": {"battery": {"low_percent": 20, "low_millivolts": 2500}},
        }
    )


def reading(
    tag: str, at: dt.datetime, receiver: str = "AA:BB:CC:00:00:01", **extras: Extra
) -> Observation:
    return Observation(
        technology="ble", tag=tag, receiver=receiver, rssi=-60.0, observed_at=at, extras=extras
    )


async def report(floki: Floki, *observations: Observation) -> None:
    """Readings in as a gateway's batch, then taken in and written by the battery
    service (which announces tags gone low once written)."""
    await floki.inject(list(observations))
    await floki.core.locations.batteries.flush()


async def listing(floki: Floki, query: str = "") -> dict[str, Any]:
    body = await get_json(floki, f"/tags/batteries{query}")
    assert isinstance(body, dict)
    return body


def drained(queue: asyncio.Queue[Sequence[DomainEvent]]) -> list[DomainEvent]:
    events: list[DomainEvent] = []
    while not queue.empty():
        events.extend(e for e in queue.get_nowait() if e.type == "tag.battery_low")
    return events


# --- readings and the list ----------------------------------------------------------------


async def test_tags_needing_a_battery_come_first_with_their_asset(
    floki: Floki, reg: Register
) -> None:
    now = floki.clock.now()
    await report(
        floki,
        reading(reg.tags["PUMP-001"]["ble"], now, battery_pct=15),
        reading(reg.tags["PUMP-002"]["ble"], now, battery_mv=2900),
        reading(reg.tags["SCAN-001"]["ble"], now, battery_mv=2400, battery_pct=60),
        reading(UNBOUND, now, battery_pct=80),
        # Sightings without a battery reading leave the list alone.
        reading("C0:FF:EE:00:00:98", now),
    )

    everything = await listing(floki)
    assert everything["total"] == 4
    rows = everything["items"]
    assert [(r["tag"], r["low"]) for r in rows] == [
        (reg.tags["PUMP-001"]["ble"], True),  # 15 % against 20 %
        (reg.tags["SCAN-001"]["ble"], True),  # 2400 mV against 2500 mV, though 60 %
        (reg.tags["PUMP-002"]["ble"], False),
        (UNBOUND, False),
    ]
    pump = rows[0]
    assert pump["level"] == 15 and pump["millivolts"] is None
    assert pump["asset"] == {
        "id": reg.assets["PUMP-001"],
        "asset_number": "PUMP-001",
        "description": "Infusion pump",
    }
    assert dt.datetime.fromisoformat(pump["observed_at"]) == now
    assert dt.datetime.fromisoformat(pump["low_since"]) == now
    assert pump["receiver"] == "AA:BB:CC:00:00:01"
    assert (rows[1]["level"], rows[1]["millivolts"]) == (60, 2400)
    assert rows[3]["asset"] is None and rows[3]["low_since"] is None

    needing = await listing(floki, "?low=true")
    assert needing["total"] == 2
    assert [r["asset"]["asset_number"] for r in needing["items"]] == ["PUMP-001", "SCAN-001"]
    fine = await listing(floki, "?low=false&limit=1&offset=1")
    assert (fine["total"], fine["limit"], fine["offset"]) == (2, 1, 1)
    assert [r["tag"] for r in fine["items"]] == [UNBOUND]
    assert (await listing(floki, "?technology=gps"))["total"] == 0

    assert metric(await metrics_text(floki), "floki_tags_low_battery") == 2


async def test_the_list_needs_a_token_and_a_clear_filter(floki: Floki) -> None:
    assert (await floki.client.get(f"{API}/tags/batteries")).status == 401
    resp = await floki.client.get(
        f"{API}/tags/batteries?low=perhaps", headers=await floki.headers("viewer")
    )
    assert resp.status == 400
    assert "low" in (await resp.json())["error"]


async def test_the_newest_reading_wins_and_nonsense_is_ignored(floki: Floki, reg: Register) -> None:
    tag = reg.tags["PUMP-001"]["ble"]
    start = floki.clock.now()
    floki.advance(10)
    await report(floki, reading(tag, floki.clock.now(), battery_pct=70))
    # A gateway's backlog arriving late does not replace what is newer.
    await report(floki, reading(tag, start, battery_pct=10))
    # Values no battery reports, in a later batch.
    for extras in ({"battery_pct": 140}, {"battery_mv": "3000"}, {"battery_pct": True}):
        floki.advance(10)
        await report(floki, reading(tag, floki.clock.now(), **extras))
    await report(floki, reading(UNBOUND, floki.clock.now(), battery_mv=0))

    [row] = (await listing(floki))["items"]
    assert (row["tag"], row["level"], row["low"]) == (tag, 70, False)
    assert floki.core.locations.batteries.invalid == 4


async def test_a_backlog_in_the_same_moment_as_a_live_reading_does_not_win(
    floki: Floki, reg: Register
) -> None:
    tag = reg.tags["PUMP-001"]["ble"]
    start = floki.clock.now()
    floki.advance(10)
    live = reading(tag, floki.clock.now(), battery_pct=70)
    backlog = reading(tag, start, receiver="AA:BB:CC:00:00:02", battery_pct=10)
    # Two gateways' batches before the service next takes readings in.
    await floki.inject([live])
    await floki.inject([backlog])
    await floki.core.locations.batteries.refresh()
    [row] = (await listing(floki))["items"]
    assert (row["level"], row["low"]) == (70, False)


async def test_the_same_tag_spelled_two_ways_is_one_reading(floki: Floki, reg: Register) -> None:
    tag = reg.tags["PUMP-001"]["ble"]
    await report(floki, reading(tag.lower().replace(":", "-"), floki.clock.now(), battery_pct=55))
    [row] = (await listing(floki))["items"]
    assert row["tag"] == tag and row["asset"]["asset_number"] == "PUMP-001"


# --- tag.battery_low ---------------------------------------------------------------------


async def test_battery_low_is_announced_once_and_again_only_after_a_new_battery(
    floki: Floki, reg: Register
) -> None:
    tag = reg.tags["PUMP-001"]["ble"]
    events = floki.core.events.subscribe()

    async def level(percent: float) -> list[DomainEvent]:
        floki.advance(60)
        await report(floki, reading(tag, floki.clock.now(), battery_pct=percent))
        return drained(events)

    assert await level(25) == []
    crossed_at = floki.clock.now() + dt.timedelta(seconds=60)
    [low] = await level(19)
    assert (low.type, low.entity, low.entity_id) == ("tag.battery_low", "tags", f"ble:{tag}")
    assert low.at == crossed_at
    assert low.data == {
        "technology": "ble",
        "tag": tag,
        "asset_id": reg.assets["PUMP-001"],
        "level": 19,
        "millivolts": None,
        "observed_at": crossed_at.isoformat(),
        "receiver": "AA:BB:CC:00:00:01",
        "low_percent": 20,
        "low_millivolts": 2500,
    }
    # Wobbling around the line (a warm afternoon) is the same flat battery.
    assert await level(18) == []
    assert await level(22) == []
    assert await level(19) == []
    [row] = (await listing(floki))["items"]
    assert row["low"] is True
    assert dt.datetime.fromisoformat(row["low_since"]) == crossed_at

    # A new battery: clearly above the line again, then it runs down once more.
    assert await level(96) == []
    [row] = (await listing(floki))["items"]
    assert (row["low"], row["low_since"]) == (False, None)
    [again] = await level(17)
    assert again.data["level"] == 17


async def test_millivolts_alone_make_a_tag_low(floki: Floki, reg: Register) -> None:
    events = floki.core.events.subscribe()
    await report(floki, reading(UNBOUND, floki.clock.now(), battery_mv=2450))
    [low] = drained(events)
    assert (low.data["millivolts"], low.data["level"], low.data["asset_id"]) == (2450, None, None)
    # 2550 mV is above the threshold but inside the 100 mV recovery margin.
    floki.advance(60)
    await report(floki, reading(UNBOUND, floki.clock.now(), battery_mv=2550))
    assert (await listing(floki, "?low=true"))["total"] == 1
    floki.advance(60)
    await report(floki, reading(UNBOUND, floki.clock.now(), battery_mv=3010))
    assert (await listing(floki, "?low=true"))["total"] == 0


def test_thresholds_are_configured_under_location_battery() -> None:
    config = parse_config({"location": {"battery": {"low_percent": 30, "low_millivolts": 2600}}})
    assert (config.location.battery.low_percent, config.location.battery.low_millivolts) == (
        30,
        2600,
    )
    defaults = parse_config({}).location.battery
    assert (defaults.low_percent, defaults.low_millivolts) == (20, 2500)
    with pytest.raises(ConfigError, match=r"location\.battery: unknown key `low_volts`"):
        parse_config({"location": {"battery": {"low_volts": 2.5}}})
    with pytest.raises(ConfigError, match=r"location\.battery\.low_percent"):
        parse_config({"location": {"battery": {"low_percent": 120}}})


# --- bounded memory ------------------------------------------------------------------------


async def test_memory_stays_bounded(
    floki: Floki, reg: Register, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(batteries, "MAX_TAGS", 3)
    monkeypatch.setattr(batteries, "MAX_PENDING", 2)
    service = floki.core.locations.batteries
    for i in range(4):
        floki.advance(1)
        await report(floki, reading(f"C0:FF:EE:00:01:0{i}", floki.clock.now(), battery_pct=50))
    # The tag heard longest ago made room.
    tags = [r["tag"] for r in (await listing(floki))["items"]]
    assert sorted(tags) == ["C0:FF:EE:00:01:01", "C0:FF:EE:00:01:02", "C0:FF:EE:00:01:03"]
    assert service.forgotten == 1
    # One batch naming more tags than a flush may hold: the extra is counted, not kept.
    floki.advance(1)
    now = floki.clock.now()
    await report(floki, *(reading(f"C0:FF:EE:00:02:0{i}", now, battery_pct=50) for i in range(3)))
    assert service.dropped == 1


# --- persistence -----------------------------------------------------------------------------


@pytest.fixture(params=["sqlite", "postgresql"])
async def appliance(request: pytest.FixtureRequest, tmp_path: Any) -> AsyncIterator[Floki]:
    url = request.getfixturevalue("postgres_url") if request.param == "postgresql" else None
    config = parse_config(
        {"discovery": {"enabled": False}, "server": {"tls": False}, "database": {"url": url}}
    )
    clock = ManualClock(dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC))
    core = Core(tmp_path / "data", config, clock=clock)
    await core.start()
    try:
        async with TestClient(TestServer(create_app(core))) as client:
            yield Floki(core, client, clock)
    finally:
        await core.stop()


async def test_readings_and_low_state_survive_a_restart(appliance: Floki) -> None:
    floki = appliance
    reg = await build_register(floki)
    tag = reg.tags["PUMP-002"]["ble"]
    events = floki.core.events.subscribe()
    await report(floki, reading(tag, floki.clock.now(), battery_pct=12, battery_mv=2380))
    await report(floki, reading(UNBOUND, floki.clock.now(), battery_pct=88))
    assert len(drained(events)) == 1
    before = (await listing(floki))["items"]
    viewer = await floki.headers("viewer")
    await floki.core.stop()  # writes what the background writer has not yet

    floki.advance(3600)
    core = Core(floki.core.data_dir, floki.core.config, clock=floki.clock)
    await core.start()
    try:
        async with TestClient(TestServer(create_app(core))) as client:
            resp = await client.get(f"{API}/tags/batteries", headers=viewer)
            assert resp.status == 200
            assert (await resp.json())["items"] == before

            # Still flat after the restart: not announced a second time.
            events = core.events.subscribe()
            floki.advance(60)
            await core.ingest.put("gateway-1", [reading(tag, floki.clock.now(), battery_pct=11)])
            await core.ingest.join()
            await core.locations.batteries.flush()
            assert drained(events) == []
            resp = await client.get(f"{API}/tags/batteries?low=true", headers=viewer)
            [row] = (await resp.json())["items"]
            assert (row["tag"], row["level"], row["millivolts"]) == (tag, 11, None)
            assert row["low_since"] == before[0]["low_since"]
    finally:
        await core.stop()


async def test_battery_low_is_announced_after_the_reading_is_written(
    floki: Floki, reg: Register
) -> None:
    """Whoever acts on ``tag.battery_low`` (an alert, a plugin) finds the reading saved."""
    tag = reg.tags["PUMP-001"]["ble"]
    seen_in_database: list[float | None] = []

    async def on_events(events: Sequence[DomainEvent]) -> None:
        for event in events:
            if event.type == "tag.battery_low":
                readings = await floki.core.read(batteries.load_readings)
                saved = {(r.technology, r.tag): r for r in readings}
                held = saved.get(("ble", tag))
                seen_in_database.append(None if held is None else held.level)

    floki.core.events.add_observer("test.batteries", on_events, inline=True)
    await floki.inject([reading(tag, floki.clock.now(), battery_pct=12)])
    await floki.core.locations.batteries.refresh()
    assert seen_in_database == []  # taken in, not yet written: not announced
    await floki.core.locations.batteries.flush()
    assert seen_in_database == [12]
