"""Tables of the workflow engine: community loans.

A loan names its destination by the trust's own reference, never by a person. The
optional personal fields (when a trust switches them on) live in a table of their own,
so purging them is one delete and no other query can carry them by accident.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Date, Float, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from floki_core.storage.models import Base


class LoanRow(Base):
    __tablename__ = "loans"
    __table_args__ = (
        Index("ix_loans_asset_loaned", "asset_id", "loaned_at"),
        Index("ix_loans_open_due", "returned_at", "due_back"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    asset_id: Mapped[int] = mapped_column(ForeignKey("assets.id"))
    reference: Mapped[str] = mapped_column(String(64), index=True)
    destination_type: Mapped[str] = mapped_column(String(20))
    destination_zone_id: Mapped[int | None] = mapped_column(ForeignKey("zones.id"))
    loaned_at: Mapped[dt.datetime]
    due_back: Mapped[dt.date] = mapped_column(Date)
    returned_at: Mapped[dt.datetime | None]
    returned_by: Mapped[str | None] = mapped_column(String(200))
    return_state: Mapped[str | None] = mapped_column(String(20))
    created_by: Mapped[str] = mapped_column(String(200))
    notes: Mapped[str] = mapped_column(Text, default="")
    # Set by the sweep that first found the loan overdue, so it is announced once.
    overdue_since: Mapped[dt.datetime | None]
    personal_data_purged_at: Mapped[dt.datetime | None]


class LoanContactRow(Base):
    """Personal details of a loan's recipient: opt-in, and purged after the return."""

    __tablename__ = "loan_contacts"
    loan_id: Mapped[int] = mapped_column(
        ForeignKey("loans.id", ondelete="CASCADE"), primary_key=True
    )
    contact_name: Mapped[str | None] = mapped_column(String(200))
    address: Mapped[str | None] = mapped_column(Text)
    phone: Mapped[str | None] = mapped_column(String(40))
    recorded_at: Mapped[dt.datetime]


class LoanRawFixRow(Base):
    """A loaned asset's position as its tracker gave it: it may be a patient's home, so
    it is kept apart from the location tables (which hold the zone only), read only by a
    recall (audited), and purged after ``[workflow.loans] raw_fix_retention_days``."""

    __tablename__ = "loan_raw_fixes"
    __table_args__ = (
        Index("ix_loan_raw_fixes_loan_observed", "loan_id", "observed_at"),
        Index("ix_loan_raw_fixes_observed", "observed_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    loan_id: Mapped[int] = mapped_column(ForeignKey("loans.id", ondelete="CASCADE"))
    asset_id: Mapped[int]
    technology: Mapped[str] = mapped_column(String(32))
    tag: Mapped[str] = mapped_column(String(200))
    observed_at: Mapped[dt.datetime]
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    accuracy_m: Mapped[float | None] = mapped_column(Float)
    stored_at: Mapped[dt.datetime]


class LoanRecallRow(Base):
    """Someone was shown a loaned asset's precise position: who, when, why, and the time
    of the fix shown (never the position itself: the audit trail must not hold it)."""

    __tablename__ = "loan_recalls"
    __table_args__ = (Index("ix_loan_recalls_loan", "loan_id", "recalled_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    loan_id: Mapped[int] = mapped_column(ForeignKey("loans.id", ondelete="CASCADE"))
    recalled_at: Mapped[dt.datetime]
    recalled_by: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(Text)
    fix_observed_at: Mapped[dt.datetime]


__all__ = ["Base", "LoanContactRow", "LoanRawFixRow", "LoanRecallRow", "LoanRow"]
