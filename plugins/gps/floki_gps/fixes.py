"""One position report from any tracker protocol, and the observation it becomes.

Every decoder in this package turns bytes into :class:`Fix` records; the sources batch
them into the core as observations of technology ``gps``, the tracker's id as the tag."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import msgspec

from floki_core.sdk import Observation

__all__ = ["TECHNOLOGY", "Fix", "observation", "observations"]

TECHNOLOGY = "gps"
# A fix that gives HDOP but no accuracy is taken as this many metres per unit of HDOP
# (a common receiver's user-equivalent range error).
METRES_PER_HDOP = 5.0
KNOTS_TO_KMH = 1.852
MS_TO_KMH = 3.6
MAX_DEVICE_ID = 200  # the core's longest tag


class Fix(msgspec.Struct, frozen=True, kw_only=True, gc=False):  # no cycles: no GC
    """What a tracker said at one moment. Positions are WGS 84 degrees; a record with no
    usable position (a heartbeat, a fix the receiver marked invalid) has ``lat``/``lon``
    of None and still says the tracker is alive and what its battery is."""

    device: str  # the tracker's id as registered on an asset: IMEI, Traccar Client id
    protocol: str  # "teltonika", "gt06", "osmand", "nmea", "gpsd", "traccar"
    at: dt.datetime  # the device's time of the fix, aware (UTC)
    lat: float | None = None
    lon: float | None = None
    accuracy_m: float | None = None  # radius of the position's uncertainty
    hdop: float | None = None
    satellites: int | None = None
    speed_kmh: float | None = None
    course_deg: float | None = None
    altitude_m: float | None = None
    battery_pct: float | None = None
    battery_mv: int | None = None
    charging: bool | None = None
    external_mv: int | None = None  # supply voltage, for a tracker wired to a vehicle
    moving: bool | None = None
    ignition: bool | None = None
    alarm: str | None = None  # a tracker's alarm (e.g. "sos", "power_cut"), as a word


def observation(fix: Fix, received_at: dt.datetime | None = None) -> Observation:
    """The core's observation of ``fix``: technology ``gps``, the tracker as the tag."""
    return observations((fix,), received_at)[0]


def observations(fixes: Sequence[Fix], received_at: dt.datetime | None = None) -> list[Observation]:
    """:func:`observation` of each fix, all received at ``received_at``: one call for a
    packet's records (a listener takes tens of thousands a second)."""
    out: list[Observation] = []
    append = out.append
    for fix in fixes:
        accuracy = fix.accuracy_m
        hdop = fix.hdop
        if accuracy is None and hdop is not None:
            accuracy = hdop * METRES_PER_HDOP
        # One test per value rather than a loop over pairs: this runs for every fix taken.
        extras: dict[str, str | int | float | bool | None] = {"protocol": fix.protocol}
        if (value := fix.battery_pct) is not None:
            extras["battery_pct"] = value
        if (value := fix.battery_mv) is not None:
            extras["battery_mv"] = value
        if (value := fix.charging) is not None:
            extras["charging"] = value
        if (value := fix.external_mv) is not None:
            extras["external_mv"] = value
        if (value := fix.moving) is not None:
            extras["moving"] = value
        if (value := fix.ignition) is not None:
            extras["ignition"] = value
        if (value := fix.speed_kmh) is not None:
            extras["speed_kmh"] = value
        if (value := fix.course_deg) is not None:
            extras["course_deg"] = value
        if (value := fix.altitude_m) is not None:
            extras["altitude_m"] = value
        if (value := fix.satellites) is not None:
            extras["satellites"] = value
        if hdop is not None:
            extras["hdop"] = hdop
        if fix.alarm is not None:
            extras["alarm"] = fix.alarm
        has_position = fix.lat is not None and fix.lon is not None
        append(
            Observation(
                technology=TECHNOLOGY,
                tag=fix.device,
                observed_at=fix.at,
                received_at=received_at,
                lat=fix.lat if has_position else None,
                lon=fix.lon if has_position else None,
                accuracy_m=accuracy if has_position else None,
                extras=extras,
            )
        )
    return out
