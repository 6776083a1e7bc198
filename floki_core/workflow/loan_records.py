"""Community loans at the storage boundary: what a client sends, what it gets back, and
the session functions that check, write and audit loans in one transaction."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from floki_core.domain import Principal, to_plain
from floki_core.errors import Conflict, Invalid, NotFound
from floki_core.schemas import NO_NUL, Id, Input, Text200, check_dates
from floki_core.storage.audit import write_audit
from floki_core.storage.models import AssetRow, ZoneRow
from floki_core.storage.models_loans import LoanContactRow, LoanRow

# The trust's own loan or episode reference: a code, not free text, so a name typed
# into it by mistake ("John Smith") is refused rather than stored.
Reference = Annotated[str, Meta(pattern=r"^[A-Za-z0-9][A-Za-z0-9._/#:-]{0,63}$")]
DestinationType = Literal["home", "hospice", "community_hub", "virtual_ward", "other"]
ReturnState = Literal["dirty", "available", "faulty"]
LoanStatus = Literal["open", "overdue", "returned"]
LoanNotes = Annotated[str, Meta(max_length=1000, pattern=NO_NUL)]
Address = Annotated[str, Meta(max_length=500, pattern=NO_NUL)]
Phone = Annotated[str, Meta(pattern=r"^[0-9+() -]{3,40}$")]

PERSONAL_FIELDS = ("contact_name", "address", "phone")


class LoanPersonal(Input, kw_only=True):
    """The recipient's details, accepted only where ``personal_fields`` is switched on."""

    contact_name: Text200 | None = None
    address: Address | None = None
    phone: Phone | None = None


class LoanCreate(Input, kw_only=True):
    asset_id: Id
    reference: Reference
    destination_type: DestinationType
    destination_zone_id: Id | None = None
    due_back: dt.date
    notes: LoanNotes = ""
    personal: LoanPersonal | None = None

    def __post_init__(self) -> None:
        check_dates(self, "due_back")


class LoanReturn(Input, kw_only=True):
    # Equipment back from a home or hospice is decontaminated before anyone else uses it.
    state: ReturnState = "dirty"
    notes: LoanNotes = ""


class PositionRecallRequest(Input, kw_only=True):
    # Why the precise position must be seen (e.g. "overdue 3 weeks, collection booked
    # for Tuesday"): recorded in the loan's history and the audit trail.
    reason: Annotated[str, Meta(min_length=10, max_length=500, pattern=NO_NUL)]


class Loan(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    asset_id: int
    asset_number: str
    # Shown so a loan that outlasts the asset's PPM date is seen before it is due.
    asset_next_ppm_due: dt.date | None
    reference: str
    destination_type: str
    destination_zone_id: int | None
    destination_zone: str | None
    loaned_at: dt.datetime
    due_back: dt.date
    returned_at: dt.datetime | None
    returned_by: str | None
    return_state: str | None
    created_by: str
    notes: str
    overdue_since: dt.datetime | None
    personal_data_purged_at: dt.datetime | None
    has_personal_data: bool
    status: LoanStatus

    @property
    def is_open(self) -> bool:
        return self.returned_at is None


class LoanPersonalData(msgspec.Struct, frozen=True, kw_only=True):
    contact_name: str | None
    address: str | None
    phone: str | None
    recorded_at: dt.datetime


def status_of(row: LoanRow, today: dt.date) -> LoanStatus:
    if row.returned_at is not None:
        return "returned"
    return "overdue" if row.due_back < today else "open"


# A loan with its asset's number and PPM date, destination zone name and whether personal
# data is kept.
_LOANS = (
    select(
        LoanRow, AssetRow.asset_number, AssetRow.next_ppm_due, ZoneRow.name, LoanContactRow.loan_id
    )
    .join(AssetRow, AssetRow.id == LoanRow.asset_id)
    .outerjoin(ZoneRow, ZoneRow.id == LoanRow.destination_zone_id)
    .outerjoin(LoanContactRow, LoanContactRow.loan_id == LoanRow.id)
)


def _record(found: Any, today: dt.date) -> Loan:
    row, asset_number, next_ppm_due, zone, contact = found
    return Loan(
        id=row.id,
        asset_id=row.asset_id,
        asset_number=asset_number,
        asset_next_ppm_due=next_ppm_due,
        reference=row.reference,
        destination_type=row.destination_type,
        destination_zone_id=row.destination_zone_id,
        destination_zone=zone,
        loaned_at=row.loaned_at,
        due_back=row.due_back,
        returned_at=row.returned_at,
        returned_by=row.returned_by,
        return_state=row.return_state,
        created_by=row.created_by,
        notes=row.notes,
        overdue_since=row.overdue_since,
        personal_data_purged_at=row.personal_data_purged_at,
        has_personal_data=contact is not None,
        status=status_of(row, today),
    )


def get_loan(session: Session, loan_id: int, today: dt.date) -> Loan:
    found = session.execute(_LOANS.where(LoanRow.id == loan_id)).first()
    if found is None:
        raise NotFound(f"loan {loan_id} not found")
    return _record(found, today)


def list_loans(
    session: Session,
    *,
    today: dt.date,
    status: LoanStatus | None = None,
    asset_id: int | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[Loan], int]:
    query = _LOANS
    order: tuple[Any, ...] = (LoanRow.loaned_at.desc(), LoanRow.id.desc())
    if asset_id is not None:
        query = query.where(LoanRow.asset_id == asset_id)
    if status == "returned":
        query = query.where(LoanRow.returned_at.is_not(None))
        order = (LoanRow.returned_at.desc(), LoanRow.id.desc())
    elif status is not None:
        query = query.where(LoanRow.returned_at.is_(None))
        order = (LoanRow.due_back, LoanRow.id)
        if status == "overdue":
            query = query.where(LoanRow.due_back < today)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.execute(query.order_by(*order).limit(limit).offset(offset))
    return [_record(r, today) for r in rows], total


def open_loans(session: Session, today: dt.date) -> list[Loan]:
    rows = session.execute(_LOANS.where(LoanRow.returned_at.is_(None)))
    return [_record(r, today) for r in rows]


def personal_data(session: Session, loan_ids: list[int]) -> dict[int, LoanPersonalData]:
    if not loan_ids:
        return {}
    rows = session.scalars(select(LoanContactRow).where(LoanContactRow.loan_id.in_(loan_ids)))
    return {
        r.loan_id: LoanPersonalData(
            contact_name=r.contact_name, address=r.address, phone=r.phone, recorded_at=r.recorded_at
        )
        for r in rows
    }


def check_loanable(
    session: Session, body: LoanCreate, today: dt.date, max_days: int
) -> tuple[str, str]:
    """Refuse a loan that must not happen; returns the asset's number and state.

    Whether the state allows a loan (not faulty, dirty, quarantined, condemned ...) is
    the state machine's to say, when the asset is moved to ``on_loan``."""
    asset = session.get(AssetRow, body.asset_id)
    if asset is None:
        raise NotFound(f"asset {body.asset_id} not found")
    if body.due_back < today:
        raise Invalid(f"due_back {body.due_back} is in the past")
    if body.due_back > today + dt.timedelta(days=max_days):
        raise Invalid(f"due_back is more than {max_days} days away")
    if (
        body.destination_zone_id is not None
        and session.get(ZoneRow, body.destination_zone_id) is None
    ):
        raise Invalid(f"destination_zone_id: zone {body.destination_zone_id} does not exist")
    open_loan = session.scalar(
        select(LoanRow.reference).where(
            LoanRow.asset_id == body.asset_id, LoanRow.returned_at.is_(None)
        )
    )
    if open_loan is not None:
        raise Conflict(f"asset {asset.asset_number} is already on loan ({open_loan})")
    if asset.next_ppm_due is not None and asset.next_ppm_due < today:
        raise Conflict(
            f"asset {asset.asset_number} is overdue for PPM (due {asset.next_ppm_due}); "
            "it cannot go out on loan until its PPM is done"
        )
    return asset.asset_number, asset.state


def insert_loan(
    session: Session,
    body: LoanCreate,
    *,
    actor: Principal,
    now: dt.datetime,
) -> Loan:
    check_open = select(LoanRow.id).where(
        LoanRow.asset_id == body.asset_id, LoanRow.returned_at.is_(None)
    )
    if session.scalar(check_open) is not None:  # another check-out won the race
        raise Conflict(f"asset {body.asset_id} is already on loan")
    row = LoanRow(
        asset_id=body.asset_id,
        reference=body.reference,
        destination_type=body.destination_type,
        destination_zone_id=body.destination_zone_id,
        loaned_at=now,
        due_back=body.due_back,
        created_by=actor.label,
        notes=body.notes,
    )
    session.add(row)
    session.flush()
    recorded: list[str] = []
    if body.personal is not None:
        fields = {f: getattr(body.personal, f) for f in PERSONAL_FIELDS}
        recorded = [f for f, v in fields.items() if v]
        if recorded:
            session.add(LoanContactRow(loan_id=row.id, recorded_at=now, **fields))
            session.flush()
    loan = get_loan(session, row.id, now.date())
    # The audit names which personal fields were recorded, never their values, so the
    # purge leaves no copy behind in the trail.
    write_audit(
        session,
        at=now,
        actor=actor.label,
        action="create",
        entity="loans",
        entity_id=row.id,
        after={**to_plain(loan), "personal_fields": recorded},
        detail=f"asset {loan.asset_number} loaned to {body.destination_type} ({body.reference})",
    )
    return loan


def mark_returned(
    session: Session,
    loan_id: int,
    body: LoanReturn,
    *,
    actor: Principal,
    now: dt.datetime,
) -> Loan:
    row = session.get(LoanRow, loan_id)
    if row is None:
        raise NotFound(f"loan {loan_id} not found")
    if row.returned_at is not None:
        raise Conflict(f"loan {loan_id} was already returned at {row.returned_at.isoformat()}")
    before = get_loan(session, loan_id, now.date())
    row.returned_at = now
    row.returned_by = actor.label
    row.return_state = body.state
    if body.notes:
        row.notes = f"{row.notes}\nReturned: {body.notes}".strip()
    session.flush()
    after = get_loan(session, loan_id, now.date())
    write_audit(
        session,
        at=now,
        actor=actor.label,
        action="return",
        entity="loans",
        entity_id=loan_id,
        before=to_plain(before),
        after=to_plain(after),
        detail=f"asset {after.asset_number} returned from loan {after.reference}",
    )
    return after


def mark_overdue(session: Session, now: dt.datetime) -> list[Loan]:
    """Open loans past their due date not yet announced; marks them announced."""
    rows = session.scalars(
        select(LoanRow).where(
            LoanRow.returned_at.is_(None),
            LoanRow.due_back < now.date(),
            LoanRow.overdue_since.is_(None),
        )
    ).all()
    found = []
    for row in rows:
        row.overdue_since = now
        session.flush()
        loan = get_loan(session, row.id, now.date())
        write_audit(
            session,
            at=now,
            actor="system",
            action="overdue",
            entity="loans",
            entity_id=row.id,
            after={"overdue_since": now.isoformat(), "due_back": row.due_back.isoformat()},
            detail=f"loan {row.reference} of asset {loan.asset_number} is overdue",
        )
        found.append(loan)
    return found
