"""The hub's event history on PostgreSQL: one partition of ``hub_events`` per month of
``occurred_at``, in the ``hub_history`` schema (migration 0012).

A partition is made in the transaction of the first event of its month (``IF NOT
EXISTS``: one consumer writes, so two never race for it). Retention drops whole months
once past the cut-off - no row-by-row delete, no table bloat - and deletes only the rows
of the month the cut-off falls in.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable

from sqlalchemy import delete, text
from sqlalchemy.orm import Session

from floki_core.storage.hub_tables import HubEventRow

SCHEMA = "hub_history"
_NAME = re.compile(r"^hub_events_y(\d{4})m(\d{2})$")


def _month_start(moment: dt.datetime) -> dt.datetime:
    utc = moment.astimezone(dt.UTC)
    return dt.datetime(utc.year, utc.month, 1, tzinfo=dt.UTC)


def _next_month(start: dt.datetime) -> dt.datetime:
    return start.replace(year=start.year + start.month // 12, month=start.month % 12 + 1)


def partitioned(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def ensure_partitions(session: Session, moments: Iterable[dt.datetime]) -> None:
    """The month partitions the events at ``moments`` go to exist (PostgreSQL)."""
    for start in sorted({_month_start(m) for m in moments}):
        end = _next_month(start)
        name = f"hub_events_y{start.year:04d}m{start.month:02d}"
        session.execute(
            text(
                f"CREATE TABLE IF NOT EXISTS {SCHEMA}.{name} PARTITION OF hub_events "
                f"FOR VALUES FROM ('{start.isoformat()}') TO ('{end.isoformat()}')"
            )
        )


def sweep(session: Session, before: dt.datetime) -> int:
    """Forget the events that happened before ``before``; returns how many."""
    removed = 0
    if partitioned(session):
        rows = session.execute(
            text(
                "SELECT c.relname FROM pg_inherits i"
                " JOIN pg_class c ON c.oid = i.inhrelid"
                " JOIN pg_namespace n ON n.oid = c.relnamespace"
                " WHERE i.inhparent = 'hub_events'::regclass AND n.nspname = :schema"
            ),
            {"schema": SCHEMA},
        ).scalars()
        for name in rows:
            match = _NAME.match(name)
            if match is None:
                continue  # not one of ours: left alone
            start = dt.datetime(int(match[1]), int(match[2]), 1, tzinfo=dt.UTC)
            if _next_month(start) <= before:
                removed += int(
                    session.execute(text(f"SELECT count(*) FROM {SCHEMA}.{name}")).scalar_one()
                )
                session.execute(text(f"DROP TABLE {SCHEMA}.{name}"))
    result = session.execute(delete(HubEventRow).where(HubEventRow.occurred_at < before))
    return removed + int(result.rowcount or 0)  # type: ignore[attr-defined]
