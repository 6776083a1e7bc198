"""One reader's reads folded per (tag, antenna) between hand-overs to the core.

A fixed reader reports a tag in view tens of times a second at each antenna that hears
it; the core wants to know that it was there, how strongly and how often. A window keeps
one tally per (EPC, antenna): the strongest peak RSSI, the earliest first-seen and latest
last-seen of the reader's clock, the sum of its seen counts, and when the appliance last
heard of it. Pure: no I/O, no clock of its own.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from floki_rfid.llrp_reads import TagRead


@dataclass(slots=True)
class TagTally:
    """Everything one window heard of one tag at one antenna."""

    epc_hex: str
    antenna: int
    peak_rssi: float | None
    first_seen_us: int | None
    last_seen_us: int | None
    seen_count: int
    heard_at: dt.datetime  # the appliance's clock when the latest read arrived


def _lesser(a: int | None, b: int | None) -> int | None:
    return b if a is None else a if b is None else min(a, b)


def _greater(a: int | None, b: int | None) -> int | None:
    return b if a is None else a if b is None else max(a, b)


class ReadWindow:
    """Tallies since the last ``take``, at most ``limit`` pairs before ``add`` says full.

    A full window keeps accepting reads (nothing is dropped); its owner is told to hand
    it over now rather than at the end of the window, which keeps memory bounded.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._tallies: dict[tuple[str, int], TagTally] = {}
        self._refused: dict[str, int] = {}

    def __len__(self) -> int:
        return len(self._tallies)

    def add(self, read: TagRead, heard_at: dt.datetime) -> bool:
        """Fold ``read`` (whose antenna is known) in; True when the window is full."""
        antenna = read.antenna or 0
        key = (read.epc_hex, antenna)
        tally = self._tallies.get(key)
        if tally is None:
            self._tallies[key] = TagTally(
                read.epc_hex,
                antenna,
                read.peak_rssi,
                read.first_seen_us,
                read.last_seen_us,
                read.seen_count,
                heard_at,
            )
            return len(self._tallies) >= self.limit
        if read.peak_rssi is not None and (
            tally.peak_rssi is None or read.peak_rssi > tally.peak_rssi
        ):
            tally.peak_rssi = read.peak_rssi
        tally.first_seen_us = _lesser(tally.first_seen_us, read.first_seen_us)
        tally.last_seen_us = _greater(tally.last_seen_us, read.last_seen_us)
        tally.seen_count += read.seen_count
        tally.heard_at = max(tally.heard_at, heard_at)
        return len(self._tallies) >= self.limit

    def refuse(self, reason: str, count: int = 1) -> None:
        """Count ``count`` reads that could not be used, for ``reason``."""
        self._refused[reason] = self._refused.get(reason, 0) + count

    def take(self) -> list[TagTally]:
        """The tallies so far; the window starts again empty."""
        tallies = list(self._tallies.values())
        self._tallies = {}
        return tallies

    def take_refused(self) -> dict[str, int]:
        refused, self._refused = self._refused, {}
        return refused
