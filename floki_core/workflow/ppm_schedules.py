"""PPM schedules in the database: per-class and per-asset overrides, and next-due dates
computed for assets whose CMMS export gave a last PPM but no due date."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

import msgspec
from msgspec import Meta
from sqlalchemy import select
from sqlalchemy.orm import Session

from floki_core import domain
from floki_core.domain import SYSTEM, AssetState, Principal
from floki_core.errors import NotFound
from floki_core.schemas import Input
from floki_core.storage import resources
from floki_core.storage.audit import write_audit
from floki_core.storage.models import AssetClassRow, AssetRow
from floki_core.storage.models_ppm import PpmScheduleRow, WorkOrderRow
from floki_core.storage.register import ASSET_CLASSES, ASSETS
from floki_core.workflow.ppm_rules import (
    Override,
    ScheduleBook,
    Tolerance,
    effective_due,
    ppm_overdue,
    presented_state,
)

Days = Annotated[int, Meta(ge=0, le=3650)]
Interval = Annotated[int, Meta(ge=1, le=3650)]
Target = Literal["classes", "assets"]


class ScheduleInput(Input, kw_only=True):
    """An override; a field left out (null) is inherited from the class or defaults.
    For a class, ``interval_days`` is the class's own interval (left as it is if out)."""

    interval_days: Interval | None = None
    tolerance_before_days: Days | None = None
    tolerance_after_days: Days | None = None


class ScheduleView(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    class_id: int | None
    asset_id: int | None
    name: str  # the class name or asset number
    interval_days: int | None
    tolerance_before_days: int | None
    tolerance_after_days: int | None
    updated_at: dt.datetime


class ScheduleList(msgspec.Struct, frozen=True, kw_only=True):
    default_tolerance_before_days: int
    default_tolerance_after_days: int
    items: list[ScheduleView]


class AssetPpm(msgspec.Struct, frozen=True, kw_only=True):
    """One asset's effective PPM schedule and standing."""

    asset_id: int
    asset_number: str
    state: str  # as presented: ppm_overdue rather than available when overdue
    recorded_state: str
    interval_days: int | None
    interval_from: str | None  # asset, class
    tolerance_before_days: int
    tolerance_after_days: int
    last_ppm: dt.date | None
    next_ppm_due: dt.date | None
    due_from: str | None  # register (imported or recorded), computed (last PPM + interval)
    days_overdue: int | None  # negative: days still to go
    overdue: bool
    open_work_orders: list[int]


def _override(row: PpmScheduleRow) -> Override:
    return Override(row.interval_days, row.tolerance_before_days, row.tolerance_after_days)


def load_book(session: Session, default: Tolerance) -> ScheduleBook:
    book = ScheduleBook(default=default)
    for row in session.scalars(select(PpmScheduleRow)):
        if row.class_id is not None:
            book.by_class[row.class_id] = _override(row)
        elif row.asset_id is not None:
            book.by_asset[row.asset_id] = _override(row)
    return book


def list_schedules(session: Session, book: ScheduleBook) -> ScheduleList:
    rows = session.execute(
        select(PpmScheduleRow, AssetClassRow.name, AssetRow.asset_number)
        .outerjoin(AssetClassRow, AssetClassRow.id == PpmScheduleRow.class_id)
        .outerjoin(AssetRow, AssetRow.id == PpmScheduleRow.asset_id)
        .order_by(PpmScheduleRow.id)
    )
    items = []
    for row, class_name, asset_number in rows:
        interval = row.interval_days
        if row.class_id is not None:
            cls = session.get(AssetClassRow, row.class_id)
            interval = cls.ppm_interval_days if cls else None
        items.append(
            ScheduleView(
                id=row.id,
                class_id=row.class_id,
                asset_id=row.asset_id,
                name=class_name or asset_number or "",
                interval_days=interval,
                tolerance_before_days=row.tolerance_before_days,
                tolerance_after_days=row.tolerance_after_days,
                updated_at=row.updated_at,
            )
        )
    return ScheduleList(
        default_tolerance_before_days=book.default.before_days,
        default_tolerance_after_days=book.default.after_days,
        items=items,
    )


def _plain(row: PpmScheduleRow | None) -> dict[str, object] | None:
    if row is None:
        return None
    return {
        "class_id": row.class_id,
        "asset_id": row.asset_id,
        "interval_days": row.interval_days,
        "tolerance_before_days": row.tolerance_before_days,
        "tolerance_after_days": row.tolerance_after_days,
    }


def set_schedule(
    session: Session,
    target: Target,
    target_id: int,
    body: ScheduleInput,
    *,
    actor: Principal,
    now: dt.datetime,
) -> None:
    column = PpmScheduleRow.class_id if target == "classes" else PpmScheduleRow.asset_id
    interval = body.interval_days
    if target == "classes":
        resources.fetch_row(session, ASSET_CLASSES, target_id)
        if interval is not None:
            resources.update_record(
                session,
                ASSET_CLASSES,
                target_id,
                {"ppm_interval_days": interval},
                actor=actor,
                now=now,
            )
        interval = None  # the class's interval lives on the class
    else:
        resources.fetch_row(session, ASSETS, target_id)
    row = session.scalar(select(PpmScheduleRow).where(column == target_id))
    before = _plain(row)
    values = (interval, body.tolerance_before_days, body.tolerance_after_days)
    if all(v is None for v in values):
        if row is None:
            return
        session.delete(row)
        action, after = "delete", None
    else:
        if row is None:
            row = PpmScheduleRow(updated_at=now)
            setattr(row, column.key, target_id)
            session.add(row)
            action = "create"
        else:
            action = "update"
        row.interval_days, row.tolerance_before_days, row.tolerance_after_days = values
        row.updated_at = now
        after = _plain(row)
    if before == after:
        return
    session.flush()
    write_audit(
        session,
        at=now,
        actor=actor.label,
        action=action,
        entity="ppm_schedules",
        entity_id=f"{target}/{target_id}",
        before=before,
        after=after,
    )


def delete_schedule(
    session: Session, schedule_id: int, *, actor: Principal, now: dt.datetime
) -> None:
    row = session.get(PpmScheduleRow, schedule_id)
    if row is None:
        raise NotFound(f"PPM schedule {schedule_id} not found")
    before = _plain(row)
    session.delete(row)
    session.flush()
    target = f"classes/{row.class_id}" if row.class_id else f"assets/{row.asset_id}"
    write_audit(
        session,
        at=now,
        actor=actor.label,
        action="delete",
        entity="ppm_schedules",
        entity_id=target,
        before=before,
    )


def asset_ppm(session: Session, asset_id: int, book: ScheduleBook, today: dt.date) -> AssetPpm:
    asset = resources.fetch_row(session, ASSETS, asset_id)
    cls = session.get(AssetClassRow, asset.class_id) if asset.class_id else None
    class_interval = cls.ppm_interval_days if cls else None
    interval = book.interval(asset.id, class_interval)
    own = book.by_asset.get(asset.id)
    interval_from = (
        "asset"
        if own is not None and own.interval_days is not None
        else "class"
        if class_interval
        else None
    )
    window = book.tolerance(asset.id, asset.class_id)
    due = effective_due(asset.next_ppm_due, asset.last_ppm, interval)
    open_orders = session.scalars(
        select(WorkOrderRow.id)
        .where(WorkOrderRow.asset_id == asset_id, WorkOrderRow.status == "open")
        .order_by(WorkOrderRow.id)
    )
    return AssetPpm(
        asset_id=asset.id,
        asset_number=asset.asset_number,
        state=presented_state(asset.state, due, today, window.after_days),
        recorded_state=asset.state,
        interval_days=interval,
        interval_from=interval_from,
        tolerance_before_days=window.before_days,
        tolerance_after_days=window.after_days,
        last_ppm=asset.last_ppm,
        next_ppm_due=due,
        due_from=None if due is None else "register" if asset.next_ppm_due else "computed",
        days_overdue=None if due is None else (today - due).days,
        overdue=ppm_overdue(due, today, window.after_days),
        open_work_orders=list(open_orders),
    )


def fill_due_dates(session: Session, book: ScheduleBook, *, now: dt.datetime) -> list[domain.Asset]:
    """Next due = last PPM + interval, for assets without a next-due date; audited."""
    rows = session.execute(
        select(AssetRow, AssetClassRow.ppm_interval_days)
        .outerjoin(AssetClassRow, AssetClassRow.id == AssetRow.class_id)
        .where(
            AssetRow.next_ppm_due.is_(None),
            AssetRow.last_ppm.is_not(None),
            AssetRow.state != AssetState.CONDEMNED.value,
        )
    ).all()
    filled: list[domain.Asset] = []
    for asset, class_interval in rows:
        due = effective_due(None, asset.last_ppm, book.interval(asset.id, class_interval))
        if due is None:
            continue
        _, after = resources.update_record(
            session, ASSETS, asset.id, {"next_ppm_due": due}, actor=SYSTEM, now=now
        )
        filled.append(after)
    return filled
