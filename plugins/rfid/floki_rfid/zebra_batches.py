"""Reads of a Zebra reader or handheld, folded per (tag, antenna) and handed to the core
as observations the way the LLRP source makes them: technology ``rfid``, the tag its EPC
in upper-case hex, the receiver ``<name>:<antenna>``, the strongest RSSI, the seen count
and the reader's last-seen in ``extras``, ``observed_at`` the appliance's clock when the
latest read arrived (readers' clocks are often not kept in time)."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Mapping

from floki_core.sdk import Observation, ObservationSink
from floki_rfid.aggregation import ReadWindow, TagTally
from floki_rfid.epc import RFID
from floki_rfid.llrp_reads import TagRead

RSSI_RANGE = (-150.0, 50.0)  # what an observation may carry; anything else is no RSSI


def _reader_time(us: int | None) -> str | None:
    if us is None or us <= 0:
        return None
    try:
        return dt.datetime.fromtimestamp(us / 1_000_000, dt.UTC).isoformat()
    except (OverflowError, OSError, ValueError):
        return None


class ReadBatches:
    """One reader's window, handed over every ``batch_seconds`` or as soon as it fills."""

    def __init__(self, name: str, *, batch_seconds: float, max_tags_per_window: int) -> None:
        self.name = name
        self.batch_seconds = batch_seconds
        self._window = ReadWindow(max_tags_per_window)
        self._lock = asyncio.Lock()  # batches leave in the order they were cut

    def add(self, read: TagRead, heard_at: dt.datetime) -> bool:
        """Fold ``read`` in; True when the window is full and should be handed over now."""
        return self._window.add(read, heard_at)

    def refuse(self, reasons: Mapping[str, int]) -> None:
        for reason, count in reasons.items():
            self._window.refuse(reason, count)

    async def ticking(self, sink: ObservationSink) -> None:
        """Hand the window over every ``batch_seconds``, until cancelled."""
        while True:
            await asyncio.sleep(self.batch_seconds)
            await self.hand_over(sink)

    async def hand_over(self, sink: ObservationSink) -> None:
        async with self._lock:
            reject = getattr(sink, "reject", None)  # a bare sink in a unit test has none
            for reason, count in self._window.take_refused().items():
                if reject is not None:
                    reject(reason, count)
            tallies = self._window.take()
            if tallies:
                await sink.submit([self._observation(t) for t in tallies])

    def _observation(self, tally: TagTally) -> Observation:
        rssi = tally.peak_rssi
        if rssi is not None and not RSSI_RANGE[0] <= rssi <= RSSI_RANGE[1]:
            rssi = None
        return Observation(
            technology=RFID,
            tag=tally.epc_hex,
            observed_at=tally.heard_at,
            receiver=f"{self.name}:{tally.antenna}",
            rssi=rssi,
            extras={"seen_count": tally.seen_count, "last_seen": _reader_time(tally.last_seen_us)},
        )
