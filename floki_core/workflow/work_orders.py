"""Work orders: raise one for an asset, assign it to an engineer, record the outcome.

Completing a PPM work order with ``pass`` or ``repaired`` records the PPM: ``last_ppm``
becomes the day it was done and ``next_ppm_due`` moves on by the interval (from the
scheduled date when done inside the tolerance window, else from the day it was done).
The outcome also moves the state, through the same transition table as everyone else:
pass / repaired -> available (a device in use or on loan stays so), fail -> faulty,
beyond_repair -> condemned.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal, Protocol

import msgspec
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from floki_core import domain
from floki_core.domain import AssetState, Principal, Role, to_plain
from floki_core.errors import Conflict, Invalid, NotFound
from floki_core.events import DomainEvent
from floki_core.schemas import Id, Input, Notes, check_dates
from floki_core.storage import resources
from floki_core.storage.audit import write_audit
from floki_core.storage.models import AssetClassRow, AssetRow, UserRow
from floki_core.storage.models_ppm import WorkOrderRow
from floki_core.storage.register import ASSETS
from floki_core.workflow.ppm_rules import ScheduleBook, effective_due, next_due_after
from floki_core.workflow.states import edit_events
from floki_core.workflow.states_store import Applied, apply_state_change


class Schedules(Protocol):
    """What work orders ask of PPM: the schedule book (tolerances by class), and today
    in the department's time zone."""

    book: ScheduleBook

    def today(self) -> dt.date: ...


if TYPE_CHECKING:
    from floki_core.clock import Clock
    from floki_core.events import EventBus
    from floki_core.storage.store import Store
    from floki_core.workflow.states import EquipmentStates

Kind = Literal["ppm", "repair", "inspection"]
Outcome = Literal["pass", "fail", "repaired", "beyond_repair"]

_OUTCOME_STATE: dict[str, AssetState] = {
    "pass": AssetState.AVAILABLE,
    "repaired": AssetState.AVAILABLE,
    "fail": AssetState.FAULTY,
    "beyond_repair": AssetState.CONDEMNED,
}
# A device with a patient or in the community is not taken off them by a pass.
_KEEP_ON_PASS = frozenset({AssetState.IN_USE.value, AssetState.ON_LOAN.value})


class WorkOrderCreate(Input, kw_only=True):
    asset_id: Id
    kind: Kind = "ppm"
    summary: Notes = ""
    assigned_to: Id | None = None  # a user id: an engineer or admin


class WorkOrderAssign(Input, kw_only=True):
    user_id: Id | None  # null takes the work order back into the pool


class WorkOrderComplete(Input, kw_only=True):
    outcome: Outcome
    notes: Notes = ""
    completed_on: dt.date | None = None  # default: today
    next_due: dt.date | None = None  # default: from the schedule

    def __post_init__(self) -> None:
        check_dates(self, "completed_on", "next_due")


class WorkOrderCancel(Input, kw_only=True):
    reason: Notes = ""


class WorkOrder(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    asset_id: int
    asset_number: str
    kind: str
    status: str  # open, completed, cancelled
    summary: str
    due_date: dt.date | None
    created_at: dt.datetime
    created_by: str
    assigned_to: int | None
    assigned_to_username: str | None
    assigned_at: dt.datetime | None
    completed_at: dt.datetime | None
    completed_by: str | None
    outcome: str | None
    notes: str
    next_due: dt.date | None


def _query() -> Any:
    return (
        select(WorkOrderRow, AssetRow.asset_number, UserRow.username)
        .join(AssetRow, AssetRow.id == WorkOrderRow.asset_id)
        .outerjoin(UserRow, UserRow.id == WorkOrderRow.assigned_to)
    )


def _view(row: WorkOrderRow, asset_number: str, username: str | None) -> WorkOrder:
    return WorkOrder(
        id=row.id,
        asset_id=row.asset_id,
        asset_number=asset_number,
        kind=row.kind,
        status=row.status,
        summary=row.summary,
        due_date=row.due_date,
        created_at=row.created_at,
        created_by=row.created_by,
        assigned_to=row.assigned_to,
        assigned_to_username=username,
        assigned_at=row.assigned_at,
        completed_at=row.completed_at,
        completed_by=row.completed_by,
        outcome=row.outcome,
        notes=row.notes,
        next_due=row.next_due,
    )


def get_work_order(session: Session, order_id: int) -> WorkOrder:
    found = session.execute(_query().where(WorkOrderRow.id == order_id)).first()
    if found is None:
        raise NotFound(f"work order {order_id} not found")
    return _view(*found)


def list_work_orders(
    session: Session,
    *,
    status: str | None,
    asset_id: int | None,
    assigned_to: int | None,
    limit: int,
    offset: int,
) -> tuple[list[WorkOrder], int]:
    query = _query()
    if status is not None:
        query = query.where(WorkOrderRow.status == status)
    if asset_id is not None:
        query = query.where(WorkOrderRow.asset_id == asset_id)
    if assigned_to is not None:
        query = query.where(WorkOrderRow.assigned_to == assigned_to)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.execute(query.order_by(WorkOrderRow.id.desc()).limit(limit).offset(offset))
    return [_view(*r) for r in rows], total


def _engineer(session: Session, user_id: int) -> UserRow:
    user = session.get(UserRow, user_id)
    if user is None:
        raise Invalid(f"user {user_id} does not exist")
    if user.disabled:
        raise Invalid(f"user {user.username} is disabled")
    if not Role(user.role).at_least(Role.ENGINEER):
        raise Invalid(f"user {user.username} is {user.role}; work goes to an engineer or admin")
    return user


def _open(session: Session, order_id: int) -> WorkOrderRow:
    row = session.get(WorkOrderRow, order_id)
    if row is None:
        raise NotFound(f"work order {order_id} not found")
    if row.status != "open":
        raise Conflict(f"work order {order_id} is already {row.status}")
    return row


def _audit(
    session: Session,
    row: WorkOrderRow,
    action: str,
    actor: Principal,
    now: dt.datetime,
    before: WorkOrder | None,
) -> WorkOrder:
    session.flush()
    after = get_work_order(session, row.id)
    write_audit(
        session,
        at=now,
        actor=actor.label,
        action=action,
        entity="work_orders",
        entity_id=row.id,
        before=to_plain(before) if before else None,
        after=to_plain(after),
    )
    return after


def create_work_order(
    session: Session,
    body: WorkOrderCreate,
    book: ScheduleBook,
    *,
    actor: Principal,
    now: dt.datetime,
) -> WorkOrder:
    asset = session.get(AssetRow, body.asset_id)
    if asset is None:
        raise Invalid(f"asset_id: asset {body.asset_id} does not exist")
    if asset.state == AssetState.CONDEMNED:
        raise Conflict(f"asset {asset.asset_number} is condemned")
    if body.kind == "ppm":
        already = session.scalar(
            select(WorkOrderRow.id).where(
                WorkOrderRow.asset_id == asset.id,
                WorkOrderRow.kind == "ppm",
                WorkOrderRow.status == "open",
            )
        )
        if already is not None:
            raise Conflict(f"PPM work order {already} is already open for {asset.asset_number}")
    if body.assigned_to is not None:
        _engineer(session, body.assigned_to)
    interval = session.scalar(
        select(AssetClassRow.ppm_interval_days).where(AssetClassRow.id == asset.class_id)
    )
    due = None
    if body.kind == "ppm":
        due = effective_due(asset.next_ppm_due, asset.last_ppm, book.interval(asset.id, interval))
    row = WorkOrderRow(
        asset_id=asset.id,
        kind=body.kind,
        status="open",
        summary=body.summary,
        due_date=due,
        created_at=now,
        created_by=actor.label,
        assigned_to=body.assigned_to,
        assigned_at=now if body.assigned_to is not None else None,
        notes="",
    )
    session.add(row)
    return _audit(session, row, "create", actor, now, None)


def assign_work_order(
    session: Session, order_id: int, user_id: int | None, *, actor: Principal, now: dt.datetime
) -> WorkOrder:
    row = _open(session, order_id)
    before = get_work_order(session, order_id)
    if user_id is not None:
        _engineer(session, user_id)
    row.assigned_to = user_id
    row.assigned_at = now if user_id is not None else None
    return _audit(session, row, "assign", actor, now, before)


def cancel_work_order(
    session: Session, order_id: int, reason: str, *, actor: Principal, now: dt.datetime
) -> WorkOrder:
    row = _open(session, order_id)
    before = get_work_order(session, order_id)
    # Who cancelled and when is in the audit trail; completed_* stay empty.
    row.status, row.notes = "cancelled", reason.strip()
    return _audit(session, row, "cancel", actor, now, before)


def complete_work_order(
    session: Session,
    order_id: int,
    body: WorkOrderComplete,
    book: ScheduleBook,
    *,
    today: dt.date,
    actor: Principal,
    now: dt.datetime,
) -> tuple[WorkOrder, domain.Asset, Applied | None]:
    row = _open(session, order_id)
    before = get_work_order(session, order_id)
    notes = body.notes.strip()
    if body.outcome in ("fail", "beyond_repair") and not notes:
        raise Invalid("notes: say what failed")
    done = body.completed_on or today
    if done > today:
        raise Invalid(f"completed_on: {done} is in the future")
    asset = session.get_one(AssetRow, row.asset_id)
    passed = body.outcome in ("pass", "repaired")
    if row.kind == "ppm" and passed:
        interval = book.interval(
            asset.id,
            session.scalar(
                select(AssetClassRow.ppm_interval_days).where(AssetClassRow.id == asset.class_id)
            ),
        )
        scheduled = effective_due(asset.next_ppm_due, asset.last_ppm, interval)
        if body.next_due is not None:
            if body.next_due <= done:
                raise Invalid("next_due: must be after the day the PPM was done")
            next_due = body.next_due
        elif interval:
            window = book.tolerance(asset.id, asset.class_id)
            next_due = next_due_after(done, scheduled, interval, window)
        else:
            raise Invalid(
                "next_due: the asset has no PPM interval (class or asset schedule); give next_due"
            )
        resources.update_record(
            session,
            ASSETS,
            asset.id,
            {"last_ppm": done, "next_ppm_due": next_due},
            actor=actor,
            now=now,
        )
        row.next_due = next_due
    target = _OUTCOME_STATE[body.outcome]
    applied = None
    keep = passed and asset.state in _KEEP_ON_PASS
    if asset.state != target.value and not keep:
        why = f"work order {row.id}: {body.outcome.replace('_', ' ')}"
        applied = apply_state_change(
            session,
            asset.id,
            target.value,
            actor=actor,
            source="work_order",
            reason=f"{why}: {notes}" if notes else why,
            now=now,
        )
    row.status, row.outcome, row.notes = "completed", body.outcome, notes
    row.completed_at, row.completed_by = now, actor.label
    order = _audit(session, row, "complete", actor, now, before)
    return order, ASSETS.to_record(asset), applied


class WorkOrders:
    """Work orders through the core: each write one transaction, then its events."""

    def __init__(
        self,
        *,
        store: Store,
        clock: Clock,
        events: EventBus,
        ppm: Schedules,
        states: EquipmentStates,
    ) -> None:
        """``ppm``: the schedules an order's completion advances; ``states``: the asset
        state an outcome sets."""
        self.store = store
        self.clock = clock
        self.events = events
        self.ppm = ppm
        self.states = states

    async def listing(
        self,
        *,
        status: str | None,
        asset_id: int | None,
        assigned_to: int | None,
        limit: int,
        offset: int,
    ) -> tuple[list[WorkOrder], int]:
        return await self.store.read(
            list_work_orders,
            status=status,
            asset_id=asset_id,
            assigned_to=assigned_to,
            limit=limit,
            offset=offset,
        )

    async def get(self, order_id: int) -> WorkOrder:
        return await self.store.read(get_work_order, order_id)

    async def create(self, body: WorkOrderCreate, actor: Principal) -> WorkOrder:
        return await self._write(
            "work_order.created",
            create_work_order,
            body,
            self.ppm.book,
            actor=actor,
            now=self.clock.now(),
        )

    async def assign(self, order_id: int, user_id: int | None, actor: Principal) -> WorkOrder:
        return await self._write(
            "work_order.assigned",
            assign_work_order,
            order_id,
            user_id,
            actor=actor,
            now=self.clock.now(),
        )

    async def cancel(self, order_id: int, reason: str, actor: Principal) -> WorkOrder:
        return await self._write(
            "work_order.cancelled",
            cancel_work_order,
            order_id,
            reason,
            actor=actor,
            now=self.clock.now(),
        )

    async def complete(self, order_id: int, body: WorkOrderComplete, actor: Principal) -> WorkOrder:
        now = self.clock.now()

        def announce(result: tuple[WorkOrder, domain.Asset, Applied | None]) -> list[DomainEvent]:
            order, asset, applied = result
            return [self._event("work_order.completed", order), *edit_events(asset, applied, now)]

        (order, _, _), events = await self.store.write_events(
            complete_work_order,
            order_id,
            body,
            self.ppm.book,
            today=self.ppm.today(),
            actor=actor,
            now=now,
            announce=announce,
        )
        await self.events.publish(events)
        return order

    async def _write(
        self, type_: str, fn: Callable[..., WorkOrder], *args: Any, **kwargs: Any
    ) -> WorkOrder:
        """``fn`` writes one work order; announced as ``type_`` (kept for the hub in the
        same transaction)."""
        order, events = await self.store.write_events(
            fn, *args, announce=lambda order: [self._event(type_, order)], **kwargs
        )
        await self.events.publish(events)
        return order

    def _event(self, type_: str, order: WorkOrder) -> DomainEvent:
        return DomainEvent(
            type=type_,
            at=self.clock.now(),
            entity="work_orders",
            entity_id=order.id,
            data=to_plain(order),
        )
