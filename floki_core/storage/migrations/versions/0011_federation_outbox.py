"""federation outbox: events kept for the trust hub, and the site's sequence

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-08 02:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "federation_outbox",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        sa.Column("coalesce_key", sa.String(length=80), nullable=True),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_federation_outbox")),
    )
    with op.batch_alter_table("federation_outbox", schema=None) as batch_op:
        batch_op.create_index(
            "ix_federation_outbox_coalesce", ["coalesce_key", "seq"], unique=False
        )
    op.create_table(
        "federation_sequence",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("last_seq", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_federation_sequence")),
    )


def downgrade() -> None:
    op.drop_table("federation_sequence")
    with op.batch_alter_table("federation_outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_federation_outbox_coalesce")
    op.drop_table("federation_outbox")
