"""Positions forwarded by a Traccar server (``forward.type=json``), decoded into fixes.

A trust already running Traccar (its 200+ device protocols) points its position
forwarding at ``POST /api/v1/gps/traccar``. Traccar posts one position per request, the
``PositionData`` its ObjectMapper writes (dates as ISO 8601 text)::

    {"position": {"fixTime": "2026-01-05T08:59:58.000+00:00", "valid": true,
                  "latitude": 51.5, "longitude": -0.14, "altitude": 21.0,
                  "speed": 10.0 (knots), "course": 271.0, "accuracy": 0.0 (unknown),
                  "attributes": {"batteryLevel": 87, "battery": 3.92 (V), "power": 12.4 (V),
                                 "motion": true, "ignition": false, "charge": false,
                                 "sat": 9, "hdop": 0.8, "alarm": "sos", ...}, ...},
     "device": {"uniqueId": "356307042441013", "name": ..., ...}}

(src/main/java/org/traccar/forward/PositionForwarderJson.java, PositionData.java and
model/Position.java in https://github.com/traccar/traccar, Apache-2.0.) The tracker is
the device's ``uniqueId``, as registered on the asset.
"""

from __future__ import annotations

import math
from typing import Annotated, Any

import msgspec

from floki_gps.fixes import KNOTS_TO_KMH, Fix
from floki_gps.osmand import DecodeError, device_id, iso_time

__all__ = ["PROTOCOL", "DecodeError", "decode_forward"]

PROTOCOL = "traccar"


class _Position(msgspec.Struct):
    fixTime: str
    latitude: Annotated[float, msgspec.Meta(ge=-90, le=90)]
    longitude: Annotated[float, msgspec.Meta(ge=-180, le=180)]
    valid: bool = True
    altitude: float | None = None
    speed: float | None = None
    course: float | None = None
    accuracy: float | None = None
    attributes: dict[str, Any] | None = None


class _Device(msgspec.Struct):
    uniqueId: str


class _Forwarded(msgspec.Struct):
    position: _Position
    device: _Device


def _attribute(attributes: dict[str, Any], key: str, kind: type) -> Any:
    """An attribute of the kind Traccar gives it, None when absent; refused otherwise."""
    value = attributes.get(key)
    if value is None:
        return None
    if kind is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise DecodeError(f"attributes.{key}: {value!r} is not a number", "bad_field")
        if not math.isfinite(value) or abs(value) > 1e9:
            raise DecodeError(f"attributes.{key}: {value!r} is out of range", "bad_field")
        return float(value)
    if not isinstance(value, kind):
        raise DecodeError(
            f"attributes.{key}: {value!r} is not {'true or false' if kind is bool else 'text'}",
            "bad_field",
        )
    return value


def _millivolts(volts: float | None) -> int | None:
    return None if volts is None or volts < 0 else round(volts * 1000)


def _known(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else value


def decode_forward(raw: bytes) -> Fix:
    """The fix of one forwarded position."""
    try:
        body = msgspec.json.decode(raw, type=_Forwarded)
    except msgspec.ValidationError as exc:
        message = str(exc)
        if "`$.device" in message or "`device`" in message:
            counted = "no_device"
        elif "at `" not in message or "at `$`" in message:
            counted = "bad_json"
        elif "<=" in message or ">=" in message:
            counted = "bad_position"
        else:
            counted = "bad_field"
        raise DecodeError(f"not Traccar's forwarded position: {message}", counted) from None
    except msgspec.DecodeError as exc:
        raise DecodeError(f"the body is not JSON: {exc}", "bad_json") from None
    position = body.position
    device = device_id(body.device.uniqueId, "device.uniqueId")
    at = iso_time("position.fixTime", position.fixTime)
    attributes = position.attributes or {}
    level = _attribute(attributes, "batteryLevel", float)
    if level is not None and not 0 <= level <= 100:
        raise DecodeError(f"attributes.batteryLevel: {level:g} is not a percentage", "bad_field")
    satellites = _attribute(attributes, "sat", float)
    hdop = _attribute(attributes, "hdop", float)
    speed = _known(position.speed)
    accuracy = _known(position.accuracy)
    return Fix(
        device=device,
        protocol=PROTOCOL,
        at=at,
        lat=position.latitude if position.valid else None,
        lon=position.longitude if position.valid else None,
        # Traccar writes 0 for a protocol that gives no accuracy.
        accuracy_m=accuracy if accuracy is not None and accuracy > 0 else None,
        hdop=hdop if hdop is not None and hdop >= 0 else None,
        satellites=None if satellites is None or satellites < 0 else int(satellites),
        speed_kmh=None if speed is None or speed < 0 else speed * KNOTS_TO_KMH,
        course_deg=_known(position.course),
        altitude_m=_known(position.altitude),
        battery_pct=level,
        battery_mv=_millivolts(_attribute(attributes, "battery", float)),
        external_mv=_millivolts(_attribute(attributes, "power", float)),
        charging=_attribute(attributes, "charge", bool),
        moving=_attribute(attributes, "motion", bool),
        ignition=_attribute(attributes, "ignition", bool),
        alarm=_attribute(attributes, "alarm", str),
    )
