"""SQLAlchemy 2.0 typed tables. Alembic migrations under ``migrations/`` mirror these."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UtcDateTime(TypeDecorator[dt.datetime]):
    """Aware UTC datetimes on every backend (SQLite would hand back naive ones)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; use aware UTC times")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(
        self, value: dt.datetime | None, dialect: Dialect
    ) -> dt.datetime | None:
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return value


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {dt.datetime: UtcDateTime, dict[str, Any]: JSON}


class SiteRow(Base):
    __tablename__ = "sites"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    code: Mapped[str | None] = mapped_column(String(50))
    timezone: Mapped[str] = mapped_column(String(64), default="Europe/London")


class BuildingRow(Base):
    __tablename__ = "buildings"
    __table_args__ = (UniqueConstraint("site_id", "name", name="uq_buildings_site_name"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))


class FloorRow(Base):
    __tablename__ = "floors"
    __table_args__ = (UniqueConstraint("building_id", "name", name="uq_floors_building_name"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    building_id: Mapped[int] = mapped_column(ForeignKey("buildings.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    level: Mapped[int] = mapped_column(Integer, default=0)
    metres_per_pixel: Mapped[float | None] = mapped_column(Float)
    plan_file: Mapped[str | None] = mapped_column(String(80))
    plan_width_px: Mapped[int | None] = mapped_column(Integer)
    plan_height_px: Mapped[int | None] = mapped_column(Integer)


class ZoneRow(Base):
    __tablename__ = "zones"
    __table_args__ = (UniqueConstraint("site_id", "name", name="uq_zones_site_name"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), index=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("zones.id"), index=True)
    floor_id: Mapped[int | None] = mapped_column(ForeignKey("floors.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    type: Mapped[str] = mapped_column(String(40), default="room")
    polygon: Mapped[list[list[float]] | None] = mapped_column(JSON)
    geo_polygon: Mapped[list[list[float]] | None] = mapped_column(JSON)
    gln: Mapped[str | None] = mapped_column(String(13), unique=True)


class ReceiverRow(Base):
    __tablename__ = "receivers"
    __table_args__ = (
        UniqueConstraint("technology", "identifier", name="uq_receivers_technology_identifier"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    technology: Mapped[str] = mapped_column(String(32))
    identifier: Mapped[str] = mapped_column(String(200))
    zone_id: Mapped[int] = mapped_column(ForeignKey("zones.id"), index=True)
    x: Mapped[float | None] = mapped_column(Float)
    y: Mapped[float | None] = mapped_column(Float)
    notes: Mapped[str] = mapped_column(Text, default="")
    rssi_offset: Mapped[float] = mapped_column(Float, default=0.0, server_default="0")


class AssetClassRow(Base):
    __tablename__ = "asset_classes"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    category: Mapped[str] = mapped_column(String(200), default="")
    make: Mapped[str] = mapped_column(String(200), default="")
    model: Mapped[str] = mapped_column(String(200), default="")
    ppm_interval_days: Mapped[int | None] = mapped_column(Integer)
    criticality: Mapped[str] = mapped_column(String(10), default="medium")


class AssetRow(Base):
    __tablename__ = "assets"
    id: Mapped[int] = mapped_column(primary_key=True)
    asset_number: Mapped[str] = mapped_column(String(64), unique=True)
    description: Mapped[str] = mapped_column(String(500), default="")
    serial: Mapped[str] = mapped_column(String(200), default="")
    giai: Mapped[str | None] = mapped_column(String(30), unique=True)
    class_id: Mapped[int | None] = mapped_column(ForeignKey("asset_classes.id"), index=True)
    home_zone_id: Mapped[int | None] = mapped_column(ForeignKey("zones.id"), index=True)
    department: Mapped[str] = mapped_column(String(200), default="")
    state: Mapped[str] = mapped_column(String(20), default="available", index=True)
    last_ppm: Mapped[dt.date | None] = mapped_column(Date)
    next_ppm_due: Mapped[dt.date | None] = mapped_column(Date, index=True)
    created_at: Mapped[dt.datetime]
    updated_at: Mapped[dt.datetime]


class IdentifierRow(Base):
    __tablename__ = "identifiers"
    __table_args__ = (
        UniqueConstraint("technology", "value", name="uq_identifiers_technology_value"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    asset_id: Mapped[int] = mapped_column(ForeignKey("assets.id"), index=True)
    technology: Mapped[str] = mapped_column(String(32))
    value: Mapped[str] = mapped_column(String(200))


class UserRow(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(100), unique=True)
    display_name: Mapped[str] = mapped_column(String(200), default="")
    role: Mapped[str] = mapped_column(String(20))
    password_hash: Mapped[str | None] = mapped_column(String(200))
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime]


class TokenRow(Base):
    __tablename__ = "tokens"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(10))
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime]
    expires_at: Mapped[dt.datetime | None]
    revoked_at: Mapped[dt.datetime | None]
    last_used_at: Mapped[dt.datetime | None]


class AuditRow(Base):
    __tablename__ = "audit_entries"
    __table_args__ = (Index("ix_audit_entries_entity", "entity", "entity_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(index=True)
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(40))
    entity: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[str | None] = mapped_column(String(64))
    before: Mapped[dict[str, Any] | None]
    after: Mapped[dict[str, Any] | None]
    detail: Mapped[str] = mapped_column(Text, default="")
    # The hash chain (storage/audit.py): the entry's place in the trail, the hash of the
    # entry before it and its own. Empty only in a row written around the audit trail.
    seq: Mapped[int | None] = mapped_column(Integer, unique=True)
    prev_hash: Mapped[str | None] = mapped_column(String(64))
    entry_hash: Mapped[str | None] = mapped_column(String(64))


class AuditChainRow(Base):
    """The newest entry of the audit chain (one row, id 1). Appending updates it first,
    which makes writers of audit entries take turns on every backend, and lets a check
    see entries deleted from the end of the trail."""

    __tablename__ = "audit_chain"
    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(Integer)
    entry_hash: Mapped[str] = mapped_column(String(64))


class LoginFailureRow(Base):
    """One refused login, kept while it can still count towards a lockout or a limit."""

    __tablename__ = "login_failures"
    __table_args__ = (
        Index("ix_login_failures_pair", "username", "source", "at"),
        Index("ix_login_failures_source", "source", "at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(100))
    source: Mapped[str] = mapped_column(String(64))  # the client's address
    at: Mapped[dt.datetime] = mapped_column(index=True)


class AssetLocationRow(Base):
    """Where each asset is now: one row per located asset, upserted in batches."""

    __tablename__ = "asset_locations"
    asset_id: Mapped[int] = mapped_column(
        ForeignKey("assets.id", ondelete="CASCADE"), primary_key=True
    )
    zone_id: Mapped[int | None] = mapped_column(ForeignKey("zones.id"), index=True)
    since: Mapped[dt.datetime]
    last_seen: Mapped[dt.datetime]
    confidence: Mapped[float] = mapped_column(Float)
    method: Mapped[str] = mapped_column(String(32))
    technology: Mapped[str] = mapped_column(String(32))
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    x: Mapped[float | None] = mapped_column(Float)
    y: Mapped[float | None] = mapped_column(Float)
    evidence: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)


class TransitionRow(Base):
    """An asset's stay in one zone (zone None = off site); left_at None while it is there."""

    __tablename__ = "location_transitions"
    __table_args__ = (
        Index("ix_location_transitions_asset_entered", "asset_id", "entered_at"),
        Index("ix_location_transitions_zone_entered", "zone_id", "entered_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    asset_id: Mapped[int] = mapped_column(ForeignKey("assets.id", ondelete="CASCADE"))
    zone_id: Mapped[int | None] = mapped_column(ForeignKey("zones.id"))
    entered_at: Mapped[dt.datetime]
    left_at: Mapped[dt.datetime | None]
    method: Mapped[str] = mapped_column(String(32))
    confidence: Mapped[float] = mapped_column(Float)
    # A stay learned from evidence that arrived after newer locations were known (a
    # phone's queued scan, a tracker's buffered fixes): history, never the current place.
    reported_late: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class TagBatteryRow(Base):
    """The latest battery reading of each tag (bound or not), upserted in batches."""

    __tablename__ = "tag_batteries"
    technology: Mapped[str] = mapped_column(String(32), primary_key=True)
    tag: Mapped[str] = mapped_column(String(200), primary_key=True)
    level: Mapped[float | None] = mapped_column(Float)  # percent, 0-100
    millivolts: Mapped[int | None] = mapped_column(Integer)
    observed_at: Mapped[dt.datetime]
    receiver: Mapped[str | None] = mapped_column(String(200))
    # Whether the tag needs a battery, kept so a restart does not announce it again.
    low: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    low_since: Mapped[dt.datetime | None]
