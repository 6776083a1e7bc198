"""What a loan keeps about people and places: the purge of opt-in personal fields, and
the zone-level view of where loaned equipment is."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from floki_core.storage.audit import write_audit
from floki_core.storage.models_loans import LoanContactRow, LoanRow
from floki_core.workflow.loan_records import PERSONAL_FIELDS, Loan

_PRECISE_KEYS = ("lat", "lon", "x", "y")


def purge_personal_data(session: Session, *, now: dt.datetime, after_days: int) -> list[int]:
    """Delete the personal fields of loans returned ``after_days`` ago or longer.

    Returns the ids of the loans purged. Each purge is audited with the names of the
    fields removed, never their values.
    """
    cutoff = now - dt.timedelta(days=after_days)
    due = session.execute(
        select(LoanRow, LoanContactRow)
        .join(LoanContactRow, LoanContactRow.loan_id == LoanRow.id)
        .where(LoanRow.returned_at.is_not(None), LoanRow.returned_at <= cutoff)
        .order_by(LoanRow.id)
    ).all()
    purged = []
    for loan, contact in due:
        fields = [f for f in PERSONAL_FIELDS if getattr(contact, f)]
        session.delete(contact)
        loan.personal_data_purged_at = now
        write_audit(
            session,
            at=now,
            actor="system",
            action="purge_personal",
            entity="loans",
            entity_id=loan.id,
            before={"personal_fields": fields},
            after={"personal_data_purged_at": now.isoformat()},
            detail=f"personal fields of loan {loan.reference} purged "
            f"{after_days} days after its return",
        )
        purged.append(loan.id)
    session.flush()
    return purged


def community_label(loan: Loan) -> str:
    return f"in community, loan {loan.reference}"


def loan_location_view(
    answer: dict[str, Any], loan: Loan | None, *, precise: bool = False
) -> dict[str, Any]:
    """The where-is answer as shown while the asset is on loan.

    Coordinates (a GPS fix at a patient's home) are withheld unless the trust chose
    ``precise_location``; the zone, when the fix fell in one of the trust's own zones
    (a community hub), stays, because those are places the trust named, not homes.
    """
    if loan is None or not loan.is_open:
        return answer
    view = dict(answer)
    off_site = bool(answer.get("off_site", answer.get("zone") is None))
    zone = answer.get("zone")
    view["on_loan"] = {
        "loan_id": loan.id,
        "reference": loan.reference,
        "destination_type": loan.destination_type,
        "due_back": loan.due_back.isoformat(),
        "status": loan.status,
    }
    if off_site or not isinstance(zone, dict):
        view["label"] = community_label(loan)
    else:
        view["label"] = f"{zone.get('name')}, on loan {loan.reference}"
    if precise:
        view["precise"] = True
        return view
    for key in _PRECISE_KEYS:
        if key in view:
            view[key] = None
    view["precise"] = False
    return view
