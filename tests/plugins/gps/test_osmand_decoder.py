"""Traccar Client / OsmAnd requests decoded into fixes.

The accepted requests are the golden inputs of Traccar's own decoder test,
src/test/java/org/traccar/protocol/OsmAndProtocolDecoderTest.java
(https://github.com/traccar/traccar, Apache-2.0), with the values Floki reads from each.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json

import pytest
from floki_gps.osmand import DecodeError, decode_json, decode_query, decode_request
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

NOW = dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC)
UTC = dt.UTC

# --- Traccar's query-form requests --------------------------------------------------------

QUERY_ACCEPTED = [
    (
        "id=902064&lat=42.06288&lon=-88.23412&timestamp=2016-01-27T18%3A55%3A47Z"
        "&hdop=6.0&altitude=224.0&speed=0.0",
        {
            "device": "902064",
            "at": dt.datetime(2016, 1, 27, 18, 55, 47, tzinfo=UTC),
            "lat": 42.06288,
            "lon": -88.23412,
            "hdop": 6.0,
            "altitude_m": 224.0,
            "speed_kmh": 0.0,
        },
    ),
    (
        "id=902064&lat=42.06288&lon=-88.23412&timestamp=1442068686579&hdop=6.0"
        "&altitude=224.0&speed=0.0",
        {"at": dt.datetime(2015, 9, 12, 14, 38, 6, 579000, tzinfo=UTC)},
    ),
    (
        "lat=49.60688&lon=6.15788&timestamp=2014-06-04+09%3A10%3A11&altitude=384.7"
        "&speed=0.0&id=353861053849681",
        {
            "device": "353861053849681",
            "at": dt.datetime(2014, 6, 4, 9, 10, 11, tzinfo=UTC),
            "altitude_m": 384.7,
        },
    ),
    (
        "id=123456&timestamp=1377177267&lat=60.0&lon=30.0&speed=0.0&bearing=0.0"
        "&altitude=0&hdop=0.0",
        {"at": dt.datetime(2013, 8, 22, 13, 14, 27, tzinfo=UTC), "course_deg": 0.0},
    ),
    ("id=123456&timestamp=1377177267&lat=60.0&lon=30.0", {"lat": 60.0, "lon": 30.0}),
    (
        # No timestamp: the time it arrived.
        "lat=60.0&lon=30.0&speed=0.0&heading=0.0&vacc=0&hacc=0&altitude=0&deviceid=123456",
        {"device": "123456", "at": NOW, "course_deg": 0.0},
    ),
    (
        "id=861001000719969&lat=41.666667&lon=-0.883333&altitude=350.059479&speed=0.000000&batt=87",
        {"battery_pct": 87.0, "lat": 41.666667, "lon": -0.883333},
    ),
    ("id=123456&timestamp=1377177267&location=60.0,30.0", {"lat": 60.0, "lon": 30.0}),
    (
        # Seconds with a fraction (Traccar takes whole numbers only).
        "id=123456&timestamp=1377177267.25&lat=60.0&lon=30.0",
        {"at": dt.datetime(2013, 8, 22, 13, 14, 27, 250000, tzinfo=UTC)},
    ),
    (
        # Speed in knots: 40 kn is 74.08 km/h.
        "id=123456789012345&timestamp=1504763810&lat=40.7232948571&lon=-74.0061408571"
        "&bearing=7.19889788244&speed=40&ignition=true&rpm=933&fuel=24",
        {"speed_kmh": pytest.approx(74.08), "course_deg": 7.19889788244, "ignition": True},
    ),
    (
        # No position: the device is alive (cell and Wi-Fi only), nothing to place.
        "id=123456&timestamp=1377177267&cell=257,02,16,2224&cell=257,02,16,2223,-90"
        "&wifi=00-14-22-01-23-45,-80&wifi=00-1C-B3-09-85-15,-70",
        {"lat": None, "lon": None},
    ),
    (
        "id=P-1&lat=51.5&lon=-0.12&accuracy=12.5&charge=true&batt=55.5",
        {"accuracy_m": 12.5, "charging": True, "battery_pct": 55.5},
    ),
    ("id=P-1&lat=51.5&lon=-0.12&valid=false", {"lat": None, "lon": None}),
]


@pytest.mark.parametrize(("query", "fields"), QUERY_ACCEPTED)
def test_traccars_query_requests_decode(query: str, fields: dict[str, object]) -> None:
    fix = decode_query(query, now=NOW)
    assert fix.protocol == "osmand"
    for name, value in fields.items():
        assert getattr(fix, name) == value, name


QUERY_REFUSED = [
    # Traccar's own refused request: no device id.
    ("timestamp=1377177267&lat=60.0&lon=30.0", "no_device", "no device id"),
    ("id=&lat=60&lon=30", "no_device", "no device id"),
    ("id=A&lat=91&lon=30", "bad_position", "lat"),
    ("id=A&lat=60&lon=-180.5", "bad_position", "lon"),
    ("id=A&lat=north&lon=30", "bad_position", "lat"),
    ("id=A&lat=nan&lon=30", "bad_position", "lat"),
    ("id=A&lat=60", "bad_position", "lat and lon"),
    ("id=A&location=60", "bad_position", "location"),
    ("id=A&lat=60&lon=30&timestamp=yesterday", "bad_timestamp", "timestamp"),
    ("id=A&lat=60&lon=30&timestamp=99999999999999999999", "bad_timestamp", "timestamp"),
    ("id=A&lat=60&lon=30&speed=fast", "bad_field", "speed"),
    ("id=A&lat=60&lon=30&batt=150", "bad_field", "batt"),
    ("id=A&lat=60&lon=30&accuracy=-3", "bad_field", "accuracy"),
    ("id=A&lat=60&lon=30&charge=maybe", "bad_field", "charge"),
    ("id=A&id=B&lat=60&lon=30", "bad_field", "id"),
    ("", "no_fields", "no fields"),
]


@pytest.mark.parametrize(("query", "counted_as", "says"), QUERY_REFUSED)
def test_bad_query_requests_are_refused_with_a_reason(
    query: str, counted_as: str, says: str
) -> None:
    with pytest.raises(DecodeError) as refused:
        decode_query(query, now=NOW)
    assert refused.value.counted_as == counted_as
    assert refused.value.status == 400
    assert says in refused.value.reason


# --- Traccar Client v9+ JSON --------------------------------------------------------------

TRACCAR_JSON = (
    '{"location":{"timestamp":"2025-06-15T13:45:12.862Z","coords":{"latitude":37.4219983,'
    '"longitude":-122.084,"accuracy":5,"speed":0,"heading":-1,"altitude":5},"is_moving":false,'
    '"odometer":0,"event":"motionchange","battery":{"level":1,"is_charging":false},'
    '"activity":{"type":"still"},"extras":{},"_":"&id=48241179&lat=37.4219983&lon=-122.084'
    '&timestamp=2025-06-15T13:45:12.862Z&"},"device_id":"48241179"}'
)
TRACCAR_JSON_IOS_MOCK = (
    '{"location":{"extras":{},"mock":true,"coords":{"speed_accuracy":-1,"speed":-1,'
    '"longitude":-122.406417,"ellipsoidal_altitude":0,"floor":null,"heading_accuracy":-1,'
    '"latitude":37.785834000000001,"accuracy":5,"altitude_accuracy":-1,"altitude":0,'
    '"heading":-1},"is_moving":false,"age":188,"odometer":0,'
    '"uuid":"2FB04C65-99CF-42AB-8DD3-EBCB4B108BF8","event":"motionchange",'
    '"battery":{"level":-1,"is_charging":false},"activity":{"type":"unknown","confidence":100},'
    '"timestamp":"2025-05-09T04:11:30.579Z"},"device_id":"658765"}'
)
TRACCAR_JSON_MOVING = (
    '{"location":{"event":"motionchange","is_moving":false,'
    '"uuid":"0e9a2473-a9a7-4c00-997b-fb97d2154e75","timestamp":"2021-07-21T08:06:34.444Z",'
    '"odometer":0,"coords":{"latitude":-6.1148096,"longitude":106.6837015,"accuracy":3.8,'
    '"speed":18.67,"speed_accuracy":0.26,"heading":63,"heading_accuracy":0.28,'
    '"altitude":35.7,"altitude_accuracy":3.8},"activity":{"type":"still","confidence":100},'
    '"battery":{"is_charging":false,"level":0.79},"extras":{}},"device_id":"8737767034"}'
)

JSON_ACCEPTED = [
    (
        TRACCAR_JSON,
        {
            "device": "48241179",
            "at": dt.datetime(2025, 6, 15, 13, 45, 12, 862000, tzinfo=UTC),
            "lat": 37.4219983,
            "lon": -122.084,
            "accuracy_m": 5.0,
            "speed_kmh": 0.0,
            "course_deg": None,  # -1: unknown
            "altitude_m": 5.0,
            "moving": False,
            "battery_pct": 100.0,
            "charging": False,
        },
    ),
    (
        TRACCAR_JSON_IOS_MOCK,
        {
            "device": "658765",
            "lat": 37.785834,
            "speed_kmh": None,  # -1: unknown
            "battery_pct": None,  # -1: unknown
        },
    ),
    (
        TRACCAR_JSON_MOVING,
        {
            "device": "8737767034",
            "speed_kmh": pytest.approx(67.212),  # 18.67 m/s
            "course_deg": 63.0,
            "battery_pct": pytest.approx(79.0),
        },
    ),
]


@pytest.mark.parametrize(("body", "fields"), JSON_ACCEPTED)
def test_traccar_client_json_decodes(body: str, fields: dict[str, object]) -> None:
    (fix,) = decode_json(body.encode())
    for name, value in fields.items():
        assert getattr(fix, name) == value, name


def test_a_json_batch_of_locations_decodes_each() -> None:
    one = json.loads(TRACCAR_JSON)
    later = dict(one["location"], timestamp="2025-06-15T13:46:12Z")
    body = json.dumps({"location": [one["location"], later], "device_id": "48241179"})
    fixes = decode_json(body.encode())
    assert [f.at.minute for f in fixes] == [45, 46]


JSON_REFUSED = [
    (b"{", "bad_json", "not JSON"),
    (b"[]", "bad_json", "object"),
    (b'{"location":{"timestamp":"2025-06-15T13:45:12Z"}}', "no_device", "device_id"),
    (
        b'{"device_id":"","location":{"timestamp":"2025-06-15T13:45:12Z"}}',
        "no_device",
        "device_id",
    ),
    (
        b'{"device_id":"A","location":{"timestamp":"noon","coords":{"latitude":1,"longitude":2}}}',
        "bad_timestamp",
        "timestamp",
    ),
    (
        b'{"device_id":"A","location":{"timestamp":"2025-06-15T13:45:12Z","coords":'
        b'{"latitude":100,"longitude":2}}}',
        "bad_position",
        "latitude",
    ),
    (
        b'{"device_id":"A","location":{"timestamp":"2025-06-15T13:45:12Z","coords":'
        b'{"latitude":"1","longitude":2}}}',
        "bad_field",
        "latitude",
    ),
]


@pytest.mark.parametrize(("body", "counted_as", "says"), JSON_REFUSED)
def test_bad_json_is_refused_with_a_reason(body: bytes, counted_as: str, says: str) -> None:
    with pytest.raises(DecodeError) as refused:
        decode_json(body)
    assert refused.value.counted_as == counted_as
    assert says in refused.value.reason


# --- which form a request is read as ------------------------------------------------------


def test_json_content_type_is_read_as_traccar_client_json() -> None:
    (fix,) = decode_request("", "application/json; charset=utf-8", TRACCAR_JSON.encode(), NOW)
    assert fix.device == "48241179"


def test_a_form_body_is_read_like_the_query() -> None:
    body = b"id=P-7&lat=51.5&lon=-0.12&timestamp=1767603600"
    (fix,) = decode_request("", "application/x-www-form-urlencoded", body, NOW)
    assert (fix.device, fix.lat, fix.at) == ("P-7", 51.5, dt.datetime(2026, 1, 5, 9, tzinfo=UTC))


def test_the_query_wins_over_a_body_that_is_not_json() -> None:
    (fix,) = decode_request("id=Q-1&lat=1&lon=2", "text/plain", b"whatever", NOW)
    assert fix.device == "Q-1"


def test_a_body_of_another_type_is_not_parsed_as_a_form() -> None:
    with pytest.raises(DecodeError) as refused:
        decode_request("", "text/plain", b"id=P-7&lat=51.5&lon=-0.12", NOW)
    assert refused.value.status == 415
    assert "application/x-www-form-urlencoded" in refused.value.reason


def test_a_json_typed_query_is_read_as_json() -> None:
    with pytest.raises(DecodeError) as refused:
        decode_request("id=Q-1&lat=1&lon=2", "application/json", b"id=Q-1", NOW)
    assert refused.value.counted_as == "bad_json"


# --- fuzzing: only the declared error -----------------------------------------------------

FIELDS = st.sampled_from(
    ["id", "deviceid", "lat", "lon", "location", "timestamp", "speed", "bearing", "heading",
     "altitude", "accuracy", "hdop", "batt", "charge", "valid", "ignition", "x"]
)  # fmt: skip
VALUES = st.one_of(
    st.text(max_size=30),
    st.integers().map(str),
    st.floats(allow_nan=True).map(str),
    st.sampled_from(["true", "false", "1,2", "2016-01-27T18:55:47Z", "-1", "1e400"]),
)
QUERIES = st.lists(st.tuples(FIELDS, VALUES), max_size=8).map(
    lambda pairs: "&".join(f"{k}={v}" for k, v in pairs)
)
JSON_VALUES = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text()),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(
            st.sampled_from(["location", "device_id", "coords", "timestamp", "latitude",
                             "longitude", "speed", "heading", "battery", "level",
                             "is_charging", "is_moving", "accuracy", "altitude"]),
            inner,
            max_size=5,
        ),
    ),
    max_leaves=12,
)  # fmt: skip
FUZZ = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(st.one_of(QUERIES, st.text(max_size=200)))
def test_any_query_decodes_or_is_refused(query: str) -> None:
    with contextlib.suppress(DecodeError):
        decode_query(query, now=NOW)


@FUZZ
@given(st.one_of(JSON_VALUES.map(lambda v: json.dumps(v).encode()), st.binary(max_size=200)))
def test_any_json_body_decodes_or_is_refused(body: bytes) -> None:
    with contextlib.suppress(DecodeError):
        decode_json(body)


@FUZZ
@given(
    st.text(max_size=60),
    st.one_of(st.none(), st.sampled_from(["application/json", "text/plain"]), st.text()),
    st.binary(max_size=100),
)
def test_any_request_decodes_or_is_refused(
    query: str, content_type: str | None, body: bytes
) -> None:
    with contextlib.suppress(DecodeError):
        decode_request(query, content_type, body, NOW)
