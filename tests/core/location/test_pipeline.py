"""The location pipeline end to end (issue 3, §1, §3, §4 and §6): observations in through
the ingest queue, answers out through the API. Time moves only with the manual clock.
"""

from __future__ import annotations

import datetime as dt
import itertools
import random
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from floki_core.api.app import create_app
from floki_core.config import AppConfig, parse_config
from floki_core.core import Core
from floki_core.observations import Observation
from floki_core.storage.models import Base
from floki_core.testing import Floki
from tests.core.location.register_builder import (
    INSIDE_HUB,
    OUTSIDE_HUB,
    Register,
    ble,
    fix,
    get_json,
    location,
    metric,
    metrics_text,
    scan,
    source_stats,
    stays,
    steady,
    walk,
    zones_visited,
)

STALE_AFTER = 300.0
RSSI_DWELL = 10.0
ROOM_DWELL = 5.0
CORRIDOR_DWELL = 30.0


@pytest.fixture
def floki_config() -> AppConfig:
    return parse_config(
        {
            "discovery": {"enabled": False},
            "server": {"tls": False},
            "location": {
                "resolver": {
                    "dwell_seconds": {"default": ROOM_DWELL, "corridor": CORRIDOR_DWELL},
                    "stale_after_seconds": STALE_AFTER,
                },
                "rssi": {"dwell_seconds": RSSI_DWELL, "margin_db": 6.0},
                # The background writer waits this long (real time) before writing, so
                # only settle() writes and each test controls what is still unwritten.
                "flush_seconds": 10.0,
            },
        }
    )


def row_counts(session: Session) -> dict[str, int]:
    return {
        table.name: session.scalar(select(func.count()).select_from(table)) or 0
        for table in Base.metadata.sorted_tables
    }


def zone_of(reg: Register, answer: dict[str, Any]) -> str | None:
    if not answer.get("zone"):
        return None
    by_id = {v: k for k, v in reg.zones.items()}
    return by_id[answer["zone"]["id"]]


async def settle_in_room_a(floki: Floki, reg: Register, asset: str = "PUMP-001") -> None:
    await walk(floki, reg, asset, 30, steady(**{"gw-7a": -55.0, "gw-7b": -80.0}))
    assert zone_of(reg, await location(floki, reg, asset)) == "room_a"


# --- hysteresis and dwell --------------------------------------------------------


@pytest.mark.parametrize("seed", [1, 2])
async def test_noisy_rssi_between_two_rooms_does_not_flap(
    floki: Floki, reg: Register, seed: int
) -> None:
    """Ten minutes on a doorway at 1 Hz: two receivers of about equal strength, 5 dB of
    noise on each reading. A user sees one room, perhaps two, not a storm of moves."""
    rng = random.Random(seed)
    await floki.headers("viewer")  # the reader's account exists before counting rows
    rows_before = await floki.core.read(row_counts)
    await walk(
        floki,
        reg,
        "PUMP-001",
        600,
        lambda _s: {"gw-7a": rng.gauss(-70.0, 5.0), "gw-7b": rng.gauss(-71.0, 5.0)},
    )
    history = await stays(floki, reg, "PUMP-001")
    assert 1 <= len(history) <= 2, zones_visited(reg, history)
    assert set(zones_visited(reg, history)) <= {"room_a", "room_b"}
    answer = await location(floki, reg, "PUMP-001")
    assert answer["located"] is True and answer["stale"] is False
    stats = await source_stats(floki, "gateway-1")
    assert stats["received"] == stats["accepted"] == stats["processed"] == 1200

    # 1,200 sightings leave one current row and the stays, not a row per sighting.
    grown = {
        table: count - rows_before.get(table, 0)
        for table, count in (await floki.core.read(row_counts)).items()
        if count != rows_before.get(table, 0)
    }
    assert grown == {"asset_locations": 1, "location_transitions": len(history)}


async def test_a_real_move_shows_only_after_both_dwells(floki: Floki, reg: Register) -> None:
    await settle_in_room_a(floki, reg)
    moved_at = floki.clock.now()
    in_b = steady(**{"gw-7a": -80.0, "gw-7b": -55.0})

    # The locator waits out its own dwell, then the resolver the room's: not before both.
    await walk(floki, reg, "PUMP-001", int(RSSI_DWELL + ROOM_DWELL), in_b)
    assert zone_of(reg, await location(floki, reg, "PUMP-001")) == "room_a"
    assert zones_visited(reg, await stays(floki, reg, "PUMP-001")) == ["room_a"]

    await walk(floki, reg, "PUMP-001", 15, in_b)
    answer = await location(floki, reg, "PUMP-001")
    assert zone_of(reg, answer) == "room_b"
    history = await stays(floki, reg, "PUMP-001")
    assert zones_visited(reg, history) == ["room_a", "room_b"]
    entered = dt.datetime.fromisoformat(history[-1]["entered_at"])
    assert entered - moved_at >= dt.timedelta(seconds=RSSI_DWELL + ROOM_DWELL)
    assert dt.datetime.fromisoformat(answer["since"]) == entered


@pytest.mark.parametrize(
    ("corridor_seconds", "expected"),
    [
        (20, ["room_a", "room_d"]),  # hurrying through: the corridor never shows
        (60, ["room_a", "corridor", "room_d"]),  # parked in the corridor: it does
    ],
)
async def test_corridor_dwell_is_longer_than_a_room(
    floki: Floki, reg: Register, corridor_seconds: int, expected: list[str]
) -> None:
    await settle_in_room_a(floki, reg)
    await walk(
        floki,
        reg,
        "PUMP-001",
        corridor_seconds,
        steady(**{"gw-7a": -82.0, "gw-corridor": -55.0}),
    )
    await walk(floki, reg, "PUMP-001", 40, steady(**{"gw-corridor": -82.0, "gw-7d": -55.0}))
    history = await stays(floki, reg, "PUMP-001")
    assert zones_visited(reg, history) == expected
    assert zone_of(reg, await location(floki, reg, "PUMP-001")) == "room_d"


# --- stale -----------------------------------------------------------------------


async def test_a_silent_tag_goes_stale_in_the_same_zone(floki: Floki, reg: Register) -> None:
    await settle_in_room_a(floki, reg)
    fresh = await location(floki, reg, "PUMP-001")
    assert fresh["stale"] is False and fresh["age_seconds"] == 0

    floki.clock.advance(STALE_AFTER - 10)
    answer = await location(floki, reg, "PUMP-001")
    assert answer["stale"] is False

    floki.clock.advance(20)
    first = await location(floki, reg, "PUMP-001")
    floki.clock.advance(3 * 3600)
    later = await location(floki, reg, "PUMP-001")
    for answer in (first, later):
        assert answer["stale"] is True
        assert zone_of(reg, answer) == "room_a"
        assert answer["last_seen"] == fresh["last_seen"]
        assert answer["since"] == fresh["since"]
    assert first["age_seconds"] == pytest.approx(STALE_AFTER + 10)
    assert later["age_seconds"] == pytest.approx(STALE_AFTER + 10 + 3 * 3600)

    # Lists show the same answer: "last seen in Room 7A", never as current.
    listed = await get_json(floki, "/assets", q="PUMP-001")
    assert listed["items"][0]["location"]["stale"] is True
    assert listed["items"][0]["location"]["zone"]["name"] == "Room 7A"
    in_ward = await get_json(floki, f"/zones/{reg.zones['ward']}/assets")
    assert [(i["asset_number"], i["zone"], i["stale"]) for i in in_ward["items"]] == [
        ("PUMP-001", "Room 7A", True)
    ]
    assert zones_visited(reg, await stays(floki, reg, "PUMP-001")) == ["room_a"]


# --- fusion ----------------------------------------------------------------------


async def test_fresh_scan_beats_ble_and_later_ble_beats_the_old_scan(
    floki: Floki, reg: Register
) -> None:
    await settle_in_room_a(floki, reg)
    floki.clock.advance(90)

    # A porter scans the pump at the reader in Room 7B: believed at once.
    scanned_at = floki.clock.now()
    await floki.inject([scan(reg, "PUMP-001", "qr-7b", scanned_at)], source="reader")
    answer = await location(floki, reg, "PUMP-001")
    assert zone_of(reg, answer) == "room_b"
    assert (answer["method"], answer["technology"]) == ("fixed_point", "qr")
    assert answer["since"] == answer["last_seen"]
    assert dt.datetime.fromisoformat(answer["since"]) == scanned_at
    assert answer["evidence"][0]["receiver"] == "qr-7b"

    # A minute later the tag is heard strongly in Room 7A again: the fresh scan still wins.
    floki.clock.advance(60)
    in_a = steady(**{"gw-7a": -55.0, "gw-7b": -80.0})
    await walk(floki, reg, "PUMP-001", 30, in_a)
    assert zone_of(reg, await location(floki, reg, "PUMP-001")) == "room_b"

    # Ten minutes after the scan a steady BLE stream in Room 7A outweighs it.
    floki.clock.advance(600 - 90)
    await walk(floki, reg, "PUMP-001", 30, in_a)
    answer = await location(floki, reg, "PUMP-001")
    assert zone_of(reg, answer) == "room_a"
    assert (answer["method"], answer["technology"]) == ("rssi", "ble")
    top = answer["evidence"][0]
    assert (top["method"], top["receiver"], top["zone_id"]) == (
        "rssi",
        "gw-7a",
        reg.zones["room_a"],
    )
    assert zones_visited(reg, await stays(floki, reg, "PUMP-001")) == ["room_a", "room_b", "room_a"]


# --- admission: replays, skew, late data -----------------------------------------


async def test_replayed_batches_are_counted_once(floki: Floki, reg: Register) -> None:
    await settle_in_room_a(floki, reg)
    start = floki.clock.now()
    batch = [
        ble(reg, "PUMP-001", rx, rssi, start + dt.timedelta(seconds=s))
        for s in range(1, 11)
        for rx, rssi in (("gw-7a", -56.0 - s % 3), ("gw-7b", -79.0))
    ]
    floki.clock.advance(11)
    await floki.inject(batch, source="gateway-1")
    before = await source_stats(floki, "gateway-1")
    history = await stays(floki, reg, "PUMP-001")

    shuffled = list(batch)
    random.Random(7).shuffle(shuffled)
    floki.clock.advance(30)  # the gateway retries later, in its own order
    await floki.inject(batch, source="gateway-1")
    await floki.inject(shuffled, source="gateway-1")

    after = await source_stats(floki, "gateway-1")
    assert after["duplicates"] - before["duplicates"] == 2 * len(batch)
    assert after["received"] - before["received"] == 2 * len(batch)
    assert after["accepted"] == before["accepted"]
    assert await stays(floki, reg, "PUMP-001") == history
    text = await metrics_text(floki)
    assert metric(text, 'floki_observations_duplicates_total{source="gateway-1"}') == 40


async def test_implausible_clocks_are_quarantined(floki: Floki, reg: Register) -> None:
    await settle_in_room_a(floki, reg)
    now = floki.clock.now()
    future = now + dt.timedelta(minutes=10)
    ancient = now - dt.timedelta(days=2)
    batch = [
        scan(reg, "PUMP-001", "qr-7b", future),
        ble(reg, "PUMP-001", "gw-7b", -40.0, future),
        scan(reg, "PUMP-001", "qr-7b", ancient),
    ]
    await floki.inject(batch, source="skewed-gateway")

    stats = await source_stats(floki, "skewed-gateway")
    assert stats["quarantined"] == {"future": 2, "too_old": 1}
    assert (stats["received"], stats["accepted"]) == (3, 0)
    answer = await location(floki, reg, "PUMP-001")
    assert zone_of(reg, answer) == "room_a"
    assert dt.datetime.fromisoformat(answer["last_seen"]) == now
    assert zones_visited(reg, await stays(floki, reg, "PUMP-001")) == ["room_a"]
    text = await metrics_text(floki)
    sample = 'floki_observations_quarantined_total{source="skewed-gateway",reason="future"}'
    assert metric(text, sample) == 2


async def test_an_older_batch_after_a_newer_one_does_not_move_the_asset_back(
    floki: Floki, reg: Register
) -> None:
    await settle_in_room_a(floki, reg)
    late_before = metric(await metrics_text(floki), "floki_late_evidence_total")
    newest = floki.clock.now()
    # A gateway that was offline flushes what it saw a minute ago in Room 7B.
    old = newest - dt.timedelta(seconds=60)
    backlog = [scan(reg, "PUMP-001", "qr-7b", old)] + [
        ble(reg, "PUMP-001", "gw-7b", -45.0, old + dt.timedelta(seconds=s)) for s in range(10)
    ]
    await floki.inject(backlog, source="backlog-gateway")

    answer = await location(floki, reg, "PUMP-001")
    assert zone_of(reg, answer) == "room_a"
    assert dt.datetime.fromisoformat(answer["last_seen"]) == newest
    history = await stays(floki, reg, "PUMP-001")
    assert zones_visited(reg, [s for s in history if not s["reported_late"]]) == ["room_a"]
    # The scan still tells where the pump was a minute ago: history keeps it, marked late.
    # The backlog's RSSI, judged without the other gateways of that minute, does not.
    late = [s for s in history if s["reported_late"]]
    assert zones_visited(reg, late) == ["room_b"]
    assert dt.datetime.fromisoformat(late[0]["entered_at"]) == old
    assert late[0]["method"] == "fixed_point"
    assert (await source_stats(floki, "backlog-gateway"))["accepted"] == len(backlog)
    late_after = metric(await metrics_text(floki), "floki_late_evidence_total")
    assert late_after > late_before


async def test_late_scans_fill_history_only_where_it_had_a_gap_or_another_zone(
    floki: Floki, reg: Register
) -> None:
    await settle_in_room_a(floki, reg)
    newest = floki.clock.now()
    entered = dt.datetime.fromisoformat((await stays(floki, reg, "PUMP-001"))[0]["entered_at"])
    # A ward phone that was offline uploads its queue: three scans of the pump in Room 7B
    # (one stay), then one in Room 7A, where history already has the pump.
    queued = [newest - dt.timedelta(seconds=s) for s in (50, 45, 40)]
    batch = [scan(reg, "PUMP-001", "qr-7b", at) for at in queued]
    batch.append(scan(reg, "PUMP-001", "qr-7a", newest - dt.timedelta(seconds=20)))
    await floki.inject(batch, source="ward-phone")

    history = await stays(floki, reg, "PUMP-001")
    late = [s for s in history if s["reported_late"]]
    assert zones_visited(reg, late) == ["room_b"]
    assert dt.datetime.fromisoformat(late[0]["entered_at"]) == queued[0]
    assert dt.datetime.fromisoformat(late[0]["left_at"]) == queued[-1]
    current = [s for s in history if not s["reported_late"]]
    assert zones_visited(reg, current) == ["room_a"]
    assert dt.datetime.fromisoformat(current[0]["entered_at"]) == entered
    assert current[0]["left_at"] is None
    assert zone_of(reg, await location(floki, reg, "PUMP-001")) == "room_a"

    assert metric(await metrics_text(floki), "floki_late_stays_total") == 1
    # The same upload again (the phone retried) adds nothing.
    await floki.inject(batch, source="ward-phone")
    assert await stays(floki, reg, "PUMP-001") == history


# --- calibration and the register ------------------------------------------------


async def test_a_receiver_offset_changes_which_room_wins(floki: Floki, reg: Register) -> None:
    # Room 7B's gateway sits in a metal cabinet and reads 12 dB low.
    levels = steady(**{"gw-7a": -60.0, "gw-7b": -64.0})
    await walk(floki, reg, "PUMP-001", 30, levels)
    assert zone_of(reg, await location(floki, reg, "PUMP-001")) == "room_a"

    gw_b = reg.receivers["gw-7b"]["id"]
    resp = await floki.client.patch(
        f"/api/v1/receivers/{gw_b}", json={"rssi_offset": 12.0}, headers=await floki.headers()
    )
    assert resp.status == 200
    assert (await resp.json())["rssi_offset"] == 12.0
    await floki.core.locations.reindex()

    await walk(floki, reg, "PUMP-001", 60, levels)
    answer = await location(floki, reg, "PUMP-001")
    assert zone_of(reg, answer) == "room_b"
    top = answer["evidence"][0]
    assert top["receiver"] == "gw-7b"
    assert top["signal"] == pytest.approx(-64.0 + 12.0, abs=0.5)
    assert zones_visited(reg, await stays(floki, reg, "PUMP-001")) == ["room_a", "room_b"]


async def test_unknown_tags_are_listed_until_bound(floki: Floki, reg: Register) -> None:
    stranger = "DE:AD:BE:EF:00:01"
    for s, rx in enumerate(("gw-7b", "gw-7b", "gw-7a")):
        floki.clock.advance(1)
        obs = Observation(
            technology="ble",
            tag=stranger,
            receiver=reg.identifier(rx),
            rssi=-60.0 - s,
            observed_at=floki.clock.now(),
        )
        await floki.inject([obs], source="gateway-1")

    listed = await get_json(floki, "/unknown-tags")
    assert listed["total"] == 1
    item = listed["items"][0]
    assert (item["technology"], item["tag"], item["count"]) == ("ble", stranger, 3)
    assert item["last_receiver"] == reg.identifier("gw-7a")
    assert (await source_stats(floki, "gateway-1"))["unknown_tags"] == 3
    assert metric(await metrics_text(floki), "floki_unknown_tags") == 1

    # Staff bind it to the spare pump; from then on it is that pump.
    resp = await floki.client.post(
        "/api/v1/identifiers",
        json={"asset_id": reg.assets["SPARE-001"], "technology": "ble", "value": stranger},
        headers=await floki.headers("engineer"),
    )
    assert resp.status == 201
    await floki.core.locations.reindex()
    assert (await get_json(floki, "/unknown-tags"))["items"] == []

    floki.clock.advance(1)
    obs = Observation(
        technology="ble",
        tag=stranger,
        receiver=reg.identifier("gw-7a"),
        rssi=-55.0,
        observed_at=floki.clock.now(),
    )
    await floki.inject([obs], source="gateway-1")
    assert zone_of(reg, await location(floki, reg, "SPARE-001")) == "room_a"
    assert (await get_json(floki, "/unknown-tags"))["items"] == []


# --- GPS -------------------------------------------------------------------------


async def test_gps_fix_in_the_hub_polygon_and_off_site_outside(floki: Floki, reg: Register) -> None:
    floki.clock.advance(1)
    await floki.inject([fix(reg, "VAN-KIT-001", *INSIDE_HUB, floki.clock.now())], source="gps")
    answer = await location(floki, reg, "VAN-KIT-001")
    assert zone_of(reg, answer) == "hub"
    assert answer["zone"] == {
        "id": reg.zones["hub"],
        "name": "North Community Hub",
        "type": "community_hub",
    }
    assert (answer["off_site"], answer["method"], answer["technology"]) == (
        False,
        "geofence",
        "gps",
    )
    assert (answer["lat"], answer["lon"]) == INSIDE_HUB

    # Driven away: fixes outside every zone put the kit off site, with where it was.
    for _ in range(3):
        floki.clock.advance(10)
        await floki.inject([fix(reg, "VAN-KIT-001", *OUTSIDE_HUB, floki.clock.now())], source="gps")
    answer = await location(floki, reg, "VAN-KIT-001")
    assert answer["located"] is True
    assert answer["off_site"] is True
    assert answer["zone"] is None and answer["path"] == []
    assert (answer["lat"], answer["lon"]) == OUTSIDE_HUB
    assert answer["stale"] is False
    assert zones_visited(reg, await stays(floki, reg, "VAN-KIT-001")) == ["hub", None]


# --- persistence -----------------------------------------------------------------


async def test_moves_written_together_keep_stays_consistent(floki: Floki, reg: Register) -> None:
    """A reader back online delivers its backlog: several moves of one asset reach the
    database in the same write. Each stay must still end where the next begins."""
    readers = ["qr-7a", "qr-7b", "qr-bay", "qr-7a"]
    for reader in readers:
        floki.clock.advance(10)
        await floki.core.ingest.put("reader", [scan(reg, "PUMP-001", reader, floki.clock.now())])
    await floki.settle()

    history = await stays(floki, reg, "PUMP-001")
    assert zones_visited(reg, history) == ["room_a", "room_b", "bay", "room_a"]
    for stay, following in itertools.pairwise(history):
        assert stay["left_at"] == following["entered_at"], history
    assert history[-1]["left_at"] is None
    in_room_a = await get_json(floki, f"/zones/{reg.zones['room_a']}/assets")
    assert [i["asset_number"] for i in in_room_a["items"]] == ["PUMP-001"]


async def test_deleting_a_freshly_seen_asset_does_not_stop_location_writes(
    floki: Floki, reg: Register
) -> None:
    """Staff unbind and delete an asset moments after its tag was heard, before the writer
    ran. Other assets' locations must go on being saved and answered."""
    floki.clock.advance(1)
    await floki.inject([scan(reg, "PUMP-002", "qr-7a", floki.clock.now())], source="reader")
    floki.clock.advance(1)
    await floki.core.ingest.put(
        "reader",
        [
            scan(reg, "PUMP-002", "qr-7b", floki.clock.now()),
            scan(reg, "PUMP-001", "qr-7b", floki.clock.now()),
        ],
    )
    await floki.core.ingest.join()

    engineer = await floki.headers("engineer")
    pump_2 = reg.assets["PUMP-002"]
    for identifier in (await get_json(floki, "/identifiers", asset_id=pump_2))["items"]:
        resp = await floki.client.delete(
            f"/api/v1/identifiers/{identifier['id']}", headers=engineer
        )
        assert resp.status == 204
    resp = await floki.client.delete(f"/api/v1/assets/{pump_2}", headers=engineer)
    assert resp.status == 204

    await floki.settle()
    assert zones_visited(reg, await stays(floki, reg, "PUMP-001")) == ["room_b"]
    in_room_b = await get_json(floki, f"/zones/{reg.zones['room_b']}/assets")
    assert [i["asset_number"] for i in in_room_b["items"]] == ["PUMP-001"]


async def test_locations_survive_a_restart(floki: Floki, reg: Register) -> None:
    await settle_in_room_a(floki, reg)
    await floki.inject([scan(reg, "PUMP-002", "qr-bay", floki.clock.now())], source="reader")
    before = {a: await location(floki, reg, a) for a in ("PUMP-001", "PUMP-002")}
    history = await stays(floki, reg, "PUMP-001")
    viewer = await floki.headers("viewer")
    await floki.core.stop()

    floki.clock.advance(60)
    core = Core(floki.core.data_dir, floki.core.config, clock=floki.clock)
    await core.start()
    try:
        async with TestClient(TestServer(create_app(core))) as client:
            for asset, was in before.items():
                resp = await client.get(
                    f"/api/v1/assets/{reg.assets[asset]}/location", headers=viewer
                )
                assert resp.status == 200
                now = await resp.json()
                assert now["zone"] == was["zone"]
                assert now["path"] == was["path"]
                for key in ("since", "last_seen", "method", "technology", "x", "y"):
                    assert now[key] == was[key], key
                assert now["age_seconds"] == pytest.approx(was["age_seconds"] + 60)

            # Heard again in the same room after the restart: no new stay is made up.
            floki.clock.advance(1)
            obs = [
                ble(reg, "PUMP-001", "gw-7a", -55.0, floki.clock.now()),
                ble(reg, "PUMP-001", "gw-7b", -80.0, floki.clock.now()),
            ]
            await core.ingest.put("gateway-1", obs)
            await core.ingest.join()
            await core.locations.flush()
            resp = await client.get(
                f"/api/v1/assets/{reg.assets['PUMP-001']}/history", headers=viewer
            )
            after = await resp.json()
            assert list(reversed(after["items"])) == history
            resp = await client.get(
                f"/api/v1/assets/{reg.assets['PUMP-001']}/location", headers=viewer
            )
            last_seen = (await resp.json())["last_seen"]
            assert dt.datetime.fromisoformat(last_seen) == floki.clock.now()
    finally:
        await core.stop()
