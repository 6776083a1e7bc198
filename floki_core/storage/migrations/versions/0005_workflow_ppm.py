"""equipment states, PPM schedules and work orders

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25 11:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "asset_state_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("asset_id", sa.Integer(), nullable=False),
        sa.Column("from_state", sa.String(length=20), nullable=True),
        sa.Column("to_state", sa.String(length=20), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("source", sa.String(length=40), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["asset_id"],
            ["assets.id"],
            name=op.f("fk_asset_state_changes_asset_id_assets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_asset_state_changes")),
    )
    with op.batch_alter_table("asset_state_changes") as batch:
        batch.create_index("ix_asset_state_changes_asset_at", ["asset_id", "at"], unique=False)

    op.create_table(
        "state_suggestions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("asset_id", sa.Integer(), nullable=False),
        sa.Column("zone_id", sa.Integer(), nullable=True),
        sa.Column("zone_type", sa.String(length=40), nullable=False),
        sa.Column("from_state", sa.String(length=20), nullable=False),
        sa.Column("to_state", sa.String(length=20), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_by", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(
            ["asset_id"],
            ["assets.id"],
            name=op.f("fk_state_suggestions_asset_id_assets"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["zone_id"],
            ["zones.id"],
            name=op.f("fk_state_suggestions_zone_id_zones"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_state_suggestions")),
    )
    with op.batch_alter_table("state_suggestions") as batch:
        batch.create_index(
            "ix_state_suggestions_status_asset", ["status", "asset_id"], unique=False
        )

    op.create_table(
        "ppm_schedules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("class_id", sa.Integer(), nullable=True),
        sa.Column("asset_id", sa.Integer(), nullable=True),
        sa.Column("interval_days", sa.Integer(), nullable=True),
        sa.Column("tolerance_before_days", sa.Integer(), nullable=True),
        sa.Column("tolerance_after_days", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "(class_id IS NULL) <> (asset_id IS NULL)", name="ck_ppm_schedules_one_target"
        ),
        sa.ForeignKeyConstraint(
            ["asset_id"],
            ["assets.id"],
            name=op.f("fk_ppm_schedules_asset_id_assets"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["class_id"],
            ["asset_classes.id"],
            name=op.f("fk_ppm_schedules_class_id_asset_classes"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ppm_schedules")),
        sa.UniqueConstraint("asset_id", name=op.f("uq_ppm_schedules_asset_id")),
        sa.UniqueConstraint("class_id", name=op.f("uq_ppm_schedules_class_id")),
    )

    op.create_table(
        "work_orders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("asset_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("assigned_to", sa.Integer(), nullable=True),
        sa.Column("assigned_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("completed_by", sa.String(length=200), nullable=True),
        sa.Column("outcome", sa.String(length=20), nullable=True),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("next_due", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["asset_id"], ["assets.id"], name=op.f("fk_work_orders_asset_id_assets")
        ),
        sa.ForeignKeyConstraint(
            ["assigned_to"],
            ["users.id"],
            name=op.f("fk_work_orders_assigned_to_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_work_orders")),
    )
    with op.batch_alter_table("work_orders") as batch:
        batch.create_index("ix_work_orders_asset_created", ["asset_id", "created_at"], unique=False)
        batch.create_index(batch.f("ix_work_orders_assigned_to"), ["assigned_to"], unique=False)
        batch.create_index(batch.f("ix_work_orders_status"), ["status"], unique=False)

    op.create_table(
        "ppm_compliance_snapshots",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("dimension", sa.String(length=20), nullable=False),
        sa.Column("group_key", sa.String(length=200), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("in_date", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ppm_compliance_snapshots")),
        sa.UniqueConstraint(
            "day", "dimension", "group_key", name="uq_ppm_compliance_snapshots_day"
        ),
    )
    with op.batch_alter_table("ppm_compliance_snapshots") as batch:
        batch.create_index(batch.f("ix_ppm_compliance_snapshots_day"), ["day"], unique=False)


def downgrade() -> None:
    op.drop_table("ppm_compliance_snapshots")
    op.drop_table("work_orders")
    op.drop_table("ppm_schedules")
    op.drop_table("state_suggestions")
    op.drop_table("asset_state_changes")
