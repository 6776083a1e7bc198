"""The one normalised record every technology produces, and where sources put them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Annotated, Protocol

import msgspec
from msgspec import Meta

Technology = Annotated[str, Meta(pattern=r"^[a-z][a-z0-9_]{1,31}$")]
TagValue = Annotated[str, Meta(min_length=1, max_length=200, pattern=r"^[^\x00]*$")]
Aware = Annotated[dt.datetime, Meta(tz=True)]
Extra = str | int | float | bool | None


class Observation(msgspec.Struct, frozen=True, kw_only=True, gc=False, forbid_unknown_fields=True):
    """One sighting of a tag: by a receiver, or at coordinates.

    Sources build these directly; ``POST /api/v1/ingest`` decodes JSON straight into
    them, so the constraints below are what a gateway's payload is checked against.
    """

    technology: Technology
    tag: TagValue
    observed_at: Aware  # the device's clock
    received_at: Aware | None = None  # the appliance's clock, when a source knows it
    receiver: TagValue | None = None  # a receiver's identifier, e.g. a gateway MAC
    rssi: Annotated[float, Meta(ge=-150, le=50)] | None = None
    lat: Annotated[float, Meta(ge=-90, le=90)] | None = None
    lon: Annotated[float, Meta(ge=-180, le=180)] | None = None
    accuracy_m: Annotated[float, Meta(ge=0)] | None = None
    extras: Annotated[dict[str, Extra], Meta(max_length=20)] = msgspec.field(default_factory=dict)


class ObservationSink(Protocol):
    """What a source is handed: it delivers batches, never single sightings, and says
    what it could not use."""

    async def submit(self, batch: Sequence[Observation]) -> None: ...

    def reject(self, reason: str, count: int = 1, *, expected: bool = False) -> None:
        """``count`` inputs refused for ``reason`` (a short snake_case word): counted in
        ``GET /api/v1/sources`` and logged once per reason per minute. ``expected``: input
        the source drops by design, in the ordinary run of things (a Wi-Fi feed's phones
        nobody tracks), logged at INFO rather than WARNING (plugin API 1.3)."""
        ...
