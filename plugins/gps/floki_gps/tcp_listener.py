"""The TCP listener every tracker protocol shares: one supervised source per protocol.

It accepts trackers' connections (up to a cap shared by all the TCP protocols), feeds
each connection's bytes to its protocol's session (``tcp_session.TrackerSession``) as
they arrive, writes the session's answers back, keeps the device book current, and hands
the fixes to the core as observations every ``batch_seconds``. Bad input is counted with
``sink.reject`` and never ends the source; only a listener that cannot listen (the port
taken, the address not on this host) ends ``run`` with an error that names why, so the
supervisor shows it and tries again after its backoff.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
from collections.abc import Callable

from floki_core.sdk import Clock, Observation, ObservationSink
from floki_gps.devices import DeviceBook
from floki_gps.fixes import observation
from floki_gps.tcp_session import Step, TrackerSession

__all__ = ["ConnectionCap", "ListenerUnavailable", "TrackerListener"]

log = logging.getLogger("floki.plugin.gps")

READ_BYTES = 4096  # one read's most; a session keeps what a frame still lacks
# A tracker that takes answers no faster than this is treated as gone.
WRITE_TIMEOUT_SECONDS = 10.0
# Fixes held for the next batch at most: at this many the batch goes at once, and while
# the core has not taken it the connections read nothing more (the trackers keep their
# records and TCP holds them back), so a core that falls behind costs no memory here.
PENDING_LIMIT = 20_000


class ListenerUnavailable(ConnectionError):
    """The listener could not be opened; the message says where and why."""


class ConnectionCap:
    """Connections held at once across the listeners that share it."""

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
    ) -> None:
        self.title = title
        self.host = host
        self.port = port
        self._new_session = new_session
        self._devices = devices
        self._clock = clock
        self._cap = cap
        self._idle_timeout = idle_timeout
        self._batch_seconds = batch_seconds
        self._stopping = asyncio.Event()
        self._due = asyncio.Event()  # a batch to hand over now, not at the next tick
        self._room = asyncio.Event()  # fewer than PENDING_LIMIT fixes are held
        self._room.set()
        self._pending: list[Observation] = []
        self._connections: dict[asyncio.Task[None], asyncio.StreamWriter] = {}
        self._sink: ObservationSink | None = None
        self.bound: tuple[str, int] | None = None  # the address listened on, once open

    @property
    def connections(self) -> int:
        return len(self._connections)

    # --- the source protocol ------------------------------------------------------------

    async def run(self, sink: ObservationSink) -> None:
        self._stopping.clear()
        self._due.clear()
        self._room.set()
        self._sink = sink
        try:
            server = await asyncio.start_server(self._serve, self.host, self.port)
        except OSError as exc:
            raise ListenerUnavailable(
                f"cannot listen for {self.title} trackers on {self.host}:{self.port}: "
                f"{exc.strerror or exc}"
            ) from exc
        self.bound = server.sockets[0].getsockname()[:2] if server.sockets else None
        log.info("listening for %s trackers on %s:%s", self.title, self.host, self.port)
        try:
            while not self._stopping.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._due.wait(), self._batch_seconds)
                self._due.clear()
                await self._flush()
        finally:
            server.close()
            await self._close_connections()
            await server.wait_closed()
            self.bound = None
            await self._flush()

    async def stop(self) -> None:
        self._stopping.set()
        self._due.set()

    # --- connections ----------------------------------------------------------------------

    async def _close_connections(self) -> None:
        tasks = list(self._connections)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        if self._stopping.is_set() or not self._cap.take():
            self._reject({"too_many_connections": 1})
            writer.transport.abort()
            return
        self._connections[task] = writer
        session = self._new_session()
        peer = _peer(writer)
        try:
            await self._converse(session, reader, writer, peer)
        except (ConnectionError, OSError, TimeoutError):
            pass  # the tracker went away mid-answer: it reconnects and resends
        except asyncio.CancelledError:
            # The listener stopping ends its connections: nothing waits on this task (asyncio
            # started it), so the cancellation ends here rather than as a logged error.
            return
        finally:
            self._cap.give()
            del self._connections[task]
            if session.device is not None:
                self._devices.disconnected(session.device)
            writer.transport.abort()

    async def _converse(
        self,
        session: TrackerSession,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        peer: str,
    ) -> None:
        while True:
            await self._room.wait()
            try:
                # A timeout around the read, not wait_for: no task per read, and nothing
                # but the timer held by an idle connection.
                async with asyncio.timeout(self._idle_timeout):
                    data = await reader.read(READ_BYTES)
            except TimeoutError:
                self._reject({"idle_timeout": 1})
                return
            if not data:
                return
            step = session.feed(data)
            self._take(step, session.protocol, peer)
            if step.answer:
                writer.write(step.answer)
                await asyncio.wait_for(writer.drain(), WRITE_TIMEOUT_SECONDS)
            if step.close:
                return

    def _take(self, step: Step, protocol: str, peer: str) -> None:
        if step.refused is not None:
            self._devices.refused(step.refused, protocol, peer)
        if step.logged_in is not None:
            self._devices.connected(step.logged_in, protocol, peer)
        if step.rejected:
            self._reject(collections.Counter(step.rejected))
        if step.fixes:
            now = self._clock.now()
            for fix in step.fixes:
                self._devices.heard(fix, peer)
                self._pending.append(observation(fix, now))
            if len(self._pending) >= PENDING_LIMIT:
                self._room.clear()
                self._due.set()

    def _reject(self, counts: dict[str, int]) -> None:
        if self._sink is None:
            return
        for reason, count in counts.items():
            self._sink.reject(reason, count)

    async def _flush(self) -> None:
        if not self._pending or self._sink is None:
            return
        batch, self._pending = self._pending, []
        self._room.set()
        await self._sink.submit(batch)


def _peer(writer: asyncio.StreamWriter) -> str:
    address = writer.get_extra_info("peername")
    if isinstance(address, tuple) and len(address) >= 2:
        return f"{address[0]}:{address[1]}"
    return str(address)
