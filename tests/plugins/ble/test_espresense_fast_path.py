"""The ESPresense source's typed fast path reads every report exactly as the generic
parser does, or leaves it to that parser."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from floki_ble.decoders import normalise_mac
from floki_ble.dialects import parse_espresense, usual_report

DEVICE = "iBeacon:2f234454-cf6d-4a0f-adf2-f4911ba9ffa6-1-42"
ROOM = "ward7-bay1"
TOPIC = f"espresense/devices/{DEVICE}/{ROOM}"

values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**6), max_value=10**6),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
    st.text(max_size=20),
    st.sampled_from(["AA:BB:CC:DD:EE:FF", "aabbccddeeff", "not a mac", DEVICE, "other-id"]),
    st.lists(st.integers(), max_size=2),
)
keys = st.sampled_from(["id", "rssi", "rssi@1m", "distance", "mac", "batt", "mV", "name", "x"])
reports = st.dictionaries(keys, values, max_size=9)
usual = st.fixed_dictionaries(
    {"id": st.just(DEVICE), "rssi": st.integers(min_value=-100, max_value=-30)},
    optional={
        "rssi@1m": st.integers(min_value=-80, max_value=-40),
        "distance": st.floats(min_value=0, max_value=50, width=32),
        "mac": st.sampled_from(["AA:BB:CC:DD:EE:FF", "aabbccddeeff"]),
        "batt": st.integers(min_value=0, max_value=100),
        "mV": st.integers(min_value=2000, max_value=3300),
        "name": st.text(max_size=10),
    },
)


def _check(report: dict[str, object]) -> None:
    payload = json.dumps(report).encode()
    fast = usual_report(DEVICE, ROOM, payload, normalise_mac)
    if fast is not None:
        assert fast == parse_espresense(TOPIC, payload)


@settings(max_examples=200, deadline=None)
@given(reports)
def test_any_report_is_read_as_the_parser_reads_it_or_left_to_it(report: dict[str, object]) -> None:
    _check(report)


@settings(max_examples=100, deadline=None)
@given(usual)
def test_the_reports_gateways_send_take_the_fast_path(report: dict[str, object]) -> None:
    payload = json.dumps(report).encode()
    fast = usual_report(DEVICE, ROOM, payload, normalise_mac)
    assert fast is not None
    assert fast == parse_espresense(TOPIC, payload)
