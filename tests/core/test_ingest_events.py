"""The ingest queue's backpressure and counters, and the event bus's fan-out."""

from __future__ import annotations

import asyncio
import datetime as dt

from floki_core.events import DomainEvent, EventBus
from floki_core.ingest import Batches, IngestQueue
from floki_core.observations import Observation

AT = dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC)


def sighting(tag: str) -> Observation:
    return Observation(technology="ble", tag=tag, receiver="r1", rssi=-60.0, observed_at=AT)


async def test_a_full_queue_makes_the_source_wait_instead_of_dropping() -> None:
    queue = IngestQueue(maxsize=2)
    sink = queue.sink("gateway-1")
    await sink.submit([sighting("a")])
    await sink.submit([sighting("b")])
    blocked = asyncio.create_task(sink.submit([sighting("c"), sighting("d")]))
    await asyncio.sleep(0.01)
    assert not blocked.done()  # backpressure: the producer waits
    handled: list[str] = []

    async def handler(items: Batches) -> None:
        handled.extend(o.tag for _, batch in items for o in batch)

    queue.add_handler(handler)
    consumer = asyncio.create_task(queue.drain_forever())
    await asyncio.wait_for(blocked, 1)
    await queue.join()
    consumer.cancel()
    assert handled == ["a", "b", "c", "d"]
    counters = queue.counters["gateway-1"]
    assert (counters.received, counters.batches, counters.processed) == (4, 3, 4)


async def test_a_failing_handler_does_not_stop_the_queue() -> None:
    queue = IngestQueue()
    seen: list[int] = []

    async def broken(items: Batches) -> None:
        raise RuntimeError("bug")

    async def counting(items: Batches) -> None:
        seen.append(sum(len(batch) for _, batch in items))

    queue.add_handler(broken)
    consumer = asyncio.create_task(queue.drain_forever())
    await queue.put("s", [sighting("a")])
    await queue.join()
    queue._handlers = [counting]
    await queue.put("s", [sighting("b"), sighting("c")])
    await queue.join()
    consumer.cancel()
    assert seen == [2]
    assert queue.counters["s"].processed == 3


async def test_slow_subscriber_loses_oldest_batches_not_the_appliance_memory() -> None:
    bus = EventBus(queue_size=2)
    slow = bus.subscribe()
    for n in range(5):
        await bus.publish([DomainEvent(type="asset.updated", at=AT, entity_id=n)])
    assert slow.qsize() == 2 and bus.dropped == 3
    assert [b[0].entity_id for b in (slow.get_nowait(), slow.get_nowait())] == [3, 4]


async def test_observers_get_batches_and_one_failure_does_not_reach_others() -> None:
    bus = EventBus()
    got: list[list[str]] = []

    def broken(events: object) -> None:
        raise ValueError("observer bug")

    async def recording(events: object) -> None:
        got.append([e.type for e in events])  # type: ignore[attr-defined]

    bus.add_observer("broken", broken)
    bus.add_observer("recording", recording)
    batch = [DomainEvent(type="asset.created", at=AT), DomainEvent(type="zone.created", at=AT)]
    await bus.publish(batch)
    await bus.publish([])  # nothing to say: no call
    await bus.drain()  # observers run in their own tasks
    assert got == [["asset.created", "zone.created"]]
