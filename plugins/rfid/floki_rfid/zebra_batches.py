"""Reads of a Zebra reader or handheld, folded per (tag, antenna) and handed to the core
as observations the way the LLRP source makes them: technology ``rfid``, the tag its EPC
in upper-case hex, the receiver ``<name>:<antenna>``, the strongest RSSI, the seen count
and the reader's last-seen in ``extras``, ``observed_at`` the appliance's clock when the
latest read arrived (readers' clocks are often not kept in time)."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Mapping, Sequence

from floki_core.sdk import ObservationSink
from floki_rfid.aggregation import ReadWindow, hand_over
from floki_rfid.llrp_reads import TagRead
from floki_rfid.reader_health import ReaderTraffic


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

    def add_all(
        self, reads: Sequence[TagRead], heard_at: dt.datetime, allowed: frozenset[int]
    ) -> bool:
        """Fold in one message's reads (``ReadWindow.add_all``: a read at an antenna not in
        ``allowed``, when it names any, is counted and left out); True when full."""
        return self._window.add_all(reads, heard_at, allowed)

    @property
    def traffic(self) -> ReaderTraffic:
        """What has been handed over, for the reader's health."""
        return self._window.traffic

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
            await hand_over(self._window, sink, self.name)
