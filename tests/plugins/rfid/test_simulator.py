"""The demo's RFID (issue 14, §4): with ``[plugin.rfid] simulate = true`` the plugin's own
LLRP sources read emulated readers on loopback, demo kit passes the Equipment Library's
door (*left*, then *entered*, in GET /api/v1/rfid/portal-events), the shelves place what
sits on them, and a sample stock-take of Main Stores is recorded with found, missing,
unexpected and unknown tags. Driven by the manual clock.

Cost: one appliance on a copy of the demo register, about 3 s."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from aiohttp.test_utils import TestClient, TestServer
from floki_rfid.simulator import SOURCE_NAME, SimulatedReaders

from floki_core.api.app import create_app
from floki_core.clock import ManualClock
from floki_core.config import AppConfig, parse_config
from floki_core.core import Core
from floki_core.demo import RFID_SIMULATOR_SETTINGS
from floki_core.testing import Floki
from tests.fixtures.demo import DEMO_START, DemoRegister, copy_demo_register

pytestmark = pytest.mark.product
API = "/api/v1"
FAST = {"backoff_initial": 0.02, "backoff_max": 0.1, "max_failures": 1000}


@pytest_asyncio.fixture
async def demo(tmp_path: Path, demo_register: DemoRegister) -> AsyncIterator[Floki]:
    data_dir = copy_demo_register(demo_register, tmp_path / "data")
    config = parse_config(
        {
            "discovery": {"enabled": False},
            "server": {"tls": False},
            "plugins": {"supervision": FAST},
            "plugin": {"rfid": {**RFID_SIMULATOR_SETTINGS, "batch_seconds": 0.05}},
        }
    )
    clock = ManualClock(DEMO_START)
    core = Core(data_dir, config, clock=clock)
    await core.start()
    try:
        async with TestClient(TestServer(create_app(core))) as client:
            yield Floki(core, client, clock)
    finally:
        await core.stop()


def source(floki: Floki, name: str) -> Any:
    registration = floki.core.plugins.registries.sources.get(name)
    assert registration is not None, f"{name} is a source when simulate is on"
    return registration.item


async def get(floki: Floki, path: str) -> Any:
    resp = await floki.client.get(API + path, headers=await floki.headers("viewer"))
    assert resp.status == 200, await resp.text()
    return await resp.json()


async def step(floki: Floki, simulator: SimulatedReaders) -> None:
    """Two real seconds (twenty simulated)."""
    floki.advance(2)
    await simulator.catch_up()
    await floki.settle()


async def test_demo_kit_leaves_and_enters_the_library_through_its_portal(demo: Floki) -> None:
    simulator = source(demo, SOURCE_NAME)
    assert isinstance(simulator, SimulatedReaders)
    # The plugin's own LLRP sources, connected to the emulated readers on loopback.
    for name in ("library", "stores"):
        llrp = source(demo, f"rfid-llrp-{name}")
        assert llrp.settings.host == "127.0.0.1"
        assert llrp.settings.port == simulator.readers[name].port
        await Floki.eventually(lambda r=simulator.readers[name]: r.inventorying, f"{name} reads")
    plugins = await get(demo, "/plugins")
    (rfid,) = [p for p in plugins["items"] if p["name"] == "rfid"]
    details = {s["name"]: s["details"] for s in rfid["sources"]}
    assert details["rfid-llrp-library"]["connected"] is True
    assert details["rfid-llrp-library"]["address"].startswith("127.0.0.1:")

    await simulator.catch_up()
    assert simulator.layout is not None
    library = next(room for room in simulator.layout.rooms if room.reader == "library")
    first = library.travellers[0]

    # The shelves place the library's kit there.
    async def on_shelf() -> bool:
        where = await get(demo, f"/assets/{first.asset_id}/location")
        return (where.get("zone") or {}).get("name") == "Equipment Library"

    await Floki.eventually(on_shelf, "the first traveller on its library shelf")

    # Half a simulated minute in (three real seconds at ten times), it goes out.
    for _ in range(10):
        await step(demo, simulator)
        if simulator.is_away(first):
            break
    assert simulator.is_away(first)

    async def crossed(direction: str) -> bool:
        events = await get(demo, f"/rfid/portal-events?asset_id={first.asset_id}")
        return any(e["direction"] == direction for e in events["items"])

    await Floki.eventually(lambda: crossed("left"), "the traveller leaving the library")
    (left,) = (await get(demo, f"/rfid/portal-events?asset_id={first.asset_id}"))["items"]
    assert (left["portal"], left["zone"], left["epc"]) == (
        "library-door",
        "Equipment Library",
        first.epc,
    )
    # The deciding read (the reader's clock) is no later than the crossing was taken.
    assert dt.datetime.fromisoformat(left["read_at"]) <= dt.datetime.fromisoformat(left["at"])
    where = await get(demo, f"/assets/{first.asset_id}/location")
    assert where["zone"]["name"] == "Ground Floor Corridor"

    # Five simulated minutes later it comes back in.
    for _ in range(20):
        await step(demo, simulator)
        if not simulator.is_away(first):
            break
    await Floki.eventually(lambda: crossed("entered"), "the traveller back in the library")
    await Floki.eventually(on_shelf, "the traveller back on its shelf")


async def test_the_sample_sweep_of_main_stores_has_a_report(demo: Floki) -> None:
    simulator = source(demo, SOURCE_NAME)
    await simulator.catch_up()
    listing = await get(demo, "/rfid/stocktakes")
    assert listing["total"] == 1
    (entry,) = listing["items"]
    assert entry["zone"] == "Main Stores"
    assert entry["device"] == "demo handheld"
    report = await get(demo, f"/rfid/stocktakes/{entry['id']}")
    counts = report["counts"]
    assert counts["found"] > 0 and counts["missing"] == 2 and counts["unexpected"] == 2
    assert counts["unknown"] == 1
    assert all(item["epc"] for item in report["found"])
    assert {item["expected_zone"] for item in report["unexpected"]} == {"Equipment Library"}
    assert report["unknown"] == [{"epc": "E2801170000002000000D001", "kind": "raw"}]

    # Once only: a later start finds it kept.
    simulator.swept = None
    await simulator.catch_up()
    assert (await get(demo, "/rfid/stocktakes"))["total"] == 1


async def test_without_the_demo_readers_in_the_register_the_simulator_idles(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    config = parse_config(
        {
            "discovery": {"enabled": False},
            "server": {"tls": False},
            "plugin": {"rfid": dict(RFID_SIMULATOR_SETTINGS)},
        }
    )
    core = Core(tmp_path / "data", config, clock=ManualClock(DEMO_START))
    await core.start()
    try:
        registration = core.plugins.registries.sources.get(SOURCE_NAME)
        assert registration is not None
        simulator = registration.item
        assert isinstance(simulator, SimulatedReaders)
        with caplog.at_level(logging.WARNING):
            assert await simulator.catch_up() == 0
        assert simulator.layout is None
        assert "simulated RFID readers idle: no rfid receivers library:1-4" in caplog.text
    finally:
        await core.stop()


@pytest.fixture
def floki_config() -> AppConfig:
    """simulate on beside a reader of the user's own named like a simulated one."""
    mine = {"name": "library", "host": "192.0.2.10"}
    return parse_config(
        {
            "discovery": {"enabled": False},
            "server": {"tls": False},
            "plugin": {"rfid": {"simulate": True, "readers": [mine]}},
        }
    )


@pytest.mark.floki_entry_points("rfid")
async def test_simulate_beside_a_reader_named_like_a_simulated_one_fails_the_plugin(
    floki: Floki,
) -> None:
    resp = await floki.client.get(f"{API}/plugins", headers=await floki.headers("viewer"))
    (entry,) = [p for p in (await resp.json())["items"] if p["name"] == "rfid"]
    assert entry["status"] == "failed"
    assert (
        "[plugin.rfid] simulate = true emulates the readers library, stores: "
        "a reader named library is configured too"
    ) in entry["reason"], entry
    assert floki.core.plugins.registries.sources.get(SOURCE_NAME) is None
