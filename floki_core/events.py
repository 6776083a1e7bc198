"""Typed domain events, published in batches to WebSocket clients and observers.

Delivery (docs/architecture.md, "Events"):

- An event is published once the write it describes has committed; a write that fails
  publishes nothing (the location writer publishes a move when a later write keeps it).
- Every observer added with ``add_observer(name, fn)`` (each plugin's ``floki_events``,
  anything else) gets its own bounded queue and its own task. ``publish`` only appends to
  the queues, so a slow, hung or raising observer never holds up the publisher (ingest,
  the location writer, an API request) nor any other observer. Each observer sees its
  batches in the order they were published; a full queue loses its oldest batch, counted
  per observer and logged at most once a minute per observer.
- The core's own observers, whose effects the core's callers read straight after
  (``add_observer(..., inline=True)``), run in the publisher's task before ``publish``
  returns, one after the other, each with its exception logged and contained.
- WebSocket clients ``subscribe`` to a bounded queue each, drained by their socket's
  task; a client too slow to keep up loses its oldest batches (``dropped``).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import contextvars
import datetime as dt
import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import msgspec

from floki_core.clock import Clock, SystemClock

log = logging.getLogger(__name__)

OBSERVER_QUEUE_BATCHES = 1000  # per queued observer: minutes of a busy ward's moves
CLIENT_QUEUE_BATCHES = 256  # per WebSocket client
DROP_LOG_SECONDS = 60.0

# The name of the queued observer whose task this is: such a task must not wait for
# observers to catch up, as it could be waiting for itself.
_delivering: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "floki_event_observer", default=None
)


class DomainEvent(msgspec.Struct, frozen=True, kw_only=True):
    """Something that happened: ``asset.created``, ``zone.deleted``, ``plugin.failed`` ..."""

    type: str
    at: dt.datetime
    entity: str | None = None
    entity_id: int | str | None = None
    data: dict[str, Any] = msgspec.field(default_factory=dict)


Observer = Callable[[Sequence[DomainEvent]], Awaitable[None] | None]
Batch = tuple[DomainEvent, ...]


@dataclass(frozen=True)
class ObserverStats:
    """One observer's delivery, as ``/metrics`` shows it."""

    name: str
    inline: bool
    lag: int  # batches handed to it and not yet handled: the one in hand and those waiting
    dropped: int  # batches lost to a full queue (oldest first)
    failures: int  # batches on which it raised


class _Delivery:
    """One observer, its queue and (when not inline) the task that feeds it."""

    def __init__(self, name: str, observer: Observer, inline: bool) -> None:
        self.name = name
        self.observer = observer
        self.inline = inline
        self.waiting: collections.deque[Batch] = collections.deque()
        self.in_hand = False
        self.handed = 0  # batches given to it
        self.done = 0  # batches handled, failed on or dropped
        self.dropped = 0
        self.failures = 0
        self.wake = asyncio.Event()
        self.task: asyncio.Task[None] | None = None
        self._waiters: list[tuple[int, asyncio.Future[None]]] = []
        self._logged_at: float | None = None
        self._unlogged = 0

    def stats(self) -> ObserverStats:
        lag = len(self.waiting) + (1 if self.in_hand else 0)
        return ObserverStats(self.name, self.inline, lag, self.dropped, self.failures)

    async def call(self, batch: Batch) -> None:
        try:
            result = self.observer(batch)
            if result is not None:
                await result
        except Exception:
            # One observer's bug must not reach the publisher or the other observers.
            self.failures += 1
            log.exception("event observer %s failed on a batch of %d events", self.name, len(batch))

    # --- queued delivery -------------------------------------------------------

    def offer(self, batch: Batch, limit: int, now: float) -> None:
        self.handed += 1
        if len(self.waiting) >= limit:
            self.waiting.popleft()
            self.dropped += 1
            self.done += 1
            self._note_drop(now)
        self.waiting.append(batch)
        if self.task is None or self.task.done():  # first batch, or a task that died
            self.task = asyncio.get_running_loop().create_task(
                self._run(), name=f"event-observer:{self.name}"
            )
        self.wake.set()
        self._settle_waiters()

    async def _run(self) -> None:
        _delivering.set(self.name)
        while True:
            while not self.waiting:
                self.wake.clear()
                await self.wake.wait()
            batch = self.waiting.popleft()
            self.in_hand = True
            try:
                await self.call(batch)
            finally:
                self.in_hand = False
                self.done += 1
                self._settle_waiters()

    def caught_up(self) -> asyncio.Future[None] | None:
        """A future done once every batch handed so far is handled; None if already."""
        if self.done >= self.handed:
            return None
        future = asyncio.get_running_loop().create_future()
        self._waiters.append((self.handed, future))
        return future

    def _settle_waiters(self) -> None:
        if not self._waiters:
            return
        still = []
        for target, future in self._waiters:
            if future.done():
                continue
            if self.done >= target:
                future.set_result(None)
            else:
                still.append((target, future))
        self._waiters = still

    def _note_drop(self, now: float) -> None:
        if self._logged_at is None:
            self._logged_at = now
            log.warning(
                "event observer %s is behind: dropped its oldest batch (%d dropped in all; "
                "at most one such line a minute per observer)",
                self.name,
                self.dropped,
            )
            return
        self._unlogged += 1
        if now - self._logged_at >= DROP_LOG_SECONDS:
            self._log_unlogged(now)

    def _log_unlogged(self, now: float) -> None:
        assert self._logged_at is not None
        log.warning(
            "event observer %s is behind: dropped %d more batches in the last %.0f s "
            "(%d dropped in all)",
            self.name,
            self._unlogged,
            now - self._logged_at,
            self.dropped,
        )
        self._logged_at, self._unlogged = now, 0

    async def stop(self, now: float) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
            self.task = None
        left = len(self.waiting)
        if left:
            log.info("event observer %s: %d batches not delivered at stop", self.name, left)
            self.waiting.clear()
        if self._unlogged:
            self._log_unlogged(now)
        self.done = self.handed
        self._settle_waiters()


class EventBus:
    """Fan-out of event batches to observers and WebSocket clients (see the module doc)."""

    def __init__(
        self,
        queue_size: int = CLIENT_QUEUE_BATCHES,
        *,
        observer_queue_size: int = OBSERVER_QUEUE_BATCHES,
        clock: Clock | None = None,
    ) -> None:
        self._queues: set[asyncio.Queue[Sequence[DomainEvent]]] = set()
        self._queue_size = queue_size
        self._observers: list[_Delivery] = []
        self._by_name: dict[str, _Delivery] = {}
        self.observer_queue_size = observer_queue_size
        self._clock: Clock = clock or SystemClock()
        self._closed = False
        self.dropped = 0  # batches WebSocket clients missed

    # --- WebSocket clients -----------------------------------------------------

    def subscribe(self) -> asyncio.Queue[Sequence[DomainEvent]]:
        queue: asyncio.Queue[Sequence[DomainEvent]] = asyncio.Queue(self._queue_size)
        self._queues.add(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[Sequence[DomainEvent]]) -> None:
        self._queues.discard(queue)

    @property
    def subscriber_count(self) -> int:
        return len(self._queues)

    # --- observers -------------------------------------------------------------

    def add_observer(self, name: str, observer: Observer, *, inline: bool = False) -> None:
        """Hand ``observer`` every batch published from now on.

        By default it gets its own bounded queue and task: it never holds up a
        publisher. ``inline=True`` is for the core's own observers whose effect callers
        read as soon as ``publish`` returns (the location index told of register changes,
        PPM due dates of a new asset, location rules acting on a move written): they run
        in the publisher's task, so they must be quick and wait on nothing outside the
        core. Plugins' observers are never inline."""
        if name in self._by_name:
            raise ValueError(f"an event observer named {name} is already added")
        delivery = _Delivery(name, observer, inline)
        self._observers.append(delivery)
        self._by_name[name] = delivery

    def observer_stats(self) -> list[ObserverStats]:
        return [d.stats() for d in self._observers]

    async def publish(self, events: Sequence[DomainEvent]) -> None:
        """Deliver a batch: call only once the writes it describes have committed."""
        if not events or self._closed:
            return
        batch = tuple(events)
        for queue in self._queues:
            if queue.full():
                queue.get_nowait()
                self.dropped += 1
            queue.put_nowait(batch)
        observers = tuple(self._observers)  # an inline observer may add one
        now = self._clock.monotonic()
        limit = max(self.observer_queue_size, 1)
        for delivery in observers:
            if not delivery.inline:
                delivery.offer(batch, limit, now)
        for delivery in observers:
            if delivery.inline:
                delivery.handed += 1
                try:
                    await delivery.call(batch)
                finally:
                    delivery.done += 1

    async def drain(self, names: Iterable[str] | None = None) -> None:
        """Wait until the queued observers (all, or those ``names``) have handled, or
        dropped, every batch published before this call. For tests and tools: the
        appliance itself never waits for a queued observer. Called from an observer's
        own task it waits for no one, as it could be waiting for itself."""
        if _delivering.get() is not None:
            return
        wanted = None if names is None else set(names)
        waits = [
            future
            for d in self._observers
            if not d.inline
            and (wanted is None or d.name in wanted)
            and (future := d.caught_up()) is not None
        ]
        if waits:
            await asyncio.gather(*waits)

    async def close(self) -> None:
        """Stop delivering: called once by the core as it stops. Every observer task is
        cancelled and awaited (plugins are already shut down by then); batches still
        waiting are counted in the log, not delivered."""
        self._closed = True
        now = self._clock.monotonic()
        for delivery in self._observers:
            await delivery.stop(now)
