"""One position report from any tracker protocol.

Every decoder in this package turns bytes into :class:`Fix` records; the sources batch
them into the core as observations (``fix_observations``). This module imports nothing
of the appliance, so a tracker worker process (``tcp_worker``) decodes without it."""

from __future__ import annotations

import datetime as dt

import msgspec

__all__ = ["KNOTS_TO_KMH", "MAX_DEVICE_ID", "METRES_PER_HDOP", "MS_TO_KMH", "TECHNOLOGY", "Fix"]

TECHNOLOGY = "gps"
# A fix that gives HDOP but no accuracy is taken as this many metres per unit of HDOP
# (a common receiver's user-equivalent range error).
METRES_PER_HDOP = 5.0
KNOTS_TO_KMH = 1.852
MS_TO_KMH = 3.6
MAX_DEVICE_ID = 200  # the core's longest tag


# No cycles: no GC. An array, not a map, on a tracker worker's channel (tcp_messages): the
# field names are not sent with every fix (110 bytes a fix instead of 262, half the time).
class Fix(msgspec.Struct, frozen=True, kw_only=True, gc=False, array_like=True):
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
