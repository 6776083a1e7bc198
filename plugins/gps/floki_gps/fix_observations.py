"""The core's observation of a fix: technology ``gps``, the tracker's id as the tag."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from floki_core.sdk import Observation
from floki_gps.fixes import METRES_PER_HDOP, TECHNOLOGY, Fix

__all__ = ["observation", "observations"]


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
