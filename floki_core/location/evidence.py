"""The records that flow between ingest, locators and the resolver."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, Protocol

import msgspec


class ReceiverInfo(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """A fixed observer as locators need it (from the register, kept in memory)."""

    id: int
    name: str
    technology: str
    identifier: str
    zone_id: int
    x: float | None = None
    y: float | None = None
    rssi_offset: float = 0.0  # dB added to every RSSI this receiver reports (calibration)


class Sighting(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """An observation whose tag is bound to an asset and whose receiver is known."""

    asset_id: int
    technology: str
    tag: str
    observed_at: dt.datetime
    receiver: ReceiverInfo | None = None
    rssi: float | None = None
    lat: float | None = None
    lon: float | None = None
    accuracy_m: float | None = None
    extras: dict[str, Any] = msgspec.field(default_factory=dict)


class ZoneEvidence(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """A locator's claim: this asset is in this zone (None = off site), this sure, at this time."""

    asset_id: int
    zone_id: int | None
    confidence: float  # 0..1 at observed_at; the resolver decays it with age
    method: str  # "rssi", "fixed_point", "geofence", "association", or a plugin's
    technology: str
    observed_at: dt.datetime
    receiver_id: int | None = None
    receiver_name: str | None = None
    signal: float | None = None  # smoothed, offset-corrected RSSI where there is one
    lat: float | None = None
    lon: float | None = None
    x: float | None = None
    y: float | None = None


class Locator(Protocol):
    """Turns one technology's sightings into zone evidence.

    ``locate`` is called with a batch (all sightings of one technology from one ingest
    batch, oldest first) and may keep state between calls (smoothing, hysteresis). It is
    pure: no I/O, time only from the sightings.
    """

    method: str

    def locate(self, batch: Sequence[Sighting]) -> list[ZoneEvidence]: ...
