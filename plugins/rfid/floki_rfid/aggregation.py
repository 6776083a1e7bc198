"""One reader's reads folded per (tag, antenna) between hand-overs to the core.

A fixed reader reports a tag in view tens of times a second at each antenna that hears
it; the core wants to know that it was there, how strongly and how often. A window keeps
one tally per (EPC, antenna): the strongest peak RSSI, the earliest first-seen and latest
last-seen of the reader's clock, the sum of its seen counts, and when the appliance last
heard of it. Pure: no I/O, no clock of its own.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from floki_core.sdk import Observation, ObservationSink
from floki_rfid.epc import RFID
from floki_rfid.llrp_reads import TagRead
from floki_rfid.reader_health import ReaderTraffic

RSSI_RANGE = (-150.0, 50.0)  # what an observation may carry; anything else is no RSSI
_ANY_ANTENNA: frozenset[int] = frozenset()  # add_all takes every antenna


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
        """Fold ``read`` in (a read with no antenna is taken as antenna 0); True when the
        window is full."""
        if read.antenna is None:
            read = dataclasses.replace(read, antenna=0)
        return self.add_all((read,), heard_at, _ANY_ANTENNA)

    def add_all(
        self, reads: Sequence[TagRead], heard_at: dt.datetime, allowed: frozenset[int]
    ) -> bool:
        """Fold in every read of one report, refusing (counted by reason) a read with no
        antenna, at an antenna not in ``allowed`` (when it names any) or without an EPC;
        True when the window is full. One call per report with the tally update written
        out: a busy reader's reads are most of the plugin's work."""
        tallies = self._tallies
        for read in reads:
            antenna = read.antenna
            if antenna is None:
                self.refuse("no_antenna")
                continue
            if allowed and antenna not in allowed:
                self.refuse("unknown_antenna")
                continue
            epc = read.epc_hex
            if not epc:
                self.refuse("no_epc")
                continue
            key = (epc, antenna)
            tally = tallies.get(key)
            if tally is None:
                tallies[key] = TagTally(
                    epc,
                    antenna,
                    read.peak_rssi,
                    read.first_seen_us,
                    read.last_seen_us,
                    read.seen_count,
                    heard_at,
                )
                continue
            rssi = read.peak_rssi
            if rssi is not None and (tally.peak_rssi is None or rssi > tally.peak_rssi):
                tally.peak_rssi = rssi
            first = read.first_seen_us
            if first is not None and (tally.first_seen_us is None or first < tally.first_seen_us):
                tally.first_seen_us = first
            last = read.last_seen_us
            if last is not None and (tally.last_seen_us is None or last > tally.last_seen_us):
                tally.last_seen_us = last
            tally.seen_count += read.seen_count
            if heard_at > tally.heard_at:
                tally.heard_at = heard_at
        return len(tallies) >= self.limit

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
