"""audit hash chain; login failures per username and address

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 10:00:00

The audit trail's entries get their number, the previous entry's hash and their own
(see ``floki_core.storage.audit``); entries already written are chained here in the
order they were stored, the first one following the fixed genesis value.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from floki_core.storage.audit import GENESIS, chain_hash, content_digest
from floki_core.storage.models import UtcDateTime

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BATCH = 2000


def upgrade() -> None:
    with op.batch_alter_table("audit_entries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("seq", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("prev_hash", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("entry_hash", sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint(batch_op.f("uq_audit_entries_seq"), ["seq"])
    op.create_table(
        "audit_chain",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("entry_hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_chain")),
    )
    last, last_hash = _chain_existing_entries()
    op.get_bind().execute(
        sa.text("INSERT INTO audit_chain (id, seq, entry_hash) VALUES (1, :seq, :hash)"),
        {"seq": last, "hash": last_hash},
    )
    op.create_table(
        "login_failures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=100), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_failures")),
    )
    with op.batch_alter_table("login_failures", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_login_failures_at"), ["at"], unique=False)
        batch_op.create_index("ix_login_failures_pair", ["username", "source", "at"], unique=False)
        batch_op.create_index("ix_login_failures_source", ["source", "at"], unique=False)


def _chain_existing_entries() -> tuple[int, str]:
    """Chain the entries already in the trail, oldest first; returns the newest."""
    entries = sa.table(
        "audit_entries",
        sa.column("id", sa.Integer()),
        sa.column("at", UtcDateTime()),
        sa.column("actor", sa.String()),
        sa.column("action", sa.String()),
        sa.column("entity", sa.String()),
        sa.column("entity_id", sa.String()),
        sa.column("before", sa.JSON()),
        sa.column("after", sa.JSON()),
        sa.column("detail", sa.Text()),
        sa.column("seq", sa.Integer()),
        sa.column("prev_hash", sa.String()),
        sa.column("entry_hash", sa.String()),
    )
    bind = op.get_bind()
    seq, prev_hash, after_id = 0, GENESIS, 0
    fields = [c for c in entries.c if c.name not in ("seq", "prev_hash", "entry_hash")]
    stamp = (
        sa.update(entries)
        .where(entries.c.id == sa.bindparam("row_id"))
        .values(
            seq=sa.bindparam("row_seq"),
            prev_hash=sa.bindparam("row_prev"),
            entry_hash=sa.bindparam("row_hash"),
        )
    )
    while True:
        rows = bind.execute(
            sa.select(*fields).where(entries.c.id > after_id).order_by(entries.c.id).limit(_BATCH)
        ).all()
        if not rows:
            return seq, prev_hash
        updates = []
        for row in rows:
            seq += 1
            entry_hash = chain_hash(seq, prev_hash, content_digest(row._mapping))
            updates.append(
                {"row_id": row.id, "row_seq": seq, "row_prev": prev_hash, "row_hash": entry_hash}
            )
            prev_hash, after_id = entry_hash, row.id
        bind.execute(stamp, updates)


def downgrade() -> None:
    with op.batch_alter_table("login_failures", schema=None) as batch_op:
        batch_op.drop_index("ix_login_failures_source")
        batch_op.drop_index("ix_login_failures_pair")
        batch_op.drop_index(batch_op.f("ix_login_failures_at"))
    op.drop_table("login_failures")
    op.drop_table("audit_chain")
    with op.batch_alter_table("audit_entries", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_audit_entries_seq"), type_="unique")
        batch_op.drop_column("entry_hash")
        batch_op.drop_column("prev_hash")
        batch_op.drop_column("seq")
