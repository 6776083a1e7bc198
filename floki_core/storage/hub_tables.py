"""The trust hub's tables (docs/hub.md): what each site has sent, kept in PostgreSQL.

- ``hub_sites``: per site, the highest ``seq`` applied, raised in the same transaction as
  the rows each event writes, so an event delivered again (after a crash between commit
  and acknowledgement, or sent again by its site) is recognised and skipped;
- ``hub_events``: the append-only history, one row per event, kept ``history_days``; on
  PostgreSQL partitioned by month of ``occurred_at`` (partitions in the ``hub_history``
  schema, made as events arrive, dropped whole once past ``history_days``), which is why
  ``occurred_at`` is part of its key;
- ``hub_assets``: where each site's assets are now, with the number and description the
  site's register events carried.

Made on every backend by the migration (so the models and the migrations agree
everywhere), used only on PostgreSQL: ``[hub]`` refuses SQLite.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, BigInteger, Index, Integer, String, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from floki_core.storage.models import Base

# JSONB on PostgreSQL (indexable, compact); plain JSON text elsewhere.
EVENT_DATA = JSON().with_variant(JSONB(), "postgresql")


class HubSiteRow(Base):
    __tablename__ = "hub_sites"
    site: Mapped[str] = mapped_column(String(64), primary_key=True)
    applied_seq: Mapped[int] = mapped_column(BigInteger)  # the highest seq applied
    events_applied: Mapped[int] = mapped_column(BigInteger)
    duplicates_skipped: Mapped[int] = mapped_column(BigInteger)
    last_event_at: Mapped[dt.datetime]  # when the last applied event happened at the site
    last_applied_at: Mapped[dt.datetime]  # when the hub applied it


class HubEventRow(Base):
    __tablename__ = "hub_events"
    __table_args__ = (Index("ix_hub_events_occurred", "occurred_at"),)
    site: Mapped[str] = mapped_column(String(64), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    type: Mapped[str] = mapped_column(String(100))
    occurred_at: Mapped[dt.datetime] = mapped_column(primary_key=True)  # the partition key
    received_at: Mapped[dt.datetime]
    entity: Mapped[str | None] = mapped_column(String(100))
    entity_id: Mapped[int | None] = mapped_column(BigInteger)
    data: Mapped[dict[str, Any]] = mapped_column(EVENT_DATA)


class HubAssetRow(Base):
    __tablename__ = "hub_assets"
    site: Mapped[str] = mapped_column(String(64), primary_key=True)
    asset_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    asset_number: Mapped[str | None] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    zone_id: Mapped[int | None] = mapped_column(Integer)
    zone: Mapped[str | None] = mapped_column(String(200))
    located_at: Mapped[dt.datetime | None]  # when the site saw it move there
    # The seq of the move and of the register record shown: an older one arriving late
    # (out of order after a stream leader change) does not replace them.
    location_seq: Mapped[int | None] = mapped_column(BigInteger)
    record_seq: Mapped[int | None] = mapped_column(BigInteger)
    updated_at: Mapped[dt.datetime]  # when the hub last changed this row
