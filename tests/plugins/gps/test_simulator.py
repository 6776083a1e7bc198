"""Simulated GPS trackers (issue 13, §3): the demo's community kit, driven through the
plugin's real listeners on loopback (Teltonika and GT06 over TCP, a phone over HTTP),
located by the geofence in the hub and then in a home area, zone level while on loan.
Driven by the manual clock: time passes only when a test says so."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from aiohttp.test_utils import TestClient, TestServer
from floki_gps.simulator import SOURCE_NAME, SimulatedTrackers
from floki_gps.simulator_model import build_items, places_of
from floki_gps.simulator_trackers import Gt06Link, OsmandLink, TeltonikaLink

from floki_core.api.app import create_app
from floki_core.clock import ManualClock
from floki_core.config import parse_config
from floki_core.core import Core
from floki_core.demo import COMMUNITY_SIMULATOR_SETTINGS, load_demo
from floki_core.location.register_index import RegisterIndex
from floki_core.location.register_view import RegisterView
from floki_core.sdk import RegisterSnapshot
from floki_core.storage.database import Database, default_url
from floki_core.testing import Floki
from tests.fixtures.gps_trackers import free_port

# The demo hospital loaded into appliances: product-level, as the other demo tests.
pytestmark = pytest.mark.product

START = dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC)
API = "/api/v1"


def load_demo_database(data_dir: Path) -> Database:
    data_dir.mkdir(parents=True, exist_ok=True)
    db = Database(default_url(data_dir))
    db.migrate()
    with db.transaction() as session:
        load_demo(session, data_dir, now=START)
    return db


async def demo_snapshot(data_dir: Path) -> RegisterSnapshot:
    db = load_demo_database(data_dir)

    async def read(fn: Any) -> Any:
        with db.sessions() as session:
            return fn(session)

    try:
        return await RegisterView(RegisterIndex, read).snapshot()
    finally:
        db.close()


def gps_settings(**extra: Any) -> dict[str, Any]:
    """What the demo writes, on free ports, with fixes handed on without delay."""
    return {
        **COMMUNITY_SIMULATOR_SETTINGS,
        "teltonika_port": free_port(),
        "gt06_port": free_port(),
        "osmand_port": free_port(),
        "osmand_min_interval_seconds": 0,
        "traccar_forward": False,
        "batch_seconds": 0.05,
        **extra,
    }


@pytest_asyncio.fixture
async def demo(tmp_path: Path) -> AsyncIterator[Floki]:
    data_dir = tmp_path / "data"
    load_demo_database(data_dir).close()
    clock = ManualClock(START)
    config = parse_config(
        {
            "discovery": {"enabled": False},
            "server": {"tls": False},
            "plugin": {"gps": gps_settings()},
        }
    )
    core = Core(data_dir, config, clock=clock)
    await core.start()
    try:
        async with TestClient(TestServer(create_app(core))) as client:
            yield Floki(core, client, clock)
    finally:
        await core.stop()


def simulator_of(floki: Floki) -> SimulatedTrackers:
    registration = floki.core.plugins.registries.sources.get(SOURCE_NAME)
    assert registration is not None, "the simulated trackers are a source when simulate is on"
    source = registration.item
    assert isinstance(source, SimulatedTrackers)
    return source


async def location(floki: Floki, asset_id: int) -> dict[str, Any]:
    resp = await floki.client.get(
        f"{API}/assets/{asset_id}/location", headers=await floki.headers("viewer")
    )
    assert resp.status == 200, await resp.text()
    found: dict[str, Any] = await resp.json()
    return found


async def zone_named(floki: Floki, asset_id: int, name: str) -> bool:
    where = await location(floki, asset_id)
    return bool(where.get("located")) and (where.get("zone") or {}).get("name") == name


async def step(floki: Floki, source: SimulatedTrackers) -> None:
    """Three real seconds (thirty simulated): every tracker reports once."""
    floki.advance(3)
    await source.catch_up()
    await floki.settle()


async def test_the_van_takes_a_loaned_item_from_the_hub_to_its_home_area(demo: Floki) -> None:
    source = simulator_of(demo)
    await source.catch_up()  # the simulation starts now, if the source has not started it
    # Every tracker's first fix, taken by a listener.
    await Floki.eventually(lambda: source.sent == 15, "fifteen first fixes")
    assert source.items is not None
    van = next(item for item in source.items if item.on_loan and item.round[0].kind == "hub")
    home = van.round[1]
    assert home.name.startswith("Home area")

    await Floki.eventually(
        lambda: zone_named(demo, van.asset_id, "Community Equipment Hub"), "in the hub"
    )
    # Every kind of tracker reported through its own listener.
    kinds = {type(link) for link in source.links.values()}
    assert kinds == {TeltonikaLink, Gt06Link, OsmandLink}
    resp = await demo.client.get(f"{API}/gps/devices", headers=await demo.headers("engineer"))
    listed = {d["device"]: d for d in (await resp.json())["items"]}
    assert {d["protocol"] for d in listed.values()} == {"teltonika", "gt06", "osmand"}
    assert all(listed[item.device]["registered"] for item in source.items)

    # The van leaves a minute (simulated) in and drives a few kilometres: ten times real
    # time, three real seconds a report.
    while van.position(source.simulated_seconds()).place != home:
        await step(demo, source)
    # The resolver moves an asset once the new zone has held for a while (its dwell).
    for _ in range(20):
        await step(demo, source)
        if await zone_named(demo, van.asset_id, home.name):
            break
    else:
        raise AssertionError(f"not placed in {home.name}: {await location(demo, van.asset_id)}")

    where = await location(demo, van.asset_id)
    # On loan: the zone and the loan, never the position.
    assert where["label"] == f"{home.name}, on loan {where['on_loan']['reference']}"
    assert (where["lat"], where["lon"], where["precise"]) == (None, None, False)
    assert source.failed == 0


async def test_without_listen_host_no_tracker_is_simulated(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    config = parse_config(
        {
            "discovery": {"enabled": False},
            "server": {"tls": False},
            "plugin": {"gps": {"simulate": True}},
        }
    )
    core = Core(tmp_path / "data", config, clock=ManualClock(START))
    with caplog.at_level(logging.WARNING):
        await core.start()
    try:
        assert core.plugins.registries.sources.get(SOURCE_NAME) is None
        assert "simulate = true needs listen_host" in caplog.text
    finally:
        await core.stop()


# --- the movement model, without an appliance ------------------------------------------


async def test_items_go_round_the_hub_the_depot_and_the_home_areas(tmp_path: Path) -> None:
    snapshot = await demo_snapshot(tmp_path / "data")
    places = places_of(snapshot)
    assert [p.name for p in places["hub"]] == ["Community Equipment Hub"]
    assert [p.name for p in places["depot"]] == ["Community Equipment Depot"]
    assert len(places["home"]) == 3
    items = build_items(snapshot, seed=1)
    assert len(items) == 15
    assert {i.protocol for i in items} == {"teltonika", "gt06", "osmand"}
    visited: dict[int, set[str]] = {i.asset_id: set() for i in items}
    battery = {i.asset_id: i.battery(0) for i in items}
    for t in range(0, 86_400, 60):  # a simulated day, a look every minute
        for item in items:
            where = item.position(float(t))
            if where.place is not None:
                visited[item.asset_id].add(where.place.kind)
            else:
                assert where.speed_kmh > 0
    for item in items:
        assert item.battery(86_400) < battery[item.asset_id]
        expected = {"hub", "home"} | (set() if item.on_loan else {"depot"})
        assert visited[item.asset_id] == expected, item.device
    # The same seed gives the same rounds, all day; another seed, other rounds. (Fresh
    # builds: an item's rounds are drawn as it goes, so ``items`` is past these times.)
    again, twin = build_items(snapshot, seed=1), build_items(snapshot, seed=1)
    other = build_items(snapshot, seed=2)
    for t in (0.0, 600.0, 3600.0, 43_200.0):
        assert [i.position(t) for i in again] == [i.position(t) for i in twin]
    items = build_items(snapshot, seed=1)
    assert any(
        [i.position(t) for i in other] != [i.position(t) for i in items]
        for t in (600.0, 3600.0, 43_200.0)
    )
