"""A register import's audit entries: hashed and staged before the write lock, chained
and copied into the trail under it.

The audit trail is a hash chain (``storage/audit.py``): each entry's hash covers its
content, its number and the hash of the entry before it. Only the last two depend on
the trail as it is when the import commits; hashing 50,000 entries' content and
encoding their JSON is seconds of work, and the import does it before it takes the
lock. Under the lock it numbers the entries after the trail's newest, links them (one
short hash each) and copies them in with one statement: what ``append_audit_rows``
does, split in two so that other writers do not wait for the slow half.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, cast

from sqlalchemy import (
    Column,
    Connection,
    Integer,
    MetaData,
    String,
    Table,
    insert,
    select,
)

from floki_core.storage.audit import (
    CONTENT_FIELDS,
    chain_hash,
    close_audit_chain,
    content_digest,
    reserve_audit_numbers,
)
from floki_core.storage.models import AuditRow

_AUDIT = cast(Table, AuditRow.__table__)
_STAGING = MetaData()
STAGED_AUDIT = Table(
    "floki_import_audit",
    _STAGING,
    Column("place", Integer, primary_key=True),  # 0, 1, 2, ... in the order to append
    *(Column(n, _AUDIT.c[n].type) for n in CONTENT_FIELDS),
    prefixes=["TEMPORARY"],
)
STAGED_LINKS = Table(
    "floki_import_audit_links",
    _STAGING,
    Column("place", Integer, primary_key=True),
    Column("seq", Integer, nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("entry_hash", String(64), nullable=False),
    prefixes=["TEMPORARY"],
)


def stage_audit(
    conn: Connection, entries: Sequence[Mapping[str, Any]], *, chunk: int | None, start: int = 0
) -> list[str]:
    """Stage ``entries`` (their places counted from ``start``); returns their content
    digests. In chunks of ``chunk`` rows, each its own transaction on the temporary
    table, or (``chunk`` None) in the caller's transaction."""
    rows = [{"place": start + i, **entry} for i, entry in enumerate(entries)]
    digests = [content_digest(entry) for entry in entries]
    if chunk is None:
        if rows:
            conn.execute(insert(STAGED_AUDIT), rows)
    else:
        for first in range(0, len(rows), chunk):
            with conn.begin():
                conn.execute(insert(STAGED_AUDIT), rows[first : first + chunk])
    return digests


def append_staged_audit(conn: Connection, digests: Sequence[str]) -> None:
    """Number, link and copy the staged entries into the trail, after its newest entry
    (in the caller's transaction, which holds the write lock)."""
    if not digests:
        return
    first, prev_hash = reserve_audit_numbers(conn, len(digests))
    links = []
    for place, digest in enumerate(digests):
        seq = first + place
        entry_hash = chain_hash(seq, prev_hash, digest)
        links.append({"place": place, "seq": seq, "prev_hash": prev_hash, "entry_hash": entry_hash})
        prev_hash = entry_hash
    conn.execute(insert(STAGED_LINKS), links)
    staged, linked = STAGED_AUDIT, STAGED_LINKS
    columns = [*CONTENT_FIELDS, "seq", "prev_hash", "entry_hash"]
    copied = (
        select(
            *(staged.c[n] for n in CONTENT_FIELDS),
            linked.c.seq,
            linked.c.prev_hash,
            linked.c.entry_hash,
        )
        .join_from(staged, linked, staged.c.place == linked.c.place)
        .order_by(staged.c.place)
    )
    conn.execute(insert(_AUDIT).from_select(columns, copied))
    close_audit_chain(conn, prev_hash)
