"""late stays: history entries reported after newer locations were known

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 10:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("location_transitions") as batch:
        batch.add_column(
            sa.Column("reported_late", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("location_transitions") as batch:
        batch.drop_column("reported_late")
