"""The Cisco Spaces firehose decoder: a DEVICE_LOCATION_UPDATE as Cisco's sample event has
it, feet to metres, other events skipped, bad lines refused, personal fields never decoded."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from floki_wifi.spaces_decoder import Refused, Skipped, SpacesLocation, decode_line

from tests.plugins.wifi.test_spaces_source import PERSONAL, keep_alive, location_update

AT_MS = 1714450000000


def test_a_location_update_decodes_in_metres_with_its_ap_and_time() -> None:
    found = decode_line(location_update("00:1b:44:11:3a:b7", "evt-1", AT_MS, 30.0, 40.0))
    assert isinstance(found, SpacesLocation)
    assert (found.uid, found.timestamp_ms, found.mac) == ("evt-1", AT_MS, "00:1B:44:11:3A:B7")
    assert (found.access_point, found.rssi, found.map_id) == (
        "AA:AA:AA:11:11:11",
        -61.0,
        "map-a1b2c3",
    )
    assert (found.x_m, found.y_m, found.uncertainty_m) == pytest.approx((9.144, 12.192, 2.4384))
    assert found.at == dt.datetime.fromtimestamp(AT_MS / 1000, dt.UTC)
    # A map with no geo-reference says (0, 0): no place.
    assert (found.lat, found.lon) == (None, None)
    for personal in PERSONAL:
        assert personal not in repr(found)


def test_an_account_in_metres_keeps_them() -> None:
    found = decode_line(location_update("00:1b:44:11:3a:b7", "e", AT_MS, 30.0, 40.0), feet=False)
    assert isinstance(found, SpacesLocation) and (found.x_m, found.y_m) == (30.0, 40.0)


def test_other_events_are_skipped_with_their_time() -> None:
    assert decode_line(keep_alive(AT_MS)) == Skipped(AT_MS)
    assert decode_line(b"\n") == Skipped(None)


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (b"{not json\n", "bad_record"),
        (json.dumps({"eventType": "DEVICE_LOCATION_UPDATE"}).encode(), "bad_record"),
        (location_update("not-a-mac", "e", AT_MS, 1.0, 1.0), "bad_client_mac"),
        (
            json.dumps(
                {"eventType": "DEVICE_LOCATION_UPDATE", "deviceLocationUpdate": {"xPos": [1]}}
            ).encode(),
            "bad_record",
        ),
    ],
)
def test_a_bad_line_is_refused_with_its_reason(line: bytes, reason: str) -> None:
    found = decode_line(line)
    assert isinstance(found, Refused) and found.reason == reason


def test_a_map_id_too_long_to_be_spaces_is_no_map() -> None:
    line = location_update("00:1b:44:11:3a:b7", "e", AT_MS, 30.0, 40.0)
    found = decode_line(line.replace(b'"map-a1b2c3"', b'"' + b"m" * 5000 + b'"'))
    assert isinstance(found, SpacesLocation) and (found.map_id, found.x_m) == (None, None)
