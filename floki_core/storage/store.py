"""Database work off the event loop: what a service is handed to read and write.

Every function given to :meth:`Store.read` or :meth:`Store.write` takes a SQLAlchemy
session first; it runs in the database's worker thread, so the loop never waits on disk."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from sqlalchemy import Connection
from sqlalchemy.orm import Session

from floki_core.events import DomainEvent
from floki_core.storage.database import Database
from floki_core.storage.health import StorageHealth
from floki_core.storage.outbox import Outbox

__all__ = ["KeepForHub", "Store"]

T = TypeVar("T")
# Store.keep_for_hub, for a writer that holds a connection or session of its own.
KeepForHub = Callable[[Session | Connection, Sequence[DomainEvent]], None]


class Store:
    def __init__(self, db: Database, health: StorageHealth, outbox: Outbox | None = None) -> None:
        self.db = db
        # Whether it can save: every writer reports a full disk here.
        self.health = health
        # With [federation] on: where the events a write announces are kept for the hub,
        # in the write's own transaction (docs/federation.md). None: nothing is kept.
        self.outbox = outbox

    async def read(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        def work() -> T:
            with self.db.sessions() as session:
                return fn(session, *args, **kwargs)

        return await self.db.run(work)

    async def write(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run ``fn(session, ...)`` in one transaction: all of it is kept, or none; once
        it returns, through an OS crash or a power cut too."""

        def work() -> T:
            with self.db.transaction() as session:
                return fn(session, *args, **kwargs)

        return await self.db.run(work)

    async def write_events(
        self,
        fn: Callable[..., T],
        *args: Any,
        announce: Callable[[T], Sequence[DomainEvent]],
        durable: bool = True,
        **kwargs: Any,
    ) -> tuple[T, list[DomainEvent]]:
        """As ``write`` (``durable=False``: as ``write_batch``), for a write that
        announces events: ``announce(result)`` names them, and with ``[federation]`` on
        they go into the outbox in the same transaction, so the hub is told of exactly
        what was committed. Returns the result and the events, for the caller to
        publish once this returns (after the commit)."""

        def work() -> tuple[T, list[DomainEvent]]:
            with self.db.transaction(durable=durable) as session:
                result = fn(session, *args, **kwargs)
                events = list(announce(result))
                self.keep_for_hub(session, events)
                return result, events

        return await self.db.run(work)

    def keep_for_hub(self, session: Session | Connection, events: Sequence[DomainEvent]) -> None:
        """Put ``events`` in the outbox in ``session``'s transaction (with
        ``[federation]`` on; else nothing): for a write function that makes its events
        itself."""
        if self.outbox is not None and events:
            self.outbox.append(session, events)

    async def write_batch(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """As ``write``, for the location writer's batches: kept through a crash of the
        process at once, through a power cut from the next durable commit on
        (``Database.transaction(durable=False)``)."""

        def work() -> T:
            with self.db.transaction(durable=False) as session:
                return fn(session, *args, **kwargs)

        return await self.db.run(work)

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(*args)`` in the database's worker thread, without a session (file work
        that must not wait on the loop, in turn with the database's own)."""
        return await self.db.run(fn, *args)

    def refused_write(self, exc: BaseException, what: str) -> str | None:
        """A write (``what``) failed with ``exc``: if a full disk stopped it, the reason
        to give (counted and logged at a limited rate); None for any other failure."""
        return self.health.refused_write(exc, what)

    async def wrote(self) -> None:
        """A write went through: while the disk was full, a sign space may be back."""
        await self.health.wrote()
