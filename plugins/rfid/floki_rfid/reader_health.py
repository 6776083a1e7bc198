"""What a reader says of itself in ``GET /api/v1/plugins`` (its source's ``details()``):
connected or not, where, its antennas, its read rate and when it last reported.

The figures come from what each window hands the core (``ReadWindow.take``), so counting
costs nothing per read: a hand-over every quarter second adds its reads and tags here.
"""

from __future__ import annotations

import collections
import datetime as dt
from typing import Any

RATE_SECONDS = 10.0  # the read rate is the average over this much of the recent past


class ReaderTraffic:
    """The hand-overs of one reader: totals, the antennas heard, and a rate over the
    last ``RATE_SECONDS``."""

    def __init__(self) -> None:
        self.reports = 0  # (tag, antenna) tallies handed over
        self.reads = 0  # reads they fold (the readers' seen counts)
        self.last_report: dt.datetime | None = None
        self.antennas_heard: set[int] = set()
        self._recent: collections.deque[tuple[dt.datetime, int, int]] = collections.deque()

    def record(self, at: dt.datetime, reads: int, tags: int, antennas: set[int]) -> None:
        self.reports += tags
        self.reads += reads
        self.antennas_heard |= antennas
        if self.last_report is None or at > self.last_report:
            self.last_report = at
        self._recent.append((at, reads, tags))
        self._forget(at)

    def rates(self, now: dt.datetime) -> tuple[float, float]:
        """(reads/s, tags/s) over the last ``RATE_SECONDS`` up to ``now``."""
        self._forget(now)
        reads = sum(r for _, r, _ in self._recent)
        tags = sum(t for _, _, t in self._recent)
        return reads / RATE_SECONDS, tags / RATE_SECONDS

    def _forget(self, now: dt.datetime) -> None:
        horizon = now - dt.timedelta(seconds=RATE_SECONDS)
        while self._recent and self._recent[0][0] <= horizon:
            self._recent.popleft()


def reader_details(
    traffic: ReaderTraffic,
    *,
    kind: str,
    connected: bool,
    address: str,
    antennas: list[int],
    now: dt.datetime,
) -> dict[str, Any]:
    """A reader's ``details()``: ``antennas`` are those configured, else those heard."""
    reads_per_s, tags_per_s = traffic.rates(now)
    return {
        "kind": kind,
        "connected": connected,
        "address": address,
        "antennas": sorted(antennas) if antennas else sorted(traffic.antennas_heard),
        "reads_per_s": round(reads_per_s, 1),
        "tags_per_s": round(tags_per_s, 1),
        "reports": traffic.reports,
        "last_report": None if traffic.last_report is None else traffic.last_report.isoformat(),
    }
