"""The federation outbox: domain events kept for the trust hub, written in the same
transaction as the change each describes (docs/federation.md).

Each row is the message as it will be sent - subject and JSON payload, fixed at commit -
numbered by a per-site sequence taken from ``federation_sequence`` inside that transaction.
The sequence row is updated before it is read, so the transaction holds its lock from
then to its commit: on PostgreSQL as on SQLite, sequence order is commit order, and the
sequence never goes back, even once the rows it numbered are sent and deleted.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

import msgspec
from sqlalchemy import (
    BigInteger,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    delete,
    func,
    select,
    update,
)
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Mapped, Session, mapped_column

from floki_core.events import DomainEvent
from floki_core.storage.models import Base

PAYLOAD_FORMAT = 1  # bumped when the payload's shape changes in a way a hub must know
LOCATION_EVENT = "location.changed"  # the one kind that may be coalesced (superseded moves)


class OutboxRow(Base):
    __tablename__ = "federation_outbox"
    __table_args__ = (Index("ix_federation_outbox_coalesce", "coalesce_key", "seq"),)
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    subject: Mapped[str] = mapped_column(String(300))
    payload: Mapped[bytes] = mapped_column(LargeBinary)
    # "asset:<id>" for a location move (a later one for the same asset supersedes it);
    # NULL for every event that must reach the hub whatever the backlog.
    coalesce_key: Mapped[str | None] = mapped_column(String(80))


class OutboxSequenceRow(Base):
    __tablename__ = "federation_sequence"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last_seq: Mapped[int] = mapped_column(BigInteger)


class Payload(msgspec.Struct, kw_only=True):
    """What the hub receives, JSON, one message per event (docs/federation.md)."""

    format: int
    site: str
    seq: int
    type: str
    occurred_at: dt.datetime
    entity: str | None
    entity_id: int | str | None
    data: dict[str, Any]


@dataclass(frozen=True)
class Pending:
    seq: int
    subject: str
    payload: bytes


@dataclass(frozen=True)
class Backlog:
    rows: int
    oldest_seq: int | None
    newest_seq: int | None


_ENCODER = msgspec.json.Encoder()
_OUTBOX = cast(Table, OutboxRow.__table__)
_SEQUENCE = cast(Table, OutboxSequenceRow.__table__)


class Outbox:
    """Writes a site's committed events into the outbox (held by the store while
    ``[federation]`` is on)."""

    def __init__(self, site_id: str, subject_prefix: str) -> None:
        self.site_id = site_id
        self.subject_prefix = subject_prefix

    def subject(self, event_type: str) -> str:
        return f"{self.subject_prefix}.{self.site_id}.events.{event_type}"

    def append(self, session: Session | Connection, events: Sequence[DomainEvent]) -> None:
        """Add ``events`` to the outbox in ``session``'s transaction, in order."""
        if not events:
            return
        first = _take_sequence(session, len(events))
        rows = []
        for offset, event in enumerate(events):
            seq = first + offset
            payload = Payload(
                format=PAYLOAD_FORMAT,
                site=self.site_id,
                seq=seq,
                type=event.type,
                occurred_at=event.at,
                entity=event.entity,
                entity_id=event.entity_id,
                data=event.data,
            )
            rows.append(
                {
                    "seq": seq,
                    "subject": self.subject(event.type),
                    "payload": _ENCODER.encode(payload),
                    "coalesce_key": (
                        f"asset:{event.entity_id}" if event.type == LOCATION_EVENT else None
                    ),
                }
            )
        session.execute(_OUTBOX.insert(), rows)


def _take_sequence(session: Session | Connection, count: int) -> int:
    """Reserve ``count`` numbers; returns the first. Update first: the lock is held from
    here to the commit (see the module doc)."""
    table = _SEQUENCE
    done = session.execute(
        update(table).where(table.c.id == 1).values(last_seq=table.c.last_seq + count)
    )
    if done.rowcount == 0:  # type: ignore[attr-defined]  # a CursorResult
        session.execute(table.insert().values(id=1, last_seq=count))
        return 1
    last = session.execute(select(table.c.last_seq).where(table.c.id == 1)).scalar_one()
    return int(last) - count + 1


def pending(session: Session, limit: int) -> list[Pending]:
    """The oldest ``limit`` rows, in sequence order."""
    table = _OUTBOX
    found = session.execute(
        select(table.c.seq, table.c.subject, table.c.payload).order_by(table.c.seq).limit(limit)
    )
    return [Pending(int(seq), subject, bytes(payload)) for seq, subject, payload in found]


def durable_pending(session: Session, limit: int) -> list[Pending]:
    """``pending`` in a write transaction that touches the sequence row, to be run as a
    durable write (``Store.write``) before the rows are sent.

    The location writer's SQLite batches commit without syncing (kept through a crash
    of the process, not a power cut, until the next synced commit). Were such a row sent
    and the batch then lost to a power cut, its number would be given again to a new
    event, which the stream would drop as a duplicate. This commit is synced, and in
    WAL mode that makes every commit before it durable too: nothing is sent that could
    still be lost."""
    table = _SEQUENCE
    session.execute(update(table).where(table.c.id == 1).values(last_seq=table.c.last_seq))
    return pending(session, limit)


def remove_through(session: Session, seq: int) -> int:
    """Drop every row up to ``seq`` (acknowledged by the hub); returns how many."""
    table = _OUTBOX
    done = session.execute(delete(table).where(table.c.seq <= seq))
    return int(done.rowcount)  # type: ignore[attr-defined]


def backlog(session: Session) -> Backlog:
    """Rows waiting, the oldest of them, and the last number the sequence gave."""
    table = _OUTBOX
    rows, oldest = session.execute(select(func.count(), func.min(table.c.seq))).one()
    return Backlog(int(rows), oldest, last_sequence(session))


def last_sequence(session: Session) -> int | None:
    """The number of the newest event kept for the hub (None before the first)."""
    found = session.execute(select(_SEQUENCE.c.last_seq).where(_SEQUENCE.c.id == 1)).scalar()
    return None if found is None else int(found)


def coalesce(session: Session, excess: int) -> int:
    """Drop up to ``excess`` of the oldest location moves that a later move of the same
    asset in the outbox supersedes; returns how many were dropped. Every asset's newest
    move stays, and so does every other event."""
    if excess <= 0:
        return 0
    table = _OUTBOX
    later = _OUTBOX.alias("later")
    superseded = (
        select(table.c.seq)
        .where(
            table.c.coalesce_key.is_not(None),
            select(later.c.seq)
            .where(later.c.coalesce_key == table.c.coalesce_key, later.c.seq > table.c.seq)
            .exists(),
        )
        .order_by(table.c.seq)
        .limit(excess)
    )
    done = session.execute(delete(table).where(table.c.seq.in_(superseded.scalar_subquery())))
    return int(done.rowcount)  # type: ignore[attr-defined]
