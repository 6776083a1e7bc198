"""Where observation batches enter the core: a bounded queue with per-source counts.

When sources outrun the consumer the queue fills and ``submit`` waits (backpressure);
nothing is dropped silently. The resolver consumes the batches.

A source also says what it could not use (``sink.reject(reason, count)``): counted by
reason against it (``GET /api/v1/sources``) and logged once per reason per minute, so a
device sending rubbish all day is visible without burying the log.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from floki_core.observations import Observation

log = logging.getLogger(__name__)

# A handler gets every batch waiting when it is called, each with its source's name.
Batches = Sequence[tuple[str, Sequence[Observation]]]
BatchHandler = Callable[[Batches], Awaitable[None]]
REJECTION_LOG_SECONDS = 60.0


@dataclass
class SourceCounters:
    received: int = 0
    batches: int = 0
    processed: int = 0
    # Input the source could not use, by reason (a short snake_case word).
    rejected: collections.Counter[str] = field(default_factory=collections.Counter)


class RejectionLog:
    """Logs refused input once per source and reason per ``interval`` seconds, with how
    much was refused since the last line; the counts themselves are kept elsewhere."""

    def __init__(
        self,
        interval: float = REJECTION_LOG_SECONDS,
        monotonic: Callable[[], float] = time.monotonic,
        logger: logging.Logger = log,
    ) -> None:
        self.interval = interval
        self._monotonic = monotonic
        self._log = logger
        self._last: dict[tuple[str, str], float] = {}
        self._unlogged: collections.Counter[tuple[str, str]] = collections.Counter()

    def note(self, source: str, reason: str, count: int = 1, *, expected: bool = False) -> None:
        key = (source, reason)
        self._unlogged[key] += count
        now = self._monotonic()
        last = self._last.get(key)
        if last is not None and now - last < self.interval:
            return
        self._last[key] = now
        refused = self._unlogged.pop(key)
        # Dropped by design (others' devices on a Wi-Fi feed) is the ordinary run of
        # things: a WARNING a minute for ever would teach operators to ignore warnings.
        self._log.log(
            logging.INFO if expected else logging.WARNING,
            "source %s refused %d input%s as %s%s (counted in GET /api/v1/sources; this "
            "reason is logged at most once every %g s)",
            source,
            refused,
            "" if refused == 1 else "s",
            reason,
            "" if last is None else " since it was last logged",
            self.interval,
        )


class IngestQueue:
    def __init__(self, maxsize: int = 1000, merge_limit: int = 50_000) -> None:
        self._queue: asyncio.Queue[tuple[str, Sequence[Observation]]] = asyncio.Queue(maxsize)
        self.merge_limit = merge_limit
        self.counters: dict[str, SourceCounters] = {}
        self.rejections = RejectionLog()
        self._handlers: list[BatchHandler] = []

    def add_handler(self, handler: BatchHandler) -> None:
        self._handlers.append(handler)

    def sink(self, source: str) -> SourceSink:
        self.counters.setdefault(source, SourceCounters())
        return SourceSink(self, source)

    def reject(self, source: str, reason: str, count: int = 1, *, expected: bool = False) -> None:
        """Count ``count`` inputs of ``source`` refused for ``reason``, and log it (once
        per reason per minute; at INFO when ``expected``)."""
        if count <= 0:
            return
        self.counters.setdefault(source, SourceCounters()).rejected[reason] += count
        self.rejections.note(source, reason, count, expected=expected)

    async def put(self, source: str, batch: Sequence[Observation]) -> None:
        if not batch:
            return
        counters = self.counters.setdefault(source, SourceCounters())
        counters.received += len(batch)
        counters.batches += 1
        await self._queue.put((source, batch))

    def try_put(self, source: str, batch: Sequence[Observation]) -> bool:
        """Queue without waiting; False when full (HTTP answers 503 with Retry-After)."""
        if not batch:
            return True
        try:
            self._queue.put_nowait((source, batch))
        except asyncio.QueueFull:
            return False
        counters = self.counters.setdefault(source, SourceCounters())
        counters.received += len(batch)
        counters.batches += 1
        return True

    async def apply_now(self, source: str, batch: Sequence[Observation]) -> None:
        """Hand ``batch`` to the handlers at once, ahead of the queue, and return when they
        have taken it: for a person waiting on the answer (a phone's "it's here"), not
        behind a busy minute of gateway traffic."""
        if not batch:
            return
        counters = self.counters.setdefault(source, SourceCounters())
        counters.received += len(batch)
        counters.batches += 1
        try:
            for handler in self._handlers:
                await handler([(source, batch)])
        finally:
            counters.processed += len(batch)

    @property
    def capacity(self) -> int:
        return self._queue.maxsize

    @property
    def depth(self) -> int:
        return self._queue.qsize()

    async def drain_forever(self) -> None:
        """Hand waiting batches to the handlers together, up to ``merge_limit`` sightings.

        Under load gateways' batches queue up; taking them together lets the locators
        judge each asset once per round instead of once per gateway that heard it, so the
        busier the appliance, the less work each sighting costs.
        """
        queue = self._queue
        while True:
            items = [await queue.get()]
            size = len(items[0][1])
            while size < self.merge_limit and not queue.empty():
                item = queue.get_nowait()
                items.append(item)
                size += len(item[1])
            try:
                for handler in self._handlers:
                    await handler(items)
            except Exception:
                log.exception("handling %d batches (%d sightings) failed", len(items), size)
            finally:
                for source, batch in items:
                    self.counters[source].processed += len(batch)
                    queue.task_done()

    async def join(self) -> None:
        await self._queue.join()


class SourceSink:
    """The sink one source is given: batches are counted against its name."""

    def __init__(self, queue: IngestQueue, source: str) -> None:
        self._queue = queue
        self.source = source

    async def submit(self, batch: Sequence[Observation]) -> None:
        await self._queue.put(self.source, batch)

    def reject(self, reason: str, count: int = 1, *, expected: bool = False) -> None:
        """Input this source could not use: counted by ``reason`` (a short snake_case
        word) in ``GET /api/v1/sources`` and logged once per reason per minute (at INFO
        when ``expected``: dropped by design, not a fault)."""
        self._queue.reject(self.source, reason, count, expected=expected)
