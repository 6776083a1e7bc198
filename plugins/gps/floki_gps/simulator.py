"""Simulated GPS trackers: the register's community kit, driven through the real listeners.

``[plugin.gps] simulate = true`` (the demo switches it on) gives every asset with a
``gps`` identifier a tracker that reports where ``floki_gps.simulator_model`` puts it:
Teltonika and GT06 trackers over TCP to this plugin's own listeners, with the real
handshakes and acknowledgements, and a phone posting to the OsmAnd listener as Traccar
Client does. Nothing is handed to the core directly: the fixes take the same path as a
real tracker's, so the demo exercises the listeners, the geofence locator and the
zone-level view of loaned kit.

Each tracker reports every 30 simulated seconds (``simulate_speedup`` times faster in
real time); a Teltonika tracker sends the fixes it buffered in one AVL packet. The
fixes carry the real time they stand for, with an accuracy a receiver with a fair view
of the sky gives, and a battery that drains slowly. Driven by the injected clock, so a
test moves a manual clock and calls :meth:`SimulatedTrackers.catch_up`.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import Awaitable, Callable

import aiohttp

from floki_core.sdk import Clock, ObservationSink, RegisterSnapshot, RegisterView
from floki_gps.config import GpsSettings
from floki_gps.fixes import METRES_PER_HDOP, Fix
from floki_gps.simulator_model import FIX_EVERY_S, Item, build_items, offset
from floki_gps.simulator_trackers import Gt06Link, Link, LinkRefused, OsmandLink, TeltonikaLink

SOURCE_NAME = "gps-simulator"
MAX_BACKLOG_S = 120.0  # after a longer pause (a suspended machine) trackers skip ahead
REREAD_S = 30.0  # how often a register with nothing to simulate is looked at again
WARN_EVERY_S = 60.0
HEARTBEAT_EVERY = 10  # a GT06 tracker's battery comes in a heartbeat, every tenth report

Loader = Callable[[], Awaitable[RegisterSnapshot]]


async def read_register(register: RegisterView) -> RegisterSnapshot:
    return await register.snapshot()


def loopback(host: str) -> str:
    """Where a tracker on this machine reaches a listener bound to ``host``."""
    return {"": "127.0.0.1", "0.0.0.0": "127.0.0.1", "::": "::1"}.get(host, host)


class SimulatedTrackers:
    def __init__(
        self, settings: GpsSettings, clock: Clock, load: Loader, log: logging.Logger
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.load = load
        self.log = log
        self.items: list[Item] | None = None
        self.links: dict[str, Link] = {}
        self.sent = 0  # fixes the listeners took
        self.failed = 0  # fixes that could not be delivered
        self._started: dt.datetime | None = None
        self._next_fix: dict[str, int] = {}
        self._reports: dict[str, int] = {}
        self._read_at: float | None = None
        self._warned_at: float | None = None
        self._session: aiohttp.ClientSession | None = None
        self._sink: ObservationSink | None = None
        self._lock = asyncio.Lock()
        self._stop = asyncio.Event()

    @property
    def speedup(self) -> float:
        return self.settings.simulate_speedup

    def simulated_seconds(self) -> float:
        """Simulated time since the simulation began (0 before it has)."""
        if self._started is None:
            return 0.0
        return (self.clock.now() - self._started).total_seconds() * self.speedup

    async def _ensure_items(self) -> list[Item] | None:
        if self.items is not None:
            return self.items
        mono = self.clock.monotonic()
        if self._read_at is not None and mono - self._read_at < REREAD_S:
            return None
        self._read_at = mono
        try:
            items = build_items(await self.load(), self.settings.simulate_seed)
        except ValueError as exc:
            self.log.warning("simulated GPS trackers idle: %s", exc)
            return None
        if not items:
            self.log.warning("simulated GPS trackers idle: no asset has a gps identifier")
            return None
        self.items = items
        self._started = self.clock.now()
        self._next_fix = {item.device: 0 for item in items}
        kinds = sorted({item.protocol for item in items})
        self.log.info(
            "simulating %d GPS trackers (%s), %g times real time",
            len(items),
            ", ".join(kinds),
            self.speedup,
        )
        return items

    def _link(self, item: Item) -> Link | None:
        link = self.links.get(item.device)
        if link is not None:
            return link
        settings, host = self.settings, loopback(self.settings.listen_host)
        if item.protocol == "teltonika" and settings.teltonika_port:
            link = TeltonikaLink(item.device, host, settings.teltonika_port)
        elif item.protocol == "gt06" and settings.gt06_port:
            link = Gt06Link(item.device, host, settings.gt06_port)
        elif item.protocol == "osmand" and settings.osmand_port:
            if self._session is None:
                connector = aiohttp.TCPConnector(ssl=False)  # the appliance's own certificate
                self._session = aiohttp.ClientSession(connector=connector)
            scheme = "https" if settings.osmand_tls else "http"
            name = f"[{host}]" if ":" in host else host
            link = OsmandLink(
                item.device, f"{scheme}://{name}:{settings.osmand_port}", self._session
            )
        if link is not None:
            self.links[item.device] = link
        return link

    def _fix(self, item: Item, t: float, at: dt.datetime) -> Fix:
        where = item.position(t)
        rng = item.rng
        hdop = round(rng.uniform(0.7, 1.3), 1)
        lon, lat = where.lon, where.lat
        if where.place is not None:  # a receiver at rest wanders a metre or two
            lon, lat = offset(lon, lat, rng.gauss(0, 1.0), rng.gauss(0, 1.0))
        battery = round(item.battery(t), 1)
        moving = where.place is None
        count = self._reports[item.device] = self._reports.get(item.device, 0) + 1
        if item.protocol == "gt06" and count % HEARTBEAT_EVERY == 0:
            return Fix(device=item.device, protocol="gt06", at=at, battery_pct=battery)
        return Fix(
            device=item.device,
            protocol=item.protocol,
            at=at,
            lat=round(lat, 6),
            lon=round(lon, 6),
            hdop=hdop,
            accuracy_m=round(hdop * METRES_PER_HDOP, 1) if item.protocol == "osmand" else None,
            satellites=rng.randint(7, 12),
            speed_kmh=where.speed_kmh,
            course_deg=where.course_deg,
            battery_pct=battery,
            battery_mv=round(3300 + battery * 9) if item.protocol == "teltonika" else None,
            moving=moving,
        )

    def _due(self, item: Item, t: float, now: dt.datetime) -> list[Fix]:
        """The fixes ``item`` has taken up to simulated time ``t`` and not yet sent: its
        first at once, then one every ``FIX_EVERY_S`` at its own phase."""
        assert self._started is not None
        fixes = []
        n = self._next_fix[item.device]  # the number of the tracker's next report
        while (s := 0.0 if n == 0 else item.fix_phase_s + n * FIX_EVERY_S) <= t:
            at = self._started + dt.timedelta(seconds=s / self.speedup)
            if (now - at).total_seconds() <= MAX_BACKLOG_S:
                fixes.append(self._fix(item, s, at))
            n += 1
        self._next_fix[item.device] = n
        return fixes

    async def catch_up(self) -> int:
        """Send every fix the trackers have taken since they last reported; how many the
        listeners took."""
        async with self._lock:
            items = await self._ensure_items()
            if items is None:
                return 0
            now, t = self.clock.now(), self.simulated_seconds()
            sends: list[Awaitable[int]] = []
            counts: list[int] = []
            for item in items:
                fixes = self._due(item, t, now)
                link = self._link(item)
                if fixes and link is not None:
                    sends.append(link.send(fixes))
                    counts.append(len(fixes))
            results = await asyncio.gather(*sends, return_exceptions=True)
            taken = 0
            for result, count in zip(results, counts, strict=True):
                if isinstance(result, BaseException):
                    self._failed(result, count)
                else:
                    taken += result
            self.sent += taken
            return taken

    def _failed(self, error: BaseException, count: int) -> None:
        if not isinstance(error, OSError | LinkRefused):
            raise error
        self.failed += count
        if self._sink is not None:
            self._sink.reject("not_delivered", count)
        mono = self.clock.monotonic()
        if self._warned_at is None or mono - self._warned_at >= WARN_EVERY_S:
            self._warned_at = mono
            self.log.warning("simulated GPS tracker could not report: %s", error)

    async def run(self, sink: ObservationSink) -> None:
        self._sink = sink
        self._stop.clear()
        try:
            while not self._stop.is_set():
                await self.catch_up()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), 1.0)
        finally:
            await self._close()

    async def stop(self) -> None:
        self._stop.set()
        await self._close()

    async def _close(self) -> None:
        links, self.links = self.links, {}
        for link in links.values():
            await link.close()
        session, self._session = self._session, None
        if session is not None:
            await session.close()
