"""BLE and Wi-Fi together (issue 15 §3, the first real multi-technology fusion): a pump
with a BLE tag and a Wi-Fi MAC is placed by its BLE room while BLE is fresh, whatever the
Wi-Fi says; when BLE goes quiet the Wi-Fi association places it, and the answer says so.

BLE arrives as a gateway posts it (the BLE plugin's JSON upload of an iBeacon advert);
Wi-Fi as hostapd access points send it, syslog datagrams to the plugin's UDP listener."""

from __future__ import annotations

import datetime as dt

import pytest

from floki_core.sdk import AppConfig
from floki_core.testing import Floki
from tests.plugins.wifi.locating import (
    BAY_GATEWAY,
    Ward,
    ble_upload,
    build_ward,
    syslog_ready,
    syslog_settings,
    where,
    wifi_config,
    wifi_syslog,
)

pytestmark = pytest.mark.floki_entry_points("ble", "wifi")

CORRIDOR = "ward5-ap-corridor"  # the access points' host names, their receivers' names
LIBRARY = "library-ap"


@pytest.fixture
def floki_config(port: int) -> AppConfig:
    return wifi_config(listen_host="127.0.0.1", syslog=syslog_settings(port))


def _by_technology(found: dict[str, object]) -> dict[str, dict[str, object]]:
    evidence = found["evidence"]
    assert isinstance(evidence, list)
    return {str(ev["technology"]): ev for ev in evidence}


def _at(floki: Floki, start: dt.datetime, seconds: float) -> None:
    """Move the clock on to ``seconds`` after ``start``."""
    floki.advance((start + dt.timedelta(seconds=seconds) - floki.clock.now()).total_seconds())


async def _in_bay_by_ble(floki: Floki) -> tuple[Ward, dt.datetime]:
    ward = await build_ward(floki)
    await syslog_ready(floki)
    start = floki.clock.now()
    await ble_upload(floki, BAY_GATEWAY, start)
    found = await where(floki, ward.pump)
    assert found["zone"]["id"] == ward.zones["Ward 5 Bay 1"]
    assert (found["method"], found["technology"]) == ("rssi", "ibeacon")
    return ward, start


async def test_a_wifi_zone_contradicting_fresh_ble_does_not_move_the_pump(
    floki: Floki, port: int
) -> None:
    ward, start = await _in_bay_by_ble(floki)

    # The pump's Wi-Fi is on the corridor AP (which covers the bays) the whole time, and
    # says so again and again; BLE keeps hearing it in the bay, each time up to 55 s old
    # (just under BLE's one-minute half-life) when the Wi-Fi record comes.
    for step in range(4):
        _at(floki, start, 60 * step)
        await ble_upload(floki, BAY_GATEWAY, floki.clock.now())
        for age in (5, 30, 55):
            _at(floki, start, 60 * step + age)
            await wifi_syslog(floki, port, CORRIDOR, ward.pump, floki.clock.now())

    found = await where(floki, ward.pump)
    assert found["zone"]["id"] == ward.zones["Ward 5 Bay 1"]
    assert (found["method"], found["technology"]) == ("rssi", "ibeacon")
    ble, wifi = _by_technology(found)["ibeacon"], _by_technology(found)["wifi"]
    assert wifi["zone_id"] == ward.zones["Ward 5 Corridor"]  # heard, and outweighed
    assert ble["weight"] > wifi["weight"]
    assert ble["fresh"] is True


async def test_when_ble_goes_quiet_the_wifi_association_places_the_pump(
    floki: Floki, port: int
) -> None:
    ward, start = await _in_bay_by_ble(floki)
    floki.advance(5)
    await wifi_syslog(floki, port, CORRIDOR, ward.pump, floki.clock.now())
    assert (await where(floki, ward.pump))["zone"]["id"] == ward.zones["Ward 5 Bay 1"]

    # The tag's battery dies; two minutes on the pump roams to the library's AP. One
    # record is enough: nothing fresh holds it in the bay any more.
    _at(floki, start, 120)
    await wifi_syslog(floki, port, LIBRARY, ward.pump, floki.clock.now())

    found = await where(floki, ward.pump)
    assert found["zone"]["id"] == ward.zones["Equipment Library"]
    assert (found["method"], found["technology"]) == ("association", "wifi")
    assert found["confidence"] == 0.3
    evidence = _by_technology(found)
    assert evidence["wifi"]["receiver"] == "library-ap"
    # The BLE room is still shown, two minutes old (twice BLE's one-minute half-life)
    # and outweighed: why it no longer counts.
    assert evidence["ibeacon"]["zone_id"] == ward.zones["Ward 5 Bay 1"]
    assert evidence["ibeacon"]["age_seconds"] == 120.0
    assert evidence["ibeacon"]["weight"] < evidence["wifi"]["weight"]
    # The answer says why: the BLE room is no longer fresh, the association is.
    assert evidence["ibeacon"]["fresh"] is False
    assert evidence["wifi"]["fresh"] is True
    assert [ev["technology"] for ev in found["evidence"]] == ["wifi", "ibeacon"]

    # The tag back (a new battery): fresh BLE takes the pump back to its room.
    floki.advance(10)
    await ble_upload(floki, BAY_GATEWAY, floki.clock.now())
    floki.advance(6)
    await ble_upload(floki, BAY_GATEWAY, floki.clock.now())
    found = await where(floki, ward.pump)
    assert found["zone"]["id"] == ward.zones["Ward 5 Bay 1"]
    assert (found["method"], found["technology"]) == ("rssi", "ibeacon")


async def test_a_pump_on_wifi_alone_follows_each_roam_of_one_line(floki: Floki, port: int) -> None:
    # hostapd says a device joined an access point once, then nothing until it leaves: a
    # roam is one line, and waiting for a second record would leave the pump behind.
    ward = await build_ward(floki)
    await syslog_ready(floki)
    await wifi_syslog(floki, port, CORRIDOR, ward.pump, floki.clock.now())
    assert (await where(floki, ward.pump))["zone"]["id"] == ward.zones["Ward 5 Corridor"]

    floki.advance(30)
    await wifi_syslog(floki, port, LIBRARY, ward.pump, floki.clock.now())
    found = await where(floki, ward.pump)
    assert found["zone"]["id"] == ward.zones["Equipment Library"]
    assert (found["method"], found["technology"]) == ("association", "wifi")
