"""The TCP listener every tracker protocol shares: one supervised source per protocol.

It accepts trackers' connections (up to a cap shared by all the TCP protocols), feeds
each connection's bytes to its protocol's session (``tcp_session.TrackerSession``) as
they arrive, writes the session's answers back, keeps the device book current, and hands
the fixes to the core as observations every ``batch_seconds``. Bad input is counted with
``sink.reject`` and never ends the source; only a listener that cannot listen (the port
taken, the address not on this host) ends ``run`` with an error that names why, so the
supervisor shows it and tries again after its backoff.

Each connection is an ``asyncio.Protocol`` fed straight from the event loop's read
callback: no task, stream buffer or timer per connection, so thousands of trackers that
each send a packet every half minute cost little while silent and little per packet.
One sweep a fraction of the idle timeout apart finds the silent and the stuck.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import datetime as dt
import logging
from collections.abc import Callable
from typing import cast

from floki_core.sdk import Clock, Observation, ObservationSink
from floki_gps.devices import DeviceBook
from floki_gps.fix_observations import observations
from floki_gps.fixes import Fix
from floki_gps.tcp_connection import (
    SWEEPS_PER_TIMEOUT,
    ListenerUnavailable,
    TrackerConnection,
    sweep,
)
from floki_gps.tcp_session import HoldingSession, Step, TrackerSession
from floki_gps.tcp_workers import TrackerWorkers

__all__ = ["ConnectionCap", "ListenerUnavailable", "TrackerListener"]

log = logging.getLogger("floki.plugin.gps")

# A tracker that takes answers no faster than this is treated as gone.
WRITE_TIMEOUT_SECONDS = 10.0
# Fixes held for the next batch: at this many the batch goes at once, and if the core
# has not yet taken the last one the connections that deliver are read no further (the
# trackers keep their records and TCP holds them back), so a core that falls behind
# costs no memory here.
PENDING_LIMIT = 20_000
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


class ConnectionCap:
    """Connections held at once across the listeners that share it, in this process or
    in worker processes (which ask before they read a connection: ``tcp_workers``)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.held = 0

    def take(self) -> bool:
        if self.held >= self.limit:
            return False
        self.held += 1
        return True

    def give(self) -> None:
        self.held = max(0, self.held - 1)


class TrackerListener:
    """Trackers of one protocol connecting to ``host:port``."""

    def __init__(
        self,
        *,
        title: str,
        host: str,
        port: int,
        new_session: Callable[[], TrackerSession],
        devices: DeviceBook,
        clock: Clock,
        cap: ConnectionCap,
        idle_timeout: float,
        batch_seconds: float,
        check: Callable[[], object] | None = None,
        workers: int = 0,
        worker_protocol: str | None = None,
        is_registered: Callable[[str], bool] | None = None,
    ) -> None:
        """``check`` is called as the listener starts: it raises (with the reason, which
        the source's status then shows) if the settings leave it nothing to do.

        With ``workers`` > 0 the connections are held by that many worker processes
        speaking ``worker_protocol`` (a name in ``tcp_worker.PROTOCOLS``), whose logins
        ``is_registered`` decides; otherwise by this process."""
        self.title = title
        self._check = check
        self.host = host
        self.port = port
        self.new_session = new_session
        self.devices = devices
        self.clock = clock
        self.cap = cap
        self.idle_timeout = idle_timeout
        self.batch_seconds = batch_seconds
        self.workers = workers if worker_protocol is not None else 0
        self.worker_protocol = worker_protocol
        self.is_registered = is_registered or (lambda device: True)
        self.worker_pool: TrackerWorkers | None = None
        self._stopping = asyncio.Event()
        self._due = asyncio.Event()  # a batch to hand over now, not at the next tick
        # PENDING_LIMIT fixes wait while the core has not taken the last batch: a
        # connection that delivers is read no further (and noted in ``paused``) until the
        # next batch has gone; silent ones are never touched.
        self.held_back = False
        self.paused: set[_Connection] = set()
        self._submitting = False  # a batch is being handed over (the core may be behind)
        self._pending: list[Observation] = []
        self._connections: set[_Connection] = set()
        self._holding: set[_Connection] = set()  # whose sessions hold a fix in progress
        self._sink: ObservationSink | None = None
        # The clock's time, read once per turn of the event loop (``received_at``).
        self._turn = -1.0
        self._turn_now = _EPOCH
        self.bound: tuple[str, int] | None = None  # the address listened on, once open

    @property
    def connections(self) -> int:
        if self.worker_pool is not None:
            return self.worker_pool.connections
        return len(self._connections)

    def details(self) -> dict[str, object]:
        """What ``GET /api/v1/plugins`` and the console's Health show of the listener."""
        found: dict[str, object] = {
            "address": None if self.bound is None else f"{self.bound[0]}:{self.bound[1]}",
            "connections": self.connections,
        }
        pool = self.worker_pool
        if pool is not None:
            found["worker_processes"] = sorted(pid for pid in pool.pids.values() if pid)
            found["worker_restarts"] = pool.restarts
        return found

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    # --- the source protocol ------------------------------------------------------------

    async def run(self, sink: ObservationSink) -> None:
        self._stopping.clear()
        self._due.clear()
        self.held_back = False
        self._sink = sink
        if self._check is not None:
            self._check()
        if self.workers > 0 and self.worker_protocol is not None:
            self.worker_pool = TrackerWorkers(self, self.worker_protocol, self.workers)
            await self.worker_pool.run(sink, self._stopping)
            return
        loop = asyncio.get_running_loop()
        try:
            server = await loop.create_server(lambda: _Connection(self), self.host, self.port)
        except OSError as exc:
            raise ListenerUnavailable.because(self.title, self.host, self.port, exc) from exc
        self.bound = server.sockets[0].getsockname()[:2] if server.sockets else None
        log.info("listening for %s trackers on %s:%s", self.title, self.host, self.port)
        sweep_every = min(self.idle_timeout / SWEEPS_PER_TIMEOUT, 1.0)
        next_sweep = loop.time() + sweep_every
        next_flush = loop.time() + self.batch_seconds
        try:
            while not self._stopping.is_set():
                wait = max(0.0, min(next_sweep, next_flush) - loop.time())
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._due.wait(), wait)
                now = loop.time()
                if now >= next_sweep:
                    self._sweep(now)
                    next_sweep = now + sweep_every
                if self._due.is_set() or now >= next_flush:
                    self._due.clear()
                    await self._flush()
                    next_flush = loop.time() + self.batch_seconds
        finally:
            server.close()
            for connection in list(self._connections):
                connection.hang_up()
            await server.wait_closed()
            self.bound = None
            await self._flush()

    async def stop(self) -> None:
        self._stopping.set()
        self._due.set()

    # --- what the connections call --------------------------------------------------------

    def opened(self, connection: _Connection) -> bool:
        """Whether a new connection may stay (under the cap, the listener running)."""
        if self._stopping.is_set() or not self.cap.take():
            self.reject({"too_many_connections": 1})
            return False
        self._connections.add(connection)
        if hasattr(connection.session, "held"):
            self._holding.add(connection)
        return True

    def closed(self, connection: _Connection) -> None:
        self.paused.discard(connection)
        if connection in self._connections:
            self._connections.discard(connection)
            self.cap.give()
        if connection in self._holding:
            self._holding.discard(connection)
            self._take_held(connection)
        device = connection.session.device
        if device is not None:
            self.devices.disconnected(device)

    def take(self, step: Step, protocol: str, peer: str) -> None:
        if step.refused is not None:
            self.devices.refused(step.refused, protocol, peer)
        if step.logged_in is not None:
            self.devices.connected(step.logged_in, protocol, peer)
        if step.rejected:
            self.reject(collections.Counter(step.rejected))
        if step.fixes:
            self._take_fixes(step.fixes, peer)

    def _take_held(self, connection: _Connection) -> None:
        self._take_fixes(cast(HoldingSession, connection.session).held(), connection.peer)

    def received_at(self) -> dt.datetime:
        """The clock's time now, read once for all the packets taken in one turn of the
        event loop (uvloop's time stands still within a turn; asyncio's does not, and
        there it is read for each)."""
        turn = asyncio.get_running_loop().time()
        if turn != self._turn:
            self._turn, self._turn_now = turn, self.clock.now()
        return self._turn_now

    def _take_fixes(self, fixes: list[Fix], peer: str) -> None:
        if fixes:
            now = self.received_at()
            self.devices.heard_all(fixes, peer, now)
            pending = self._pending
            pending += observations(fixes, now)
            if len(pending) >= PENDING_LIMIT:
                self._due.set()  # a full batch goes at the loop's next turn
                if self._submitting:
                    self.held_back = True  # and while the core has not taken the last one

    def reject(self, counts: dict[str, int]) -> None:
        if self._sink is None:
            return
        for reason, count in counts.items():
            self._sink.reject(reason, count)

    # --- housekeeping -----------------------------------------------------------------------

    def _sweep(self, now: float) -> None:
        """Hang up on trackers silent past the idle timeout or not taking answers."""
        idle = sweep(self._connections, now, self.idle_timeout, WRITE_TIMEOUT_SECONDS)
        if idle:
            self.reject({"idle_timeout": idle})

    async def _flush(self) -> None:
        if self.held_back:
            self.held_back = False
            paused, self.paused = self.paused, set()
            for connection in paused:
                connection.resume()
        for connection in self._holding:
            self._take_held(connection)
        if not self._pending or self._sink is None:
            return
        batch, self._pending = self._pending, []
        self._submitting = True
        try:
            await self._sink.submit(batch)
        finally:
            self._submitting = False


class _Connection(TrackerConnection):
    """One tracker's connection: bytes in to its session, the session's answers out."""

    def __init__(self, listener: TrackerListener) -> None:
        super().__init__()
        self.listener = listener
        self.session = listener.new_session()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        if not self.listener.opened(self):
            transport.close()  # refused before a byte is read
            return
        self.take_transport(transport)
        if self.listener.held_back:
            self.hold_back()

    def data_received(self, data: bytes) -> None:
        transport = self.transport
        if transport is None or transport.is_closing():
            return
        self.last_heard = asyncio.get_running_loop().time()
        step = self.session.feed(data)
        self.listener.take(step, self.session.protocol, self.peer)
        self.answer(step.answer, step.close)
        if not step.close and self.listener.held_back:
            self.hold_back()

    def connection_lost(self, exc: Exception | None) -> None:
        if self.transport is not None:
            self.transport = None
            self.listener.closed(self)

    def may_read(self) -> bool:
        return not self.listener.held_back

    def resume_writing(self) -> None:
        self.write_blocked_at = None
        if self.listener.held_back:
            self.hold_back()  # read again once the batch has gone
        else:
            self.resume()

    def hold_back(self) -> None:
        self.pause()
        self.listener.paused.add(self)
