"""Zebra IoT Connector tag data events, decoded (golden messages in the layout Zebra's
IoT Connector documentation gives: ``{"data": {"idHex", "antenna", "peakRssi", ...},
"timestamp", "type": "SIMPLE"}``, one per message or several in an array)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from floki_rfid.epc import EpcIdentities
from floki_rfid.llrp_reads import TagRead
from floki_rfid.zebra_messages import parse_iotc_message

PUMP = "E280116060000205A0B1C2D3"
PUMP_AS_SENT = PUMP.lower()  # readers send lower-case hex
GIAI = "3414257BF400B7800004CB2F"  # a GIAI-96 header with the right length


def event(
    id_hex: Any = PUMP_AS_SENT, antenna: Any = 1, rssi: Any = -57, **data: Any
) -> dict[str, Any]:
    fields: dict[str, Any] = {"eventNum": 7, "format": "epc", **data}
    if id_hex is not None:
        fields["idHex"] = id_hex
    if antenna is not None:
        fields["antenna"] = antenna
    if rssi is not None:
        fields["peakRssi"] = rssi
    return {"data": fields, "timestamp": "2026-01-05T09:00:01.250+0000", "type": "SIMPLE"}


def parse(body: Any) -> tuple[list[TagRead], dict[str, int]]:
    payload = body if isinstance(body, bytes) else json.dumps(body).encode()
    return parse_iotc_message(payload, EpcIdentities())


STAMP_US = 1_767_603_601_250_000  # 2026-01-05T09:00:01.250Z

ACCEPTED = [
    (
        "one_event",
        event(),
        [TagRead(PUMP, 1, -57.0, None, STAMP_US, 1)],
    ),
    (
        "batched_in_an_array",
        [event(), event(id_hex=PUMP, antenna=2, rssi=-61.5, seenCount=4)],
        [TagRead(PUMP, 1, -57.0, None, STAMP_US, 1), TagRead(PUMP, 2, -61.5, None, STAMP_US, 4)],
    ),
    (
        "no_rssi_no_timestamp",
        {"data": {"idHex": PUMP, "antenna": 3}, "type": "SIMPLE"},
        [TagRead(PUMP, 3, None, None, None, 1)],
    ),
]


@pytest.mark.parametrize(("name", "body", "reads"), ACCEPTED, ids=[a[0] for a in ACCEPTED])
def test_accepted_events(name: str, body: Any, reads: list[TagRead]) -> None:
    assert parse(body) == (reads, {})


REJECTED = [
    ("not_json", b"{nope", {"bad_json": 1}),
    ("not_an_object", b'"hello"', {"bad_json": 1}),
    ("no_data_object", {"timestamp": "x", "type": "SIMPLE"}, {"bad_record": 1}),
    ("no_id_hex", event(id_hex=None), {"no_epc": 1}),
    ("id_hex_not_hex", event(id_hex="E2XX"), {"bad_epc": 1}),
    ("giai_header_wrong_length", event(id_hex=GIAI[:-4]), {"bad_epc": 1}),
    ("no_antenna", event(antenna=None), {"no_antenna": 1}),
    ("antenna_not_a_number", event(antenna="one"), {"no_antenna": 1}),
    ("antenna_zero", event(antenna=0), {"no_antenna": 1}),
]


@pytest.mark.parametrize(("name", "body", "reasons"), REJECTED, ids=[r[0] for r in REJECTED])
def test_rejected_events(name: str, body: Any, reasons: dict[str, int]) -> None:
    assert parse(body) == ([], reasons)


def test_a_bad_read_in_a_batch_costs_only_itself() -> None:
    reads, refused = parse([event(id_hex=None), event(), event(antenna=None)])
    assert [r.epc_hex for r in reads] == [PUMP]
    assert refused == {"no_epc": 1, "no_antenna": 1}


def test_rssi_that_is_not_a_number_is_no_rssi() -> None:
    reads, _ = parse(event(rssi="loud"))
    assert reads[0].peak_rssi is None
