"""Each event observer has its own bounded queue and task: publishing never waits for a
queued observer, a full queue loses its oldest batch (counted, logged once a minute), one
observer raising or hanging reaches no other, and closing the bus leaves no task behind.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Sequence

import pytest

from floki_core.clock import ManualClock
from floki_core.events import DomainEvent, EventBus

AT = dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC)
QUICKLY = 2.0  # seconds: a publish that takes longer is waiting for an observer


def numbered(n: int) -> list[DomainEvent]:
    return [DomainEvent(type="asset.updated", at=AT, entity="assets", entity_id=n)]


async def publish(bus: EventBus, n: int) -> None:
    await asyncio.wait_for(bus.publish(numbered(n)), QUICKLY)


class Stuck:
    """An observer that holds on to its first batch until released."""

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.seen: list[int | str | None] = []
        self.cancelled = False

    async def __call__(self, batch: Sequence[DomainEvent]) -> None:
        self.seen.extend(e.entity_id for e in batch)
        try:
            await self.release.wait()
        except asyncio.CancelledError:
            self.cancelled = True
            raise


def stats(bus: EventBus, name: str) -> tuple[int, int, int]:
    found = {s.name: s for s in bus.observer_stats()}[name]
    return found.lag, found.dropped, found.failures


async def test_publish_returns_while_an_observer_hangs() -> None:
    bus = EventBus()
    stuck = Stuck()
    bus.add_observer("stuck", stuck)
    for n in range(3):
        await publish(bus, n)
    await asyncio.sleep(0)
    assert stuck.seen == [0]
    assert stats(bus, "stuck") == (3, 0, 0)  # one in hand, two waiting
    stuck.release.set()
    await asyncio.wait_for(bus.drain(), QUICKLY)
    assert stuck.seen == [0, 1, 2]
    assert stats(bus, "stuck") == (0, 0, 0)
    await bus.close()


async def test_a_raising_or_hanging_observer_reaches_no_other() -> None:
    bus = EventBus()
    stuck = Stuck()
    got: list[int | str | None] = []
    raised: list[int | str | None] = []

    def broken(batch: Sequence[DomainEvent]) -> None:
        raised.extend(e.entity_id for e in batch)
        raise ValueError("observer bug")

    async def broken_later(batch: Sequence[DomainEvent]) -> None:
        await asyncio.sleep(0)
        raise RuntimeError("async observer bug")

    bus.add_observer("stuck", stuck)
    bus.add_observer("broken", broken)
    bus.add_observer("broken-later", broken_later)
    bus.add_observer("recording", lambda batch: got.extend(e.entity_id for e in batch))
    for n in range(4):
        await publish(bus, n)
    await asyncio.wait_for(bus.drain(names=["broken", "broken-later", "recording"]), QUICKLY)
    assert got == [0, 1, 2, 3]
    assert raised == [0, 1, 2, 3]  # still called after raising
    assert stats(bus, "broken") == (0, 0, 4)
    assert stats(bus, "broken-later") == (0, 0, 4)
    assert stats(bus, "recording") == (0, 0, 0)
    await bus.close()


async def test_order_is_kept_and_a_full_queue_loses_its_oldest_batches() -> None:
    bus = EventBus(observer_queue_size=3)
    stuck = Stuck()
    bus.add_observer("stuck", stuck)
    await publish(bus, 1)
    await asyncio.sleep(0)  # batch 1 is in hand
    for n in range(2, 11):
        await publish(bus, n)
    assert stats(bus, "stuck") == (4, 6, 0)  # 1 in hand, 8-10 waiting, 2-7 dropped
    stuck.release.set()
    await asyncio.wait_for(bus.drain(), QUICKLY)
    assert stuck.seen == [1, 8, 9, 10]
    assert stats(bus, "stuck") == (0, 6, 0)
    await bus.close()


async def test_drops_are_logged_once_a_minute_with_the_count(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = ManualClock()
    bus = EventBus(observer_queue_size=1, clock=clock)
    stuck = Stuck()
    bus.add_observer("webhook", stuck)
    caplog.set_level(logging.WARNING, logger="floki_core.events")
    await publish(bus, 0)
    await asyncio.sleep(0)
    for n in range(1, 12):  # 10 dropped
        await publish(bus, n)

    def said() -> list[str]:
        return [r.getMessage() for r in caplog.records if r.name == "floki_core.events"]

    assert said() == [
        "event observer webhook is behind: dropped its oldest batch (1 dropped in all; "
        "at most one such line a minute per observer)"
    ]
    clock.advance(59)
    await publish(bus, 12)
    assert len(said()) == 1
    clock.advance(1)
    await publish(bus, 13)
    assert said()[1:] == [
        "event observer webhook is behind: dropped 11 more batches in the last 60 s "
        "(12 dropped in all)"
    ]
    await bus.close()


async def test_inline_observers_have_seen_the_batch_when_publish_returns() -> None:
    bus = EventBus()
    order: list[str] = []
    stuck = Stuck()

    async def core_index(batch: Sequence[DomainEvent]) -> None:
        await asyncio.sleep(0)
        order.append("inline")

    def broken(batch: Sequence[DomainEvent]) -> None:
        raise ValueError("observer bug")

    bus.add_observer("plugin", stuck)
    bus.add_observer("core.broken", broken, inline=True)
    bus.add_observer("core.index", core_index, inline=True)
    await publish(bus, 1)
    order.append("returned")
    assert order == ["inline", "returned"]
    assert stats(bus, "core.broken") == (0, 0, 1)
    await bus.close()


async def test_close_cancels_observers_and_leaves_no_task() -> None:
    before = asyncio.all_tasks()
    bus = EventBus()
    stuck, quick = Stuck(), Stuck()
    quick.release.set()
    bus.add_observer("stuck", stuck)
    bus.add_observer("quick", quick)
    for n in range(3):
        await publish(bus, n)
    await asyncio.sleep(0)
    assert len(asyncio.all_tasks() - before) == 2  # one task per observer
    await asyncio.wait_for(bus.close(), QUICKLY)
    assert stuck.cancelled
    assert asyncio.all_tasks() == before
    await bus.publish(numbered(4))  # after close: nothing is delivered, no task starts
    assert asyncio.all_tasks() == before
    assert stuck.seen == [0]


def test_observer_names_are_unique() -> None:
    bus = EventBus()
    bus.add_observer("webhook", lambda batch: None)
    with pytest.raises(ValueError, match="an event observer named webhook is already added"):
        bus.add_observer("webhook", lambda batch: None)
