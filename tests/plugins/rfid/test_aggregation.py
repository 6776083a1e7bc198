"""Reads of one window folded per (tag, antenna): what reaches the core from a reader."""

from __future__ import annotations

import datetime as dt

from floki_rfid.aggregation import ReadWindow
from floki_rfid.llrp_reads import TagRead

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
EPC = "E2801160600002054E9B3C1A"


def read(
    epc: str = EPC, antenna: int = 1, rssi: float | None = -60.0, at_us: int = 1_000, count: int = 1
) -> TagRead:
    return TagRead(epc, antenna, rssi, at_us, at_us, count)


def test_a_tag_read_many_times_at_one_antenna_is_one_tally() -> None:
    window = ReadWindow(limit=10)
    window.add(read(rssi=-61.0, at_us=2_000), T0)
    window.add(read(rssi=-55.5, at_us=1_000, count=3), T0 + dt.timedelta(seconds=1))
    window.add(read(rssi=None, at_us=5_000), T0 + dt.timedelta(seconds=2))
    window.add(read(antenna=2, rssi=-70.0), T0)
    tallies = {(t.epc_hex, t.antenna): t for t in window.take()}
    first = tallies[(EPC, 1)]
    assert (first.peak_rssi, first.seen_count) == (-55.5, 5)
    assert (first.first_seen_us, first.last_seen_us) == (1_000, 5_000)
    assert first.heard_at == T0 + dt.timedelta(seconds=2)
    assert tallies[(EPC, 2)].seen_count == 1
    assert window.take() == [], "a window taken starts empty"


def test_a_full_window_says_so_and_keeps_every_read() -> None:
    window = ReadWindow(limit=2)
    assert not window.add(read(epc="E1"), T0)
    assert window.add(read(epc="E2"), T0), "full: hand it over now"
    assert window.add(read(epc="E3"), T0)
    assert sorted(t.epc_hex for t in window.take()) == ["E1", "E2", "E3"]


def test_refused_reads_are_counted_by_reason_and_taken_with_the_window() -> None:
    window = ReadWindow(limit=10)
    window.refuse("unknown_antenna")
    window.refuse("unknown_antenna", 2)
    window.refuse("no_antenna")
    assert window.take_refused() == {"unknown_antenna": 3, "no_antenna": 1}
    assert window.take_refused() == {}
