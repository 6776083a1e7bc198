"""Positions a Traccar server forwards (``forward.type=json``), decoded into fixes.

The body is what Traccar's PositionForwarderJson posts: ``PositionData`` (``position`` and
``device``) written by its ObjectMapper with dates as ISO 8601 text
(src/main/java/org/traccar/forward/PositionForwarderJson.java, PositionData.java,
model/Position.java and MainModule.provideObjectMapper in https://github.com/traccar/traccar,
Apache-2.0).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
from typing import Any

import pytest
from floki_gps.traccar_forward import DecodeError, decode_forward
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st


def forwarded(**position: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "position": {
            "id": 0,
            "attributes": {
                "batteryLevel": 87.0,
                "battery": 3.92,
                "power": 12.4,
                "motion": True,
                "ignition": False,
                "sat": 9,
                "hdop": 0.8,
                "charge": False,
                "alarm": "sos",
                "distance": 12.5,
            },
            "deviceId": 12,
            "protocol": "teltonika",
            "serverTime": "2026-01-05T08:59:59.512+00:00",
            "deviceTime": "2026-01-05T08:59:58.000+00:00",
            "fixTime": "2026-01-05T08:59:58.000+00:00",
            "valid": True,
            "latitude": 51.50101,
            "longitude": -0.14189,
            "altitude": 21.0,
            "speed": 10.0,
            "course": 271.0,
            "address": None,
            "accuracy": 0.0,
            "network": None,
            "geofenceIds": None,
        },
        "device": {
            "id": 12,
            "attributes": {},
            "groupId": 0,
            "calendarId": 0,
            "name": "Hoist 4",
            "uniqueId": "356307042441013",
            "status": "online",
            "lastUpdate": "2026-01-05T08:59:59.512+00:00",
            "positionId": 9911,
            "phone": None,
            "model": None,
            "contact": None,
            "category": None,
            "disabled": False,
            "expirationTime": None,
        },
    }
    body["position"].update(position)
    return body


def test_a_forwarded_position_decodes_into_the_devices_fix() -> None:
    fix = decode_forward(json.dumps(forwarded()).encode())
    assert fix.device == "356307042441013"
    assert fix.protocol == "traccar"
    assert fix.at == dt.datetime(2026, 1, 5, 8, 59, 58, tzinfo=dt.UTC)
    assert (fix.lat, fix.lon, fix.altitude_m, fix.course_deg) == (51.50101, -0.14189, 21.0, 271.0)
    assert fix.speed_kmh == pytest.approx(18.52)  # Traccar's speed is in knots
    assert fix.accuracy_m is None  # 0: Traccar's "not known"
    assert (fix.battery_pct, fix.battery_mv, fix.external_mv) == (87.0, 3920, 12400)
    assert (fix.moving, fix.ignition, fix.charging, fix.satellites, fix.hdop, fix.alarm) == (
        True,
        False,
        False,
        9,
        0.8,
        "sos",
    )


def test_an_invalid_position_says_the_tracker_is_alive_but_places_nothing() -> None:
    fix = decode_forward(json.dumps(forwarded(valid=False)).encode())
    assert (fix.lat, fix.lon) == (None, None)
    assert fix.battery_pct == 87.0


def test_accuracy_and_a_fix_time_without_milliseconds_are_read() -> None:
    body = forwarded(accuracy=14.5, fixTime="2026-01-05T08:59:58Z", attributes={})
    fix = decode_forward(json.dumps(body).encode())
    assert fix.accuracy_m == 14.5
    assert fix.at == dt.datetime(2026, 1, 5, 8, 59, 58, tzinfo=dt.UTC)
    assert fix.battery_pct is None


REFUSED = [
    (b"not json", "bad_json", "not JSON"),
    (b"[1]", "bad_json", "object"),
    (json.dumps({"position": forwarded()["position"]}).encode(), "no_device", "device"),
    (
        json.dumps({**forwarded(), "device": {"id": 1, "uniqueId": ""}}).encode(),
        "no_device",
        "uniqueId",
    ),
    (json.dumps(forwarded(fixTime="teatime")).encode(), "bad_timestamp", "fixTime"),
    (json.dumps(forwarded(latitude=123.0)).encode(), "bad_position", "latitude"),
    (json.dumps(forwarded(latitude="north")).encode(), "bad_field", "latitude"),
    (
        json.dumps(forwarded(attributes={"batteryLevel": "full"})).encode(),
        "bad_field",
        "batteryLevel",
    ),
]


@pytest.mark.parametrize(("body", "counted_as", "says"), REFUSED)
def test_a_bad_forward_is_refused_with_a_reason(body: bytes, counted_as: str, says: str) -> None:
    with pytest.raises(DecodeError) as refused:
        decode_forward(body)
    assert refused.value.counted_as == counted_as
    assert says in refused.value.reason


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.one_of(
        st.binary(max_size=200),
        st.dictionaries(
            st.sampled_from(["fixTime", "latitude", "longitude", "valid", "speed", "attributes",
                             "accuracy", "course", "altitude"]),
            st.one_of(st.none(), st.booleans(), st.floats(allow_nan=False), st.text(max_size=30),
                      st.dictionaries(st.sampled_from(["batteryLevel", "battery", "power", "sat",
                                                       "motion", "alarm"]),
                                      st.one_of(st.none(), st.floats(allow_nan=False), st.text(),
                                                st.booleans(), st.integers()))),
        ).map(lambda p: json.dumps(forwarded(**p)).encode()),
    )
)  # fmt: skip
def test_any_body_decodes_or_is_refused(body: bytes) -> None:
    with contextlib.suppress(DecodeError):
        decode_forward(body)
