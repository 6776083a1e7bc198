"""Simulated RFID readers for the demo, read through the plugin's real LLRP path.

``[plugin.rfid] simulate = true`` (``floki-core demo`` writes it) adds two fixed readers,
``library`` and ``stores``, each an emulated LLRP reader on a free 127.0.0.1 port
(``simulator_readers``), to the plugin's ``[[plugin.rfid.readers]]``, and their door
portals ``library-door`` and ``stores-door`` to its ``[[plugin.rfid.portals]]``: the LLRP
sources connect to them, decode their reports, fold them in read windows and hand them to
the core, and the read zones and portals place the kit, as with readers on the LAN.

This source tells the emulated readers what they see (``simulator_layout``): every
``SHELF_EVERY_S`` simulated seconds each shelf antenna reports the labelled kit on its
shelf, and a few items per room go out of the door and come back (read inside, then
outside: *left*; the other way round: *entered*), the first half a minute in. Once, as
it starts, it records a sample stock-take of Main Stores (``simulator_sweep``). Driven
by the injected clock, ``simulate_speedup`` times faster than real time, so a test moves
a manual clock and calls :meth:`SimulatedReaders.catch_up`.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import math
import zlib
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import msgspec

from floki_core.sdk import Clock, ConfigError, ObservationSink, PluginContext, RegisterSnapshot
from floki_rfid.config import RfidSettings
from floki_rfid.simulator_layout import (
    DOOR_INSIDE,
    DOOR_OUTSIDE,
    READERS,
    Kit,
    Layout,
    Room,
    build_layout,
    portal_settings,
    reader_settings,
    sweep_reads,
)
from floki_rfid.simulator_readers import EmulatedReader, SimulatedRead

SOURCE_NAME = "rfid-simulator"
STATE_KEY = "rfid_simulator_readers"
SHELF_EVERY_S = 20.0  # simulated seconds between a shelf antenna's reports
FIRST_OUT_S = 30.0  # the first item goes out of its room's door this far in
OUT_APART_S = 150.0  # ... and the room's next ones this much later each
ROOMS_APART_S = 60.0  # the second room's items a minute after the first's
AWAY_S = 300.0  # how long an item that went out stays out
CYCLE_S = 1200.0  # ... and how often it goes out
PASS_S = 0.5  # real seconds between a crossing's two antennas, by the reader's clock
MAX_BACKLOG_S = 120.0  # crossings further behind than this (a suspended machine) are skipped
REREAD_S = 30.0  # how often a register with no simulated reader in it is read again
TICK_S = 0.5

Loader = Callable[[], Awaitable[RegisterSnapshot]]
SweepRecorder = Callable[[int, Sequence[str]], Awaitable[object]]


def prepare(context: PluginContext) -> dict[str, EmulatedReader]:
    """With ``simulate`` on, the emulated readers (their ports bound now) and the plugin's
    settings with their readers and portals added (``context.settings`` replaced, once).
    Empty with ``simulate`` off."""
    settings: RfidSettings = context.settings
    readers: dict[str, EmulatedReader] | None = context.state.get(STATE_KEY)
    if readers is not None or not settings.simulate:
        return readers or {}
    configured = {r.name for r in settings.readers} | {r.name for r in settings.impinj}
    configured |= {r.name for r in settings.zebra_readers} | {r.name for r in settings.handhelds}
    for name in READERS:
        if name in configured:
            raise ConfigError(
                f"[plugin.rfid] simulate = true emulates the readers {', '.join(READERS)}: "
                f"a reader named {name} is configured too"
            )
    readers = {name: EmulatedReader(name) for name in READERS}
    simulated = msgspec.structs.replace(
        settings,
        readers=[*settings.readers, *(reader_settings(n, r.port) for n, r in readers.items())],
        portals=[*settings.portals, *(portal_settings(n) for n in READERS)],
    )
    try:
        simulated.__post_init__()
    except ValueError as exc:
        for reader in readers.values():
            reader.close_listening()
        raise ConfigError(f"[plugin.rfid] simulate = true: {exc}") from None
    context.state[STATE_KEY] = readers
    context.settings = simulated
    return readers


def _offset(room: int, n: int) -> float:
    return FIRST_OUT_S + room * ROOMS_APART_S + n * OUT_APART_S


def _is_away(offset: float, t: float) -> bool:
    return t >= offset and (t - offset) % CYCLE_S < AWAY_S


class SimulatedReaders:
    """The source ``rfid-simulator``: serves the emulated readers and says what they read."""

    def __init__(
        self,
        settings: RfidSettings,
        clock: Clock,
        load: Loader,
        log: logging.Logger,
        readers: dict[str, EmulatedReader],
        record_sweep: SweepRecorder,
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.load = load
        self.log = log
        self.readers = readers
        self.record_sweep = record_sweep
        self.layout: Layout | None = None
        self.crossings = 0  # crossings reported
        self.swept: object = None  # the sample sweep's report, once recorded
        self._started: dt.datetime | None = None
        self._done: dict[str, float] = {}  # reader -> simulated time reported up to
        self._read_at: float | None = None
        self._lock = asyncio.Lock()
        self._stop = asyncio.Event()

    @property
    def speedup(self) -> float:
        return self.settings.simulate_speedup

    def simulated_seconds(self) -> float:
        if self._started is None:
            return 0.0
        return (self.clock.now() - self._started).total_seconds() * self.speedup

    def _real(self, t: float) -> dt.datetime:
        assert self._started is not None
        return self._started + dt.timedelta(seconds=t / self.speedup)

    def is_away(self, kit: Kit, t: float | None = None) -> bool:
        """Whether ``kit`` is out of its room at simulated time ``t`` (now by default)."""
        t = self.simulated_seconds() if t is None else t
        for r, room in enumerate(self.layout.rooms if self.layout else ()):
            for n, traveller in enumerate(room.travellers):
                if traveller.asset_id == kit.asset_id:
                    return _is_away(_offset(r, n), t)
        return False

    async def _ensure_layout(self) -> Layout | None:
        if self.layout is not None:
            return self.layout
        mono = self.clock.monotonic()
        if self._read_at is not None and mono - self._read_at < REREAD_S:
            return None
        self._read_at = mono
        try:
            layout = build_layout(await self.load(), self.settings.simulate_seed)
        except ValueError as exc:
            self.log.warning("simulated RFID readers idle: %s", exc)
            return None
        self.layout = layout
        self._started = self.clock.now()
        kit = sum(len(room.kit) for room in layout.rooms)
        self.log.info(
            "simulating RFID readers %s on loopback: %d labelled items, %g times real time",
            ", ".join(f"{r.reader} (port {self.readers[r.reader].port})" for r in layout.rooms),
            kit,
            self.speedup,
        )
        return layout

    async def _sweep_once(self, layout: Layout) -> None:
        if self.swept is not None or layout.stores_zone_id is None:
            return
        self.swept = False  # tried: a failure is said once, not every tick
        try:
            self.swept = await self.record_sweep(layout.stores_zone_id, sweep_reads(layout))
        except Exception as exc:  # a demo nicety must not stop the readers
            self.log.warning("the demo's sample stock-take of Main Stores failed: %s", exc)

    async def catch_up(self) -> int:
        """Report what the readers have seen since they last reported; how many reports."""
        async with self._lock:
            layout = await self._ensure_layout()
            if layout is None:
                return 0
            # Before the shelves report: the sweep compares with where things were.
            await self._sweep_once(layout)
            t, sent = self.simulated_seconds(), 0
            for r, room in enumerate(layout.rooms):
                reader = self.readers.get(room.reader)
                if reader is None or not reader.inventorying:
                    continue  # reported once it is read (crossings within the backlog)
                since = self._done.get(room.reader)
                reads = [
                    *self._crossing_reads(r, room, since, t),
                    *self._shelf_reads(room, since, t),
                ]
                if await reader.report(reads):
                    sent += 1
                self._done[room.reader] = t
            return sent

    def _crossing_reads(
        self, r: int, room: Room, since: float | None, t: float
    ) -> list[SimulatedRead]:
        """The door reads of every crossing between ``since`` and ``t`` (simulated)."""
        if since is None:
            return []
        oldest = t - MAX_BACKLOG_S * self.speedup
        reads = []
        for n, kit in enumerate(room.travellers):
            offset = _offset(r, n)
            first = max(0, math.floor((since - offset - AWAY_S) / CYCLE_S))
            for k in range(first, math.floor((t - offset) / CYCLE_S) + 1):
                out_at = offset + k * CYCLE_S
                for at, ports in (
                    (out_at, (DOOR_INSIDE, DOOR_OUTSIDE)),
                    (out_at + AWAY_S, (DOOR_OUTSIDE, DOOR_INSIDE)),
                ):
                    if since < at <= t and at >= oldest:
                        reads += self._passage(kit, at, ports)
        return reads

    def _passage(self, kit: Kit, at: float, ports: tuple[int, int]) -> list[SimulatedRead]:
        """Read at one antenna, then ``PASS_S`` later at the other, the last read at the
        crossing's time (never ahead of the appliance's clock)."""
        self.crossings += 1
        end = self._real(at)
        reads = []
        for i, port in enumerate(ports):
            last = end - dt.timedelta(seconds=(1 - i) * PASS_S)
            first = last - dt.timedelta(seconds=0.2)
            reads.append(SimulatedRead(kit.epc, port, -54 - i * 3, first, last, count=3))
        return reads

    def _shelf_reads(self, room: Room, since: float | None, t: float) -> list[SimulatedRead]:
        """Every item on the room's shelves, once per ``SHELF_EVERY_S`` (the latest only)."""
        tick = math.floor(t / SHELF_EVERY_S)
        if since is not None and tick == math.floor(since / SHELF_EVERY_S):
            return []
        at = self._real(tick * SHELF_EVERY_S)
        reads = []
        for kit in room.kit:
            if self.is_away(kit, t):
                continue
            spread = zlib.crc32(kit.epc.encode()) % 12  # each label's own strength
            first = at - dt.timedelta(seconds=SHELF_EVERY_S / self.speedup)
            reads.append(SimulatedRead(kit.epc, kit.shelf, -48 - spread, first, at, count=4))
        return reads

    async def run(self, sink: ObservationSink) -> None:
        self._stop.clear()
        try:
            for reader in self.readers.values():
                await reader.start()
            while not self._stop.is_set():
                await self.catch_up()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), TICK_S)
        finally:
            for reader in self.readers.values():
                await reader.close()

    async def stop(self) -> None:
        self._stop.set()

    def details(self) -> dict[str, Any]:
        """What GET /api/v1/plugins says of the simulator."""
        return {
            "readers": {name: f"127.0.0.1:{r.port}" for name, r in self.readers.items()},
            "crossings": self.crossings,
            "speedup": self.speedup,
        }
