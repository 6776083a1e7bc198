"""One fixed LLRP reader, read as a Floki source.

Each read is checked (an antenna the reader named and the settings list, an EPC) and
folded into the reader's window per (tag, antenna) (``aggregation``); every
``batch_seconds`` (or at once when the window fills) the window becomes one batch of
observations: technology ``rfid``, the tag its EPC in upper-case hex, the receiver
``<reader>:<antenna>``, the strongest RSSI, and the seen count and the reader's first/last
seen in ``extras``. ``observed_at`` is the appliance's clock when the latest read arrived:
fixed readers' clocks are often not kept in time, so theirs is only reported.

A lost reader ends ``run`` with ``ReaderGone`` naming why, after every read already
received has been handed over: the appliance's supervisor shows the source in backoff with
that reason and connects again after its backoff.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from floki_core.sdk import Clock, ObservationSink
from floki_rfid.aggregation import ReadWindow, hand_over
from floki_rfid.config import LlrpReaderSettings
from floki_rfid.llrp_adapter import LlrpLink
from floki_rfid.llrp_reads import InventoryPlan, ReaderGone
from floki_rfid.reader_health import reader_details
from floki_rfid.reader_run import run_reading

log = logging.getLogger("floki.plugin.rfid")

GOODBYE_SECONDS = 0.5  # how long a stopping source waits for the reader to answer
# A read at a portal's antenna is handed over this soon rather than at the end of the
# window: the direction of a passage is wanted in a fraction of a second, and the reads a
# doorway makes in this long go together.
PORTAL_SECONDS = 0.02


def source_name(reader: LlrpReaderSettings) -> str:
    return f"rfid-llrp-{reader.name}"


class LlrpReaderSource:
    """One reader's tag reads, aggregated and handed over in batches."""

    def __init__(
        self,
        settings: LlrpReaderSettings,
        clock: Clock,
        *,
        batch_seconds: float = 0.25,
        max_tags_per_window: int = 50_000,
        portal_antennas: frozenset[int] = frozenset(),
    ) -> None:
        self.settings = settings
        self.portal_antennas = portal_antennas
        self.clock = clock
        self.batch_seconds = batch_seconds
        self.link = LlrpLink(
            settings.host, settings.port, timeout_seconds=settings.connect_timeout_seconds
        )
        self.plan = InventoryPlan(
            antennas=tuple(settings.antennas),
            tx_power_dbm=settings.tx_power_dbm,
            session=settings.session,
            search_mode=settings.search_mode,
            report_every_ms=settings.report_every_ms,
            keepalive_seconds=settings.keepalive_seconds,
        )
        self._allowed = frozenset(settings.antennas)
        self._window = ReadWindow(max_tags_per_window)
        self._dropped_counted = 0
        self._bad_counted = 0
        self._stopping = asyncio.Event()
        self._portal_read = asyncio.Event()

    @property
    def connected(self) -> bool:
        return self.link.connected

    def details(self) -> dict[str, Any]:
        """The reader's health, as GET /api/v1/plugins lists it."""
        return reader_details(
            self._window.traffic,
            kind="llrp",
            connected=self.connected,
            address=f"{self.settings.host}:{self.settings.port}",
            antennas=list(self.settings.antennas),
            now=self.clock.now(),
        )

    # --- the source protocol ------------------------------------------------------------

    async def run(self, sink: ObservationSink) -> None:
        self._stopping.clear()
        await run_reading(
            self._read(sink),
            self._tick(sink),
            self._stopping,
            lambda: self._hand_over(sink),
            self._goodbye,
        )

    async def _goodbye(self, reading: asyncio.Future[None]) -> None:
        # The reader is asked to stop its inventory; one that does not answer at once is
        # dropped, so a stop never waits on it.
        _done, pending = await asyncio.wait({reading}, timeout=GOODBYE_SECONDS)
        if pending:
            self.link.abort()

    async def stop(self) -> None:
        self._stopping.set()

    # --- reading ---------------------------------------------------------------------------

    async def _read(self, sink: ObservationSink) -> None:
        window, allowed, now = self._window, self._allowed, self.clock.now
        portal, portal_read = self.portal_antennas, self._portal_read
        # Closed here, whatever ends the loop, so the reader is left idle before run returns.
        async with contextlib.aclosing(self.link.reads(self.plan)) as session:
            async for reads in session:
                if window.add_all(reads, now(), allowed):
                    await self._hand_over(sink)
                elif portal and not portal.isdisjoint([r.antenna for r in reads]):
                    portal_read.set()
        raise ReaderGone(f"reader at {self.link.where} ended the inventory")

    async def _tick(self, sink: ObservationSink) -> None:
        """Hand the window over every ``batch_seconds``, or ``PORTAL_SECONDS`` after a
        read at a portal's antenna."""
        portal_read = self._portal_read
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.batch_seconds):
                    await portal_read.wait()
                    await asyncio.sleep(PORTAL_SECONDS)
            portal_read.clear()
            await self._hand_over(sink)

    async def _hand_over(self, sink: ObservationSink) -> None:
        dropped = self.link.dropped_reports - self._dropped_counted
        if dropped:
            self._dropped_counted += dropped
            self._window.refuse("overflow", dropped)
        bad = self.link.bad_frames - self._bad_counted
        if bad:
            self._bad_counted += bad
            self._window.refuse("bad_frame", bad)
        await hand_over(self._window, sink, self.settings.name)
