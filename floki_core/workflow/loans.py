"""Community loans: check-out to a destination by reference, due-back, return, purge."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from typing import TYPE_CHECKING, Any

from floki_core.domain import Principal
from floki_core.errors import Conflict, FlokiError, Invalid
from floki_core.events import DomainEvent
from floki_core.storage import loan_positions
from floki_core.workflow import loan_records as records
from floki_core.workflow.loan_privacy import loan_location_view, purge_personal_data
from floki_core.workflow.loan_records import (
    Loan,
    LoanCreate,
    LoanPersonalData,
    LoanReturn,
    LoanStatus,
)
from floki_core.workflow.settings import LoanSettings

if TYPE_CHECKING:
    from floki_core.clock import Clock
    from floki_core.events import EventBus
    from floki_core.storage.store import Store
    from floki_core.workflow.states import EquipmentStates

log = logging.getLogger(__name__)


class Loans:
    def __init__(
        self,
        *,
        settings: LoanSettings,
        store: Store,
        clock: Clock,
        events: EventBus,
        states: EquipmentStates,
    ) -> None:
        """``states``: a loan moves its asset's state (out on loan, back for cleaning)."""
        self.settings = settings
        self.store = store
        self.clock = clock
        self.events = events
        self.states = states
        self._open: dict[int, Loan] = {}  # asset id -> its open loan
        self._sweep_lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self._reload()
        self._task = asyncio.create_task(self._sweep_forever(), name="loan-sweep")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _reload(self) -> None:
        loans = await self.store.read(records.open_loans, self._today())
        self._open = {loan.asset_id: loan for loan in loans}

    def _today(self) -> dt.date:
        return self.clock.now().date()

    # --- check-out and return ----------------------------------------------

    async def create(self, body: LoanCreate, actor: Principal) -> Loan:
        if body.personal is not None and not self.settings.personal_fields:
            raise Invalid(
                "personal fields are switched off on this appliance ([workflow.loans] "
                "personal_fields = false); record the trust's loan reference only"
            )
        now = self.clock.now()
        number, before = await self.store.read(
            records.check_loanable, body, now.date(), self.settings.max_loan_days
        )
        states = self.states
        try:
            await states.change(
                body.asset_id,
                "on_loan",
                actor=actor,
                source="loan",
                reason=f"loan {body.reference}",
            )
        except Conflict as exc:
            raise Conflict(f"asset {number} cannot go on loan: {exc}") from None
        try:
            loan, events = await self.store.write_events(
                records.insert_loan,
                body,
                actor=actor,
                now=now,
                announce=lambda loan: [self._event("loan.created", loan)],
            )
        except Exception:
            # The loan was not recorded: the asset must not stay on_loan without one.
            try:
                await states.change(
                    body.asset_id,
                    before,
                    actor=None,
                    source="loan",
                    reason=f"loan {body.reference} not recorded",
                )
            except Conflict:
                log.exception("asset %s left on_loan without a loan", body.asset_id)
            raise
        self._open[loan.asset_id] = loan
        await self.events.publish(events)
        return loan

    async def return_loan(
        self, loan_id: int, body: LoanReturn, actor: Principal
    ) -> tuple[Loan, str | None]:
        """Record the return, then set the asset's state; returns the loan and, when the
        state could not be changed, why (the return itself stands: the device is back)."""
        now = self.clock.now()
        # Kept for the hub with the return it describes; announced here once the asset's
        # state has followed, as before.
        loan, events = await self.store.write_events(
            records.mark_returned,
            loan_id,
            body,
            actor=actor,
            now=now,
            announce=lambda loan: [self._event("loan.returned", loan)],
        )
        self._open.pop(loan.asset_id, None)
        refused = None
        try:
            await self.states.change(
                loan.asset_id,
                body.state,
                actor=actor,
                source="loan",
                reason=f"returned from loan {loan.reference}",
            )
        except FlokiError as exc:
            refused = str(exc)
            log.warning("loan %s returned but state not changed: %s", loan.id, exc)
        await self.events.publish(events)
        return loan, refused

    # --- a loaned asset's precise position --------------------------------------

    async def recall_position(
        self, loan_id: int, reason: str, actor: Principal
    ) -> loan_positions.PositionRecall:
        """The loan's last kept fix (an overdue item to collect), shown to ``actor`` for
        ``reason``: recorded in the loan's history and audited; ``loan.position_recalled``
        announced without the position."""
        recall, events = await self.store.write_events(
            loan_positions.recall_position,
            loan_id,
            reason=reason,
            actor=actor.label,
            now=self.clock.now(),
            announce=lambda recall: [
                DomainEvent(
                    type="loan.position_recalled",
                    at=recall.recalled_at,
                    entity="loans",
                    entity_id=loan_id,
                    data={
                        "id": loan_id,
                        "asset_id": recall.asset_id,
                        "recalled_by": recall.recalled_by,
                        "fix_observed_at": recall.observed_at.isoformat(),
                    },
                )
            ],
        )
        await self.events.publish(events)
        return recall

    async def recalls(self, loan_id: int) -> list[loan_positions.RecallEntry]:
        return await self.store.read(loan_positions.list_recalls, loan_id)

    # --- reading -------------------------------------------------------------

    async def get(self, loan_id: int) -> Loan:
        return await self.store.read(records.get_loan, loan_id, self._today())

    async def listing(
        self,
        *,
        status: LoanStatus | None = None,
        asset_id: int | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> tuple[list[Loan], int]:
        return await self.store.read(
            records.list_loans,
            today=self._today(),
            status=status,
            asset_id=asset_id,
            limit=limit,
            offset=offset,
        )

    async def personal_data(self, loan_ids: list[int]) -> dict[int, LoanPersonalData]:
        return await self.store.read(records.personal_data, loan_ids)

    async def open_loan_asset_ids(self) -> set[int]:
        # Open loans are held in memory from start-up on, updated by every check-out and
        # return, so the alert engine's frequent questions cost no database read.
        return set(self._open)

    async def overdue(self, now: dt.datetime) -> list[dict[str, Any]]:
        """Open loans whose due-back date has passed at ``now`` (for the alert rule)."""
        loans = list(self._open.values())
        return [
            {
                "id": loan.id,
                "reference": loan.reference,
                "asset_id": loan.asset_id,
                "asset_number": loan.asset_number,
                "due_back": loan.due_back,
                "destination": loan.destination_type,
                "destination_zone_id": loan.destination_zone_id,
                "loaned_at": loan.loaned_at,
                "days_overdue": (now.date() - loan.due_back).days,
            }
            for loan in sorted(loans, key=lambda item: (item.due_back, item.id))
            if loan.due_back < now.date()
        ]

    def open_loan(self, asset_id: int) -> Loan | None:
        return self._open.get(asset_id)

    def is_on_loan(self, asset_id: int) -> bool:
        return asset_id in self._open

    def hiding_loan(self, asset_id: int) -> int | None:
        """The open loan that keeps the asset's position out of the location tables, or
        None. A loaned asset's GPS fix may be a patient's home: unless the trust chose
        precise locations, only its zone is kept there and shown; the fixes themselves
        are kept apart for the loan (recall, purge)."""
        if self.settings.precise_location:
            return None
        loan = self._open.get(asset_id)
        return None if loan is None else loan.id

    def present(self, answer: dict[str, Any], asset_id: int | None = None) -> dict[str, Any]:
        """A where-is answer as it may be shown: zone level while on loan. ``asset_id``
        is needed for the short summary, which does not carry it."""
        if asset_id is None:
            found = answer.get("asset_id")
            asset_id = found if isinstance(found, int) else None
        loan = self._open.get(asset_id) if asset_id is not None else None
        return loan_location_view(answer, loan, precise=self.settings.precise_location)

    # --- clock-driven work -------------------------------------------------

    async def sweep_overdue(self) -> list[Loan]:
        """Announce each loan once, when it first becomes overdue (``loan.overdue``)."""
        async with self._sweep_lock:
            found, events = await self.store.write_events(
                records.mark_overdue,
                self.clock.now(),
                announce=lambda found: [self._event("loan.overdue", loan) for loan in found],
            )
        for loan in found:
            self._open[loan.asset_id] = loan
        await self.events.publish(events)
        return found

    async def purge(self) -> list[int]:
        """Delete personal fields ``purge_after_days`` after the return (audited)."""
        async with self._sweep_lock:
            return await self.store.write(
                purge_personal_data,
                now=self.clock.now(),
                after_days=self.settings.purge_after_days,
            )

    async def purge_raw_fixes(self) -> int:
        """Delete loaned assets' raw positions older than ``raw_fix_retention_days``."""
        async with self._sweep_lock:
            return await self.store.write(
                loan_positions.purge_raw_fixes,
                now=self.clock.now(),
                after_days=self.settings.raw_fix_retention_days,
            )

    async def _sweep_forever(self) -> None:
        while True:
            await asyncio.sleep(self.settings.sweep_minutes * 60)
            try:
                await self.sweep_overdue()
                purged = await self.purge()
                if purged:
                    log.info("personal fields purged from %d returned loans", len(purged))
                gone = await self.purge_raw_fixes()
                if gone:
                    log.info("%d raw positions of loaned assets purged", gone)
            except Exception as exc:
                if self.store.refused_write(exc, "the loan sweep") is None:
                    log.exception("the loan sweep failed; it runs again at the next interval")

    def _event(self, type_: str, loan: Loan) -> DomainEvent:
        # Events reach every WebSocket client: the reference, never personal fields.
        data = {
            "id": loan.id,
            "asset_id": loan.asset_id,
            "asset_number": loan.asset_number,
            "reference": loan.reference,
            "destination_type": loan.destination_type,
            "destination_zone_id": loan.destination_zone_id,
            "due_back": loan.due_back.isoformat(),
            "status": loan.status,
        }
        return DomainEvent(
            type=type_, at=self.clock.now(), entity="loans", entity_id=loan.id, data=data
        )
