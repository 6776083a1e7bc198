"""PPM dates and what a list may call "available": pure rules, plus the same rule in SQL.

A device is *PPM overdue* once today is past its next-due date plus the tolerance
after it. Such a device is never presented as ``available``: lists show the state
``ppm_overdue`` instead, and filtering on ``state=available`` leaves it out. Faulty,
quarantined and condemned devices are never ``available`` because that is not their
state. Everything that shows availability (lists, search, zone listings, the PPM
queue, par-level counts) goes through ``presented_state`` or ``state_condition``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Protocol

from sqlalchemy import ColumnElement, and_, func, not_, or_, select

from floki_core.domain import AssetState
from floki_core.errors import Invalid
from floki_core.storage.models import AssetRow
from floki_core.storage.models_ppm import PpmScheduleRow

PPM_OVERDUE = "ppm_overdue"
PRESENTED_ONLY = ((PPM_OVERDUE, "PPM overdue (not available)"),)


def ppm_overdue(
    next_ppm_due: dt.date | None, today: dt.date, tolerance_after_days: int = 0
) -> bool:
    """Past the due date and its tolerance. No due date: no schedule, never overdue."""
    if next_ppm_due is None:
        return False
    return today > next_ppm_due + dt.timedelta(days=tolerance_after_days)


def presented_state(
    state: str, next_ppm_due: dt.date | None, today: dt.date, tolerance_after_days: int = 0
) -> str:
    """The state to show a user: ``available`` becomes ``ppm_overdue`` when it is."""
    if state == AssetState.AVAILABLE and ppm_overdue(next_ppm_due, today, tolerance_after_days):
        return PPM_OVERDUE
    return str(state)


def is_available(
    state: str, next_ppm_due: dt.date | None, today: dt.date, tolerance_after_days: int = 0
) -> bool:
    """Ready for a patient: clean, not faulty or condemned, and in date for PPM."""
    return presented_state(state, next_ppm_due, today, tolerance_after_days) == AssetState.AVAILABLE


def effective_due(
    next_ppm_due: dt.date | None, last_ppm: dt.date | None, interval_days: int | None
) -> dt.date | None:
    """The imported or recorded next-due date, else the last PPM plus the interval."""
    if next_ppm_due is not None:
        return next_ppm_due
    if last_ppm is not None and interval_days:
        return last_ppm + dt.timedelta(days=interval_days)
    return None


def next_due_after(
    completed: dt.date, scheduled: dt.date | None, interval_days: int, window: Tolerance
) -> dt.date:
    """Done inside the tolerance window keeps the schedule's rhythm (due + interval);
    done outside it restarts from the day it was done."""
    step = dt.timedelta(days=interval_days)
    if scheduled is not None and window.contains(completed, scheduled):
        return scheduled + step
    return completed + step


@dataclass(frozen=True)
class Tolerance:
    before_days: int = 0
    after_days: int = 0

    def contains(self, day: dt.date, due: dt.date) -> bool:
        return (
            due - dt.timedelta(days=self.before_days)
            <= day
            <= due + dt.timedelta(days=self.after_days)
        )


@dataclass(frozen=True)
class Override:
    interval_days: int | None = None
    tolerance_before_days: int | None = None
    tolerance_after_days: int | None = None


class HasPpmDates(Protocol):
    @property
    def next_ppm_due(self) -> dt.date | None: ...


@dataclass
class ScheduleBook:
    """The schedule overrides (small), held in memory so every list can present states
    without a query per asset. An asset's own values win over its class's, and the
    class's over the configured defaults."""

    default: Tolerance = field(default_factory=Tolerance)
    by_class: dict[int, Override] = field(default_factory=dict)
    by_asset: dict[int, Override] = field(default_factory=dict)

    def tolerance(self, asset_id: int | None, class_id: int | None) -> Tolerance:
        own = self.by_asset.get(asset_id) if asset_id is not None else None
        cls = self.by_class.get(class_id) if class_id is not None else None
        before, after = self.default.before_days, self.default.after_days
        for source in (cls, own):
            if source is None:
                continue
            if source.tolerance_before_days is not None:
                before = source.tolerance_before_days
            if source.tolerance_after_days is not None:
                after = source.tolerance_after_days
        return Tolerance(before, after)

    def interval(self, asset_id: int | None, class_interval: int | None) -> int | None:
        own = self.by_asset.get(asset_id) if asset_id is not None else None
        if own is not None and own.interval_days is not None:
            return own.interval_days
        return class_interval

    def after_days_in_use(self) -> set[int]:
        found = {self.default.after_days}
        for source in (*self.by_class.values(), *self.by_asset.values()):
            if source.tolerance_after_days is not None:
                found.add(source.tolerance_after_days)
        return found


def overdue_condition(book: ScheduleBook, today: dt.date) -> ColumnElement[bool]:
    """SQL for ``ppm_overdue`` over ``assets`` rows, the tolerance resolved per row."""
    due = AssetRow.next_ppm_due
    values = book.after_days_in_use()
    if values == {book.default.after_days}:
        return and_(due.is_not(None), due < today - dt.timedelta(days=book.default.after_days))
    own = (
        select(PpmScheduleRow.tolerance_after_days)
        .where(PpmScheduleRow.asset_id == AssetRow.id)
        .scalar_subquery()
    )
    cls = (
        select(PpmScheduleRow.tolerance_after_days)
        .where(PpmScheduleRow.class_id == AssetRow.class_id)
        .scalar_subquery()
    )
    after = func.coalesce(own, cls, book.default.after_days)
    per_value = [and_(after == t, due < today - dt.timedelta(days=t)) for t in sorted(values)]
    # A tolerance the book has not heard of yet counts as none: the safe side.
    per_value.append(and_(after.not_in(sorted(values)), due < today))
    return and_(due.is_not(None), or_(*per_value))


def state_condition(state: str, book: ScheduleBook, today: dt.date) -> ColumnElement[bool]:
    """SQL for "the presented state is ``state``", for list filters."""
    if state == AssetState.AVAILABLE:
        return and_(AssetRow.state == state, not_(overdue_condition(book, today)))
    if state == PPM_OVERDUE:
        return and_(AssetRow.state == AssetState.AVAILABLE, overdue_condition(book, today))
    if state in STATE_NAMES:
        return AssetRow.state == state
    raise Invalid(f"state: {state!r} is not a state; use one of {', '.join(STATE_NAMES)}")


STATE_NAMES = (*(s.value for s in AssetState), PPM_OVERDUE)
