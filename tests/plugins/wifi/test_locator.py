"""The ``wifi`` locator (issue 15 §3): a device on an access point is placed in the AP's
zone with less confidence than a BLE room fix; a record with a position no zone holds
falls back to its AP's zone."""

from __future__ import annotations

import pytest
from floki_wifi.config import WifiSettings

from floki_core.sdk import AppConfig, ConfigError, plugin_section
from floki_core.testing import Floki
from tests.plugins.wifi.locating import (
    CORRIDOR_AP,
    LIBRARY_AP,
    PUMP_WIFI,
    build_ward,
    where,
    wifi_config,
    wifi_ingest,
)

pytestmark = pytest.mark.floki_entry_points("wifi")


@pytest.fixture
def floki_config() -> AppConfig:
    return wifi_config()


async def test_an_associated_device_is_in_its_access_points_zone_less_surely_than_ble(
    floki: Floki,
) -> None:
    ward = await build_ward(floki, beacon=False)
    await wifi_ingest(floki, PUMP_WIFI, CORRIDOR_AP, floki.clock.now())

    found = await where(floki, ward.pump)
    assert found["zone"]["id"] == ward.zones["Ward 5 Corridor"]
    assert (found["method"], found["technology"]) == ("association", "wifi")
    # An AP covers several rooms: below the weakest BLE room claim (0.5).
    assert found["confidence"] == 0.3
    assert found["evidence"][0]["receiver"] == "ward5-ap-corridor"

    # Roaming to another AP moves it (after the zone's dwell, as any move).
    floki.advance(30)
    await wifi_ingest(floki, PUMP_WIFI, LIBRARY_AP, floki.clock.now())
    floki.advance(10)
    await wifi_ingest(floki, PUMP_WIFI, LIBRARY_AP, floki.clock.now())
    assert (await where(floki, ward.pump))["zone"]["id"] == ward.zones["Equipment Library"]


async def test_a_position_no_zone_holds_falls_back_to_the_access_points_zone(
    floki: Floki,
) -> None:
    ward = await build_ward(floki, beacon=False)
    await wifi_ingest(
        floki,
        PUMP_WIFI,
        LIBRARY_AP,
        floki.clock.now(),
        extras={"x": 412.0, "y": 9000.0, "floor_plan": "no-such-plan", "variance": 4.0},
    )
    found = await where(floki, ward.pump)
    assert found["zone"]["id"] == ward.zones["Equipment Library"]
    assert (found["method"], found["confidence"]) == ("association", 0.3)


@pytest.mark.parametrize("floki_config", [wifi_config(location={"association_confidence": 0.2})])
async def test_the_association_confidence_is_a_setting(floki: Floki) -> None:
    ward = await build_ward(floki, beacon=False)
    await wifi_ingest(floki, PUMP_WIFI, CORRIDOR_AP, floki.clock.now())
    assert (await where(floki, ward.pump))["confidence"] == 0.2


def test_an_association_confidence_that_is_no_probability_is_refused_naming_the_key() -> None:
    config = wifi_config(location={"association_confidence": 1.5})
    with pytest.raises(ConfigError) as raised:
        plugin_section(config, "wifi", WifiSettings)
    assert "association_confidence" in str(raised.value), raised.value
