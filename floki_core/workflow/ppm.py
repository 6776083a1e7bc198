"""Planned preventive maintenance: schedules, the PPM queue with locations, work orders.

The pure rules (``presented_state``, ``ppm_overdue``) live in ``ppm_rules`` and are
re-exported here; this part keeps the schedule overrides in memory so every list can
present states cheaply, fills next-due dates the CMMS left empty from the last PPM and
the interval, and once a day writes the compliance snapshot the trend is drawn from.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import zoneinfo
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement

from floki_core.domain import Principal
from floki_core.events import DomainEvent
from floki_core.workflow import ppm_compliance, ppm_schedules
from floki_core.workflow.ppm_queue import PpmQueue, build_queue, queue_csv, read_queue
from floki_core.workflow.ppm_rules import (
    PPM_OVERDUE,
    ScheduleBook,
    Tolerance,
    is_available,
    ppm_overdue,
    presented_state,
    state_condition,
)
from floki_core.workflow.ppm_schedules import AssetPpm, ScheduleInput, ScheduleList, Target
from floki_core.workflow.settings import PpmSettings
from floki_core.workflow.states import asset_updated_event
from floki_core.workflow.work_orders import WorkOrders

if TYPE_CHECKING:
    from floki_core.clock import Clock
    from floki_core.events import EventBus
    from floki_core.location.service import LocationService
    from floki_core.storage.store import Store
    from floki_core.workflow.states import EquipmentStates

log = logging.getLogger(__name__)


class Ppm:
    def __init__(
        self,
        *,
        settings: PpmSettings,
        store: Store,
        clock: Clock,
        events: EventBus,
        locations: LocationService,
        states: EquipmentStates,
    ) -> None:
        """``locations``: where each due asset is, for the queue; ``states``: a work
        order's outcome sets its asset's state."""
        self.settings = settings
        self.store = store
        self.clock = clock
        self.events = events
        self.locations = locations
        self.book = ScheduleBook(
            default=Tolerance(
                self.settings.tolerance_before_days, self.settings.tolerance_after_days
            )
        )
        self.work_orders = WorkOrders(
            store=store, clock=clock, events=events, ppm=self, states=states
        )
        self._zone = zoneinfo.ZoneInfo(self.settings.timezone)
        self._last_daily: dt.date | None = None
        self._timer: asyncio.Task[None] | None = None
        self._observing = False

    async def start(self) -> None:
        await self.reload()
        if not self._observing:
            self.events.add_observer("core.workflow.ppm", self._on_events, inline=True)
            self._observing = True
        await self.daily()
        if self._timer is None:
            self._timer = asyncio.create_task(self._tick_forever(), name="ppm-daily")

    async def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._timer
            self._timer = None

    # --- presentation (used by every list that shows a state) -------------------

    def today(self) -> dt.date:
        return self.clock.now().astimezone(self._zone).date()

    def tolerance(self, asset_id: int | None, class_id: int | None) -> Tolerance:
        return self.book.tolerance(asset_id, class_id)

    def is_overdue(self, asset: Any, today: dt.date | None = None) -> bool:
        """``asset``: a row or record with ``next_ppm_due`` (and ``id``/``class_id`` for
        its own tolerance), or a due date. ``today`` defaults to the local day."""
        day = today or self.today()
        if asset is None or isinstance(asset, dt.date):
            return ppm_overdue(asset, day, self.book.default.after_days)
        window = self.tolerance(getattr(asset, "id", None), getattr(asset, "class_id", None))
        return ppm_overdue(asset.next_ppm_due, day, window.after_days)

    def presented(
        self,
        state: str,
        next_ppm_due: dt.date | None,
        *,
        asset_id: int | None = None,
        class_id: int | None = None,
        today: dt.date | None = None,
    ) -> str:
        after = self.tolerance(asset_id, class_id).after_days
        return presented_state(state, next_ppm_due, today or self.today(), after)

    def present(self, record: Any) -> dict[str, Any]:
        """Fields that replace an asset record's own ``state`` wherever it is listed."""
        day = self.today()
        shown = self.presented(
            str(record.state),
            record.next_ppm_due,
            asset_id=record.id,
            class_id=record.class_id,
            today=day,
        )
        overdue = self.is_overdue(record, day)
        return {
            "state": shown,
            "recorded_state": str(record.state),
            "ppm_overdue": overdue,
            "available": shown == "available",
        }

    def state_condition(self, state: str) -> ColumnElement[bool]:
        """SQL for a list filter on the presented state (``available``, ``ppm_overdue``...)."""
        return state_condition(state, self.book, self.today())

    # --- schedules -------------------------------------------------------------

    async def reload(self) -> None:
        self.book = await self.store.read(ppm_schedules.load_book, self.book.default)

    async def schedules(self) -> ScheduleList:
        return await self.store.read(ppm_schedules.list_schedules, self.book)

    async def set_schedule(
        self, target: Target, target_id: int, body: ScheduleInput, actor: Principal
    ) -> ScheduleList:
        await self.store.write(
            ppm_schedules.set_schedule,
            target,
            target_id,
            body,
            actor=actor,
            now=self.clock.now(),
        )
        await self.reload()
        await self.fill_due_dates()
        return await self.schedules()

    async def delete_schedule(self, schedule_id: int, actor: Principal) -> None:
        await self.store.write(
            ppm_schedules.delete_schedule, schedule_id, actor=actor, now=self.clock.now()
        )
        await self.reload()

    async def asset_ppm(self, asset_id: int) -> AssetPpm:
        return await self.store.read(ppm_schedules.asset_ppm, asset_id, self.book, self.today())

    async def fill_due_dates(self) -> int:
        """Give a next-due date (last PPM + interval) to assets the CMMS left without one."""
        now = self.clock.now()
        filled, events = await self.store.write_events(
            ppm_schedules.fill_due_dates,
            self.book,
            now=now,
            announce=lambda filled: [asset_updated_event(a, now) for a in filled],
        )
        await self.events.publish(events)
        return len(filled)

    async def _on_events(self, events: Sequence[DomainEvent]) -> None:
        if any(_may_need_due_date(e) for e in events):
            try:
                await self.fill_due_dates()
            except Exception as exc:
                # On a full disk the next daily work fills them; anything else is logged
                # with its traceback by the event bus.
                if self.store.refused_write(exc, "filling PPM due dates") is None:
                    raise

    # --- the queue and compliance -------------------------------------------------

    async def queue(self, within_days: int | None = None) -> PpmQueue:
        within = self.settings.default_within_days if within_days is None else within_days
        today = self.today()
        rows = await self.store.read(read_queue, today + dt.timedelta(days=within))
        return build_queue(
            rows,
            today=today,
            now=self.clock.now(),
            within_days=within,
            settings=self.settings,
            book=self.book,
            locations=self.locations,
        )

    async def queue_csv(self, within_days: int | None, actor: Principal) -> str:
        queue = await self.queue(within_days)
        return await self.store.write(queue_csv, queue, actor=actor, now=self.clock.now())

    async def compliance(self, by: str) -> ppm_compliance.ComplianceReport:
        return await self.store.read(ppm_compliance.compliance, by, self.book, self.today())

    async def snapshot(self) -> int:
        """Write today's compliance snapshot (again, if it exists); returns its groups."""
        return await self.store.write(
            ppm_compliance.write_snapshot, self.book, self.today(), now=self.clock.now()
        )

    async def trend(self, days: int, by: str, group: str | None) -> ppm_compliance.ComplianceTrend:
        return await self.store.read(ppm_compliance.trend, self.today(), days, by, group)

    async def daily(self) -> None:
        """Once per local day: fill missing due dates and write the snapshot."""
        today = self.today()
        if self._last_daily == today:
            return
        await self.fill_due_dates()
        await self.snapshot()
        self._last_daily = today

    async def _tick_forever(self) -> None:
        while True:
            await asyncio.sleep(self.settings.check_seconds)
            try:
                await self.daily()
            except Exception as exc:
                if self.store.refused_write(exc, "the daily PPM work") is None:
                    log.exception("the daily PPM work failed; will retry")


def _may_need_due_date(event: DomainEvent) -> bool:
    if event.type in ("asset.created", "asset.updated"):
        data = event.data
        return data.get("next_ppm_due") is None and data.get("last_ppm") is not None
    if event.type in ("asset_class.created", "asset_class.updated"):
        return event.data.get("ppm_interval_days") is not None
    return event.type == "register.imported"


__all__ = [
    "PPM_OVERDUE",
    "Ppm",
    "PpmSettings",
    "is_available",
    "ppm_overdue",
    "presented_state",
]
