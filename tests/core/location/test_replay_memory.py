"""The replay memory: a sighting sent again within the replay window is a duplicate
however many keys have been merged into the array since, one never seen is never a
duplicate, a key is forgotten within an eighth of the window after the window, and the
memory stays within ``max_remembered`` keys at a few bytes each."""

from __future__ import annotations

import datetime as dt
import tracemalloc

from hypothesis import given, settings
from hypothesis import strategies as st

from floki_core.location.admission import Admission, AdmissionPolicy
from floki_core.location.replay_memory import ReplayMemory
from floki_core.observations import Observation

NOW = dt.datetime(2026, 12, 8, 9, 0, tzinfo=dt.UTC)
WINDOW = dt.timedelta(minutes=10)


def sighting(n: int, at: dt.datetime = NOW) -> Observation:
    return Observation(
        technology="ble",
        tag=f"C0:FF:EE:{n >> 16 & 0xFF:02X}:{n >> 8 & 0xFF:02X}:{n & 0xFF:02X}",
        receiver="AA:BB:CC:00:00:01",
        rssi=-60,
        observed_at=at,
    )


def admission(max_remembered: int = 2_000_000) -> Admission:
    admission = Admission(AdmissionPolicy(replay_window=WINDOW, max_remembered=max_remembered))
    admission.memory.bucket_keys = 64  # freeze often, so every path is taken
    return admission


@settings(max_examples=80, deadline=None)
@given(
    batches=st.lists(
        st.tuples(
            st.lists(st.integers(min_value=0, max_value=400), max_size=60),
            st.integers(min_value=0, max_value=20),  # seconds after the previous batch
        ),
        min_size=1,
        max_size=25,
    )
)
def test_within_the_window_each_sighting_is_taken_once(
    batches: list[tuple[list[int], int]],
) -> None:
    gate = admission()
    taken: set[int] = set()
    now = NOW
    for numbers, later in batches:
        now += dt.timedelta(seconds=later)  # under 9 minutes in all: within the window
        admitted = gate.admit("gateway", [sighting(n) for n in numbers], now)
        tags = [o.tag for o in admitted]
        assert len(tags) == len(set(tags))  # a batch's own repeats are taken once
        new = {int(t.replace("C0:FF:EE:", "").replace(":", ""), 16) for t in tags}
        # Taken: exactly the numbers never taken before (a replay is never taken again,
        # a sighting never seen is never taken for a replay).
        assert new == set(numbers) - taken
        taken |= new
    stats = gate.stats["gateway"]
    assert stats.accepted + stats.duplicates == stats.received


def test_a_key_is_forgotten_within_an_eighth_of_the_window_after_it() -> None:
    gate = admission()
    assert gate.admit("gateway", [sighting(1)], NOW)
    # Traffic that keeps the buckets turning over.
    for minute in range(1, 12):
        gate.admit(
            "gateway",
            [sighting(1000 + minute * 100 + i) for i in range(100)],
            NOW + dt.timedelta(minutes=minute),
        )
    assert not gate.admit("gateway", [sighting(1)], NOW + WINDOW - dt.timedelta(seconds=1))
    later = NOW + WINDOW + WINDOW / 8 + dt.timedelta(minutes=1)
    assert gate.admit("gateway", [sighting(1)], later)  # remembered no longer


def test_the_memory_keeps_within_its_cap_and_a_few_bytes_a_key() -> None:
    memory = ReplayMemory(WINDOW, max_remembered=200_000)
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for batch in range(100):
            keys = range(batch * 5_000, (batch + 1) * 5_000)
            memory.open.update(keys)
            memory.added(5_000, NOW + dt.timedelta(milliseconds=batch))
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert memory.remembered <= 200_000
    assert held / memory.remembered <= 32, held / memory.remembered
    # The newest keys, up to the cap, are all still known; one never added is not.
    newest = [*range(500_000 - 150_000, 500_000), 10**12]
    held = memory.known(newest)
    assert held is not None
    known = [bool(f) or k in memory.open for k, f in zip(newest, held.tolist(), strict=True)]
    assert known == [True] * 150_000 + [False]
