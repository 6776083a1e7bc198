"""Events of the Impinj IoT device interface (R700 and similar), decoded into tag reads.

The reader writes one JSON event per line on ``GET /api/v1/data/stream`` (blank lines keep
the connection alive) and posts the same events, as a JSON array, to a webhook. A tag read
is an event carrying ``tagInventoryEvent``::

    {"timestamp": "2026-12-07T10:00:00.123456789Z", "hostname": "impinj-14-46-36",
     "eventType": "tagInventory",
     "tagInventoryEvent": {"epc": "4oARYGAAAgWgscLT", "epcHex": "E280116060000205A0B1C2D3",
                           "antennaPort": 1, "antennaName": "Antenna 1",
                           "peakRssiCdbm": -5712, ...}}

Field names as Impinj's IoT device interface names them for the R700 (its
``TagInventoryEvent``; ``eventConfig.tagInventory`` in a preset switches ``epcHex`` and the
others on). Checked against the impinj-iot client's description on PyPI (NDJSON stream,
``peakRssiCdbm``) and a published R700 preset (``antennaPort``, ``eventConfig``), not
against a reader; only ``tagInventoryEvent`` and its fields are relied on, not
``eventType`` or ``hostname``. ``epc`` is base64;
``epcHex`` is only there when switched on and is then preferred; ``peakRssiCdbm`` is in
hundredths of a dBm. Any other event (status, antenna, GPI, heartbeat) is no read. Pure: no
I/O.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated

import msgspec

from floki_rfid.epc import EpcError, EpcIdentities
from floki_rfid.llrp_reads import TagRead

_FRACTION = re.compile(r"(\.\d{1,6})\d*")  # Impinj writes nanoseconds; Python reads micro


class ImpinjEventError(ValueError):
    """A line or upload that is no usable event; ``reason`` is what it is counted as."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


class _TagInventory(msgspec.Struct):
    epc: str | None = None
    epcHex: str | None = None
    antennaPort: Annotated[int, msgspec.Meta(ge=1, le=65535)] | None = None
    antennaName: str | None = None
    peakRssiCdbm: int | float | None = None


class _Event(msgspec.Struct):
    timestamp: object = None  # checked by hand: a bad one costs the read its time only
    tagInventoryEvent: _TagInventory | None = None


_DECODER = msgspec.json.Decoder(_Event)
_SHARED_IDENTITIES = EpcIdentities()


def _microseconds(stamp: object) -> int | None:
    if not isinstance(stamp, str):
        return None
    text = _FRACTION.sub(lambda m: m.group(1), stamp.strip(), count=1)
    try:
        at = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    if at.tzinfo is None:
        at = at.replace(tzinfo=dt.UTC)
    return int(at.timestamp()) * 1_000_000 + at.microsecond


def decode_event(raw: bytes, identities: EpcIdentities | None = None) -> TagRead | None:
    """The read of one line, None for a keepalive or an event that is no tag read;
    ``ImpinjEventError`` for a line that cannot be used."""
    if not raw.strip():
        return None
    try:
        event = _DECODER.decode(raw)
    except msgspec.ValidationError as exc:
        message = str(exc)
        if "Expected `object`, got" in message and "$." not in message:
            raise ImpinjEventError(f"not an event object: {message}", "bad_json") from None
        raise ImpinjEventError(f"not Impinj's tagInventoryEvent: {message}", "bad_event") from None
    except (msgspec.DecodeError, UnicodeDecodeError) as exc:
        raise ImpinjEventError(f"not JSON: {exc}", "bad_json") from None
    tag = event.tagInventoryEvent
    if tag is None:
        return None
    known = identities or _SHARED_IDENTITIES
    try:
        if tag.epcHex:
            identity = known.of_hex(tag.epcHex)
        elif tag.epc:
            identity = known.of_base64(tag.epc)
        else:
            raise ImpinjEventError("a tagInventoryEvent without epc or epcHex", "no_epc")
    except EpcError as exc:
        raise ImpinjEventError(str(exc), "bad_epc") from None
    rssi = tag.peakRssiCdbm
    at = _microseconds(event.timestamp)
    return TagRead(
        epc_hex=identity.hex,
        antenna=tag.antennaPort,
        peak_rssi=None if rssi is None else rssi / 100,
        first_seen_us=at,
        last_seen_us=at,
        seen_count=1,
    )


def _entries(raw: bytes) -> list[bytes]:
    body = raw.strip()
    if not body:
        raise ImpinjEventError("the body is empty: no events", "empty")
    if body.startswith(b"["):
        try:
            items = msgspec.json.decode(body, type=list[msgspec.Raw])
        except (msgspec.DecodeError, msgspec.ValidationError, UnicodeDecodeError) as exc:
            raise ImpinjEventError(f"the body is not a JSON array: {exc}", "bad_json") from None
        return [bytes(item) for item in items]
    return body.splitlines()


def decode_upload(
    raw: bytes, identities: EpcIdentities | None = None
) -> tuple[list[TagRead], dict[str, int]]:
    """The reads of a webhook's body (a JSON array of events, or events one a line) and
    the entries refused, by reason. A body in which no entry is an event is refused whole
    (``ImpinjEventError``), so that a misconfigured sender sees a 400 and not a 202."""
    reads: list[TagRead] = []
    refused: dict[str, int] = {}
    events = 0
    first_error: ImpinjEventError | None = None
    for entry in _entries(raw):
        if not entry.strip():
            continue
        try:
            read = decode_event(entry, identities)
        except ImpinjEventError as exc:
            refused[exc.reason] = refused.get(exc.reason, 0) + 1
            first_error = first_error or exc
            if exc.reason != "bad_json":
                events += 1
            continue
        events += 1
        if read is not None:
            reads.append(read)
    if not events:
        why = f": {first_error}" if first_error is not None else ""
        raise ImpinjEventError(f"no event in the body{why}", "bad_json")
    return reads, refused
