"""Typed domain events, published in batches to WebSocket clients and plugin observers."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import msgspec

log = logging.getLogger(__name__)


class DomainEvent(msgspec.Struct, frozen=True, kw_only=True):
    """Something that happened: ``asset.created``, ``zone.deleted``, ``plugin.failed`` ..."""

    type: str
    at: dt.datetime
    entity: str | None = None
    entity_id: int | str | None = None
    data: dict[str, Any] = msgspec.field(default_factory=dict)


Observer = Callable[[Sequence[DomainEvent]], Awaitable[None] | None]


class EventBus:
    """Fan-out of event batches.

    Subscribers (WebSocket clients) get bounded queues: a client too slow to keep up
    loses its oldest batches rather than holding the appliance's memory.
    """

    def __init__(self, queue_size: int = 256) -> None:
        self._queues: set[asyncio.Queue[Sequence[DomainEvent]]] = set()
        self._observers: list[tuple[str, Observer]] = []
        self._queue_size = queue_size
        self.dropped = 0

    def subscribe(self) -> asyncio.Queue[Sequence[DomainEvent]]:
        queue: asyncio.Queue[Sequence[DomainEvent]] = asyncio.Queue(self._queue_size)
        self._queues.add(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[Sequence[DomainEvent]]) -> None:
        self._queues.discard(queue)

    def add_observer(self, name: str, observer: Observer) -> None:
        self._observers.append((name, observer))

    @property
    def subscriber_count(self) -> int:
        return len(self._queues)

    async def publish(self, events: Sequence[DomainEvent]) -> None:
        if not events:
            return
        batch = tuple(events)
        for queue in self._queues:
            if queue.full():
                queue.get_nowait()
                self.dropped += 1
            queue.put_nowait(batch)
        for name, observer in self._observers:
            try:
                result = observer(batch)
                if result is not None:
                    await result
            except Exception:
                # One observer's bug must not stop the others or the writer.
                log.exception("event observer of plugin %s failed", name)

    async def close(self) -> None:
        """Stop delivering: called once by the core as it stops."""
