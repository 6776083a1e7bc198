"""gpsd's JSON reports read into fixes.

A client asks gpsd to stream with ``?WATCH={"enable":true,"json":true}``; gpsd answers one
JSON object a line, each with a ``class`` (gpsd_json(5), https://gpsd.gitlab.io/gpsd/gpsd_json.html).
Only ``TPV`` (time-position-velocity) reports carry fixes: ``mode`` 2 (2D) or 3 (3D) has a
position; ``time`` (ISO 8601), ``lat``, ``lon``, ``altHAE``/``altMSL``/``alt`` (metres),
``speed`` (m/s), ``track`` (degrees), and the error estimates ``eph`` (horizontal) or
``epx``/``epy`` (longitude/latitude, metres) that become the fix's accuracy. ``VERSION``,
``DEVICES``, ``DEVICE``, ``WATCH``, ``SKY`` and the rest are ignored.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import msgspec

from floki_gps.fixes import MAX_DEVICE_ID, MS_TO_KMH, Fix

__all__ = ["PROTOCOL", "WATCH", "GpsdError", "decode_report"]

PROTOCOL = "gpsd"
WATCH = b'?WATCH={"enable":true,"json":true}\n'


class GpsdError(ValueError):
    """A report that cannot be used: ``reason`` says why, ``counted_as`` is its word."""

    def __init__(self, reason: str, counted_as: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.counted_as = counted_as


def _number(report: dict[str, Any], key: str) -> float | None:
    value = report.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise GpsdError(f"TPV {key}: {value!r} is not a number", "bad_report")
    value = float(value)
    return value if math.isfinite(value) else None


def _time(report: dict[str, Any], now: dt.datetime) -> dt.datetime:
    text = report.get("time")
    if text is None:
        return now
    if not isinstance(text, str):
        raise GpsdError(f"TPV time: {text!r} is not a time", "bad_report")
    try:
        at = dt.datetime.fromisoformat(text)
    except ValueError:
        raise GpsdError(f"TPV time: {text[:40]!r} is not ISO 8601", "bad_report") from None
    return at.replace(tzinfo=dt.UTC) if at.tzinfo is None else at.astimezone(dt.UTC)


def _device(report: dict[str, Any], device: str) -> str:
    if device:
        return device
    path = report.get("device")
    if not isinstance(path, str) or not path.strip() or len(path) > MAX_DEVICE_ID:
        raise GpsdError(
            "TPV names no device: set [plugin.gps] gpsd_device to the tracker id", "no_device"
        )
    return path.strip()


def _accuracy(report: dict[str, Any]) -> float | None:
    eph = _number(report, "eph")
    if eph is not None and eph >= 0:
        return eph
    spreads = [v for v in (_number(report, "epx"), _number(report, "epy")) if v is not None]
    return max(spreads) if spreads and min(spreads) >= 0 else None


def decode_report(line: bytes | str, *, device: str, now: dt.datetime) -> Fix | None:
    """The fix of one line from gpsd, or None for a report that carries none. ``device``
    names the tracker (empty: the receiver's path as gpsd gives it)."""
    try:
        report = msgspec.json.decode(line)
    except msgspec.DecodeError:
        text = line if isinstance(line, str) else line[:40].decode("ascii", "replace")
        raise GpsdError(f"not JSON: {text[:40]!r}", "bad_json") from None
    if not isinstance(report, dict):
        raise GpsdError("a report must be a JSON object", "bad_json")
    if report.get("class") != "TPV":
        return None
    mode = report.get("mode", 0)
    if not isinstance(mode, int) or isinstance(mode, bool):
        raise GpsdError(f"TPV mode: {mode!r} is not 0..3", "bad_report")
    if mode < 2:
        return None  # no fix yet
    lat, lon = _number(report, "lat"), _number(report, "lon")
    if lat is None or lon is None:
        return None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise GpsdError(f"TPV position {lat:g}, {lon:g} is off the globe", "bad_report")
    speed = _number(report, "speed")
    altitude = next(
        (a for a in (_number(report, k) for k in ("altHAE", "altMSL", "alt")) if a is not None),
        None,
    )
    return Fix(
        device=_device(report, device),
        protocol=PROTOCOL,
        at=_time(report, now),
        lat=lat,
        lon=lon,
        accuracy_m=_accuracy(report),
        speed_kmh=None if speed is None or speed < 0 else speed * MS_TO_KMH,
        course_deg=_number(report, "track"),
        altitude_m=altitude if mode >= 3 else None,
    )
