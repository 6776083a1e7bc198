"""The register as a plugin reads and adds to it in one transaction: domain records in
and out, never database rows.

``RegisterRecords.read(fn, ...)`` runs ``fn(RegisterReading, ...)`` off the event loop;
``write(fn, ...)`` runs ``fn(RegisterWriting, ...)`` as one transaction, through the
register's own audited create functions (the same checks as ``POST /api/v1/identifiers``
and ``/receivers``), and once it has committed tells the appliance what was added (the
``identifier.created``/``receiver.created`` events; the location index is rebuilt before
``write`` returns, so a sighting of a new tag that follows at once is bound). A command
line tool, with no appliance running, uses ``CommandContext.register_writing()``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any, Concatenate, ParamSpec, Protocol, TypeVar

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from floki_core.domain import Asset, AssetClass, Identifier, Principal, Receiver, Site, Zone
from floki_core.domain import to_plain as _to_plain
from floki_core.events import DomainEvent, EventBus
from floki_core.schemas import normalise_identifier
from floki_core.storage import register as reg
from floki_core.storage.audit import write_audit
from floki_core.storage.models import (
    AssetClassRow,
    AssetRow,
    IdentifierRow,
    ReceiverRow,
    SiteRow,
    ZoneRow,
)
from floki_core.storage.resources import create_record, event_name

__all__ = ["RegisterReading", "RegisterRecords", "RegisterWriting"]

T = TypeVar("T")
P = ParamSpec("P")
_CHUNK = 500  # ids per IN (...): under every database's parameter limit


class RegisterReading:
    """Reads of the register inside one transaction; every answer a plain record."""

    def __init__(self, session: Session) -> None:
        self._session = session

    # --- assets ----------------------------------------------------------------

    def asset(self, asset_id: int) -> Asset | None:
        row = self._session.get(AssetRow, asset_id)
        return None if row is None else _asset(row)

    def assets(self, asset_ids: Sequence[int]) -> list[Asset]:
        """The assets of these ids that exist, in no particular order."""
        return [_asset(r) for r in self._in(AssetRow, asset_ids)]

    def all_assets(self) -> list[Asset]:
        """Every asset, by asset number."""
        return [_asset(r) for r in self._session.scalars(_by_number())]

    def assets_of_class(self, class_id: int) -> list[Asset]:
        """Every asset of an asset class, by asset number."""
        query = _by_number().where(AssetRow.class_id == class_id)
        return [_asset(r) for r in self._session.scalars(query)]

    def assets_at_home_in(self, zone_ids: Sequence[int]) -> list[Asset]:
        """Every asset whose home zone is one of ``zone_ids``, by asset number."""
        query = _by_number().where(AssetRow.home_zone_id.in_(list(zone_ids)))
        return [_asset(r) for r in self._session.scalars(query)]

    def asset_by_number(self, asset_number: str) -> Asset | None:
        row = self._session.scalar(select(AssetRow).where(AssetRow.asset_number == asset_number))
        return None if row is None else _asset(row)

    def asset_by_giai(self, giai: str) -> Asset | None:
        """The asset whose own ``giai`` field is ``giai`` (not a ``giai`` identifier)."""
        row = self._session.scalar(select(AssetRow).where(AssetRow.giai == giai))
        return None if row is None else _asset(row)

    def asset_with_giai_in(self, giais: Sequence[str]) -> Asset | None:
        """Any one asset whose ``giai`` field is one of ``giais``."""
        query = select(AssetRow).where(AssetRow.giai.in_(list(giais))).limit(1)
        row = self._session.scalar(query)
        return None if row is None else _asset(row)

    def asset_ids_by_number(self, asset_numbers: Iterable[str]) -> dict[str, int]:
        """The id of each of these asset numbers that is in the register."""
        wanted = list(dict.fromkeys(asset_numbers))
        query = select(AssetRow.asset_number, AssetRow.id).where(AssetRow.asset_number.in_(wanted))
        return {number: asset_id for number, asset_id in self._session.execute(query)}

    # --- identifiers (an asset's tags) -----------------------------------------

    def find_identifier(self, technologies: Sequence[str], text: str) -> Identifier | None:
        """The oldest identifier of one of ``technologies`` that ``text`` names, spelled as
        the register spells that technology's identifiers (``normalise_identifier``)."""
        query = (
            select(IdentifierRow)
            .where(_spelled(IdentifierRow.technology, IdentifierRow.value, technologies, text))
            .order_by(IdentifierRow.id)
            .limit(1)
        )
        row = self._session.scalar(query)
        return None if row is None else _record(reg.IDENTIFIERS, row)

    def identifier_with_value_in(self, technology: str, values: Sequence[str]) -> Identifier | None:
        """Any one ``technology`` identifier whose value is exactly one of ``values``."""
        query = (
            select(IdentifierRow)
            .where(IdentifierRow.technology == technology, IdentifierRow.value.in_(list(values)))
            .limit(1)
        )
        row = self._session.scalar(query)
        return None if row is None else _record(reg.IDENTIFIERS, row)

    def identifiers_of(self, asset_ids: Iterable[int], technology: str) -> dict[int, str]:
        """Each asset's oldest ``technology`` identifier, for those that have one."""
        return self._oldest(
            IdentifierRow, IdentifierRow.asset_id, IdentifierRow.value, technology, asset_ids
        )

    # --- receivers (where readings are taken) ------------------------------------

    def find_receiver(self, technologies: Sequence[str], text: str) -> Receiver | None:
        """The oldest receiver of one of ``technologies`` that ``text`` names, spelled as
        the register spells that technology's identifiers."""
        query = (
            select(ReceiverRow)
            .where(_spelled(ReceiverRow.technology, ReceiverRow.identifier, technologies, text))
            .order_by(ReceiverRow.id)
            .limit(1)
        )
        row = self._session.scalar(query)
        return None if row is None else _record(reg.RECEIVERS, row)

    def receiver_with_identifier(self, identifier: str) -> Receiver | None:
        """Any one receiver, of any technology, registered under exactly ``identifier``."""
        query = select(ReceiverRow).where(ReceiverRow.identifier == identifier).limit(1)
        row = self._session.scalar(query)
        return None if row is None else _record(reg.RECEIVERS, row)

    def receivers_of(self, zone_ids: Iterable[int], technology: str) -> dict[int, str]:
        """Each zone's oldest ``technology`` receiver identifier, for those that have one."""
        return self._oldest(
            ReceiverRow, ReceiverRow.zone_id, ReceiverRow.identifier, technology, zone_ids
        )

    def _oldest(
        self, table: Any, key: Any, value: Any, technology: str, keys: Iterable[int]
    ) -> dict[int, str]:
        """For each of ``keys``, the ``value`` of the oldest ``table`` row of
        ``technology`` under it (in chunks, so any number of keys fits one query each)."""
        ids = list(set(keys))
        found: dict[int, str] = {}
        for start in range(0, len(ids), _CHUNK):
            rows = self._session.execute(
                select(key, value)
                .where(table.technology == technology, key.in_(ids[start : start + _CHUNK]))
                .order_by(table.id)
            )
            for owner, text in rows:
                found.setdefault(owner, text)
        return found

    # --- places and classes -------------------------------------------------------

    def zone(self, zone_id: int) -> Zone | None:
        row = self._session.get(ZoneRow, zone_id)
        return None if row is None else _record(reg.ZONES, row)

    def zones(self, zone_ids: Sequence[int]) -> list[Zone]:
        """The zones of these ids that exist, in no particular order."""
        return [_record(reg.ZONES, r) for r in self._in(ZoneRow, zone_ids)]

    def all_zones(self) -> list[Zone]:
        return [_record(reg.ZONES, r) for r in self._session.scalars(select(ZoneRow))]

    def zone_by_gln(self, gln: str) -> Zone | None:
        """The zone whose own ``gln`` field is ``gln``."""
        row = self._session.scalar(select(ZoneRow).where(ZoneRow.gln == gln))
        return None if row is None else _record(reg.ZONES, row)

    def zones_named(self, name: str) -> list[Zone]:
        """Every zone called ``name``: one per site at most."""
        query = select(ZoneRow).where(ZoneRow.name == name).order_by(ZoneRow.id)
        return [_record(reg.ZONES, r) for r in self._session.scalars(query)]

    def sites(self) -> list[Site]:
        query = select(SiteRow).order_by(SiteRow.id)
        return [_record(reg.SITES, r) for r in self._session.scalars(query)]

    def asset_class(self, class_id: int) -> AssetClass | None:
        row = self._session.get(AssetClassRow, class_id)
        return None if row is None else _record(reg.ASSET_CLASSES, row)

    def asset_classes(self) -> list[AssetClass]:
        query = select(AssetClassRow).order_by(AssetClassRow.id)
        return [_record(reg.ASSET_CLASSES, r) for r in self._session.scalars(query)]

    def asset_class_named(self, name: str) -> AssetClass | None:
        row = self._session.scalar(select(AssetClassRow).where(AssetClassRow.name == name))
        return None if row is None else _record(reg.ASSET_CLASSES, row)

    def _in(self, table: Any, ids: Sequence[int]) -> list[Any]:
        wanted = list(dict.fromkeys(ids))
        found: list[Any] = []
        for start in range(0, len(wanted), _CHUNK):
            chunk = wanted[start : start + _CHUNK]
            found.extend(self._session.scalars(select(table).where(table.id.in_(chunk))))
        return found


class RegisterWriting(RegisterReading):
    """As ``RegisterReading``, and additions to the register, each audited with its actor,
    in the same transaction. ``now`` is the time every entry is stamped with."""

    def __init__(self, session: Session, now: dt.datetime) -> None:
        super().__init__(session)
        self.now = now
        self.created: list[DomainEvent] = []  # told to the appliance once committed

    def create_identifier(
        self, *, asset_id: int, technology: str, value: str, actor: Principal
    ) -> Identifier:
        """A new tag of an asset, as ``POST /api/v1/identifiers`` makes one (its checks,
        its audit entry); ``Invalid``/``Conflict`` with the reason if refused."""
        values = {"asset_id": asset_id, "technology": technology, "value": value}
        record: Identifier = self._create(reg.IDENTIFIERS, values, actor)
        return record

    def create_receiver(
        self,
        *,
        name: str,
        technology: str,
        identifier: str,
        zone_id: int,
        actor: Principal,
        notes: str = "",
    ) -> Receiver:
        """A new receiver in a zone, as ``POST /api/v1/receivers`` makes one."""
        values = {
            "name": name,
            "technology": technology,
            "identifier": identifier,
            "zone_id": zone_id,
            "notes": notes,
        }
        record: Receiver = self._create(reg.RECEIVERS, values, actor)
        return record

    def audit(
        self,
        *,
        actor: Principal,
        action: str,
        entity: str,
        entity_id: object = None,
        after: dict[str, Any] | None = None,
        detail: str = "",
    ) -> None:
        """An entry in the audit trail (``GET /api/v1/audit``), e.g. an export."""
        write_audit(
            self._session,
            at=self.now,
            actor=actor.label,
            action=action,
            entity=entity,
            entity_id=entity_id,
            after=after,
            detail=detail,
        )

    def _create(self, resource: Any, values: dict[str, Any], actor: Principal) -> Any:
        record = create_record(self._session, resource, values, actor=actor, now=self.now)
        self.created.append(
            DomainEvent(
                type=event_name(resource, "created"),
                at=self.now,
                entity=resource.name,
                entity_id=record.id,
                data=_to_plain(record),
            )
        )
        return record


class _Store(Protocol):
    async def read(self, fn: Callable[..., T], *args: Any) -> T: ...

    async def write(self, fn: Callable[..., T], *args: Any) -> T: ...

    def keep_for_hub(self, session: Session, events: Sequence[DomainEvent]) -> None: ...

    def refused_write(self, exc: BaseException, what: str) -> str | None: ...


class _Clock(Protocol):
    def now(self) -> dt.datetime: ...


class RegisterRecords:
    """Reads and audited additions, for a plugin in a running appliance
    (``PluginContext.records``)."""

    def __init__(
        self,
        store: _Store,
        events: EventBus,
        clock: _Clock,
        reindex: Callable[[], Awaitable[None]],
    ) -> None:
        self._store = store
        self._events = events
        self._clock = clock
        self._reindex = reindex

    async def read(
        self, fn: Callable[Concatenate[RegisterReading, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        def work(session: Session) -> T:
            return fn(RegisterReading(session), *args, **kwargs)

        return await self._store.read(work)

    async def write(
        self, fn: Callable[Concatenate[RegisterWriting, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """``fn`` in one durable transaction: all it adds is kept, or none of it."""
        now = self._clock.now()
        made: list[DomainEvent] = []

        def work(session: Session) -> T:
            writing = RegisterWriting(session, now)
            result = fn(writing, *args, **kwargs)
            made.extend(writing.created)
            self._store.keep_for_hub(session, made)  # with the records, for the trust hub
            return result

        result = await self._store.write(work)
        if made:
            await self._events.publish(made)
            await self._reindex()  # a sighting of a new tag straight after is bound
        return result

    def refused_write(self, exc: BaseException, what: str) -> str | None:
        """If ``exc`` is a write a full disk refused: the reason to show (counted in the
        appliance's health, as an API request's is); None for any other failure."""
        return self._store.refused_write(exc, what)


def _by_number() -> Any:
    return select(AssetRow).order_by(AssetRow.asset_number)


def _asset(row: AssetRow) -> Asset:
    asset: Asset = _record(reg.ASSETS, row)
    return asset


def _record(resource: Any, row: Any) -> Any:
    return resource.to_record(row)


def _spelled(technology: Any, identifier: Any, technologies: Sequence[str], text: str) -> Any:
    """Rows of ``technologies`` whose identifier is ``text`` spelled as the register
    spells that technology's identifiers."""
    return or_(
        *(
            and_(technology == name, identifier == normalise_identifier(name, text))
            for name in technologies
        )
    )
