"""A plugin whose ``floki_events`` sleeps 10 s does not slow ingest: its batches wait in
its own queue (shown as lag and drops in ``/metrics``) while sightings keep being applied
and written at the pace of an appliance without it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from pathlib import Path

from floki_core import hookimpl
from floki_core.events import DomainEvent
from floki_core.testing import Floki
from tests.core.events.appliance import Ward, appliance, build_ward, metric, scans

BATCHES = 20  # each moves every pump: ~5 ms of ingest, ~0.1 s for all of them
# The sleeping appliance may be this many times slower than the baseline beside it and
# still pass: room for a scheduling hiccup on a busy machine, far below the 10 s that
# one awaited observer call would add (200 times the baseline).
GENEROUS = 10.0


class SleepingObserver:
    """Takes 10 s over every batch of events, like a webhook to a server that hangs."""

    def __init__(self) -> None:
        self.calls = 0

    @hookimpl
    async def floki_events(self, events: Sequence[DomainEvent]) -> None:
        self.calls += 1
        await asyncio.sleep(10)


async def ingest_time(floki: Floki, ward: Ward, room: str) -> float:
    """Seconds from a reader's batch to its moves applied and written."""
    floki.clock.advance(5)
    batch = scans(ward, room, floki.clock.now())
    started = time.perf_counter()
    await floki.core.ingest.put("reader", batch)
    await floki.core.ingest.join()
    await floki.core.locations.flush()
    return time.perf_counter() - started


async def test_a_plugin_sleeping_on_its_events_does_not_slow_ingest(
    tmp_path: Path, floki_migrated_database: Path
) -> None:
    sleepy = SleepingObserver()
    async with (
        appliance(tmp_path / "baseline", floki_migrated_database) as baseline,
        appliance(
            tmp_path / "sleepy",
            floki_migrated_database,
            [("sleepy", sleepy)],
            observer_queue_size=4,
        ) as slowed,
    ):
        wards = {baseline: await build_ward(baseline, 5), slowed: await build_ward(slowed, 5)}
        for floki, ward in wards.items():  # warm up: first fixes, first writes
            await ingest_time(floki, ward, "room_b")
        assert sleepy.calls >= 1  # it is asleep on a batch from here on

        totals = dict.fromkeys(wards, 0.0)
        for n in range(BATCHES):
            room = "room_a" if n % 2 == 0 else "room_b"
            for floki, ward in wards.items():  # alternated, so both meet the same load
                totals[floki] += await ingest_time(floki, ward, room)

        assert totals[slowed] < GENEROUS * totals[baseline], totals
        moved = await metric(slowed, "floki_location_changes_total")
        assert moved is not None and moved >= 5 * BATCHES  # every batch moved every pump
        lag = await metric(slowed, "floki_event_observer_lag", observer="sleepy")
        dropped = await metric(slowed, "floki_event_observer_dropped_total", observer="sleepy")
        assert lag == 5  # the batch it sleeps on and a full queue of 4
        assert dropped is not None and dropped >= BATCHES - 4
        assert await metric(baseline, "floki_event_observer_lag", observer="sleepy") is None


class RaisingObserver:
    def __init__(self) -> None:
        self.calls = 0

    @hookimpl
    def floki_events(self, events: Sequence[DomainEvent]) -> None:
        self.calls += 1
        raise ValueError("observer bug")


class Recorder:
    def __init__(self) -> None:
        self.moves: list[int] = []

    @hookimpl
    async def floki_events(self, events: Sequence[DomainEvent]) -> None:
        self.moves += [e.data["asset_id"] for e in events if e.type == "location.changed"]


async def test_a_raising_plugin_observer_is_counted_and_the_others_carry_on(
    tmp_path: Path, floki_migrated_database: Path
) -> None:
    grumpy, listener = RaisingObserver(), Recorder()
    plugins = [("grumpy", grumpy), ("listener", listener)]
    async with appliance(tmp_path / "data", floki_migrated_database, plugins) as floki:
        ward = await build_ward(floki, 2)
        for room in ("room_a", "room_b", "room_a"):
            await ingest_time(floki, ward, room)
        await asyncio.wait_for(floki.core.events.drain(), 10)
        assert sorted(listener.moves) == sorted(3 * list(ward.pumps.values()))
        failures = await metric(floki, "floki_event_observer_failures_total", observer="grumpy")
        assert failures is not None and failures == grumpy.calls >= 3
        assert await metric(floki, "floki_event_observer_failures_total", observer="listener") == 0
        assert await metric(floki, "floki_event_observer_lag", observer="grumpy") == 0
