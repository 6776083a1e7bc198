"""tag batteries: the latest battery reading of each tag

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "tag_batteries",
        sa.Column("technology", sa.String(length=32), nullable=False),
        sa.Column("tag", sa.String(length=200), nullable=False),
        sa.Column("level", sa.Float(), nullable=True),
        sa.Column("millivolts", sa.Integer(), nullable=True),
        sa.Column("observed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("receiver", sa.String(length=200), nullable=True),
        sa.Column("low", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("low_since", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("technology", "tag", name=op.f("pk_tag_batteries")),
    )


def downgrade() -> None:
    op.drop_table("tag_batteries")
