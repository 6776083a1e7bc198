"""Cisco Spaces firehose events, one NDJSON line each, decoded into records that keep no
personal field.

The shape is the firehose's ``EventRecord`` (https://developer.cisco.com/docs/cisco-spaces-firehose/,
"HTTP Streaming" and "Sample Events"; JSON names are the camelCase of the proto's):
``{"recordUid", "recordTimestamp" (epoch ms), "spacesTenantId", "eventType",
"deviceLocationUpdate": {"device": {"macAddress", "userId", "email", "mobile",
"firstName", "lastName", ...}, "location": {"locationId", "name", "parent", ...}, "ssid",
"rawUserId", "visitId", "lastSeen" (epoch ms), "mapId", "xPos", "yPos",
"confidenceFactor", "latitude", "longitude", "apMac", "ipv4", ...}}``. Proto3's JSON
writes 64-bit integers as strings, so every number is taken either way.

Only ``DEVICE_LOCATION_UPDATE`` locates; every other event type (``KEEP_ALIVE`` among
them) is skipped. The device's names, emails, phone numbers and user ids, and its IPs,
are not declared below, so they are never decoded. Spaces measures its maps in feet:
``xPos``/``yPos`` and ``confidenceFactor`` (the radius the device is in) become metres
here unless the account says metres.
"""

from __future__ import annotations

import datetime as dt
import math

import msgspec

from floki_wifi.privacy import device_mac

LOCATION_UPDATE = "DEVICE_LOCATION_UPDATE"
FEET = 0.3048  # metres
MAX_MAP_ID = 100  # characters: a map id longer is no id of Spaces'


class _Device(msgspec.Struct):
    macAddress: str = ""


class _LocationUpdate(msgspec.Struct):
    device: _Device = msgspec.field(default_factory=_Device)
    mapId: str | None = None
    xPos: float | None = None
    yPos: float | None = None
    confidenceFactor: float | None = None
    latitude: float | None = None
    longitude: float | None = None
    lastSeen: float | None = None
    apMac: str | None = None
    maxDetectedRssi: float | None = None


class _Record(msgspec.Struct):
    eventType: str = ""
    recordUid: str = ""
    recordTimestamp: float | None = None
    deviceLocationUpdate: _LocationUpdate | None = None


class _Kind(msgspec.Struct):
    eventType: str = ""
    recordTimestamp: float | None = None


class SpacesLocation(msgspec.Struct, frozen=True, kw_only=True):
    """A device's location update: its MAC spelt ``AA:BB:CC:DD:EE:FF`` (still to be
    filtered), the AP it is on, where (metres on the Spaces map ``map_id``, and/or
    latitude/longitude) and how sure (radius in metres)."""

    uid: str
    timestamp_ms: int | None  # the record's, which the stream resumes from
    mac: str
    access_point: str | None
    rssi: float | None
    at: dt.datetime | None
    map_id: str | None = None
    x_m: float | None = None
    y_m: float | None = None
    lat: float | None = None
    lon: float | None = None
    uncertainty_m: float | None = None


class Skipped(msgspec.Struct, frozen=True):
    """An event that locates nothing (another type, a keep-alive): its time, if any."""

    timestamp_ms: int | None


class Refused(msgspec.Struct, frozen=True):
    """A line that could not be used, and why (never quoting it)."""

    reason: str
    timestamp_ms: int | None = None


def decode_line(line: bytes, *, feet: bool = True) -> SpacesLocation | Skipped | Refused:
    """One line of the stream. Never raises: a bad line is refused with its reason."""
    if not line.strip():
        return Skipped(None)
    try:
        kind = msgspec.json.decode(line, type=_Kind, strict=False)
    except msgspec.DecodeError:
        return Refused("bad_record")
    stamp = _millis(kind.recordTimestamp)
    if kind.eventType != LOCATION_UPDATE:
        return Skipped(stamp)
    try:
        record = msgspec.json.decode(line, type=_Record, strict=False)
    except msgspec.DecodeError:
        return Refused("bad_record", stamp)
    update = record.deviceLocationUpdate
    if update is None:
        return Refused("bad_record", stamp)
    mac = device_mac(update.device.macAddress)
    if mac is None:
        return Refused("bad_client_mac", stamp)
    scale = FEET if feet else 1.0
    x, y = _finite(update.xPos), _finite(update.yPos)
    if x is None or y is None or not update.mapId or len(update.mapId) > MAX_MAP_ID:
        x = y = None
    lat, lon = _finite(update.latitude), _finite(update.longitude)
    # (0, 0) is a map with no geo-reference, not a place.
    if lat is None or lon is None or not _on_earth(lat, lon) or (lat, lon) == (0.0, 0.0):
        lat = lon = None
    confidence = _finite(update.confidenceFactor)
    rssi = _finite(update.maxDetectedRssi)
    seen = _millis(update.lastSeen) or stamp
    return SpacesLocation(
        uid=record.recordUid,
        timestamp_ms=stamp,
        mac=mac,
        access_point=device_mac(update.apMac or ""),
        rssi=rssi if rssi is not None and -150 <= rssi <= 50 else None,
        at=_time(seen),
        map_id=update.mapId if x is not None else None,
        x_m=None if x is None else x * scale,
        y_m=None if y is None else y * scale,
        lat=lat,
        lon=lon,
        uncertainty_m=None if confidence is None else abs(confidence) * scale,
    )


def _on_earth(lat: float, lon: float) -> bool:
    return -90 <= lat <= 90 and -180 <= lon <= 180


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


def _millis(value: float | None) -> int | None:
    value = _finite(value)
    return int(value) if value is not None and 0 < value < 1e15 else None


def _time(millis: int | None) -> dt.datetime | None:
    if millis is None:
        return None
    try:
        return dt.datetime.fromtimestamp(millis / 1000.0, dt.UTC)
    except (ValueError, OverflowError, OSError):
        return None
