"""What a plugin may do with an asset's workflow, as the API does it: state changes held
to the state table, loans out and back, PPM work orders, and how a state is shown.

``WorkflowActions`` is built by the appliance from the workflow's own services and
handed to each plugin as ``PluginContext.workflow``; every call is the same call the
API's routes make, so a refusal (a move the table does not allow, a role too low, a
loan refused) carries the same error and reason, and every change is audited with its
actor and announced on the event bus.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import TYPE_CHECKING, Any, Protocol

import msgspec

from floki_core.domain import Asset, AssetState, Principal, Role

if TYPE_CHECKING:
    from floki_core.workflow.loan_records import Loan, LoanCreate, LoanReturn
    from floki_core.workflow.states_store import StateChange
    from floki_core.workflow.work_orders import WorkOrder, WorkOrderComplete, WorkOrderCreate

__all__ = ["PresentedState", "WorkflowActions", "state_labels"]


class PresentedState(msgspec.Struct, frozen=True, kw_only=True):
    """An asset's state as every list and page shows it."""

    state: str  # "ppm_overdue" where an available asset is past its PPM date
    recorded_state: str  # the state the register holds
    ppm_overdue: bool
    available: bool


def state_labels() -> dict[str, str]:
    """Each state's words for people (``"dirty"`` -> ``"Awaiting decontamination"``),
    the presented-only ``ppm_overdue`` included."""
    from floki_core.workflow.ppm_rules import PRESENTED_ONLY
    from floki_core.workflow.states_table import state_table

    return {state.name: state.label for state in state_table(PRESENTED_ONLY).states}


class _States(Protocol):
    async def change(
        self,
        asset_id: int,
        to_state: str,
        *,
        actor: Principal | None,
        source: str,
        reason: str = "",
    ) -> dict[str, Any]: ...

    async def history(
        self, asset_id: int, *, limit: int, offset: int
    ) -> tuple[list[StateChange], int]: ...


class _Loans(Protocol):
    async def create(self, body: LoanCreate, actor: Principal) -> Loan: ...

    async def return_loan(
        self, loan_id: int, body: LoanReturn, actor: Principal
    ) -> tuple[Loan, str | None]: ...

    def open_loan(self, asset_id: int) -> Loan | None: ...


class _WorkOrders(Protocol):
    async def listing(
        self,
        *,
        status: str | None,
        asset_id: int | None,
        assigned_to: int | None,
        limit: int,
        offset: int,
    ) -> tuple[list[WorkOrder], int]: ...

    async def create(self, body: WorkOrderCreate, actor: Principal) -> WorkOrder: ...

    async def cancel(self, order_id: int, reason: str, actor: Principal) -> WorkOrder: ...

    async def complete(
        self, order_id: int, body: WorkOrderComplete, actor: Principal
    ) -> WorkOrder: ...


class _PpmSettings(Protocol):
    timezone: str


class _Ppm(Protocol):
    @property
    def settings(self) -> _PpmSettings: ...

    @property
    def work_orders(self) -> _WorkOrders: ...

    def present(self, record: Any) -> dict[str, Any]: ...

    def presented(
        self,
        state: str,
        next_ppm_due: dt.date | None,
        *,
        asset_id: int | None = None,
        class_id: int | None = None,
        today: dt.date | None = None,
    ) -> str: ...


class WorkflowActions:
    """State changes, loans and work orders, through the workflow's services."""

    def __init__(self, states: _States, loans: _Loans, ppm: _Ppm) -> None:
        self._states = states
        self._loans = loans
        self._ppm = ppm

    # --- states ------------------------------------------------------------------

    async def change_state(
        self, asset_id: int, to_state: str, *, actor: Principal, source: str, reason: str = ""
    ) -> None:
        """Move an asset to ``to_state``, as ``POST /api/v1/assets/{id}/state`` does:
        ``Conflict`` if the state table has no such move, ``Forbidden`` if ``actor``'s role
        is too low for it, ``Invalid`` if it needs a reason and has none; ``source`` names
        where the change was made, in the asset's state history."""
        await self._states.change(asset_id, to_state, actor=actor, source=source, reason=reason)

    @staticmethod
    def allowed_moves(state: AssetState) -> dict[AssetState, Role]:
        """The states an asset in ``state`` may move to, each with the least role that
        may make the move."""
        from floki_core.workflow.states_table import allowed_moves

        return allowed_moves(state)

    async def state_history(self, asset_id: int, *, limit: int) -> list[StateChange]:
        """The asset's latest state changes, newest first."""
        changes, _ = await self._states.history(asset_id, limit=limit, offset=0)
        return changes

    def presented(self, asset: Asset) -> PresentedState:
        """The asset's state as shown: ``ppm_overdue`` when PPM is past due."""
        return msgspec.convert(self._ppm.present(asset), PresentedState)

    def presented_state(
        self,
        state: str,
        next_ppm_due: dt.date | None,
        *,
        asset_id: int | None = None,
        class_id: int | None = None,
    ) -> str:
        """As ``presented``, from a listing's fields."""
        return self._ppm.presented(state, next_ppm_due, asset_id=asset_id, class_id=class_id)

    @property
    def timezone(self) -> zoneinfo.ZoneInfo:
        """The department's time zone (``[workflow.ppm] timezone``), for dates shown."""
        return zoneinfo.ZoneInfo(self._ppm.settings.timezone)

    # --- loans ---------------------------------------------------------------------

    def open_loan(self, asset_id: int) -> Loan | None:
        return self._loans.open_loan(asset_id)

    async def lend(self, body: LoanCreate, actor: Principal) -> Loan:
        """Loan an asset out, as ``POST /api/v1/loans`` does."""
        return await self._loans.create(body, actor)

    async def return_loan(
        self, loan_id: int, body: LoanReturn, actor: Principal
    ) -> tuple[Loan, str | None]:
        """Record a return and set the asset's state; the loan and, when the state could
        not be changed, why (the return itself stands)."""
        return await self._loans.return_loan(loan_id, body, actor)

    # --- work orders -----------------------------------------------------------------

    async def open_work_orders(self, asset_id: int, *, limit: int = 50) -> list[WorkOrder]:
        orders, _ = await self._ppm.work_orders.listing(
            status="open", asset_id=asset_id, assigned_to=None, limit=limit, offset=0
        )
        return orders

    async def create_work_order(self, body: WorkOrderCreate, actor: Principal) -> WorkOrder:
        return await self._ppm.work_orders.create(body, actor)

    async def complete_work_order(
        self, order_id: int, body: WorkOrderComplete, actor: Principal
    ) -> WorkOrder:
        """Complete a work order; a PPM one records the PPM and its next due date."""
        return await self._ppm.work_orders.complete(order_id, body, actor)

    async def cancel_work_order(self, order_id: int, reason: str, actor: Principal) -> WorkOrder:
        return await self._ppm.work_orders.cancel(order_id, reason, actor)
