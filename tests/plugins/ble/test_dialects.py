"""Golden payloads for the gateway dialects: JSON batches, Ingics lines, ESPresense MQTT."""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from typing import TypeVar

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from floki_ble.decoders import Beacon, Rejected, decode_advertisement
from floki_ble.dialects import (
    DialectResult,
    EspresenseSighting,
    GatewaySighting,
    RoomStatus,
    parse_espresense,
    parse_ingics,
    parse_json_batch,
)

IBEACON_ADV = "0201061AFF4C000215F7826DA64FA24E988024BC5B71E0893E00640007C5"
IBEACON_IDENTITY = "F7826DA6-4FA2-4E98-8024-BC5B71E0893E:100:7"
TLM_ADV = "0201060303AAFE1116AAFE20000BB817800000271000000E10"
GATEWAY = "AC:23:3F:C0:18:6E"
AT_1015_UTC = dt.datetime(2024, 3, 5, 10, 15, 30, tzinfo=dt.UTC)

T = TypeVar("T")


# ---------------------------------------------------------------- generic JSON batch

# A header entry, then one entry per tag heard (Minew / April Brother style).
JSON_BATCH = """[
  {"timestamp": "2024-03-05T10:15:30.250Z", "type": "Gateway", "mac": "AC233FC0186E",
   "gatewayFree": 95, "gatewayLoad": 0.27},
  {"timestamp": "2024-03-05T10:15:30Z", "type": "iBeacon", "mac": "AC233F2A0D8C",
   "bleName": "", "rssi": -58,
   "rawData": "0201061AFF4C000215F7826DA64FA24E988024BC5B71E0893E00640007C5"},
  {"timestamp": 1709633730500, "type": "Unknown", "mac": "c3:00:00:0a:0b:0c",
   "rssi": -80, "rawData": "02-01-06"},
  {"timestamp": "2024-03-05T11:15:30+01:00", "type": "TLM", "mac": "ac233f2a0d8d",
   "rssi": -71.5, "rawData": "0201060303AAFE1116AAFE20000BB817800000271000000E10"},
  {"type": "Unknown", "mac": "AC233F2A0D8E", "rssi": -90}
]"""


def test_json_batch_golden() -> None:
    sightings, rejections = parse_json_batch(JSON_BATCH.encode())
    assert rejections == Counter()
    assert sightings == [
        GatewaySighting(
            tag_mac="AC:23:3F:2A:0D:8C",
            gateway=GATEWAY,
            rssi=-58.0,
            raw=bytes.fromhex(IBEACON_ADV),
            observed_at=AT_1015_UTC,
            extras={"type": "iBeacon", "bleName": ""},
        ),
        GatewaySighting(
            tag_mac="C3:00:00:0A:0B:0C",
            gateway=GATEWAY,
            rssi=-80.0,
            raw=b"\x02\x01\x06",
            observed_at=AT_1015_UTC + dt.timedelta(milliseconds=500),
            extras={"type": "Unknown"},
        ),
        GatewaySighting(
            tag_mac="AC:23:3F:2A:0D:8D",
            gateway=GATEWAY,
            rssi=-71.5,
            raw=bytes.fromhex(TLM_ADV),
            observed_at=AT_1015_UTC,  # +01:00 normalised to UTC
            extras={"type": "TLM"},
        ),
        GatewaySighting(
            tag_mac="AC:23:3F:2A:0D:8E",
            gateway=GATEWAY,
            rssi=-90.0,
            raw=None,
            observed_at=None,  # no timestamp: the source stamps it on arrival
            extras={"type": "Unknown"},
        ),
    ]
    assert all(
        s.observed_at is None or s.observed_at.utcoffset() == dt.timedelta(0) for s in sightings
    )


def test_json_batch_raw_data_decodes() -> None:
    sightings, _ = parse_json_batch(JSON_BATCH)  # str is accepted as well as bytes
    decoded = [decode_advertisement(s.raw, s.tag_mac) for s in sightings if s.raw]
    assert [d.identity for d in decoded if isinstance(d, Beacon)] == [
        IBEACON_IDENTITY,
        "C3:00:00:0A:0B:0C",
        None,
    ]
    tlm = decoded[2]
    assert isinstance(tlm, Beacon) and tlm.battery_mv == 3000 and tlm.mac == "AC:23:3F:2A:0D:8D"


def _batch(*entries: object) -> str:
    header = {"type": "Gateway", "mac": "AC233FC0186E"}
    return json.dumps([header, *entries])


GOOD = {"type": "Unknown", "mac": "AC233F2A0D8C", "rssi": -60}

# (name, entry, reason): each spoils one entry among good ones
JSON_REJECTED: list[tuple[str, object, str]] = [
    ("no_mac", {"rssi": -50}, "missing_mac"),
    ("mac_not_text", {"mac": 1234, "rssi": -50}, "missing_mac"),
    ("mac_not_a_mac", {"mac": "AC233F2A0D", "rssi": -50}, "bad_mac"),
    ("no_rssi", {"mac": "AC233F2A0D8C"}, "bad_rssi"),
    ("rssi_text", {"mac": "AC233F2A0D8C", "rssi": "strong"}, "bad_rssi"),
    ("rssi_bool", {"mac": "AC233F2A0D8C", "rssi": True}, "bad_rssi"),
    ("rssi_out_of_range", {"mac": "AC233F2A0D8C", "rssi": -200}, "bad_rssi"),
    ("timestamp_words", {**GOOD, "timestamp": "yesterday"}, "bad_timestamp"),
    ("timestamp_naive", {**GOOD, "timestamp": "2024-03-05T10:15:30"}, "bad_timestamp"),
    ("timestamp_overflow", {**GOOD, "timestamp": 10**30}, "bad_timestamp"),
    ("timestamp_list", {**GOOD, "timestamp": [1]}, "bad_timestamp"),
    ("raw_odd_length", {**GOOD, "rawData": "0201F"}, "bad_hex"),
    ("raw_not_hex", {**GOOD, "rawData": "hello!"}, "bad_hex"),
    ("raw_number", {**GOOD, "rawData": 201}, "bad_hex"),
    ("entry_not_object", 42, "not_an_object"),
]


@pytest.mark.parametrize(
    ("entry", "reason"), [pytest.param(*row[1:], id=row[0]) for row in JSON_REJECTED]
)
def test_json_batch_rejects_one_entry_keeps_the_rest(entry: object, reason: str) -> None:
    sightings, rejections = parse_json_batch(_batch(GOOD, entry, GOOD))
    assert rejections == Counter({reason: 1})
    assert len(sightings) == 2


def test_json_batch_partial_garbage_counted_by_reason() -> None:
    entries = [GOOD, *(row[1] for row in JSON_REJECTED), {**GOOD, "timestamp": 1709633730000}]
    sightings, rejections = parse_json_batch(_batch(*entries))
    assert len(sightings) == 2
    assert rejections == Counter(row[2] for row in JSON_REJECTED)
    assert sightings[1].observed_at == AT_1015_UTC


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        pytest.param(json.dumps([GOOD, GOOD, GOOD]), {"no_gateway_header": 3}, id="no_header"),
        pytest.param(
            json.dumps([{"type": "gateway", "mac": "AC233FC0186E"}, GOOD]),
            {"no_gateway_header": 2},
            id="header_type_case",
        ),
        pytest.param(
            json.dumps([{"type": "Gateway"}, GOOD, GOOD]), {"bad_gateway_mac": 2}, id="header_mac"
        ),
        pytest.param(json.dumps([{"type": "Gateway", "mac": 7}]), {"bad_gateway_mac": 1}, id="x"),
        pytest.param(json.dumps({"mac": "AC233F2A0D8C"}), {"not_an_array": 1}, id="object"),
        pytest.param("[{", {"bad_json": 1}, id="cut_json"),
        pytest.param(b"\xff\xfe[]", {"bad_json": 1}, id="not_utf8"),
        pytest.param("", {"bad_json": 1}, id="empty_body"),
        pytest.param("[]", {}, id="empty_batch"),
    ],
)
def test_json_batch_whole_payload_problems(payload: str | bytes, expected: dict[str, int]) -> None:
    sightings, rejections = parse_json_batch(payload)
    assert sightings == []
    assert rejections == Counter(expected)


def test_json_batch_repeated_header_is_skipped() -> None:
    sightings, rejections = parse_json_batch(_batch(GOOD, {"type": "Gateway", "mac": "x"}, GOOD))
    assert len(sightings) == 2 and not rejections


def test_json_batch_keeps_extras_within_the_cores_limit_with_room_for_readings() -> None:
    from floki_ble.http_gateways import to_observation

    fields = {f"field{i}": i for i in range(30)}
    entry = {**GOOD, **fields, "nested": {"a": 1}, "rawData": TLM_ADV}
    (sighting,), _ = parse_json_batch(_batch(entry))
    assert len(sighting.extras) == 18
    assert "nested" not in sighting.extras
    observation = to_observation(sighting, AT_1015_UTC)
    assert not isinstance(observation, str)
    assert len(observation.extras) == 20  # the Observation's limit
    assert observation.extras["battery_mv"] == 3000


# ---------------------------------------------------------------- Ingics lines

INGICS = (
    f"$GPRP,AC233F2A0D8C,C4BE84F08E26,-53,{IBEACON_ADV},1709633730\r\n"
    "$GPRP,7EAA9C3E3AF7,C4BE84F08E26,-71,020106\r\n"
    "$RSPR,AC233F2A0D8C,C4BE84F08E26,-53,0909464C4B31\r\n"
    f"$GPRP,AC233F2A0D8D,C4BE84F08E26,-64,{TLM_ADV},1709633730.5\n"
    "\r\n"
)


def test_ingics_golden() -> None:
    sightings, rejections = parse_ingics(INGICS.encode())
    assert rejections == Counter({"unsupported_line": 1})
    gateway = "C4:BE:84:F0:8E:26"
    assert sightings == [
        GatewaySighting(
            tag_mac="AC:23:3F:2A:0D:8C",
            gateway=gateway,
            rssi=-53.0,
            raw=bytes.fromhex(IBEACON_ADV),
            observed_at=AT_1015_UTC,
            extras={},
        ),
        GatewaySighting(
            tag_mac="7E:AA:9C:3E:3A:F7",
            gateway=gateway,
            rssi=-71.0,
            raw=b"\x02\x01\x06",
            observed_at=None,
            extras={},
        ),
        GatewaySighting(
            tag_mac="AC:23:3F:2A:0D:8D",
            gateway=gateway,
            rssi=-64.0,
            raw=bytes.fromhex(TLM_ADV),
            observed_at=AT_1015_UTC + dt.timedelta(milliseconds=500),
            extras={},
        ),
    ]
    first = decode_advertisement(sightings[0].raw or b"", sightings[0].tag_mac)
    assert isinstance(first, Beacon) and first.identity == IBEACON_IDENTITY


def test_ingics_str_and_lf_only() -> None:
    sightings, rejections = parse_ingics(INGICS.replace("\r\n", "\n"))
    assert len(sightings) == 3 and rejections == Counter({"unsupported_line": 1})


GPRP = "$GPRP,AC233F2A0D8C,C4BE84F08E26,-53,020106"

# (name, line, reason)
INGICS_REJECTED: list[tuple[str, str, str]] = [
    ("scan_response", "$RSPR,AC233F2A0D8C,C4BE84F08E26,-53,020106", "unsupported_line"),
    ("not_a_report", "hello gateway", "unsupported_line"),
    ("lowercase_prefix", "$gprp,AC233F2A0D8C,C4BE84F08E26,-53,020106", "unsupported_line"),
    ("too_few_fields", "$GPRP,AC233F2A0D8C,C4BE84F08E26,-53", "bad_field_count"),
    ("too_many_fields", GPRP + ",1709633730,extra", "bad_field_count"),
    ("tag_mac_short", "$GPRP,AC233F2A0D,C4BE84F08E26,-53,020106", "bad_mac"),
    ("gateway_mac_bad", "$GPRP,AC233F2A0D8C,C4BE84F08EZZ,-53,020106", "bad_gateway_mac"),
    ("rssi_words", "$GPRP,AC233F2A0D8C,C4BE84F08E26,loud,020106", "bad_rssi"),
    ("rssi_out_of_range", "$GPRP,AC233F2A0D8C,C4BE84F08E26,-999,020106", "bad_rssi"),
    ("rssi_empty", "$GPRP,AC233F2A0D8C,C4BE84F08E26,,020106", "bad_rssi"),
    ("hex_odd", "$GPRP,AC233F2A0D8C,C4BE84F08E26,-53,02010", "bad_hex"),
    ("timestamp_words", GPRP + ",noon", "bad_timestamp"),
    ("timestamp_nan", GPRP + ",nan", "bad_timestamp"),
    ("timestamp_huge", GPRP + ",1e300", "bad_timestamp"),
]


@pytest.mark.parametrize(
    ("line", "reason"), [pytest.param(*row[1:], id=row[0]) for row in INGICS_REJECTED]
)
def test_ingics_rejected_line(line: str, reason: str) -> None:
    sightings, rejections = parse_ingics(f"{GPRP}\r\n{line}\r\n{GPRP}\r\n")
    assert rejections == Counter({reason: 1})
    assert len(sightings) == 2


def test_ingics_partial_garbage_counted_by_reason() -> None:
    lines = [GPRP, *(row[1] for row in INGICS_REJECTED), GPRP, "", "   "]
    payload = "\r\n".join(lines).encode() + b"\r\n\xff\xfe\r\n"
    sightings, rejections = parse_ingics(payload)
    assert len(sightings) == 2
    expected = Counter(row[2] for row in INGICS_REJECTED)
    expected["unsupported_line"] += 1  # the undecodable bytes
    assert rejections == expected


# ---------------------------------------------------------------- ESPresense

DEVICE_ID = "iBeacon:f7826da6-4fa2-4e98-8024-bc5b71e0893e-100-7"
DEVICE_TOPIC = f"espresense/devices/{DEVICE_ID}/ward_7a"
DEVICE_REPORT = {
    "id": DEVICE_ID,
    "idType": 1,
    "rssi@1m": -59,
    "rssi": -72,
    "raw": 2.18,
    "distance": 1.95,
    "speed": 0.01,
    "mac": "d6a3a9dfb2b5",
    "interval": 1004,
    "batt": 85,
    "mV": 2950,
    "name": "Infusion pump 12",
}


def test_espresense_device_golden() -> None:
    record = parse_espresense(DEVICE_TOPIC, json.dumps(DEVICE_REPORT).encode())
    assert record == EspresenseSighting(
        device_id=DEVICE_ID,
        room="ward_7a",
        rssi=-72.0,
        rssi_at_1m=-59.0,
        distance=1.95,
        mac="D6:A3:A9:DF:B2:B5",
        battery_percent=85.0,
        battery_mv=2950.0,
        name="Infusion pump 12",
    )


def test_espresense_minimal_report() -> None:
    record = parse_espresense("espresense/devices/tile:123/theatre_2", b'{"rssi": -90}')
    assert record == EspresenseSighting(device_id="tile:123", room="theatre_2", rssi=-90.0)


def test_espresense_ill_typed_optional_fields_are_dropped() -> None:
    report = {"rssi": -70, "distance": "far", "batt": -5, "mV": True, "mac": "xyz", "name": 3}
    record = parse_espresense("espresense/devices/d/room", json.dumps(report).encode())
    assert record == EspresenseSighting(device_id="d", room="room", rssi=-70.0)


@pytest.mark.parametrize(
    ("payload", "online"), [(b"online", True), (b"offline", False), (b"offline\n", False)]
)
def test_espresense_room_status(payload: bytes, online: bool) -> None:
    record = parse_espresense("espresense/rooms/ward_7a/status", payload)
    assert record == RoomStatus(room="ward_7a", online=online)


def test_espresense_custom_prefix() -> None:
    record = parse_espresense("site/a/rooms/lab/status", b"online", prefix="site/a")
    assert record == RoomStatus(room="lab", online=True)
    assert parse_espresense("espresense/rooms/lab/status", b"online", prefix="site/a") == Rejected(
        "unsupported_topic"
    )


# (name, topic, payload, reason)
ESPRESENSE_REJECTED: list[tuple[str, str, bytes, str]] = [
    ("telemetry", "espresense/rooms/ward_7a/telemetry", b"{}", "unsupported_topic"),
    ("settings", "espresense/settings/x/config", b"{}", "unsupported_topic"),
    ("device_without_room", f"espresense/devices/{DEVICE_ID}", b"{}", "unsupported_topic"),
    ("device_empty_room", f"espresense/devices/{DEVICE_ID}/", b"{}", "unsupported_topic"),
    ("device_extra_level", f"{DEVICE_TOPIC}/x", b"{}", "unsupported_topic"),
    ("other_prefix", f"other/devices/{DEVICE_ID}/ward", b"{}", "unsupported_topic"),
    ("empty_topic", "", b"", "unsupported_topic"),
    ("cut_json", DEVICE_TOPIC, b'{"rssi": -7', "bad_json"),
    ("empty_payload", DEVICE_TOPIC, b"", "bad_json"),
    ("not_utf8", DEVICE_TOPIC, b"\xff", "bad_json"),
    ("json_array", DEVICE_TOPIC, b"[1, 2]", "not_an_object"),
    ("id_mismatch", DEVICE_TOPIC, b'{"id": "other", "rssi": -70}', "id_mismatch"),
    ("no_rssi", DEVICE_TOPIC, b'{"distance": 1.0}', "bad_rssi"),
    ("rssi_text", DEVICE_TOPIC, b'{"rssi": "-70"}', "bad_rssi"),
    ("status_unknown", "espresense/rooms/ward_7a/status", b"sleeping", "bad_status"),
    ("status_empty", "espresense/rooms/ward_7a/status", b"", "bad_status"),
]


@pytest.mark.parametrize(
    ("topic", "payload", "reason"),
    [pytest.param(*row[1:], id=row[0]) for row in ESPRESENSE_REJECTED],
)
def test_espresense_rejected(topic: str, payload: bytes, reason: str) -> None:
    assert parse_espresense(topic, payload) == Rejected(reason)


def test_dialect_tables_have_unique_names() -> None:
    for table in (JSON_REJECTED, INGICS_REJECTED, ESPRESENSE_REJECTED):
        names = [row[0] for row in table]
        assert len(names) == len(set(names))


# ---------------------------------------------------------------- properties


def _well_formed(result: DialectResult) -> bool:
    sightings, rejections = result
    return all(isinstance(s, GatewaySighting) for s in sightings) and all(
        reason and count > 0 for reason, count in rejections.items()
    )


JSON_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=12,
)


def _mostly(good: st.SearchStrategy[T], bad: st.SearchStrategy[T]) -> st.SearchStrategy[T]:
    """``good`` four times in five: plain unions draw too few well-formed values to get deep."""
    return st.integers(0, 4).flatmap(lambda n: bad if n == 0 else good)


TAG_MACS = _mostly(st.binary(min_size=6, max_size=6).map(bytes.hex), st.text(max_size=14))
ENTRY_REQUIRED = {
    "mac": _mostly(TAG_MACS, JSON_SCALARS),
    "rssi": _mostly(st.integers(-160, 60) | st.floats(-160, 60), JSON_SCALARS),
}
ENTRY_OPTIONAL = {
    "type": st.sampled_from(["iBeacon", "Unknown", "Gateway"]) | JSON_SCALARS,
    "rawData": _mostly(st.binary(max_size=31).map(bytes.hex), JSON_SCALARS),
    "timestamp": _mostly(
        st.integers(0, 4_000_000_000_000)
        | st.datetimes(timezones=st.just(dt.UTC)).map(dt.datetime.isoformat),
        st.datetimes().map(dt.datetime.isoformat) | JSON_SCALARS,
    ),
    "bleName": JSON_VALUES,
}
ENTRIES = _mostly(st.fixed_dictionaries(ENTRY_REQUIRED, optional=ENTRY_OPTIONAL), JSON_VALUES)


@settings(max_examples=150)
@given(payload=st.binary(max_size=200))
def test_json_batch_random_bytes_never_raise(payload: bytes) -> None:
    assert _well_formed(parse_json_batch(payload))


@settings(max_examples=150)
@given(entries=st.lists(ENTRIES, max_size=8), header=st.booleans())
def test_json_batch_random_entries_are_all_accounted_for(
    entries: list[object], header: bool
) -> None:
    document = [{"type": "Gateway", "mac": "AC233FC0186E"}, *entries] if header else entries
    result = parse_json_batch(json.dumps(document))
    assert _well_formed(result)
    sightings, rejections = result
    if header:
        repeated = sum(1 for e in entries if isinstance(e, dict) and e.get("type") == "Gateway")
        assert len(sightings) + sum(rejections.values()) == len(entries) - repeated
    assert all(s.observed_at is None or s.observed_at.tzinfo is dt.UTC for s in sightings)


INGICS_LINES = _mostly(
    st.tuples(
        _mostly(st.just("$GPRP"), st.sampled_from(["$RSPR", "$LRAD"]) | st.text(max_size=6)),
        TAG_MACS,
        TAG_MACS,
        _mostly(st.integers(-160, 60).map(str), st.text(max_size=5)),
        _mostly(st.binary(max_size=31).map(bytes.hex), st.text(max_size=10)),
        _mostly(
            st.lists(st.integers(0, 2**32).map(str), max_size=1),
            st.lists(st.floats().map(str) | st.text(max_size=8), max_size=2),
        ),
    ).map(lambda f: ",".join([*f[:5], *f[5]])),
    st.text(max_size=40),
)


@settings(max_examples=150)
@given(lines=st.lists(INGICS_LINES, max_size=8), newline=st.sampled_from(["\n", "\r\n"]))
def test_ingics_random_lines_are_all_accounted_for(lines: list[str], newline: str) -> None:
    text = newline.join(lines)
    result = parse_ingics(text)
    assert _well_formed(result)
    sightings, rejections = result
    assert len(sightings) + sum(rejections.values()) == sum(
        1 for line in text.splitlines() if line.strip()
    )


@given(payload=st.binary(max_size=200))
def test_ingics_random_bytes_never_raise(payload: bytes) -> None:
    assert _well_formed(parse_ingics(payload))


TOPICS = _mostly(
    st.tuples(
        _mostly(st.just("espresense"), st.text(max_size=10)),
        st.sampled_from(["devices", "rooms", "devices", "rooms", "settings"]),
        _mostly(st.text(min_size=1, max_size=10), st.just("")),
        st.sampled_from(["status", "ward_7a", "status", "telemetry", ""]) | st.text(max_size=8),
    ).map("/".join),
    st.text(max_size=40),
)
PAYLOADS = _mostly(
    st.fixed_dictionaries(
        {"rssi": _mostly(st.integers(-160, 60), JSON_SCALARS)},
        optional={
            key: JSON_SCALARS for key in ("id", "rssi@1m", "distance", "mac", "batt", "mV", "name")
        },
    ).map(lambda v: json.dumps(v).encode())
    | st.sampled_from([b"online", b"offline"]),
    st.binary(max_size=100) | JSON_VALUES.map(lambda v: json.dumps(v).encode()),
)


@settings(max_examples=150)
@given(topic=TOPICS, payload=PAYLOADS)
def test_espresense_random_messages_never_raise(topic: str, payload: bytes) -> None:
    result = parse_espresense(topic, payload)
    assert isinstance(result, EspresenseSighting | RoomStatus) or (
        isinstance(result, Rejected) and result.reason
    )
