"""Pure parsers of what BLE gateways send: a JSON batch, Ingics text lines, ESPresense MQTT.

Payload in, records out; no I/O and no clock (a sighting without a timestamp has
``observed_at=None`` and the source stamps it). Batch parsers return the good
sightings together with a count of rejected entries by reason, so one bad entry
never costs the rest of the batch.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter
from collections.abc import Callable
from typing import Any, NamedTuple

import msgspec

from floki_ble.decoders import Rejected, decode_hex, normalise_mac
from floki_ble.stated_fields import judge_stated, stated_field, stated_value
from floki_core.sdk import Extra

# The same bounds the ingest pipeline checks observations against.
RSSI_MIN, RSSI_MAX = -150.0, 50.0
MAX_EXTRAS = 20
# A gateway's other fields, leaving room for the readings decoded from its advert or
# fields (battery, temperature) within the core's limit on extras.
MAX_FIELDS_KEPT = MAX_EXTRAS - 2

_json = msgspec.json.Decoder()


class GatewaySighting(msgspec.Struct, frozen=True, kw_only=True):
    """One tag heard by one gateway."""

    tag_mac: str  # normalised "AA:BB:CC:DD:EE:FF"
    gateway: str  # the gateway's normalised MAC
    rssi: float
    raw: bytes | None  # the advertising data, for the decoders
    observed_at: dt.datetime | None  # the gateway's clock, in UTC
    extras: dict[str, Extra] = msgspec.field(default_factory=dict)
    # The beacon identity (technology, value) the gateway decoded itself and sent as
    # fields (``floki_ble.stated_fields``); its readings are already in ``extras``.
    stated: tuple[str, str] | None = None


class DialectResult(NamedTuple):
    sightings: list[GatewaySighting]
    rejections: Counter[str]


class EspresenseSighting(msgspec.Struct, frozen=True, kw_only=True):
    """One ESPresense device report: a device as heard in a room."""

    device_id: str  # ESPresense's id, e.g. "iBeacon:<uuid>-<major>-<minor>"
    room: str
    rssi: float
    rssi_at_1m: float | None = None
    distance: float | None = None
    mac: str | None = None
    battery_percent: float | None = None
    battery_mv: float | None = None
    name: str | None = None


class RoomStatus(msgspec.Struct, frozen=True, kw_only=True):
    """An ESPresense room's availability, from its retained status (and last will)."""

    room: str
    online: bool


# ---------------------------------------------------------------- field checks


def _number(value: object) -> float | None:
    # bool is an int to Python, but never a measurement.
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        number = float(value)
    except OverflowError:  # JSON integers have no size limit
        return None
    return number if math.isfinite(number) else None


def _rssi(value: object) -> float | None:
    number = _number(value)
    if number is None or not RSSI_MIN <= number <= RSSI_MAX:
        return None
    return number


def _epoch(seconds: float) -> dt.datetime | None:
    try:
        return dt.datetime.fromtimestamp(seconds, dt.UTC)
    except (OverflowError, OSError, ValueError):
        return None


def _iso(text: str) -> dt.datetime | None:
    try:
        stamp = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    # A time without an offset could be any zone; guessing would misplace the sighting.
    if stamp.tzinfo is None:
        return None
    try:
        return stamp.astimezone(dt.UTC)
    except OverflowError:
        return None


def _json_timestamp(value: object) -> dt.datetime | None:
    if isinstance(value, str):
        return _iso(value)
    millis = _number(value)
    return None if millis is None else _epoch(millis / 1000)


def _decode_json(payload: bytes | str) -> Any | Rejected:
    try:
        return _json.decode(payload)
    except (msgspec.DecodeError, RecursionError, UnicodeDecodeError):
        # msgspec lets invalid UTF-8 inside a JSON string through as UnicodeDecodeError.
        return Rejected("bad_json")


# ---------------------------------------------------------------- generic JSON batch

_ENTRY_FIELDS = frozenset({"mac", "rssi", "rawData", "timestamp"})


def parse_json_batch(payload: bytes | str) -> DialectResult:
    """A gateway's JSON array: a ``{"type": "Gateway", "mac": ...}`` header, then tags.

    Each tag entry has ``mac``, ``rssi``, optional ``rawData`` (hex advert), optional
    ``timestamp`` (ISO-8601 with an offset, or epoch milliseconds) and optional beacon
    fields the gateway decoded itself (``ibeaconUuid``...: ``floki_ble.stated_fields``).
    Other scalar fields (``type``, ``bleName``, ...) are kept as extras.
    """
    sightings: list[GatewaySighting] = []
    rejections: Counter[str] = Counter()
    document = _decode_json(payload)
    if isinstance(document, Rejected):
        rejections[document.reason] += 1
        return DialectResult(sightings, rejections)
    if not isinstance(document, list):
        rejections["not_an_array"] += 1
        return DialectResult(sightings, rejections)
    if not document:
        return DialectResult(sightings, rejections)
    header = document[0]
    if not (isinstance(header, dict) and header.get("type") == "Gateway"):
        # Without the header nobody knows which gateway heard these tags.
        rejections["no_gateway_header"] += len(document)
        return DialectResult(sightings, rejections)
    mac = header.get("mac")
    gateway = normalise_mac(mac) if isinstance(mac, str) else None
    if gateway is None:
        rejections["bad_gateway_mac"] += max(len(document) - 1, 1)
        return DialectResult(sightings, rejections)
    for entry in document[1:]:
        if isinstance(entry, dict) and entry.get("type") == "Gateway":
            continue  # a repeated header carries no sighting
        sighting = _json_entry(entry, gateway)
        if isinstance(sighting, Rejected):
            rejections[sighting.reason] += 1
        else:
            sightings.append(sighting)
    return DialectResult(sightings, rejections)


def _json_entry(entry: object, gateway: str) -> GatewaySighting | Rejected:
    if not isinstance(entry, dict):
        return Rejected("not_an_object")
    mac = entry.get("mac")
    if not isinstance(mac, str):
        return Rejected("missing_mac")
    tag = normalise_mac(mac)
    if tag is None:
        return Rejected("bad_mac")
    rssi = _rssi(entry.get("rssi"))
    if rssi is None:
        return Rejected("bad_rssi")
    observed_at = None
    if entry.get("timestamp") is not None:
        observed_at = _json_timestamp(entry["timestamp"])
        if observed_at is None:
            return Rejected("bad_timestamp")
    raw: bytes | None = None
    raw_hex = entry.get("rawData")
    if raw_hex is not None:
        decoded = decode_hex(raw_hex) if isinstance(raw_hex, str) else Rejected("bad_hex")
        if isinstance(decoded, Rejected):
            return decoded
        raw = decoded
    extras: dict[str, Extra] = {}
    found: dict[str, object] | None = None  # beacon fields the gateway decoded itself
    for key, value in entry.items():
        if key in _ENTRY_FIELDS:
            continue
        field = stated_field(key)
        if field is not None:
            if stated_value(value):
                found = found or {}
                found[field] = value
        elif len(extras) < MAX_FIELDS_KEPT and isinstance(value, str | int | float | bool):
            extras[key] = value
    stated = None if found is None else judge_stated(found)
    if isinstance(stated, Rejected):
        return stated
    if stated is not None:
        extras.update(stated.extras)
    return GatewaySighting(
        tag_mac=tag,
        gateway=gateway,
        rssi=rssi,
        raw=raw,
        observed_at=observed_at,
        extras=extras,
        stated=None if stated is None else stated.identity,
    )


# ---------------------------------------------------------------- Ingics text lines


def parse_ingics(payload: bytes | str) -> DialectResult:
    """Ingics-style lines ``$GPRP,<tag>,<gateway>,<rssi>,<adv hex>[,<unix seconds>]``."""
    text = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else payload
    sightings: list[GatewaySighting] = []
    rejections: Counter[str] = Counter()
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        sighting = _ingics_line(line)
        if isinstance(sighting, Rejected):
            rejections[sighting.reason] += 1
        else:
            sightings.append(sighting)
    return DialectResult(sightings, rejections)


def _ingics_line(line: str) -> GatewaySighting | Rejected:
    fields = line.split(",")
    # Scan responses ($RSPR) and other reports carry no standalone sighting.
    if fields[0] != "$GPRP":
        return Rejected("unsupported_line")
    if len(fields) not in (5, 6):
        return Rejected("bad_field_count")
    tag = normalise_mac(fields[1])
    if tag is None:
        return Rejected("bad_mac")
    gateway = normalise_mac(fields[2])
    if gateway is None:
        return Rejected("bad_gateway_mac")
    try:
        rssi = _rssi(int(fields[3]))
    except ValueError:
        rssi = None
    if rssi is None:
        return Rejected("bad_rssi")
    raw = decode_hex(fields[4])
    if isinstance(raw, Rejected):
        return raw
    observed_at = None
    if len(fields) == 6:
        try:
            seconds = float(fields[5])
        except ValueError:
            return Rejected("bad_timestamp")
        observed_at = _epoch(seconds) if math.isfinite(seconds) else None
        if observed_at is None:
            return Rejected("bad_timestamp")
    return GatewaySighting(
        tag_mac=tag, gateway=gateway, rssi=rssi, raw=raw, observed_at=observed_at, extras={}
    )


# ---------------------------------------------------------------- ESPresense MQTT


def parse_espresense(
    topic: str, payload: bytes, *, prefix: str = "espresense"
) -> EspresenseSighting | RoomStatus | Rejected:
    """One ESPresense MQTT message.

    ``<prefix>/devices/<id>/<room>`` carries a device report (JSON);
    ``<prefix>/rooms/<room>/status`` carries "online"/"offline", retained and also
    the room's last will, so a gateway that drops off goes offline.
    """
    base = prefix.split("/")
    parts = topic.split("/")
    if parts[: len(base)] != base:
        return Rejected("unsupported_topic")
    rest = parts[len(base) :]
    if len(rest) == 3 and rest[0] == "devices" and rest[1] and rest[2]:
        return _espresense_device(rest[1], rest[2], payload)
    if len(rest) == 3 and rest[0] == "rooms" and rest[1] and rest[2] == "status":
        status = payload.strip()
        if status in (b"online", b"offline"):
            return RoomStatus(room=rest[1], online=status == b"online")
        return Rejected("bad_status")
    return Rejected("unsupported_topic")


def _espresense_device(device_id: str, room: str, payload: bytes) -> EspresenseSighting | Rejected:
    document = _decode_json(payload)
    if isinstance(document, Rejected):
        return document
    if not isinstance(document, dict):
        return Rejected("not_an_object")
    if "id" in document and document["id"] != device_id:
        return Rejected("id_mismatch")
    rssi = _rssi(document.get("rssi"))
    if rssi is None:
        return Rejected("bad_rssi")
    mac = document.get("mac")
    name = document.get("name")
    return EspresenseSighting(
        device_id=device_id,
        room=room,
        rssi=rssi,
        rssi_at_1m=_rssi(document.get("rssi@1m")),
        distance=_non_negative(document.get("distance")),
        mac=normalise_mac(mac) if isinstance(mac, str) else None,
        battery_percent=_non_negative(document.get("batt")),
        battery_mv=_non_negative(document.get("mV")),
        name=name if isinstance(name, str) and name else None,
    )


def _non_negative(value: object) -> float | None:
    # Optional fields of the wrong type or sign are dropped rather than costing the report.
    number = _number(value)
    return number if number is not None and number >= 0 else None


# ---------------------------------------------------------------- ESPresense fast path


class _DeviceReport(msgspec.Struct):
    """The fields of a device report the source reads, typed as ESPresense sends them."""

    rssi: float
    id: str | msgspec.UnsetType = msgspec.UNSET
    rssi_at_1m: float | None = msgspec.field(default=None, name="rssi@1m")
    distance: float | None = None
    mac: str | None = None
    batt: float | None = None
    battery_mv: float | None = msgspec.field(default=None, name="mV")
    name: str | None = None


_decode_report = msgspec.json.Decoder(_DeviceReport).decode


def usual_report(
    device_id: str, room: str, payload: bytes, mac_of: Callable[[str], str | None]
) -> EspresenseSighting | None:
    """What :func:`parse_espresense` makes of a well-formed device report, without its
    generic JSON decoding; None for anything else, which ``parse_espresense`` then judges
    (and rejects or reads leniently, with its reasons)."""
    try:
        report = _decode_report(payload)
    except (msgspec.DecodeError, RecursionError, UnicodeDecodeError):
        return None
    if report.id is not msgspec.UNSET and report.id != device_id:
        return None
    if _rssi(report.rssi) is None:
        return None
    mac = report.mac
    return EspresenseSighting(
        device_id=device_id,
        room=room,
        rssi=report.rssi,
        rssi_at_1m=_rssi(report.rssi_at_1m),
        distance=_non_negative(report.distance),
        mac=None if mac is None else mac_of(mac),
        battery_percent=_non_negative(report.batt),
        battery_mv=_non_negative(report.battery_mv),
        name=report.name or None,
    )
