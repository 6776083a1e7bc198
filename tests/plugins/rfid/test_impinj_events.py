"""Golden events of the Impinj IoT device interface: one table of accepted lines with the
read they decode to, one of lines refused with the reason they are counted as."""

from __future__ import annotations

import base64

import pytest
from floki_rfid.impinj_events import ImpinjEventError, decode_event, decode_upload
from floki_rfid.llrp_reads import TagRead

PUMP = "E280116060000205A0B1C2D3"
PUMP_B64 = base64.b64encode(bytes.fromhex(PUMP)).decode()
AT = "2026-12-07T10:00:00.123456789Z"
AT_US = 1_796_637_600_123_456  # 2026-12-07T10:00:00.123456Z


def line(inner: str, *, top: str = f'"timestamp":"{AT}","eventType":"tagInventory",') -> bytes:
    return ("{" + top + '"tagInventoryEvent":{' + inner + "}}").encode()


ACCEPTED = [
    (
        line(f'"epc":"{PUMP_B64}","antennaPort":2,"antennaName":"Door","peakRssiCdbm":-5712'),
        TagRead(PUMP, 2, -57.12, AT_US, AT_US, 1),
    ),
    # epcHex, when the reader is set to send it, is preferred; lower case is upper-cased.
    (
        line(f'"epc":"AAAA","epcHex":"{PUMP.lower()}","antennaPort":1,"peakRssiCdbm":-6000'),
        TagRead(PUMP, 1, -60.0, AT_US, AT_US, 1),
    ),
    # No RSSI, no timestamp: the read still counts, with neither.
    (line(f'"epc":"{PUMP_B64}","antennaPort":4', top=""), TagRead(PUMP, 4, None, None, None, 1)),
    # An unreadable timestamp is not the read's fault: it is kept without one.
    (
        line(f'"epc":"{PUMP_B64}","antennaPort":1', top='"timestamp":"yesterday",'),
        TagRead(PUMP, 1, None, None, None, 1),
    ),
    # A port left out is for the source to refuse (no_antenna); the decoder passes None.
    (line(f'"epc":"{PUMP_B64}"'), TagRead(PUMP, None, None, AT_US, AT_US, 1)),
]

IGNORED = [
    b"",  # keepalive
    b"   \r",
    b'{"timestamp":"' + AT.encode() + b'","eventType":"inventoryStatus",'
    b'"inventoryStatusEvent":{"inventoryStatus":"running"}}',
    b'{"eventType":"heartbeat"}',
]

REFUSED = [
    (b"{not json", "bad_json"),
    (b'["an array", "on one line"]', "bad_json"),
    (b"42", "bad_json"),
    (b'{"tagInventoryEvent":{"epc":"\x80"}}', "bad_json"),  # not UTF-8
    (line('"epc":12,"antennaPort":1'), "bad_event"),
    (line(f'"epc":"{PUMP_B64}","antennaPort":"one"'), "bad_event"),
    (line(f'"epc":"{PUMP_B64}","antennaPort":0'), "bad_event"),
    (line(f'"epc":"{PUMP_B64}","peakRssiCdbm":"loud"'), "bad_event"),
    (b'{"tagInventoryEvent":"a string"}', "bad_event"),
    (line('"antennaPort":1'), "no_epc"),
    (line('"epc":"!!notbase64","antennaPort":1'), "bad_epc"),
    (line('"epcHex":"E28Z","antennaPort":1'), "bad_epc"),
]


@pytest.mark.parametrize(("raw", "read"), ACCEPTED)
def test_accepted_events_decode_to_their_read(raw: bytes, read: TagRead) -> None:
    assert decode_event(raw) == read


@pytest.mark.parametrize("raw", IGNORED)
def test_keepalives_and_other_event_types_are_no_read(raw: bytes) -> None:
    assert decode_event(raw) is None


@pytest.mark.parametrize(("raw", "reason"), REFUSED)
def test_refused_events_say_why_and_are_counted_by_reason(raw: bytes, reason: str) -> None:
    with pytest.raises(ImpinjEventError) as refused:
        decode_event(raw)
    assert refused.value.reason == reason
    assert str(refused.value)


def test_an_upload_is_a_json_array_or_ndjson_with_bad_entries_counted() -> None:
    good = line(f'"epc":"{PUMP_B64}","antennaPort":1')
    array = b"[" + good + b"," + good + b',{"eventType":"heartbeat"}, 7]'
    reads, refused = decode_upload(array)
    assert [r.epc_hex for r in reads] == [PUMP, PUMP]
    assert refused == {"bad_json": 1}
    reads, refused = decode_upload(good + b"\n\n" + good + b"\n{broken\n")
    assert len(reads) == 2 and refused == {"bad_json": 1}


@pytest.mark.parametrize(
    ("raw", "says"),
    [
        (b"", "empty"),
        (b"  \n ", "empty"),
        (b"[1, 2", "not a JSON array"),
        (b"hello\nworld", "no event"),
    ],
)
def test_an_upload_with_nothing_readable_is_refused_whole(raw: bytes, says: str) -> None:
    with pytest.raises(ImpinjEventError) as refused:
        decode_upload(raw)
    assert says in str(refused.value)
