"""The demo's community equipment service (issue 13, §3): a hub, a depot and fictional home
areas drawn on the map, fifteen items with GPS trackers of three kinds, nine on loan and
one of them overdue; ``floki-core demo`` switches the GPS plugin's simulated trackers on
for its own data directory, on loopback."""

from __future__ import annotations

import datetime as dt
import tomllib
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from aiohttp.test_utils import TestClient, TestServer

from floki_core.api.app import create_app
from floki_core.clock import ManualClock
from floki_core.config import CONFIG_FILE, load_config, parse_config
from floki_core.core import Core
from floki_core.demo import enable_community_simulation, enable_simulation
from floki_core.initialise import CONFIG_TEMPLATE
from floki_core.testing import Floki
from tests.fixtures.demo import DEMO_START, DemoRegister, copy_demo_register

# The demo hospital loaded into appliances: product-level, as the other demo tests.
pytestmark = pytest.mark.product

START = DEMO_START  # when the shared demo register was loaded
API = "/api/v1"


@pytest_asyncio.fixture
async def demo(demo_register: DemoRegister, tmp_path: Path) -> AsyncIterator[Floki]:
    """The demo register (a copy of the session's load, tests/fixtures/demo.py) in a
    running appliance (no plugin: only what was loaded)."""
    data_dir = copy_demo_register(demo_register, tmp_path / "data")
    config = parse_config({"discovery": {"enabled": False}, "server": {"tls": False}})
    core = Core(data_dir, config, clock=ManualClock(START))
    await core.start()
    try:
        async with TestClient(TestServer(create_app(core))) as client:
            yield Floki(core, client, core.clock)  # type: ignore[arg-type]
    finally:
        await core.stop()


async def get(floki: Floki, path: str) -> Any:
    resp = await floki.client.get(API + path, headers=await floki.headers("admin"))
    assert resp.status == 200, await resp.text()
    return await resp.json()


async def test_the_demo_draws_the_hub_a_depot_and_home_areas_on_the_map(demo: Floki) -> None:
    zones = (await get(demo, "/zones?limit=500"))["items"]
    on_map = {z["name"]: z for z in zones if z["geo_polygon"]}
    homes = [name for name in on_map if name.startswith("Home area")]
    assert len(homes) == 3
    assert {"Community Equipment Hub", "Community Equipment Depot"} <= set(on_map)
    for name in homes:
        lons = [p[0] for p in on_map[name]["geo_polygon"]]
        lats = [p[1] for p in on_map[name]["geo_polygon"]]
        # An area of a few hundred metres (never a single house), in England.
        width_m = (max(lons) - min(lons)) * 111_320 * 0.6
        height_m = (max(lats) - min(lats)) * 111_320
        assert 200 <= width_m <= 800 and 200 <= height_m <= 800, name
        assert 49 < min(lats) < 56 and -6 < min(lons) < 2


async def test_fifteen_community_items_carry_trackers_of_three_kinds(demo: Floki) -> None:
    idents = (await get(demo, "/identifiers?technology=gps&limit=500"))["items"]
    assert all(i["technology"] == "gps" for i in idents)  # the filter holds
    gps = idents
    assert len(gps) == 15
    imeis = [i["value"] for i in gps if len(i["value"]) == 15 and i["value"].isdigit()]
    makers = Counter(value[:8] for value in imeis)
    assert set(makers) == {"35630704", "86471700"}  # Teltonika's and Concox's TACs
    assert len(gps) - len(imeis) == 1  # the phone running Traccar Client
    classes = {c["id"]: c["category"] for c in (await get(demo, "/asset-classes"))["items"]}
    kinds = set()
    for ident in gps:
        asset = await get(demo, f"/assets/{ident['asset_id']}")
        kinds.add(classes[asset["class_id"]])
        assert asset["department"] == "Community Equipment Service"
    assert {"Mobile patient hoist", "Community profiling bed", "Oxygen concentrator"} <= kinds
    assert {"Dynamic pressure-relieving mattress", "Ambulatory syringe driver"} <= kinds


async def test_nine_items_are_on_loan_and_one_loan_is_overdue(demo: Floki) -> None:
    loans = (await get(demo, "/loans?status=open"))["items"]  # overdue ones too
    overdue = (await get(demo, "/loans?status=overdue"))["items"]
    assert len(loans) == 9
    assert [loan["reference"] for loan in overdue] == ["L-24822"]
    assert dt.date.fromisoformat(overdue[0]["due_back"]) < START.date()
    assert {loan["destination_type"] for loan in loans} == {
        "home",
        "hospice",
        "virtual_ward",
    }
    for loan in loans:
        asset = await get(demo, f"/assets/{loan['asset_id']}")
        assert asset["state"] == "on_loan"


# --- the config the demo writes ----------------------------------------------------------


def new_config(data_dir: Path, extra: str = "") -> Path:
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / CONFIG_FILE
    text = CONFIG_TEMPLATE.format(site='"St Floki General Hospital"', database="")
    path.write_text(text + extra, encoding="utf-8")
    return path


def test_the_demo_switches_the_gps_simulator_on_for_loopback_only(tmp_path: Path) -> None:
    path = new_config(tmp_path)
    assert "gps" not in load_config(tmp_path).plugin
    result = enable_community_simulation(tmp_path, installed=True)
    assert result.moving
    assert "Simulated GPS trackers" in result.message and str(path) in result.message
    section = load_config(tmp_path).plugin["gps"]
    assert section["listen_host"] == "127.0.0.1"
    assert section["simulate"] is True
    assert section["simulate_speedup"] > 1
    before = path.read_text(encoding="utf-8")
    assert enable_community_simulation(tmp_path, installed=True).moving
    assert enable_simulation(tmp_path, installed=True).moving  # the BLE section beside it
    config = load_config(tmp_path)
    assert config.plugin["gps"] == section and config.plugin["ble"]["simulate"] is True
    assert path.read_text(encoding="utf-8").startswith(before)


def test_a_listen_host_the_user_wrote_is_kept(tmp_path: Path) -> None:
    new_config(tmp_path, '\n[plugin.gps]\nlisten_host = "0.0.0.0"\n')
    assert enable_community_simulation(tmp_path, installed=True).moving
    section = load_config(tmp_path).plugin["gps"]
    assert (section["listen_host"], section["simulate"]) == ("0.0.0.0", True)


def test_a_user_who_switched_the_gps_simulator_off_is_obeyed(tmp_path: Path) -> None:
    path = new_config(tmp_path, "\n[plugin.gps]\nsimulate = false\n")
    before = path.read_text(encoding="utf-8")
    result = enable_community_simulation(tmp_path, installed=True)
    assert not result.moving
    assert "[plugin.gps] simulate is off" in result.message
    assert path.read_text(encoding="utf-8") == before


def test_without_the_gps_plugin_the_community_kit_stays_put_and_says_so(tmp_path: Path) -> None:
    path = new_config(tmp_path)
    before = path.read_text(encoding="utf-8")
    result = enable_community_simulation(tmp_path, installed=False)
    assert not result.moving
    assert result.message == (
        "floki-gps is not installed: the demo's community equipment stays where it is."
    )
    assert path.read_text(encoding="utf-8") == before
    assert "gps" not in tomllib.loads(before).get("plugin", {})
