"""The one normalised record every technology produces, and where sources put them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, Protocol

import msgspec


class Observation(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """One sighting of a tag: by a receiver, or at coordinates."""

    technology: str
    tag: str
    observed_at: dt.datetime
    received_at: dt.datetime | None = None
    receiver: str | None = None
    rssi: float | None = None
    lat: float | None = None
    lon: float | None = None
    accuracy_m: float | None = None
    extras: dict[str, Any] = msgspec.field(default_factory=dict)


class ObservationSink(Protocol):
    """What a source is handed: it delivers batches, never single sightings."""

    async def submit(self, batch: Sequence[Observation]) -> None: ...
