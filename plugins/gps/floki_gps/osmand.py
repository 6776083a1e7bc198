"""Traccar Client and OsmAnd requests (the "OsmAnd protocol"), decoded into fixes.

Three forms reach the listener, as Traccar's own decoder reads them
(src/main/java/org/traccar/protocol/OsmAndProtocolDecoder.java, Apache-2.0):

- the query form, ``GET`` or ``POST /?id=...&lat=...&lon=...`` (OsmAnd's online tracking,
  Traccar Client before v9, many trackers): ``id`` or ``deviceid``; ``timestamp`` in
  seconds, milliseconds or ISO 8601 (``2014-06-04 09:10:11`` taken as UTC); ``lat`` and
  ``lon`` or ``location=lat,lon``; ``speed`` in knots; ``bearing`` or ``heading``;
  ``altitude``; ``accuracy`` (metres); ``hdop``; ``batt`` (percent); ``charge``;
  ``valid=false`` says the position is not to be trusted;
- the same fields as an ``application/x-www-form-urlencoded`` body;
- Traccar Client v9 and later: ``application/json``,
  ``{"location": {"timestamp": ISO, "coords": {"latitude", "longitude", "accuracy",
  "speed" (m/s, -1 unknown), "heading" (-1 unknown), "altitude"}, "is_moving",
  "battery": {"level" (0..1, -1 unknown), "is_charging"}, ...}, "device_id": ...}``;
  ``location`` may also be a list of such (a batched sync).

Everything here is pure: text or bytes in, :class:`Fix` records out, or
:class:`DecodeError` with a reason the phone's user can read.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import urllib.parse
from collections.abc import Sequence
from typing import Annotated

import msgspec

from floki_gps.fixes import KNOTS_TO_KMH, MAX_DEVICE_ID, MS_TO_KMH, Fix

__all__ = [
    "PROTOCOL",
    "DecodeError",
    "decode_json",
    "decode_query",
    "decode_request",
    "device_id",
    "iso_time",
]

PROTOCOL = "osmand"
MAX_FIELDS = 100  # a real request has about a dozen
FORM = "application/x-www-form-urlencoded"
JSON = "application/json"
_MILLISECONDS_FROM = 2**31 - 1  # as Traccar: a larger number is milliseconds
_EPOCH = re.compile(r"[0-9]{1,20}(\.[0-9]{1,9})?")  # seconds or milliseconds
READ = frozenset(
    [
        "id",
        "deviceid",
        "timestamp",
        "lat",
        "lon",
        "location",
        "speed",
        "bearing",
        "heading",
        "altitude",
        "accuracy",
        "hdop",
        "batt",
        "charge",
        "valid",
        "ignition",
    ]
)


class DecodeError(ValueError):
    """The request cannot be read: answered ``status`` with ``reason``, counted against
    the listener as ``counted_as`` (a short snake_case word)."""

    def __init__(self, reason: str, counted_as: str, status: int = 400) -> None:
        super().__init__(reason)
        self.reason = reason
        self.counted_as = counted_as
        self.status = status


# --- shared checks ------------------------------------------------------------------------


def device_id(value: object, name: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise DecodeError(
            f"no device id: set {name} to the identifier registered on the asset", "no_device"
        )
    device = value.strip()
    if len(device) > MAX_DEVICE_ID or "\x00" in device:
        raise DecodeError(
            f"{name} must be at most {MAX_DEVICE_ID} printable characters", "no_device"
        )
    return device


def _number(name: str, text: str, counted_as: str = "bad_field") -> float:
    try:
        value = float(text)
    except ValueError:
        raise DecodeError(f"{name}: {text[:40]!r} is not a number", counted_as) from None
    if not math.isfinite(value):
        raise DecodeError(f"{name}: {text[:40]!r} is not a finite number", counted_as)
    return value


def _within(name: str, value: float, low: float, high: float, counted_as: str) -> float:
    if not low <= value <= high:
        raise DecodeError(f"{name}: {value:g} is outside {low:g}..{high:g}", counted_as)
    return value


def _position(lat: float, lon: float, names: tuple[str, str]) -> tuple[float, float]:
    return (
        _within(names[0], lat, -90, 90, "bad_position"),
        _within(names[1], lon, -180, 180, "bad_position"),
    )


def iso_time(name: str, text: str) -> dt.datetime:
    try:
        at = dt.datetime.fromisoformat(text.strip().replace(" ", "T", 1))
    except ValueError:
        raise DecodeError(
            f"{name}: {text[:40]!r} is not a time (seconds, milliseconds or ISO 8601)",
            "bad_timestamp",
        ) from None
    return at.replace(tzinfo=dt.UTC) if at.tzinfo is None else at.astimezone(dt.UTC)


def _epoch_time(name: str, number: float) -> dt.datetime:
    seconds = number / 1000 if number > _MILLISECONDS_FROM else number
    try:
        return dt.datetime.fromtimestamp(seconds, dt.UTC)
    except (OverflowError, OSError, ValueError):
        raise DecodeError(f"{name}: {number:g} is not a plausible time", "bad_timestamp") from None


def _timestamp(text: str) -> dt.datetime:
    stripped = text.strip()
    if _EPOCH.fullmatch(stripped):
        return _epoch_time("timestamp", float(stripped))
    return iso_time("timestamp", stripped)


def _flag(name: str, text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in ("true", "1"):
        return True
    if lowered in ("false", "0"):
        return False
    raise DecodeError(f"{name}: {text[:40]!r} is not true or false", "bad_field")


# --- the query form -------------------------------------------------------------------------


def _fields(text: str) -> dict[str, str]:
    try:
        pairs = urllib.parse.parse_qsl(text, keep_blank_values=True, max_num_fields=MAX_FIELDS)
    except ValueError:
        raise DecodeError(f"more than {MAX_FIELDS} fields", "bad_field") from None
    fields: dict[str, str] = {}
    for key, value in pairs:
        # Cells and Wi-Fi access points repeat; a field read here must not disagree.
        if key in fields and fields[key] != value and key in READ:
            raise DecodeError(f"{key} is given twice with different values", "bad_field")
        fields[key] = value
    return fields


def decode_query(text: str, *, now: dt.datetime) -> Fix:
    """The fix of a query string (or form body); ``now`` when it carries no time."""
    fields = _fields(text)
    if not fields:
        raise DecodeError("no fields: expected id, lat, lon and timestamp", "no_fields")
    if "id" in fields and "deviceid" in fields and fields["id"] != fields["deviceid"]:
        raise DecodeError("id and deviceid name different devices", "bad_field")
    name = "id" if "id" in fields else "deviceid"
    device = device_id(fields.get(name), "id")
    at = _timestamp(fields["timestamp"]) if "timestamp" in fields else now
    lat = lon = None
    if "location" in fields:
        parts = fields["location"].split(",")
        if len(parts) != 2:
            raise DecodeError("location must be lat,lon", "bad_position")
        lat, lon = (_number("location", p, "bad_position") for p in parts)
    elif "lat" in fields or "lon" in fields:
        if not ("lat" in fields and "lon" in fields):
            raise DecodeError("lat and lon come together", "bad_position")
        lat = _number("lat", fields["lat"], "bad_position")
        lon = _number("lon", fields["lon"], "bad_position")
    if lat is not None and lon is not None:
        lat, lon = _position(lat, lon, ("lat", "lon"))
    if "valid" in fields and not _flag("valid", fields["valid"]):
        lat = lon = None  # the device says its position is not to be trusted

    def optional(key: str, low: float = -math.inf, high: float = math.inf) -> float | None:
        if key not in fields or fields[key] == "":
            return None
        return _within(key, _number(key, fields[key]), low, high, "bad_field")

    speed = optional("speed", 0)
    bearing = optional("bearing") if "bearing" in fields else optional("heading")
    return Fix(
        device=device,
        protocol=PROTOCOL,
        at=at,
        lat=lat,
        lon=lon,
        accuracy_m=optional("accuracy", 0),
        hdop=optional("hdop", 0),
        speed_kmh=None if speed is None else speed * KNOTS_TO_KMH,
        course_deg=bearing,
        altitude_m=optional("altitude"),
        battery_pct=optional("batt", 0, 100),
        charging=_flag("charge", fields["charge"]) if "charge" in fields else None,
        ignition=_flag("ignition", fields["ignition"]) if "ignition" in fields else None,
    )


# --- Traccar Client's JSON ------------------------------------------------------------------

Latitude = Annotated[float, msgspec.Meta(ge=-90, le=90)]
Longitude = Annotated[float, msgspec.Meta(ge=-180, le=180)]


class _Coords(msgspec.Struct):
    latitude: Latitude
    longitude: Longitude
    accuracy: float | None = None
    speed: float | None = None  # m/s; -1 unknown
    heading: float | None = None  # degrees; -1 unknown
    altitude: float | None = None


class _Battery(msgspec.Struct):
    level: float | None = None  # 0..1; -1 unknown
    is_charging: bool | None = None


class _Location(msgspec.Struct):
    timestamp: str
    coords: _Coords | None = None
    is_moving: bool | None = None
    battery: _Battery | None = None


class _Body(msgspec.Struct):
    location: _Location | list[_Location]
    device_id: str | None = None


def _known(value: float | None) -> float | None:
    """Traccar Client (the transistorsoft SDK under it) says -1 for unknown."""
    return None if value is None or value < 0 else value


def _json_fix(device: str, location: _Location) -> Fix:
    at = iso_time("location.timestamp", location.timestamp)
    coords, battery = location.coords, location.battery
    level = None if battery is None else _known(battery.level)
    speed = None if coords is None else _known(coords.speed)
    return Fix(
        device=device,
        protocol=PROTOCOL,
        at=at,
        lat=None if coords is None else coords.latitude,
        lon=None if coords is None else coords.longitude,
        accuracy_m=None if coords is None else _known(coords.accuracy),
        speed_kmh=None if speed is None else speed * MS_TO_KMH,
        course_deg=None if coords is None else _known(coords.heading),
        altitude_m=None if coords is None else coords.altitude,
        battery_pct=None if level is None else min(level, 1.0) * 100,
        charging=None if battery is None else battery.is_charging,
        moving=location.is_moving,
    )


def decode_json(raw: bytes) -> list[Fix]:
    """The fixes of a Traccar Client (v9+) JSON body."""
    try:
        body = msgspec.json.decode(raw, type=_Body)
    except msgspec.ValidationError as exc:
        message = str(exc)
        if "device_id" in message:
            counted = "no_device"
        elif "at `$`" in message or "at `" not in message:
            counted = "bad_json"  # not an object at all
        elif "<=" in message or ">=" in message:
            counted = "bad_position"  # only the coordinates have ranges
        else:
            counted = "bad_field"
        raise DecodeError(f"not Traccar Client's JSON object: {message}", counted) from None
    except msgspec.DecodeError as exc:
        raise DecodeError(f"the body is not JSON: {exc}", "bad_json") from None
    device = device_id(body.device_id, "device_id")
    locations: Sequence[_Location] = (
        body.location if isinstance(body.location, list) else [body.location]
    )
    if not locations:
        raise DecodeError("location holds no fixes", "no_fields")
    return [_json_fix(device, location) for location in locations]


# --- which form ---------------------------------------------------------------------------


def _media_type(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


def decode_request(
    query: str, content_type: str | None, body: bytes, now: dt.datetime
) -> list[Fix]:
    """The fixes of one request to the listener: JSON when it says so (as Traccar reads
    it), else the query string, else a form body. A body of any other type is refused
    before it is parsed (415)."""
    media = _media_type(content_type)
    if media == JSON or media.endswith("+json"):
        return decode_json(body)
    if query:
        return [decode_query(query, now=now)]
    if media == FORM:
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            raise DecodeError("the form body is not UTF-8", "bad_field") from None
        return [decode_query(text, now=now)]
    if body:
        raise DecodeError(
            f"a body of type {media or 'unknown'!r}: send the fields in the query string, "
            f"as a form ({FORM}) or as Traccar Client's JSON ({JSON})",
            "unsupported_media_type",
            415,
        )
    raise DecodeError("no fields: expected id, lat, lon and timestamp", "no_fields")
