"""loaned assets' raw positions, kept apart and purged, and their audited recalls

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "loan_raw_fixes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("loan_id", sa.Integer(), nullable=False),
        sa.Column("asset_id", sa.Integer(), nullable=False),
        sa.Column("technology", sa.String(length=32), nullable=False),
        sa.Column("tag", sa.String(length=200), nullable=False),
        sa.Column("observed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("accuracy_m", sa.Float(), nullable=True),
        sa.Column("stored_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["loan_id"],
            ["loans.id"],
            name=op.f("fk_loan_raw_fixes_loan_id_loans"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_loan_raw_fixes")),
    )
    with op.batch_alter_table("loan_raw_fixes", schema=None) as batch_op:
        batch_op.create_index(
            "ix_loan_raw_fixes_loan_observed", ["loan_id", "observed_at"], unique=False
        )
        batch_op.create_index("ix_loan_raw_fixes_observed", ["observed_at"], unique=False)

    op.create_table(
        "loan_recalls",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("loan_id", sa.Integer(), nullable=False),
        sa.Column("recalled_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recalled_by", sa.String(length=200), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("fix_observed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["loan_id"],
            ["loans.id"],
            name=op.f("fk_loan_recalls_loan_id_loans"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_loan_recalls")),
    )
    with op.batch_alter_table("loan_recalls", schema=None) as batch_op:
        batch_op.create_index("ix_loan_recalls_loan", ["loan_id", "recalled_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("loan_recalls", schema=None) as batch_op:
        batch_op.drop_index("ix_loan_recalls_loan")
    op.drop_table("loan_recalls")
    with op.batch_alter_table("loan_raw_fixes", schema=None) as batch_op:
        batch_op.drop_index("ix_loan_raw_fixes_observed")
        batch_op.drop_index("ix_loan_raw_fixes_loan_observed")
    op.drop_table("loan_raw_fixes")
