"""The gpsd source in a running appliance, against a loopback double of gpsd."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from floki_gps.gpsd_client import GpsdUnreachable, gpsd_address

from floki_core.sdk import AppConfig
from floki_core.testing import Floki
from tests.fixtures.processes import free_port
from tests.plugins.gps.conftest import (
    HUB_POINT,
    FakeGpsd,
    gps_config,
    located_in,
    source_counters,
    tpv,
    tracked_asset,
)

pytestmark = pytest.mark.floki_entry_points("gps")
LAT, LON = HUB_POINT
SOURCE = "gps-gpsd"


@pytest_asyncio.fixture
async def gpsd() -> AsyncIterator[FakeGpsd]:
    server = FakeGpsd(free_port())
    await server.open()
    yield server
    await server.close()


@pytest.fixture
def floki_config(gpsd: FakeGpsd) -> AppConfig:
    return gps_config(gpsd=f"127.0.0.1:{gpsd.port}", gpsd_device="HUB-GPS")


async def source_entry(floki: Floki) -> dict[str, object]:
    resp = await floki.client.get("/api/v1/plugins", headers=await floki.headers("viewer"))
    (gps,) = [p for p in (await resp.json())["items"] if p["name"] == "gps"]
    found: dict[str, object] = {s["name"]: s for s in gps["sources"]}[SOURCE]
    return found


async def test_a_tpv_from_gpsd_places_the_asset(floki: Floki, gpsd: FakeGpsd) -> None:
    asset_id, hub = await tracked_asset(floki, "HUB-GPS")
    await floki.eventually(gpsd.watching, "the source to watch gpsd")
    assert gpsd.watches == [b'?WATCH={"enable":true,"json":true}\n']
    await gpsd.send(tpv(floki.clock.now() - dt.timedelta(seconds=1), LAT, LON))
    await located_in(floki, asset_id, hub)


async def test_a_bad_report_is_counted_and_the_watch_goes_on(floki: Floki, gpsd: FakeGpsd) -> None:
    asset_id, hub = await tracked_asset(floki, "HUB-GPS")
    await floki.eventually(gpsd.watching, "the source to watch gpsd")
    await gpsd.send(b'{"class":"TPV","mode":3,"lat":\n' + tpv(floki.clock.now(), 95, LON))

    async def counted() -> bool:
        rejected = (await source_counters(floki, SOURCE)).get("rejected", {})
        return bool(rejected == {"bad_json": 1, "bad_report": 1})

    await floki.eventually(counted, "the bad reports counted by reason")
    await gpsd.send(tpv(floki.clock.now(), LAT, LON))
    await located_in(floki, asset_id, hub)


async def test_when_gpsd_goes_away_the_source_says_so_and_watches_again(
    floki: Floki, gpsd: FakeGpsd
) -> None:
    asset_id, hub = await tracked_asset(floki, "HUB-GPS")
    await floki.eventually(gpsd.watching, "the source to watch gpsd")
    await gpsd.close()

    async def down() -> bool:
        entry = await source_entry(floki)
        return entry["status"] != "running" and "gpsd at 127.0.0.1" in str(entry["reason"])

    await floki.eventually(down, "the source to show gpsd is gone")
    await gpsd.open()
    await floki.eventually(gpsd.watching, "the source to watch gpsd again")
    await gpsd.send(tpv(floki.clock.now(), LAT, LON))
    await located_in(floki, asset_id, hub)


@pytest.mark.parametrize(
    ("text", "address"),
    [
        ("127.0.0.1:2947", ("127.0.0.1", 2947)),
        ("gps-hub.local", ("gps-hub.local", 2947)),
        ("[::1]:2948", ("::1", 2948)),
    ],
)
def test_the_gpsd_setting_is_host_and_port(text: str, address: tuple[str, int]) -> None:
    assert gpsd_address(text) == address


@pytest.mark.parametrize("text", ["", ":2947", "host:port", "host:70000"])
def test_a_bad_gpsd_setting_says_what_is_expected(text: str) -> None:
    with pytest.raises(GpsdUnreachable, match="expected host:port"):
        gpsd_address(text)
