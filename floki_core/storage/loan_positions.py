"""Loaned assets' raw positions: kept apart from the location tables, read only by an
audited recall, purged after the retention period.

While an asset is on a community loan, the location tables hold its zone only ("in
community, loan L-123"): its tracker's fix may be a patient's home. The fixes themselves
are kept here, so an engineer who must collect an overdue item can be shown the last one,
with a reason that is recorded and audited, and nobody else can."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import msgspec
from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from floki_core.errors import Conflict, NotFound
from floki_core.storage.audit import write_audit
from floki_core.storage.models_loans import LoanRawFixRow, LoanRecallRow, LoanRow

__all__ = [
    "PositionRecall",
    "RecallEntry",
    "Recalls",
    "list_recalls",
    "purge_raw_fixes",
    "recall_position",
    "write_raw_fixes",
]


class PositionRecall(msgspec.Struct, frozen=True, kw_only=True):
    """The last position kept for a loan, as shown to the one who asked, and why."""

    loan_id: int
    asset_id: int
    technology: str
    tag: str
    lat: float
    lon: float
    accuracy_m: float | None
    observed_at: dt.datetime
    recalled_at: dt.datetime
    recalled_by: str
    reason: str


class RecallEntry(msgspec.Struct, frozen=True, kw_only=True):
    """One recall in a loan's history: who, when, why, and the fix's time (no position)."""

    id: int
    loan_id: int
    recalled_at: dt.datetime
    recalled_by: str
    reason: str
    fix_observed_at: dt.datetime


class Recalls(msgspec.Struct, frozen=True, kw_only=True):
    items: list[RecallEntry]


def write_raw_fixes(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """Keep the fixes of loaned assets (``loan_id``, ``asset_id``, ``technology``, ``tag``,
    ``observed_at``, ``lat``, ``lon``, ``accuracy_m``, ``stored_at``)."""
    if rows:
        session.execute(insert(LoanRawFixRow), list(rows))


def purge_raw_fixes(session: Session, *, now: dt.datetime, after_days: int) -> int:
    """Delete the fixes taken ``after_days`` ago or longer; returns how many went.
    Audited as a count: the positions themselves never reach the audit trail."""
    cutoff = now - dt.timedelta(days=after_days)
    result = session.execute(delete(LoanRawFixRow).where(LoanRawFixRow.observed_at <= cutoff))
    gone = int(getattr(result, "rowcount", 0) or 0)
    if gone:
        write_audit(
            session,
            at=now,
            actor="system",
            action="purge",
            entity="loan_raw_fixes",
            detail=f"{gone} raw positions of loaned assets taken before "
            f"{cutoff.isoformat()} deleted (kept {after_days} days)",
        )
    return gone


def recall_position(
    session: Session, loan_id: int, *, reason: str, actor: str, now: dt.datetime
) -> PositionRecall:
    """The loan's last kept fix, with the recall recorded in the loan's history and the
    audit trail (who, when, why; never the position)."""
    loan = session.get(LoanRow, loan_id)
    if loan is None:
        raise NotFound(f"no loan {loan_id}")
    if loan.returned_at is not None:
        raise Conflict(
            f"loan {loan.reference} was returned: the positions of a returned loan are not shown"
        )
    fix = session.scalars(
        select(LoanRawFixRow)
        .where(LoanRawFixRow.loan_id == loan_id)
        .order_by(LoanRawFixRow.observed_at.desc(), LoanRawFixRow.id.desc())
        .limit(1)
    ).first()
    if fix is None:
        raise NotFound(
            f"no position is kept for loan {loan.reference}: its asset's tracker has given "
            "none while on loan, or they were older than the retention period and purged"
        )
    session.add(
        LoanRecallRow(
            loan_id=loan_id,
            recalled_at=now,
            recalled_by=actor,
            reason=reason,
            fix_observed_at=fix.observed_at,
        )
    )
    write_audit(
        session,
        at=now,
        actor=actor,
        action="recall_position",
        entity="loans",
        entity_id=loan_id,
        after={"fix_observed_at": fix.observed_at.isoformat(), "reason": reason},
        detail=f"precise position of loan {loan.reference} shown: {reason}",
    )
    return PositionRecall(
        loan_id=loan_id,
        asset_id=fix.asset_id,
        technology=fix.technology,
        tag=fix.tag,
        lat=fix.lat,
        lon=fix.lon,
        accuracy_m=fix.accuracy_m,
        observed_at=fix.observed_at,
        recalled_at=now,
        recalled_by=actor,
        reason=reason,
    )


def list_recalls(session: Session, loan_id: int) -> list[RecallEntry]:
    if session.get(LoanRow, loan_id) is None:
        raise NotFound(f"no loan {loan_id}")
    rows = session.scalars(
        select(LoanRecallRow)
        .where(LoanRecallRow.loan_id == loan_id)
        .order_by(LoanRecallRow.recalled_at.desc(), LoanRecallRow.id.desc())
    )
    return [
        RecallEntry(
            id=r.id,
            loan_id=r.loan_id,
            recalled_at=r.recalled_at,
            recalled_by=r.recalled_by,
            reason=r.reason,
            fix_observed_at=r.fix_observed_at,
        )
        for r in rows
    ]
