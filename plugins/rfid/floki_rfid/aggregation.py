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

from floki_core.sdk import Observation, ObservationSink
from floki_rfid.epc import RFID
from floki_rfid.llrp_reads import TagRead
from floki_rfid.reader_health import ReaderTraffic

RSSI_RANGE = (-150.0, 50.0)  # what an observation may carry; anything else is no RSSI


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
        self.traffic = ReaderTraffic()  # what has been taken, for the reader's health

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
        if tallies:
            self.traffic.record(
                max(t.heard_at for t in tallies),
                sum(t.seen_count for t in tallies),
                len(tallies),
                {t.antenna for t in tallies},
            )
        return tallies

    def take_refused(self) -> dict[str, int]:
        refused, self._refused = self._refused, {}
        return refused


def reader_time(us: int | None) -> str | None:
    """A reader's microsecond clock reading as ISO 8601 (None if absent or impossible)."""
    if us is None or us <= 0:
        return None
    try:
        return dt.datetime.fromtimestamp(us / 1_000_000, dt.UTC).isoformat()
    except (OverflowError, OSError, ValueError):
        return None


def tally_observation(reader: str, tally: TagTally) -> Observation:
    """The observation of one (tag, antenna) tally of reader ``reader``: technology
    ``rfid``, the EPC's hex as the tag, ``<reader>:<antenna>`` as the receiver."""
    rssi = tally.peak_rssi
    if rssi is not None and not RSSI_RANGE[0] <= rssi <= RSSI_RANGE[1]:
        rssi = None
    extras: dict[str, str | int | float | bool | None] = {"seen_count": tally.seen_count}
    if tally.first_seen_us is not None:
        extras["first_seen"] = reader_time(tally.first_seen_us)
    extras["last_seen"] = reader_time(tally.last_seen_us)
    return Observation(
        technology=RFID,
        tag=tally.epc_hex,
        observed_at=tally.heard_at,
        receiver=f"{reader}:{tally.antenna}",
        rssi=rssi,
        extras=extras,
    )


async def hand_over(window: ReadWindow, sink: ObservationSink, reader: str) -> None:
    """What ``window`` refused, counted against the source, and its tallies submitted."""
    reject = getattr(sink, "reject", None)  # a bare sink in a unit test has none
    for reason, count in window.take_refused().items():
        if reject is not None:
            reject(reason, count)
    tallies = window.take()
    if tallies:
        await sink.submit([tally_observation(reader, t) for t in tallies])
