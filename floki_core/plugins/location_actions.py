"""Where assets are, as a plugin may ask and tell it: the current answer (as the API
shows it, loans redacted), the zone index, the assets in a zone, a zone from a map
position, and a person's word that an asset is here.

``LocationActions`` is built by the appliance from the location service and handed to
each plugin as ``PluginContext.locations``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any, Protocol, TypeVar

from sqlalchemy.orm import Session

from floki_core.domain import Principal
from floki_core.location import store as location_store
from floki_core.location.evidence import Sighting, ZoneEvidence
from floki_core.location.register_index import RegisterIndex
from floki_core.observations import Observation
from floki_core.storage.audit import write_audit

__all__ = ["LocationActions"]

T = TypeVar("T")


class _Geofence(Protocol):
    def locate(self, batch: Sequence[Sighting]) -> list[ZoneEvidence]: ...


class _Locations(Protocol):
    @property
    def index(self) -> RegisterIndex: ...

    @property
    def geofence(self) -> _Geofence: ...

    def where_is(self, asset_id: int) -> dict[str, Any] | None: ...

    async def reindex(self) -> None: ...

    async def flush(self, full: bool = True) -> bool: ...

    async def confirm(
        self, source: str, batch: Sequence[Observation], record: Callable[[Session], None]
    ) -> None: ...


class _Loans(Protocol):
    def present(self, answer: dict[str, Any], asset_id: int | None = None) -> dict[str, Any]: ...


class _Reader(Protocol):
    async def read(self, fn: Callable[..., T], *args: Any) -> T: ...


class _Clock(Protocol):
    def now(self) -> dt.datetime: ...


class LocationActions:
    def __init__(self, locations: _Locations, loans: _Loans, store: _Reader, clock: _Clock) -> None:
        self._locations = locations
        self._loans = loans
        self._store = store
        self._clock = clock

    @property
    def index(self) -> RegisterIndex:
        """The zones and tags as the resolver binds with them now (rebuilt on every
        register change: read it afresh, do not keep it). Read-only."""
        return self._locations.index

    def where_is(self, asset_id: int) -> dict[str, Any] | None:
        """The asset's current location as ``GET /api/v1/assets/{id}/location`` shows it
        (zone level only while the asset is on loan), or None if never seen."""
        where = self._locations.where_is(asset_id)
        return None if where is None else self._loans.present(where)

    async def reindex(self) -> None:
        """Rebuild the index now (a zone made a moment ago)."""
        await self._locations.reindex()

    async def assets_in_zones(
        self, zone_ids: Sequence[int], *, limit: int
    ) -> tuple[list[dict[str, Any]], int]:
        """Assets now placed in these zones (moves still on their way to the database
        included), as ``GET /api/v1/zones/{id}/assets`` lists them, and how many in all."""
        await self._locations.flush()
        ids = list(zone_ids)

        def query(session: Session) -> tuple[list[dict[str, Any]], int]:
            return location_store.assets_in_zones(
                session, ids, class_id=None, state=None, limit=limit, offset=0
            )

        return await self._store.read(query)

    def zone_at(self, asset_id: int, lat: float, lon: float, accuracy_m: float) -> int | None:
        """The smallest zone whose map outline holds the position, or None."""
        probe = Sighting(
            asset_id=asset_id,
            technology="phone_position",
            tag="-",
            observed_at=self._clock.now(),
            lat=lat,
            lon=lon,
            accuracy_m=accuracy_m,
        )
        found = self._locations.geofence.locate([probe])
        return found[0].zone_id if found else None

    async def confirm(
        self,
        source: str,
        observations: Sequence[Observation],
        *,
        actor: Principal,
        asset_id: int,
        detail: str,
    ) -> None:
        """A person's word on where an asset is: the observations applied at once,
        ahead of the ingest queue, and written with an audit entry (``confirm_location``,
        who and ``detail``) in one durable transaction before this returns; ``NotSaved``
        if a full disk keeps it from being written (it is shown at once, and written as
        soon as there is room)."""
        now = self._clock.now()

        def audit(session: Session) -> None:
            write_audit(
                session,
                at=now,
                actor=actor.label,
                action="confirm_location",
                entity="assets",
                entity_id=asset_id,
                detail=detail,
            )

        await self._locations.confirm(source, observations, audit)
