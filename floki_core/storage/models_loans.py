"""Tables of the workflow engine: community loans.

A loan names its destination by the trust's own reference, never by a person. The
optional personal fields (when a trust switches them on) live in a table of their own,
so purging them is one delete and no other query can carry them by accident.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Date, ForeignKey, Index, String, Text
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


__all__ = ["Base", "LoanContactRow", "LoanRow"]
