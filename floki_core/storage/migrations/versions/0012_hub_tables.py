"""trust hub: sites' applied sequences, event history, where each asset is now

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-08 03:00:00

Made on every backend so models and migrations agree everywhere; only a hub ([hub],
PostgreSQL only) writes them. On PostgreSQL ``hub_events`` is partitioned by month of
``occurred_at``; its partitions live in the ``hub_history`` schema and are made by the hub
as events arrive (floki_core/hub/history.py). ``data`` is JSONB on PostgreSQL.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "hub_sites",
        sa.Column("site", sa.String(length=64), nullable=False),
        sa.Column("applied_seq", sa.BigInteger(), nullable=False),
        sa.Column("events_applied", sa.BigInteger(), nullable=False),
        sa.Column("duplicates_skipped", sa.BigInteger(), nullable=False),
        sa.Column("last_event_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_applied_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("site", name=op.f("pk_hub_sites")),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE SCHEMA IF NOT EXISTS hub_history")
        op.execute(
            "CREATE TABLE hub_events ("
            " site VARCHAR(64) NOT NULL,"
            " seq BIGINT NOT NULL,"
            " type VARCHAR(100) NOT NULL,"
            " occurred_at TIMESTAMP WITH TIME ZONE NOT NULL,"
            " received_at TIMESTAMP WITH TIME ZONE NOT NULL,"
            " entity VARCHAR(100),"
            " entity_id BIGINT,"
            " data JSONB NOT NULL,"
            " CONSTRAINT pk_hub_events PRIMARY KEY (site, seq, occurred_at)"
            ") PARTITION BY RANGE (occurred_at)"
        )
    else:
        op.create_table(
            "hub_events",
            sa.Column("site", sa.String(length=64), nullable=False),
            sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
            sa.Column("type", sa.String(length=100), nullable=False),
            sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("entity", sa.String(length=100), nullable=True),
            sa.Column("entity_id", sa.BigInteger(), nullable=True),
            sa.Column(
                "data", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False
            ),
            sa.PrimaryKeyConstraint("site", "seq", "occurred_at", name=op.f("pk_hub_events")),
        )
    op.create_index("ix_hub_events_occurred", "hub_events", ["occurred_at"], unique=False)
    op.create_table(
        "hub_assets",
        sa.Column("site", sa.String(length=64), nullable=False),
        sa.Column("asset_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("asset_number", sa.String(length=200), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("zone_id", sa.Integer(), nullable=True),
        sa.Column("zone", sa.String(length=200), nullable=True),
        sa.Column("located_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("location_seq", sa.BigInteger(), nullable=True),
        sa.Column("record_seq", sa.BigInteger(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("site", "asset_id", name=op.f("pk_hub_assets")),
    )


def downgrade() -> None:
    op.drop_table("hub_assets")
    op.drop_index("ix_hub_events_occurred", table_name="hub_events")
    op.drop_table("hub_events")  # its partitions with it
    op.drop_table("hub_sites")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP SCHEMA IF EXISTS hub_history CASCADE")
