"""The audit trail: who changed what, when, with the record before and after.

The trail is append-only in code and tamper-evident in the database: entries form a hash
chain. Each entry carries its number in the trail (``seq``, 1, 2, 3, ...), the hash of
the entry before it (``prev_hash``; the first entry's is ``GENESIS``) and its own hash
(``entry_hash``)::

    content    = sha256(canonical JSON of at, actor, action, entity, entity_id,
                        before, after, detail)
    entry_hash = sha256("<seq>\\n<prev_hash>\\n<content>")

An entry edited afterwards no longer matches its hash; one rewritten with a fresh hash is
no longer the one its successor names; a deleted one leaves a gap in the numbers; moved
ones come out of order. ``audit_chain_problems`` finds the first of these.

Appending first updates the one-row ``audit_chain`` table (the newest entry's number and
hash). That statement takes SQLite's write lock, or PostgreSQL's row lock, so writers
take turns from there to their commit: numbers follow the order entries are stored in,
and the chain never forks. It also lets a check see entries deleted from the end.

What a database cannot prove is where its own trail ends: whoever can write to it can
delete the newest entries and set the head row back (or delete the lot), leaving a
shorter chain that checks clean. So the head - the newest entry's number and hash,
``SEQ:HASH`` - is shown to be kept elsewhere (``floki-core check`` prints it, the
appliance logs it), and ``recorded_head_problems`` says whether a head recorded earlier
is still in the trail: an entry removed or rewritten since is found. In an initialised
data directory an empty trail is a problem by itself, since ``init`` writes entries.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, cast

from sqlalchemy import Connection, Table, func, insert, select, update
from sqlalchemy.orm import Session

from floki_core.domain import AuditEntry
from floki_core.storage.models import AuditChainRow, AuditRow

log = logging.getLogger(__name__)

GENESIS = "0" * 64  # the hash the first entry follows
_CHAIN = cast(Table, AuditChainRow.__table__)
_AUDIT = cast(Table, AuditRow.__table__)
CONTENT_FIELDS = ("at", "actor", "action", "entity", "entity_id", "before", "after", "detail")


class AuditContent(Protocol):
    """What an entry's hash covers (an ``AuditRow`` has these)."""

    @property
    def at(self) -> dt.datetime: ...
    @property
    def actor(self) -> str: ...
    @property
    def action(self) -> str: ...
    @property
    def entity(self) -> str: ...
    @property
    def entity_id(self) -> str | None: ...
    @property
    def before(self) -> dict[str, Any] | None: ...
    @property
    def after(self) -> dict[str, Any] | None: ...
    @property
    def detail(self) -> str: ...


def canonical(values: Mapping[str, Any]) -> bytes:
    """One byte string per entry, however the database hands its fields back: the fields
    in ``CONTENT_FIELDS`` order, keys sorted, the time in UTC to the microsecond (what
    both SQLite and PostgreSQL keep). The standard library's JSON, whose output does not
    change between versions, so a chain written today verifies in years."""
    at = values["at"].astimezone(dt.UTC).replace(tzinfo=None).isoformat(timespec="microseconds")
    plain = [at, *(values.get(name) for name in CONTENT_FIELDS[1:])]
    return json.dumps(plain, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def content_digest(entry: AuditContent | Mapping[str, Any]) -> str:
    values = entry if isinstance(entry, Mapping) else {n: getattr(entry, n) for n in CONTENT_FIELDS}
    return hashlib.sha256(canonical(values)).hexdigest()


def chain_hash(seq: int, prev_hash: str, content: str) -> str:
    return hashlib.sha256(f"{seq}\n{prev_hash}\n{content}".encode()).hexdigest()


def entry_values(
    *,
    at: dt.datetime,
    actor: str,
    action: str,
    entity: str,
    entity_id: object = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    detail: str = "",
) -> dict[str, Any]:
    """An entry's content as stored: ``entity_id`` as text."""
    return {
        "at": at,
        "actor": actor,
        "action": action,
        "entity": entity,
        "entity_id": None if entity_id is None else str(entity_id),
        "before": before,
        "after": after,
        "detail": detail,
    }


def reserve_audit_numbers(executor: Session | Connection, count: int) -> tuple[int, str]:
    """Reserve ``count`` numbers after the newest entry: (first number, hash before it).

    Holds the chain's lock until the caller's transaction ends, which must call
    ``close_audit_chain`` with the hash of the last entry it numbered."""
    found = executor.execute(
        update(_CHAIN)
        .where(_CHAIN.c.id == 1)
        .values(seq=_CHAIN.c.seq + count)
        .returning(_CHAIN.c.seq, _CHAIN.c.entry_hash)
    ).first()
    if found is None:
        # The migration that made the chain wrote this row: it was deleted. Writes go
        # on, on a new chain; the log (kept off the box) and 'check' say what happened.
        log.warning(
            "the audit chain's record of its newest entry was missing (deleted from the "
            "database); the audit chain starts again from its first number"
        )
        executor.execute(insert(_CHAIN).values(id=1, seq=count, entry_hash=GENESIS))
        return 1, GENESIS
    return int(found[0]) - count + 1, str(found[1])


def close_audit_chain(executor: Session | Connection, newest_hash: str) -> None:
    """Record the newest entry's hash on the chain's head row."""
    executor.execute(update(_CHAIN).where(_CHAIN.c.id == 1).values(entry_hash=newest_hash))


def _chain(rows: Sequence[dict[str, Any]], first: int, prev_hash: str) -> str:
    for offset, values in enumerate(rows):
        seq = first + offset
        values["seq"], values["prev_hash"] = seq, prev_hash
        values["entry_hash"] = prev_hash = chain_hash(seq, prev_hash, content_digest(values))
    return prev_hash


def write_audit(
    session: Session,
    *,
    at: dt.datetime,
    actor: str,
    action: str,
    entity: str,
    entity_id: object = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    detail: str = "",
) -> None:
    values = entry_values(
        at=at,
        actor=actor,
        action=action,
        entity=entity,
        entity_id=entity_id,
        before=before,
        after=after,
        detail=detail,
    )
    first, prev_hash = reserve_audit_numbers(session, 1)
    close_audit_chain(session, _chain([values], first, prev_hash))
    session.add(AuditRow(**values))


def append_audit_rows(executor: Session | Connection, rows: Sequence[Mapping[str, Any]]) -> None:
    """Append many entries at once (a register import): ``rows`` are mappings of the
    ``CONTENT_FIELDS``, written in the order given with one executemany."""
    if not rows:
        return
    chained = [
        entry_values(
            at=row["at"],
            actor=row["actor"],
            action=row["action"],
            entity=row["entity"],
            entity_id=row.get("entity_id"),
            before=row.get("before"),
            after=row.get("after"),
            detail=row.get("detail") or "",
        )
        for row in rows
    ]
    first, prev_hash = reserve_audit_numbers(executor, len(chained))
    newest = _chain(chained, first, prev_hash)
    executor.execute(insert(_AUDIT), chained)
    close_audit_chain(executor, newest)


def _entry_count(count: int) -> str:
    return f"{count} audit entr{'y' if count == 1 else 'ies'}"


def audit_chain_problems(session: Session, *, initialised: bool = False) -> list[str]:
    """What is wrong with the audit trail's hash chain: the first broken entry (its id and
    whether it was edited, deleted or moved), or entries missing from its end; [] if
    the trail is as it was written. ``initialised``: the database of a data directory
    ``init`` made, whose trail cannot be empty."""
    expected, prev_hash = 1, GENESIS
    prev_id: int | None = None
    query = select(_AUDIT).order_by(_AUDIT.c.id).execution_options(yield_per=2000)
    for row in session.execute(query):
        entry = row._mapping
        if row.seq is None or row.prev_hash is None or row.entry_hash is None:
            return [
                f"audit entry {row.id} carries no chain hash: it was written around the "
                "audit trail, not through it"
            ]
        if row.seq != expected:
            return [_out_of_sequence(session, row.id, row.seq, expected, prev_id)]
        if chain_hash(row.seq, row.prev_hash, content_digest(entry)) != row.entry_hash:
            return [
                f"audit entry {row.id} was edited after it was written: its contents no "
                "longer match its hash"
            ]
        if row.prev_hash != prev_hash:
            return [
                f"audit entry {row.id} does not follow audit entry {prev_id}: that entry "
                "was rewritten or replaced after it was written"
            ]
        expected, prev_hash, prev_id = expected + 1, row.entry_hash, row.id
    if expected == 1 and initialised:
        return [_empty_trail(session)]
    return _end_problems(session, expected - 1, prev_hash, prev_id)


def _empty_trail(session: Session) -> str:
    head = read_audit_head(session)
    if head is None:
        how = "and the chain's record of its newest entry is missing"
    elif head.seq > 0:
        how = f"though the chain's record says it held {_entry_count(head.seq)}"
    else:
        how = "and its chain's record was set back to the start"
    return (
        f"the audit trail is empty {how}, though 'floki-core init' writes its first "
        "entries: the trail was deleted"
    )


def _out_of_sequence(
    session: Session, row_id: int, seq: int, expected: int, prev_id: int | None
) -> str:
    elsewhere = session.scalar(select(_AUDIT.c.id).where(_AUDIT.c.seq == expected))
    if elsewhere is not None or seq < expected:
        moved = elsewhere if elsewhere is not None else row_id
        return (
            f"audit entry {moved} is out of order: number {expected} of the trail is stored "
            f"after number {seq}; entries were reordered"
        )
    after = f" (after audit entry {prev_id})" if prev_id is not None else ""
    return (
        f"{_entry_count(seq - expected)} before audit entry {row_id}{after} were deleted: "
        f"numbers {expected} to {seq - 1} of the trail are missing"
    )


def _end_problems(session: Session, last: int, last_hash: str, last_id: int | None) -> list[str]:
    head = session.execute(
        select(_CHAIN.c.seq, _CHAIN.c.entry_hash).where(_CHAIN.c.id == 1)
    ).first()
    if head is None:
        return [] if last == 0 else ["the audit chain's record of its newest entry is missing"]
    seq, entry_hash = int(head[0]), str(head[1])
    after = f" after audit entry {last_id}" if last_id is not None else ""
    if seq > last:
        gone = seq - last
        if gone == 1:
            return [f"the newest audit entry{after} was deleted"]
        return [f"the {gone} newest audit entries{after} were deleted"]
    if seq < last or entry_hash != last_hash:
        return [
            f"the newest audit entry ({last_id}) does not match the chain's record of it: "
            "it was rewritten or added around the audit trail"
        ]
    return []


# --- the head, recorded outside the database ---------------------------------------


@dataclass(frozen=True)
class AuditHead:
    """The newest entry's number and hash: ``SEQ:HASH`` as printed and as recorded."""

    seq: int
    entry_hash: str

    def __str__(self) -> str:
        return f"{self.seq}:{self.entry_hash}"

    @property
    def short(self) -> str:
        """Enough of it to tell heads apart in a message."""
        return f"{self.seq}:{self.entry_hash[:12]}..."


_HEAD_FORM = re.compile(r"([1-9][0-9]{0,17}):([0-9a-fA-F]{64})")


def parse_audit_head(text: str) -> AuditHead:
    """A head as ``floki-core check`` prints it; ``ValueError`` saying the form otherwise."""
    found = _HEAD_FORM.fullmatch(text.strip())
    if found is None:
        raise ValueError(
            f"expected SEQ:HASH as 'floki-core check' prints it (the entry's number, a "
            f"colon and 64 hexadecimal digits), got {text!r}"
        )
    return AuditHead(int(found.group(1)), found.group(2).lower())


def read_audit_head(session: Session) -> AuditHead | None:
    """The chain's record of its newest entry; None if the row is missing."""
    found = session.execute(
        select(_CHAIN.c.seq, _CHAIN.c.entry_hash).where(_CHAIN.c.id == 1)
    ).first()
    return None if found is None else AuditHead(int(found[0]), str(found[1]))


def count_audit_entries(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(_AUDIT)) or 0)


def recorded_head_problems(session: Session, recorded: AuditHead) -> list[str]:
    """Whether the entry numbered as ``recorded`` still carries its hash: [] if so (the
    chain then vouches for every entry before it); else that entries were removed from
    the end, or the trail rewritten, since it was recorded."""
    shown = recorded.short
    hashes = list(session.scalars(select(_AUDIT.c.entry_hash).where(_AUDIT.c.seq == recorded.seq)))
    if recorded.entry_hash in hashes:
        return []
    if hashes:
        return [
            f"audit entry number {recorded.seq} is not the one recorded (hash "
            f"{recorded.entry_hash[:12]}... then, {hashes[0][:12]}... now): the trail was "
            f"rewritten up to there since the head recorded as {shown}"
        ]
    last = int(session.scalar(select(func.max(_AUDIT.c.seq))) or 0)
    if last < recorded.seq:
        ends = f"ends at number {last}" if last else "holds no entries"
        return [
            f"the audit trail no longer reaches the head recorded as {shown}: it {ends}, "
            f"so {_entry_count(recorded.seq - last)} at its end were removed since"
        ]
    return [
        f"audit entry number {recorded.seq}, the head recorded as {shown}, is missing "
        "from the trail: it was deleted since"
    ]


def audit_head_message(session: Session) -> str:
    head = read_audit_head(session)
    if head is None:
        return "audit head: missing (the chain's record of its newest entry was deleted)"
    return (
        f"audit head: {head} (the newest audit entry's number and hash; given to "
        "'floki-core check --audit-head' later, it finds entries removed or rewritten since)"
    )


def log_audit_head(session: Session) -> None:
    """Log the head (at start and once a day): a log that leaves the box - journald
    forwarded, syslog - keeps where the trail ended, out of reach of the database."""
    log.info("%s", audit_head_message(session))


def list_audit(
    session: Session,
    *,
    entity: str | None = None,
    entity_id: str | None = None,
    action: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> tuple[list[AuditEntry], int]:
    query = select(AuditRow)
    if entity:
        query = query.where(AuditRow.entity == entity)
    if entity_id:
        query = query.where(AuditRow.entity_id == entity_id)
    if action:
        query = query.where(AuditRow.action == action)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.order_by(AuditRow.id.desc()).limit(limit).offset(offset))
    entries = [
        AuditEntry(
            id=r.id,
            at=r.at,
            actor=r.actor,
            action=r.action,
            entity=r.entity,
            entity_id=r.entity_id,
            before=r.before,
            after=r.after,
            detail=r.detail,
        )
        for r in rows
    ]
    return entries, total
