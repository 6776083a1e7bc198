"""community loans

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-25 11:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "loans",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("asset_id", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(length=64), nullable=False),
        sa.Column("destination_type", sa.String(length=20), nullable=False),
        sa.Column("destination_zone_id", sa.Integer(), nullable=True),
        sa.Column("loaned_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_back", sa.Date(), nullable=False),
        sa.Column("returned_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("returned_by", sa.String(length=200), nullable=True),
        sa.Column("return_state", sa.String(length=20), nullable=True),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("overdue_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("personal_data_purged_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["asset_id"], ["assets.id"], name=op.f("fk_loans_asset_id_assets")),
        sa.ForeignKeyConstraint(
            ["destination_zone_id"], ["zones.id"], name=op.f("fk_loans_destination_zone_id_zones")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_loans")),
    )
    with op.batch_alter_table("loans", schema=None) as batch_op:
        batch_op.create_index("ix_loans_asset_loaned", ["asset_id", "loaned_at"], unique=False)
        batch_op.create_index("ix_loans_open_due", ["returned_at", "due_back"], unique=False)
        batch_op.create_index(batch_op.f("ix_loans_reference"), ["reference"], unique=False)

    op.create_table(
        "loan_contacts",
        sa.Column("loan_id", sa.Integer(), nullable=False),
        sa.Column("contact_name", sa.String(length=200), nullable=True),
        sa.Column("address", sa.Text(), nullable=True),
        sa.Column("phone", sa.String(length=40), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["loan_id"],
            ["loans.id"],
            name=op.f("fk_loan_contacts_loan_id_loans"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("loan_id", name=op.f("pk_loan_contacts")),
    )


def downgrade() -> None:
    op.drop_table("loan_contacts")
    with op.batch_alter_table("loans", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_loans_reference"))
        batch_op.drop_index("ix_loans_open_due")
        batch_op.drop_index("ix_loans_asset_loaned")
    op.drop_table("loans")
