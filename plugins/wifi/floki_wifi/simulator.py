"""The demo's Wi-Fi pumps, driven through the plugin's real syslog listener.

``[plugin.wifi] simulate = true`` (``floki-core demo`` writes it, with ``listen_host``
on loopback) adds the source ``wifi-simulator``: a Cisco wireless controller that sends
its access points' association lines as syslog datagrams to the plugin's own listener,
exactly as a controller on the LAN would (``simulator_syslog``). The pumps are the register's assets
with a ``wifi`` identifier, on the access point of their home zone, a couple of them
roaming to other access points now and then; around them phones with randomised MACs
and staff devices no asset carries come and go (``simulator_model``), which the listener
must count and drop, so the demo shows the privacy filter at work.

Nothing is handed to the core directly. Driven by the injected clock, ``SPEEDUP`` times
faster than real time, so a test moves a manual clock and calls
:meth:`SimulatedNetwork.catch_up`. The simulator never logs or reports a device's MAC.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import random
from collections.abc import Awaitable, Callable
from typing import Any

from floki_core.sdk import Clock, ObservationSink, PluginContext, RegisterSnapshot, SourceRegistry
from floki_wifi.config import WifiSettings
from floki_wifi.simulator_model import (
    PASSING_EVERY_S,
    PASSING_PER_TICK,
    Pump,
    Scene,
    build_scene,
)
from floki_wifi.simulator_syslog import Association, SyslogSender, controller_line

SOURCE_NAME = "wifi-simulator"
SPEEDUP = 10.0  # as the demo's other simulators: a ten-minute stay passes in a minute
SEED = 7
MAX_BACKLOG_S = 120.0  # lines further behind than this (a suspended machine) are skipped
REREAD_S = 30.0  # how often a register with nothing to simulate is read again
WARN_EVERY_S = 60.0
TICK_S = 1.0

Loader = Callable[[], Awaitable[RegisterSnapshot]]
Target = Callable[[], tuple[str, int] | None]


def loopback(host: str) -> str:
    """Where an access point on this machine reaches a listener bound to ``host``."""
    return {"": "127.0.0.1", "0.0.0.0": "127.0.0.1", "::": "::1"}.get(host, host)


def syslog_target(settings: WifiSettings) -> tuple[str, int] | None:
    """The syslog listener's UDP address, or None when none listens (no ``listen_host``,
    or no UDP port in ``[plugin.wifi.syslog]``)."""
    if not settings.listen_host:
        return None
    port = settings.syslog.udp_port
    if port <= 0:
        return None
    return loopback(settings.listen_host), port


class SimulatedNetwork:
    """The source ``wifi-simulator``."""

    def __init__(
        self,
        target: Target,
        clock: Clock,
        load: Loader,
        log: logging.Logger,
        *,
        speedup: float = SPEEDUP,
        seed: int = SEED,
    ) -> None:
        self.target = target
        self.clock = clock
        self.load = load
        self.log = log
        self.speedup = speedup
        self.seed = seed
        self.scene: Scene | None = None
        self.sent = 0  # datagrams handed to the network
        self.tracked_sent = 0  # ... of them about a pump
        self.untracked_sent = 0  # ... about a phone or device nobody tracks
        self.failed = 0  # datagrams not delivered (nothing listening)
        self._started: dt.datetime | None = None
        self._done: float | None = None  # simulated time sent up to
        self._read_at: float | None = None
        self._warned_at: float | None = None
        self._sender: SyslogSender | None = None
        self._sink: ObservationSink | None = None
        self._lock = asyncio.Lock()
        self._stop = asyncio.Event()

    def simulated_seconds(self) -> float:
        if self._started is None:
            return 0.0
        return (self.clock.now() - self._started).total_seconds() * self.speedup

    def _real(self, t: float) -> dt.datetime:
        assert self._started is not None
        return self._started + dt.timedelta(seconds=t / self.speedup)

    async def _ensure_scene(self) -> Scene | None:
        if self.scene is not None:
            return self.scene
        mono = self.clock.monotonic()
        if self._read_at is not None and mono - self._read_at < REREAD_S:
            return None
        self._read_at = mono
        try:
            scene = build_scene(await self.load(), self.seed)
        except ValueError as exc:
            self.log.warning("simulated Wi-Fi idle: %s", exc)
            return None
        self.scene = scene
        self._started = self.clock.now()
        self.log.info(
            "simulating %d Wi-Fi pumps on %d access points among %d untracked devices, "
            "%g times real time",
            len(scene.pumps),
            len(scene.access_points),
            len(scene.passers),
            self.speedup,
        )
        return scene

    def _pump_events(self, pump: Pump, since: float | None, t: float) -> list[Association]:
        events = []
        for at in pump.joins(since, t):
            ap = pump.access_point(at)
            if ap is None:
                continue
            when = self._real(at)
            events.append(Association(ap.mac, pump.mac, when))
        return events

    def _passing_events(self, scene: Scene, since: float | None, t: float) -> list[Association]:
        """Every ``PASSING_EVERY_S``, a few phones and laptops join or leave an access point."""
        if not scene.passers:
            return []
        first = 0 if since is None else int(since // PASSING_EVERY_S) + 1
        events = []
        for tick in range(first, int(t // PASSING_EVERY_S) + 1):
            rng = random.Random(self.seed * 1_000_003 + tick)
            when = self._real(tick * PASSING_EVERY_S)
            for passer in rng.sample(scene.passers, min(PASSING_PER_TICK, len(scene.passers))):
                ap = rng.choice(scene.access_points)
                joins = rng.random() < 0.7
                events.append(Association(ap.mac if joins else None, passer.mac, when))
        return events

    async def catch_up(self) -> int:
        """Send every line the access points have logged since the last call; how many
        datagrams went out."""
        async with self._lock:
            scene = await self._ensure_scene()
            target = self.target()
            if scene is None or target is None:
                return 0
            t, since = self.simulated_seconds(), self._done
            oldest = self.clock.now() - dt.timedelta(seconds=MAX_BACKLOG_S)
            tracked = [e for p in scene.pumps for e in self._pump_events(p, since, t)]
            untracked = self._passing_events(scene, since, t)
            self._done = t
            tracked = [e for e in tracked if e.at >= oldest]
            untracked = [e for e in untracked if e.at >= oldest]
            events = sorted([*tracked, *untracked], key=lambda e: e.at)
            if not events:
                return 0
            sender = self._sender_for(target)
            try:
                sent = await sender.send([controller_line(e) for e in events])
            except OSError as exc:
                # Sent again next time (within the backlog): the listener may be starting.
                self._done = since
                self._failed(exc, len(events))
                return 0
            self.sent += sent
            self.tracked_sent += len(tracked)
            self.untracked_sent += len(untracked)
            return sent

    def _sender_for(self, target: tuple[str, int]) -> SyslogSender:
        sender = self._sender
        if sender is None or (sender.host, sender.port) != target:
            if sender is not None:
                sender.close()
            sender = self._sender = SyslogSender(*target)
        return sender

    def _failed(self, error: OSError, count: int) -> None:
        self.failed += count
        if self._sink is not None:
            self._sink.reject("not_delivered", count)
        mono = self.clock.monotonic()
        if self._warned_at is None or mono - self._warned_at >= WARN_EVERY_S:
            self._warned_at = mono
            self.log.warning(
                "simulated access points could not reach the syslog listener: %s", error
            )

    async def run(self, sink: ObservationSink) -> None:
        self._sink = sink
        self._stop.clear()
        try:
            while not self._stop.is_set():
                await self.catch_up()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), TICK_S)
        finally:
            self._close()

    async def stop(self) -> None:
        self._stop.set()

    def _close(self) -> None:
        sender, self._sender = self._sender, None
        if sender is not None:
            sender.close()

    def details(self) -> dict[str, Any]:
        """What GET /api/v1/plugins says of the simulator: counts, never a device."""
        target = self.target()
        scene = self.scene
        return {
            "target": None if target is None else f"{target[0]}:{target[1]}",
            "access_points": None if scene is None else len(scene.access_points),
            "pumps": None if scene is None else len(scene.pumps),
            "datagrams": self.sent,
            "tracked_lines": self.tracked_sent,
            "untracked_lines": self.untracked_sent,
            "not_delivered": self.failed,
            "speedup": self.speedup,
        }


def register_sources(
    registry: SourceRegistry, context: PluginContext, settings: WifiSettings
) -> None:
    """The ``wifi-simulator`` source, which reaches the syslog listener on loopback."""
    if syslog_target(settings) is None:
        context.log.warning(
            '[plugin.wifi] simulate = true needs listen_host (e.g. "127.0.0.1") and the '
            "syslog listener's UDP port: no access point is simulated"
        )
        return
    register = context.register
    if register is None:
        raise RuntimeError("simulate = true needs the running appliance to read the register")

    async def load() -> RegisterSnapshot:
        return await register.snapshot()

    registry.add(
        SOURCE_NAME,
        SimulatedNetwork(
            lambda: syslog_target(settings),
            context.clock,
            load,
            context.log,
            speedup=settings.simulate_speedup,
            seed=settings.simulate_seed,
        ),
    )
