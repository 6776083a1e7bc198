"""Tables of the workflow engine: equipment states, PPM schedules and work orders."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from floki_core.storage.models import Base


class StateChangeRow(Base):
    """One change of an asset's state; the asset's ``state`` column holds the latest."""

    __tablename__ = "asset_state_changes"
    __table_args__ = (Index("ix_asset_state_changes_asset_at", "asset_id", "at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    asset_id: Mapped[int] = mapped_column(ForeignKey("assets.id", ondelete="CASCADE"))
    from_state: Mapped[str | None] = mapped_column(String(20))
    to_state: Mapped[str] = mapped_column(String(20))
    at: Mapped[dt.datetime]
    actor: Mapped[str] = mapped_column(String(200))  # username, or "system"
    source: Mapped[str] = mapped_column(String(40))  # api, location, work_order, loan, ...
    reason: Mapped[str] = mapped_column(Text, default="")


class StateSuggestionRow(Base):
    """A state that location suggests, waiting for one person's confirmation."""

    __tablename__ = "state_suggestions"
    __table_args__ = (Index("ix_state_suggestions_status_asset", "status", "asset_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    asset_id: Mapped[int] = mapped_column(ForeignKey("assets.id", ondelete="CASCADE"))
    zone_id: Mapped[int | None] = mapped_column(ForeignKey("zones.id", ondelete="SET NULL"))
    zone_type: Mapped[str] = mapped_column(String(40))
    from_state: Mapped[str] = mapped_column(String(20))
    to_state: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[dt.datetime]
    status: Mapped[str] = mapped_column(String(12), default="open")
    resolved_at: Mapped[dt.datetime | None]
    resolved_by: Mapped[str | None] = mapped_column(String(200))


class PpmScheduleRow(Base):
    """A PPM schedule for one asset class or one asset (the asset's wins).

    A class's interval lives on ``asset_classes.ppm_interval_days`` (the CMMS import
    fills it); a class row here carries its tolerance window only.
    """

    __tablename__ = "ppm_schedules"
    __table_args__ = (
        CheckConstraint(
            "(class_id IS NULL) <> (asset_id IS NULL)", name="ck_ppm_schedules_one_target"
        ),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    class_id: Mapped[int | None] = mapped_column(
        ForeignKey("asset_classes.id", ondelete="CASCADE"), unique=True
    )
    asset_id: Mapped[int | None] = mapped_column(
        ForeignKey("assets.id", ondelete="CASCADE"), unique=True
    )
    interval_days: Mapped[int | None] = mapped_column(Integer)
    tolerance_before_days: Mapped[int | None] = mapped_column(Integer)
    tolerance_after_days: Mapped[int | None] = mapped_column(Integer)
    updated_at: Mapped[dt.datetime]


class WorkOrderRow(Base):
    """A maintenance job on one asset: raised, assigned, completed with an outcome.

    No cascade from assets: maintenance history must outlive a careless delete.
    """

    __tablename__ = "work_orders"
    __table_args__ = (Index("ix_work_orders_asset_created", "asset_id", "created_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    asset_id: Mapped[int] = mapped_column(ForeignKey("assets.id"))
    kind: Mapped[str] = mapped_column(String(20), default="ppm")
    status: Mapped[str] = mapped_column(String(12), default="open", index=True)
    summary: Mapped[str] = mapped_column(Text, default="")
    due_date: Mapped[dt.date | None] = mapped_column(Date)
    created_at: Mapped[dt.datetime]
    created_by: Mapped[str] = mapped_column(String(200))
    assigned_to: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    assigned_at: Mapped[dt.datetime | None]
    completed_at: Mapped[dt.datetime | None]
    completed_by: Mapped[str | None] = mapped_column(String(200))
    outcome: Mapped[str | None] = mapped_column(String(20))
    notes: Mapped[str] = mapped_column(Text, default="")
    next_due: Mapped[dt.date | None] = mapped_column(Date)


class ComplianceSnapshotRow(Base):
    """PPM compliance of one group on one day, written once a day for the trend."""

    __tablename__ = "ppm_compliance_snapshots"
    __table_args__ = (
        UniqueConstraint("day", "dimension", "group_key", name="uq_ppm_compliance_snapshots_day"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[dt.date] = mapped_column(Date, index=True)
    dimension: Mapped[str] = mapped_column(String(20))  # all, class, department, criticality
    group_key: Mapped[str] = mapped_column(String(200))
    total: Mapped[int] = mapped_column(Integer)
    in_date: Mapped[int] = mapped_column(Integer)


__all__ = [
    "Base",
    "ComplianceSnapshotRow",
    "PpmScheduleRow",
    "StateChangeRow",
    "StateSuggestionRow",
    "WorkOrderRow",
]
