"""Zebra IoT Connector tag data, read from the MQTT payloads of a fixed reader's data
interface: pure, no I/O.

Zebra's IoT Connector documentation (zebradevs.github.io/rfid-ziotc-docs, "Data
Interface" and the tag-data event schema; techdocs.zebra.com for the RFD40/90 dataEVT)
gives each tag event as::

    {"data": {"eventNum": 7, "format": "epc", "idHex": "e280...", "antenna": 1,
              "peakRssi": -57, "seenCount": 1, ...},
     "timestamp": "2026-01-05T09:00:01.250+0000", "type": "SIMPLE"}

one per message, or several in a JSON array when the reader batches its data events.
Which fields ``data`` carries is chosen on the reader (its operating mode's tag metadata:
ANTENNA, RSSI, SEEN_COUNT ...); ``idHex`` and ``antenna`` are needed here.
"""

from __future__ import annotations

import collections
import datetime as dt
from typing import Any

import msgspec

from floki_rfid.epc import EpcError, EpcIdentities
from floki_rfid.llrp_reads import TagRead

_decode = msgspec.json.Decoder().decode


def _reader_time_us(value: Any) -> int | None:
    """The reader's ISO 8601 timestamp in microseconds since the epoch, or None."""
    if not isinstance(value, str) or len(value) > 64:
        return None
    try:
        at = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    if at.tzinfo is None:
        at = at.replace(tzinfo=dt.UTC)
    return int(at.timestamp() * 1_000_000)


def _read(record: Any, epcs: EpcIdentities) -> TagRead | str:
    """One tag event as a read, or the reason it cannot be one."""
    if not isinstance(record, dict):
        return "bad_record"
    data = record.get("data")
    if not isinstance(data, dict):
        return "bad_record"
    id_hex = data.get("idHex")
    if not isinstance(id_hex, str) or not id_hex:
        return "no_epc"
    antenna = data.get("antenna")
    if type(antenna) is not int or not 1 <= antenna <= 65535:
        return "no_antenna"
    try:
        epc = epcs.of_hex(id_hex).hex
    except EpcError:
        return "bad_epc"
    rssi = data.get("peakRssi")
    seen = data.get("seenCount")
    return TagRead(
        epc_hex=epc,
        antenna=antenna,
        peak_rssi=float(rssi)
        if isinstance(rssi, int | float) and rssi is not True and rssi is not False
        else None,
        first_seen_us=None,
        last_seen_us=_reader_time_us(record.get("timestamp")),
        seen_count=seen if type(seen) is int and seen >= 1 else 1,
    )


def parse_iotc_message(payload: bytes, epcs: EpcIdentities) -> tuple[list[TagRead], dict[str, int]]:
    """The reads of one data message, and what could not be read, by reason. Never raises:
    an unreadable message is one ``bad_json``; a bad event in a batch costs only itself."""
    try:
        body = _decode(payload)
    except (msgspec.DecodeError, UnicodeDecodeError):
        return [], {"bad_json": 1}
    if isinstance(body, dict):
        records: list[Any] = [body]
    elif isinstance(body, list):
        records = body
    else:
        return [], {"bad_json": 1}
    reads: list[TagRead] = []
    refused: collections.Counter[str] = collections.Counter()
    for record in records:
        found = _read(record, epcs)
        if isinstance(found, str):
            refused[found] += 1
        else:
            reads.append(found)
    return reads, dict(refused)
