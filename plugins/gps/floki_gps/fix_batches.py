"""What the plugin's HTTP and receiver sources share: fixes handed to the core in batches
every ``batch_seconds``, refusals counted at once, and which trackers are registered."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections.abc import Callable

from floki_core.sdk import Observation, ObservationSink, PluginContext
from floki_gps.fix_observations import observation
from floki_gps.fixes import TECHNOLOGY, Fix

__all__ = ["FixBatcher", "is_registered"]

Flush = Callable[[], list[Fix]]
# Fixes held for the next hand-over at most. A source whose batcher is ``full`` takes no
# more until the core has taken the batch (the OsmAnd listener answers 503 and the phone
# keeps its fix), so a core that falls behind costs no memory here.
PENDING_LIMIT = 20_000


def is_registered(context: PluginContext, device: str) -> bool:
    """Whether an asset carries ``device`` as a gps identifier (every device counts as
    registered outside a running appliance, which has no register to ask)."""
    register = context.register
    return register is None or register.asset_id_for(TECHNOLOGY, device) is not None


class FixBatcher:
    """Observations waiting for the sink. ``add`` is cheap and never waits; ``run``
    hands them over every ``every`` seconds until ``stopping`` is set, then once more.
    A source reading in a loop of its own calls ``flush`` when ``due_in`` says so
    instead (no task of the batcher's own is left to stop). ``before_flush`` callbacks
    give fixes a source held back (a receiver's cycle)."""

    def __init__(self, sink: ObservationSink, now: Callable[[], dt.datetime], every: float):
        self._sink = sink
        self._now = now
        self.every = every
        self._pending: list[Observation] = []
        self.before_flush: list[Flush] = []
        self._flushed_at = asyncio.get_running_loop().time()

    def due_in(self) -> float:
        """Seconds until the next hand-over is due (0: now)."""
        return max(0.0, self._flushed_at + self.every - asyncio.get_running_loop().time())

    @property
    def full(self) -> bool:
        """Whether PENDING_LIMIT fixes wait for the core: take no more until they go."""
        return len(self._pending) >= PENDING_LIMIT

    def add(self, fix: Fix, received_at: dt.datetime | None = None) -> None:
        self._pending.append(observation(fix, received_at or self._now()))

    def reject(self, reason: str, count: int = 1) -> None:
        reject = getattr(self._sink, "reject", None)  # a bare sink in a unit test has none
        if reject is not None and count > 0:
            reject(reason, count)

    async def flush(self) -> None:
        self._flushed_at = asyncio.get_running_loop().time()
        now = self._now()
        for held in self.before_flush:
            for fix in held():
                self._pending.append(observation(fix, now))
        batch, self._pending = self._pending, []
        if batch:
            await self._sink.submit(batch)

    async def run(self, stopping: asyncio.Event) -> None:
        while not stopping.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), self.every)
            await self.flush()
