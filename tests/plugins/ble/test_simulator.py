"""Simulated gateways (issue 4, §4): the demo hospital's tags, heard by its gateways,
located and moving through the API; telemetry from low batteries; a gateway that drops
out now and then. Driven by the manual clock: time passes only when a test says so."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import AsyncIterator, Iterator, Sequence
from pathlib import Path
from typing import Any

import aiohttp
import msgspec
import pytest
import pytest_asyncio
from aiohttp.test_utils import TestClient, TestServer

from floki_ble.config import BleSettings
from floki_ble.simulator import (
    SOURCE_NAME,
    SimulatedGateways,
    Simulation,
    SiteRecords,
    build_site,
    read_register,
)
from floki_core.api.app import create_app
from floki_core.clock import ManualClock
from floki_core.config import parse_config
from floki_core.core import Core
from floki_core.demo import SIMULATOR_SETTINGS
from floki_core.domain import AssetState
from floki_core.location.register_index import RegisterIndex
from floki_core.location.register_view import RegisterView
from floki_core.observations import Observation
from floki_core.storage.database import Database, default_url
from floki_core.testing import Floki
from tests.fixtures.demo import DEMO_START, DemoRegister, copy_demo_register

START = DEMO_START  # when the shared demo register was loaded
API = "/api/v1"


async def _read_from(db: Database, fn: Any) -> Any:
    with db.sessions() as session:
        return fn(session)


def register_of(db: Database) -> RegisterView:
    """The plugin surface's register view over a database (no index: the simulation
    reads only the snapshot)."""
    return RegisterView(RegisterIndex, lambda fn: _read_from(db, fn))


@pytest.fixture(scope="module")
def demo_records(
    tmp_path_factory: pytest.TempPathFactory, demo_register: DemoRegister
) -> Iterator[SiteRecords]:
    data_dir = copy_demo_register(demo_register, tmp_path_factory.mktemp("demo") / "data")
    db = Database(default_url(data_dir))
    try:
        yield asyncio.run(read_register(register_of(db)))
    finally:
        db.close()


async def start_demo(
    demo: DemoRegister, data_dir: Path, clock: ManualClock, ble: dict[str, Any]
) -> Core:
    """An appliance on a copy of the demo register (loaded once per session,
    tests/fixtures/demo.py)."""
    copy_demo_register(demo, data_dir)
    config = parse_config(
        {"discovery": {"enabled": False}, "server": {"tls": False}, "plugin": {"ble": ble}}
    )
    core = Core(data_dir, config, clock=clock)
    await core.start()
    return core


@pytest_asyncio.fixture
async def demo(tmp_path: Path, demo_register: DemoRegister) -> AsyncIterator[Floki]:
    """The demo hospital in a running appliance, with the settings the demo writes."""
    clock = ManualClock(START)
    core = await start_demo(demo_register, tmp_path / "data", clock, SIMULATOR_SETTINGS)
    try:
        async with TestClient(TestServer(create_app(core))) as client:
            yield Floki(core, client, clock)
    finally:
        await core.stop()


def simulator_of(floki: Floki) -> SimulatedGateways:
    registration = floki.core.plugins.registries.sources.get(SOURCE_NAME)
    assert registration is not None, "the simulated source is registered when simulate is on"
    source = registration.item
    assert isinstance(source, SimulatedGateways)
    return source


async def run_for(floki: Floki, seconds: int, step: int = 5) -> None:
    """Let ``seconds`` pass in steps, the gateways reporting and the core catching up."""
    source = simulator_of(floki)
    await source.catch_up()  # the simulation starts now, if the source has not started it
    for _ in range(0, seconds, step):
        floki.advance(step)
        await source.catch_up()
        await floki.settle()


class Recorder:
    def __init__(self) -> None:
        self.batches: list[list[Observation]] = []

    async def submit(self, batch: Sequence[Observation]) -> None:
        self.batches.append(list(batch))

    def observations(self) -> list[Observation]:
        return [o for b in self.batches for o in b]


def source_for(records: SiteRecords, clock: ManualClock, **settings: Any) -> SimulatedGateways:
    async def load() -> SiteRecords:
        return records

    merged = {**SIMULATOR_SETTINGS, **settings}
    return SimulatedGateways(
        msgspec.convert(merged, BleSettings), clock, load, logging.getLogger("test")
    )


# --------------------------------------------------------------- through the appliance


async def test_demo_tags_are_located_and_moves_show_in_the_api_and_on_the_websocket(
    demo: Floki,
) -> None:
    headers = await demo.headers("viewer")
    ws = await demo.client.ws_connect(f"{API}/events", headers=headers)
    try:
        await run_for(demo, 60)
        events: list[dict[str, Any]] = []
        while True:
            try:
                msg = await ws.receive(timeout=0.5)
            except TimeoutError:
                break
            assert msg.type == aiohttp.WSMsgType.TEXT
            events += msgspec.json.decode(msg.data)
    finally:
        await ws.close()
    changes = [e for e in events if e["type"] == "location.changed"]
    simulation = simulator_of(demo).simulation
    assert simulation is not None
    simulated = set(simulation.asset_ids)
    first_fixes = {e["entity_id"] for e in changes if e["data"]["first_fix"]}
    assert len(first_fixes & simulated) >= 0.9 * len(simulated)
    moves = [e for e in changes if not e["data"]["first_fix"]]
    assert len({e["entity_id"] for e in moves}) >= 5, "tags move within the first minute"
    assert {e["data"]["technology"] for e in moves} == {"ibeacon"}

    # Mostly where the tags really are; the rest are on their way, or out of earshot of
    # the gateway that dropped out.
    truth = dict(zip(simulation.asset_ids, simulation.tags.zones(), strict=True))
    resp = await demo.client.get(f"{API}/assets?limit=500", headers=headers)
    listed = {item["id"]: item["location"] for item in (await resp.json())["items"]}
    right = [a for a in simulated if listed[a] and (listed[a]["zone"] or {}).get("id") == truth[a]]
    assert len(right) >= 0.8 * len(simulated)

    # The API agrees with the latest move of a moved asset.
    latest = {e["entity_id"]: e for e in moves}
    asset_id, event = next(iter(latest.items()))
    resp = await demo.client.get(f"{API}/assets/{asset_id}/location", headers=headers)
    assert resp.status == 200
    where = await resp.json()
    assert where["located"] is True
    assert where["zone"]["id"] == event["data"]["to_zone_id"]
    assert where["technology"] == "ibeacon"
    resp = await demo.client.get(f"{API}/assets/{asset_id}/history", headers=headers)
    assert (await resp.json())["total"] >= 2


async def test_assets_away_from_the_hospital_are_not_heard(demo: Floki) -> None:
    await run_for(demo, 20)
    headers = await demo.headers("viewer")
    resp = await demo.client.get(f"{API}/assets?state=on_loan&limit=500", headers=headers)
    assert resp.status == 200
    body = await resp.json()
    on_loan = body["items"]
    assert on_loan
    for item in on_loan[:10]:
        resp = await demo.client.get(f"{API}/assets/{item['id']}/location", headers=headers)
        assert (await resp.json())["located"] is False


async def test_simulation_off_registers_no_simulated_source(floki: Floki) -> None:
    assert floki.core.plugins.registries.sources.get(SOURCE_NAME) is None


async def test_an_empty_register_leaves_the_simulator_idle(tmp_path: Path) -> None:
    clock = ManualClock(START)
    config = parse_config(
        {
            "discovery": {"enabled": False},
            "server": {"tls": False},
            "plugin": {"ble": {"simulate": True}},
        }
    )
    core = Core(tmp_path / "data", config, clock=clock)
    await core.start()
    try:
        registration = core.plugins.registries.sources.get(SOURCE_NAME)
        assert registration is not None
        clock.advance(60)
        assert await registration.item.catch_up() == 0
        resp = [p.as_dict() for p in core.plugins.infos() if p.name == "ble"]
        assert resp[0]["status"] == "running"
    finally:
        await core.stop()


# --------------------------------------------------------------- what the gateways send


async def test_every_gateway_reports_each_second_with_the_demo_identities(
    demo_records: SiteRecords,
) -> None:
    clock = ManualClock(START)
    source, sink = source_for(demo_records, clock), Recorder()
    assert await source.catch_up(sink) == 0  # the first call starts the clock
    clock.advance(3)
    assert await source.catch_up(sink) == 3
    assert len(sink.batches) == 3
    values = {i.value for i in demo_records.identifiers if i.technology == "ibeacon"}
    ble = {r.identifier for r in demo_records.receivers if r.technology == "ble"}
    for second, batch in enumerate(sink.batches):
        begins = START + dt.timedelta(seconds=second)
        assert all(begins <= o.observed_at < begins + dt.timedelta(seconds=1) for o in batch)
        assert {o.technology for o in batch} == {"ibeacon"}
        assert {o.tag for o in batch} <= values
        assert {o.receiver for o in batch} <= ble
        assert all(-100 <= (o.rssi or 0) <= -30 for o in batch)
    # Nothing twice: each second is reported once, however often the loop wakes.
    assert await source.catch_up(sink) == 0


async def test_tags_send_battery_telemetry_and_a_few_read_low(
    demo_records: SiteRecords,
) -> None:
    clock = ManualClock(START)
    source, sink = source_for(demo_records, clock), Recorder()
    await source.catch_up(sink)
    clock.advance(30)
    await source.catch_up(sink)
    simulation = source.simulation
    assert simulation is not None
    readings: dict[str, set[tuple[Any, Any]]] = {}
    for o in sink.observations():
        if o.extras:
            assert set(o.extras) == {"battery_pct", "battery_mv"}
            readings.setdefault(o.tag, set()).add((o.extras["battery_pct"], o.extras["battery_mv"]))
    heard = {o.tag for o in sink.observations()}
    # A telemetry frame can be lost like any advert, but not three in a row everywhere.
    assert len(set(readings)) >= 0.98 * len(heard)
    assert simulation.low_battery
    assert simulation.low_battery <= set(readings)
    for tag, levels in readings.items():
        ((percent, millivolts),) = levels
        if tag in simulation.low_battery:
            assert percent < 20 and millivolts < 2500
        else:
            assert percent >= 50 and millivolts >= 2900


async def test_one_gateway_drops_out_for_a_while_and_comes_back(
    demo_records: SiteRecords,
) -> None:
    clock = ManualClock(START)
    source, sink = source_for(demo_records, clock), Recorder()
    await source.catch_up(sink)
    simulation = source.simulation
    assert simulation is not None
    gateway = simulation.dropout_receiver
    start, end = simulation.dropout.outages_until(300)[0]
    assert 60 <= end - start <= 150, "a minute or two"
    for _ in range(0, int(end) + 20, 60):
        clock.advance(60)
        await source.catch_up(sink)
    by_second: dict[int, set[str | None]] = {}
    for o in sink.observations():
        by_second.setdefault(int((o.observed_at - START).total_seconds()), set()).add(o.receiver)
    silent = [s for s, receivers in by_second.items() if gateway not in receivers]
    assert silent
    assert all(start - 1 <= s < end + 1 for s in silent)
    assert sum(start + 1 <= s < end - 1 for s in silent) >= end - start - 3
    assert any(gateway in by_second[s] for s in by_second if s >= end + 1)
    others = {r.identifier for r in demo_records.receivers if r.technology == "ble"} - {gateway}
    assert any(others & by_second[s] for s in silent)


async def test_a_long_pause_is_skipped_not_replayed(demo_records: SiteRecords) -> None:
    clock = ManualClock(START)
    source, sink = source_for(demo_records, clock), Recorder()
    await source.catch_up(sink)
    clock.advance(3600)
    assert await source.catch_up(sink) == 120
    assert min(o.observed_at for o in sink.observations()) >= START + dt.timedelta(seconds=3480)


def test_the_demo_site_becomes_linked_places_with_its_gateways(
    demo_records: SiteRecords,
) -> None:
    built = build_site(demo_records)
    assert built is not None
    site = built.site
    names = {p.name for p in site.places}
    kinds = {site.places[d].kind for d in built.destinations}
    assert {"bay", "theatre", "dirty_utility", "equipment_library", "ward"} <= kinds
    assert sum(p.kind == "walkway" for p in site.places) == 3  # one per drawn floor
    assert "Ward 5 Bay A" in names
    assert len(site.gateways) == sum(r.technology == "ble" for r in demo_records.receivers)
    # Every destination can be reached from every other.
    first = built.destinations[0]
    reachable = site.costs_from(first)
    assert all(d in reachable for d in built.destinations)


def test_same_seed_same_traffic(demo_records: SiteRecords) -> None:
    def traffic(seed: int) -> list[tuple[str, str | None, float | None]]:
        simulation = Simulation(demo_records, seed, speedup=10.0)
        out = []
        for second in range(30):
            at = START + dt.timedelta(seconds=second)
            out += [(o.tag, o.receiver, o.rssi) for o in simulation.second(second, at, at)]
        return out

    assert traffic(3) == traffic(3)
    assert traffic(3) != traffic(4)


def test_on_loan_assets_are_not_simulated(demo_records: SiteRecords) -> None:
    simulation = Simulation(demo_records, 1)
    away = {a.id for a in demo_records.assets if a.state is AssetState.ON_LOAN}
    assert away
    assert not away & set(simulation.asset_ids)
