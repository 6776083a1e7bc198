"""``[location]`` settings that belong to no pure module: settings only, importing no
service, so the configuration is read and checked without starting anything."""

from __future__ import annotations

from typing import Annotated

import msgspec
from msgspec import Meta

MAX_MILLIVOLTS = 10_000  # no tag runs on more than 10 V: a bigger number is not millivolts


class BatterySettings(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """``[location.battery]``: when a tag needs a new battery. 0 switches a check off."""

    low_percent: Annotated[float, Meta(ge=0, le=100)] = 20.0
    # Coin-cell (CR2032, CR2477) and 2xAA/AAA tags read about 3000 mV new, sit near 2900 mV
    # for most of their life and fall steeply below about 2500 mV; they stop advertising
    # around 2000-2200 mV. 2500 mV leaves weeks of warning, not hours.
    low_millivolts: Annotated[int, Meta(ge=0, le=MAX_MILLIVOLTS)] = 2500
    # A low tag counts as fixed only once it reads this far above the threshold (a new
    # battery), so a level wobbling around the line with temperature is announced once.
    recover_percent: Annotated[float, Meta(ge=0, le=100)] = 5.0
    recover_millivolts: Annotated[int, Meta(ge=0, le=MAX_MILLIVOLTS)] = 100
    write_seconds: Annotated[float, Meta(gt=0, le=3600)] = 5.0
