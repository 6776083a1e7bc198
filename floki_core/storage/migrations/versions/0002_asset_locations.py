"""asset locations

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 08:28:31.039714
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "asset_locations",
        sa.Column("asset_id", sa.Integer(), nullable=False),
        sa.Column("zone_id", sa.Integer(), nullable=True),
        sa.Column("since", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.Column("method", sa.String(length=32), nullable=False),
        sa.Column("technology", sa.String(length=32), nullable=False),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("x", sa.Float(), nullable=True),
        sa.Column("y", sa.Float(), nullable=True),
        sa.Column("evidence", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(
            ["asset_id"],
            ["assets.id"],
            name=op.f("fk_asset_locations_asset_id_assets"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["zone_id"], ["zones.id"], name=op.f("fk_asset_locations_zone_id_zones")
        ),
        sa.PrimaryKeyConstraint("asset_id", name=op.f("pk_asset_locations")),
    )
    with op.batch_alter_table("asset_locations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_asset_locations_zone_id"), ["zone_id"], unique=False)

    op.create_table(
        "location_transitions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("asset_id", sa.Integer(), nullable=False),
        sa.Column("zone_id", sa.Integer(), nullable=True),
        sa.Column("entered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("left_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("method", sa.String(length=32), nullable=False),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["asset_id"],
            ["assets.id"],
            name=op.f("fk_location_transitions_asset_id_assets"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["zone_id"], ["zones.id"], name=op.f("fk_location_transitions_zone_id_zones")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_location_transitions")),
    )
    with op.batch_alter_table("location_transitions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_location_transitions_asset_entered", ["asset_id", "entered_at"], unique=False
        )
        batch_op.create_index(
            "ix_location_transitions_zone_entered", ["zone_id", "entered_at"], unique=False
        )

    with op.batch_alter_table("receivers", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("rssi_offset", sa.Float(), server_default="0", nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("receivers", schema=None) as batch_op:
        batch_op.drop_column("rssi_offset")

    with op.batch_alter_table("location_transitions", schema=None) as batch_op:
        batch_op.drop_index("ix_location_transitions_zone_entered")
        batch_op.drop_index("ix_location_transitions_asset_entered")

    op.drop_table("location_transitions")
    with op.batch_alter_table("asset_locations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_asset_locations_zone_id"))

    op.drop_table("asset_locations")
