"""The PPM queue: assets due or overdue within N days, where each was last seen, in the
order an engineer walks them (site > building > floor > zone), and a "can't find"
section for those nobody has seen lately, escalated when it has been too long."""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import msgspec
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, aliased

from floki_core.csv_cells import neutralise_cell as neutralise
from floki_core.domain import AssetState, Principal
from floki_core.storage.audit import write_audit
from floki_core.storage.models import AssetClassRow, AssetRow, FloorRow, ZoneRow
from floki_core.storage.models_ppm import WorkOrderRow
from floki_core.workflow.ppm_rules import ScheduleBook, effective_due, ppm_overdue, presented_state

if TYPE_CHECKING:
    from floki_core.location.service import LocationService
    from floki_core.workflow.settings import PpmSettings

_PLACES = ("site", "building", "floor")


class PathStep(msgspec.Struct, frozen=True, kw_only=True):
    kind: str  # site, building, floor, or the zone's type
    id: int | None
    name: str | None


class QueueLocation(msgspec.Struct, frozen=True, kw_only=True):
    zone_id: int | None
    zone: str | None
    off_site: bool
    site: str | None
    building: str | None
    floor: str | None
    path: list[PathStep]
    last_seen: dt.datetime
    not_seen_days: float
    stale: bool
    confidence: float
    method: str


class QueueItem(msgspec.Struct, frozen=True, kw_only=True):
    asset_id: int
    asset_number: str
    description: str
    class_id: int | None
    class_name: str | None
    criticality: str | None
    department: str
    state: str  # as presented: never "available" when overdue
    recorded_state: str
    due_date: dt.date
    days_overdue: int  # negative: days still to go
    tolerance_after_days: int
    overdue: bool
    home_zone_id: int | None
    home_zone: str | None
    location: QueueLocation | None  # last known; None: never located
    cant_find_reason: str | None = None
    escalated: bool = False
    open_work_order_id: int | None = None


class RoundStop(msgspec.Struct, frozen=True, kw_only=True):
    """One place on the round and the due assets last seen there, overdue first."""

    position: int
    site: str | None
    building: str | None
    floor: str | None
    zone_id: int | None
    zone: str | None
    path: list[PathStep]
    asset_ids: list[int]


class QueueCounts(msgspec.Struct, frozen=True, kw_only=True):
    overdue: int
    due: int
    cant_find: int
    escalated: int


class PpmQueue(msgspec.Struct, frozen=True, kw_only=True):
    today: dt.date
    within_days: int
    cant_find_after_days: int
    escalate_after_days: int
    counts: QueueCounts
    overdue: list[QueueItem]  # past due and its tolerance, in round order
    due: list[QueueItem]  # due within the window (or past due, within tolerance)
    cant_find: list[QueueItem]  # not seen lately: escalated first, longest unseen next
    round: list[RoundStop]


@dataclass(frozen=True)
class QueueRow:
    asset_id: int
    asset_number: str
    description: str
    state: str
    class_id: int | None
    class_name: str | None
    criticality: str | None
    department: str
    home_zone_id: int | None
    home_zone: str | None
    last_ppm: dt.date | None
    next_ppm_due: dt.date | None
    class_interval: int | None
    open_work_order_id: int | None


@dataclass(frozen=True)
class QueueRead:
    rows: list[QueueRow]
    floor_levels: dict[int, int]


def read_queue(session: Session, horizon: dt.date) -> QueueRead:
    """Every asset in service that may be due by ``horizon`` (condemned ones are not)."""
    home = aliased(ZoneRow)
    first_open = (
        select(WorkOrderRow.asset_id, func.min(WorkOrderRow.id).label("wo"))
        .where(WorkOrderRow.status == "open")
        .group_by(WorkOrderRow.asset_id)
        .subquery()
    )
    query = (
        select(
            AssetRow,
            AssetClassRow.name,
            AssetClassRow.criticality,
            AssetClassRow.ppm_interval_days,
            home.name,
            first_open.c.wo,
        )
        .outerjoin(AssetClassRow, AssetClassRow.id == AssetRow.class_id)
        .outerjoin(home, home.id == AssetRow.home_zone_id)
        .outerjoin(first_open, first_open.c.asset_id == AssetRow.id)
        .where(
            AssetRow.state != AssetState.CONDEMNED.value,
            or_(
                AssetRow.next_ppm_due <= horizon,
                AssetRow.next_ppm_due.is_(None) & AssetRow.last_ppm.is_not(None),
            ),
        )
    )
    rows = [
        QueueRow(
            asset_id=a.id,
            asset_number=a.asset_number,
            description=a.description,
            state=a.state,
            class_id=a.class_id,
            class_name=class_name,
            criticality=criticality,
            department=a.department,
            home_zone_id=a.home_zone_id,
            home_zone=home_name,
            last_ppm=a.last_ppm,
            next_ppm_due=a.next_ppm_due,
            class_interval=interval,
            open_work_order_id=wo,
        )
        for a, class_name, criticality, interval, home_name, wo in session.execute(query)
    ]
    levels = {i: level for i, level in session.execute(select(FloorRow.id, FloorRow.level))}
    return QueueRead(rows, levels)


def _location(found: dict[str, Any], now: dt.datetime) -> QueueLocation:
    path = [PathStep(kind=p["kind"], id=p["id"], name=p["name"]) for p in found["path"]]
    named = {p.kind: p.name for p in path if p.kind in _PLACES}
    zone = found["zone"]
    return QueueLocation(
        zone_id=zone["id"] if zone else None,
        zone=zone["name"] if zone else None,
        off_site=found["off_site"],
        site=named.get("site"),
        building=named.get("building"),
        floor=named.get("floor"),
        path=path,
        last_seen=found["last_seen"],
        not_seen_days=round((now - found["last_seen"]).total_seconds() / 86400, 1),
        stale=found["stale"],
        confidence=found["confidence"],
        method=found["method"],
    )


def _round_key(item: QueueItem, levels: dict[int, int]) -> tuple[Any, ...]:
    where = item.location
    assert where is not None
    floor_id = next((p.id for p in where.path if p.kind == "floor"), None)
    level = levels.get(floor_id) if floor_id is not None else None
    zones = tuple((p.name or "").casefold() for p in where.path if p.kind not in _PLACES)
    return (
        (where.site or "").casefold(),
        where.building is None,
        (where.building or "").casefold(),
        level is None,
        level or 0,
        (where.floor or "").casefold(),
        zones,
        not item.overdue,
        item.asset_number,
    )


def _cant_find(
    row: QueueRow, location: QueueLocation | None, overdue: bool, settings: PpmSettings
) -> tuple[str | None, bool]:
    """(why it is hard to find, whether that is escalated); (None, False) when findable."""
    if row.state == AssetState.MISSING:
        return "marked missing", True
    if row.state == AssetState.ON_LOAN:
        return "on loan", False
    if location is None:
        return "never located", overdue
    if location.not_seen_days >= settings.cant_find_after_days:
        days = int(location.not_seen_days)
        return f"not seen for {days} days", days >= settings.escalate_after_days
    if location.off_site:
        return "off site", False
    return None, False


def build_queue(
    read: QueueRead,
    *,
    today: dt.date,
    now: dt.datetime,
    within_days: int,
    settings: PpmSettings,
    book: ScheduleBook,
    locations: LocationService,
) -> PpmQueue:
    horizon = today + dt.timedelta(days=within_days)
    findable: list[QueueItem] = []
    lost: list[QueueItem] = []
    for row in read.rows:
        due = effective_due(
            row.next_ppm_due, row.last_ppm, book.interval(row.asset_id, row.class_interval)
        )
        if due is None or due > horizon:
            continue
        after = book.tolerance(row.asset_id, row.class_id).after_days
        overdue = ppm_overdue(due, today, after)
        found = locations.where_is(row.asset_id)
        location = _location(found, now) if found is not None else None
        reason, escalated = _cant_find(row, location, overdue, settings)
        item = QueueItem(
            asset_id=row.asset_id,
            asset_number=row.asset_number,
            description=row.description,
            class_id=row.class_id,
            class_name=row.class_name,
            criticality=row.criticality,
            department=row.department,
            state=presented_state(row.state, due, today, after),
            recorded_state=row.state,
            due_date=due,
            days_overdue=(today - due).days,
            tolerance_after_days=after,
            overdue=overdue,
            home_zone_id=row.home_zone_id,
            home_zone=row.home_zone,
            location=location,
            cant_find_reason=reason,
            escalated=escalated,
            open_work_order_id=row.open_work_order_id,
        )
        (lost if reason is not None else findable).append(item)
    findable.sort(key=lambda i: _round_key(i, read.floor_levels))
    lost.sort(
        key=lambda i: (
            not i.escalated,
            -(i.location.not_seen_days if i.location else float("inf")),
            i.asset_number,
        )
    )
    overdue_items = [i for i in findable if i.overdue]
    due_items = [i for i in findable if not i.overdue]
    return PpmQueue(
        today=today,
        within_days=within_days,
        cant_find_after_days=settings.cant_find_after_days,
        escalate_after_days=settings.escalate_after_days,
        counts=QueueCounts(
            overdue=len(overdue_items),
            due=len(due_items),
            cant_find=len(lost),
            escalated=sum(i.escalated for i in lost),
        ),
        overdue=overdue_items,
        due=due_items,
        cant_find=lost,
        round=_stops(findable),
    )


def _stops(items: list[QueueItem]) -> list[RoundStop]:
    stops: list[RoundStop] = []
    by_zone: dict[int | None, RoundStop] = {}
    for item in items:
        where = item.location
        assert where is not None
        stop = by_zone.get(where.zone_id)
        if stop is None:
            stop = by_zone[where.zone_id] = RoundStop(
                position=len(stops) + 1,
                site=where.site,
                building=where.building,
                floor=where.floor,
                zone_id=where.zone_id,
                zone=where.zone,
                path=where.path,
                asset_ids=[],
            )
            stops.append(stop)
        stop.asset_ids.append(item.asset_id)
    return stops


CSV_HEADERS = (
    "section",
    "asset_number",
    "description",
    "class",
    "criticality",
    "department",
    "state",
    "due_date",
    "days_overdue",
    "site",
    "building",
    "floor",
    "zone",
    "last_seen",
    "not_seen_days",
    "confidence",
    "stale",
    "cant_find_reason",
    "escalated",
    "work_order",
)


def queue_csv(session: Session, queue: PpmQueue, *, actor: Principal, now: dt.datetime) -> str:
    """The queue as CSV for a spreadsheet or a printed round; the export is audited."""
    # Imported here: register_csv reads the config, whose [workflow] section is ours.

    out = io.StringIO(newline="")
    writer = csv.writer(out)
    writer.writerow(CSV_HEADERS)
    sections = (("overdue", queue.overdue), ("due", queue.due), ("cant_find", queue.cant_find))
    count = 0
    for section, items in sections:
        for item in items:
            where = item.location
            cells: tuple[object, ...] = (
                section,
                item.asset_number,
                item.description,
                item.class_name,
                item.criticality,
                item.department,
                item.state,
                item.due_date,
                item.days_overdue,
                where.site if where else None,
                where.building if where else None,
                where.floor if where else None,
                where.zone if where else None,
                where.last_seen.isoformat(timespec="seconds") if where else None,
                where.not_seen_days if where else None,
                where.confidence if where else None,
                "yes" if where and where.stale else "no",
                item.cant_find_reason,
                "yes" if item.escalated else "no",
                item.open_work_order_id,
            )
            writer.writerow([neutralise(c) for c in cells])
            count += 1
    write_audit(
        session,
        at=now,
        actor=actor.label,
        action="export",
        entity="ppm_queue",
        after={"rows": count, "format": "csv", "within_days": queue.within_days},
        detail=f"PPM queue of {count} assets exported as CSV",
    )
    return out.getvalue()
