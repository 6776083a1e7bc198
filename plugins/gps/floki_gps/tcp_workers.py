"""A tracker listener's connections held by worker processes (``tcp_worker``), so reading
sockets, framing and decoding run on another core than the location pipeline.

The appliance binds the listening socket (so a port that cannot be had is this source's
error, as in-process) and passes it to each worker; it keeps the register, the device
book, the counters and the hand-over to the core. Each worker is watched: one that ends
is started again (after a pause that grows while it keeps ending), and connections that
arrive meanwhile wait in the kernel's backlog. What a worker hands over reaches the core
before its trackers are acknowledged, so a worker killed at any moment loses nothing a
tracker was told was taken.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import socket
from typing import TYPE_CHECKING, Any

from floki_core.sdk import FrameChannel, ObservationSink, WorkerProcess, open_channel
from floki_gps.fix_observations import observations
from floki_gps.fixes import Fix
from floki_gps.tcp_connection import ListenerUnavailable
from floki_gps.tcp_messages import ENCODER, FROM_WORKER, Answer, Ask, Batch, Open, Taken

if TYPE_CHECKING:
    from floki_gps.tcp_listener import TrackerListener

__all__ = ["TrackerWorkers"]

log = logging.getLogger("floki.plugin.gps")

LISTEN_BACKLOG = 4096  # connections waiting while a worker starts or catches up
RESTART_FIRST_SECONDS = 0.5
RESTART_MAX_SECONDS = 10.0
# A worker that ran this long before it ended is restarted after the shortest pause.
RAN_WELL_SECONDS = 30.0


class TrackerWorkers:
    """``count`` worker processes holding ``listener``'s connections."""

    def __init__(self, listener: TrackerListener, protocol: str, count: int) -> None:
        self.listener = listener
        self.protocol = protocol
        self.count = count
        self.pids: dict[int, int | None] = {}
        self.restarts = 0
        self._links: dict[int, _Link] = {}

    @property
    def connections(self) -> int:
        """Connections the workers hold now (admitted under the cap)."""
        return sum(link.admitted for link in self._links.values())

    async def run(self, sink: ObservationSink, stopping: asyncio.Event) -> None:
        listener = self.listener
        sock = _listen(listener.title, listener.host, listener.port)
        listener.bound = sock.getsockname()[:2]
        log.info(
            "listening for %s trackers on %s:%s (%d worker process%s)",
            listener.title,
            listener.host,
            listener.port,
            self.count,
            "" if self.count == 1 else "es",
        )
        keepers = [asyncio.create_task(self._keep(n, sock, sink)) for n in range(self.count)]
        try:
            done, _ = await asyncio.wait(
                [asyncio.create_task(stopping.wait()), *keepers],
                return_when=asyncio.FIRST_COMPLETED,
            )
            for task in done:
                if task in keepers:
                    task.result()  # a keeper that failed ends the source with its error
        finally:
            for task in keepers:
                task.cancel()
            await asyncio.gather(*keepers, return_exceptions=True)
            sock.close()
            listener.bound = None

    async def _keep(self, number: int, sock: socket.socket, sink: ObservationSink) -> None:
        """Worker ``number``, started again whenever it ends, until cancelled."""
        from floki_gps import tcp_listener  # its limits, read as each worker starts

        listener = self.listener
        loop = asyncio.get_running_loop()
        pause = RESTART_FIRST_SECONDS
        while True:
            ours, theirs = socket.socketpair()
            process = WorkerProcess(
                f"{listener.title} tracker worker {number + 1}",
                "floki_gps.tcp_worker",
                [
                    f"--protocol={self.protocol}",
                    f"--listen-fd={sock.fileno()}",
                    f"--channel-fd={theirs.fileno()}",
                    f"--idle-timeout={listener.idle_timeout}",
                    f"--batch-seconds={listener.batch_seconds}",
                    f"--max-connections={listener.cap.limit}",
                    f"--pending-limit={tcp_listener.PENDING_LIMIT}",
                    f"--write-timeout={tcp_listener.WRITE_TIMEOUT_SECONDS}",
                ],
            )
            link = self._links[number] = _Link(listener, self.protocol, sink)
            try:
                try:
                    await process.start([sock, theirs])
                finally:
                    theirs.close()
                link.channel = await open_channel(ours, link.received)
                self.pids[number] = process.pid
                started = loop.time()
                ended = asyncio.create_task(process.wait())
                either: list[asyncio.Future[Any]] = [ended, link.channel.closed]
                await asyncio.wait(either, return_when=asyncio.FIRST_COMPLETED)
            finally:
                self.pids[number] = None
                if link.channel is not None:
                    link.channel.close()
                else:
                    ours.close()
                await asyncio.shield(process.stop())
                link.stop()
            status = process.process.returncode if process.process is not None else None
            self.restarts += 1
            if loop.time() - started >= RAN_WELL_SECONDS:
                pause = RESTART_FIRST_SECONDS
            log.warning(
                "%s tracker worker %d ended (status %s); starting it again in %.1f s",
                listener.title,
                number + 1,
                status,
                pause,
            )
            await asyncio.sleep(pause)
            pause = min(pause * 2, RESTART_MAX_SECONDS)


def _listen(title: str, host: str, port: int) -> socket.socket:
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        sock = socket.create_server((host, port), family=family, backlog=LISTEN_BACKLOG)
    except OSError as exc:
        raise ListenerUnavailable.because(title, host, port, exc) from exc
    sock.setblocking(False)
    return sock


class _Link:
    """The appliance's end of one worker: connections admitted under the shared cap,
    logins answered from the register, batches handed to the core in order and then
    reported taken."""

    def __init__(self, listener: TrackerListener, protocol: str, sink: ObservationSink) -> None:
        self.listener = listener
        self.protocol = protocol
        self.sink = sink
        self.channel: FrameChannel | None = None
        self.admitted = 0  # connections of this worker counted in the cap
        self._batches: collections.deque[Batch] = collections.deque()
        self._wake = asyncio.Event()
        self._task = asyncio.create_task(self._hand_over())

    def received(self, frame: bytes) -> None:
        message = FROM_WORKER.decode(frame)
        if isinstance(message, Batch):
            self._cap_give(message.ended)
            self._batches.append(message)
            self._wake.set()
        elif isinstance(message, Open):
            admitted = self.listener.cap.take()
            if admitted:
                self.admitted += 1
            else:
                self.listener.reject({"too_many_connections": 1})
            self._send(Answer(connection=message.connection, kind="open", yes=admitted))
        else:
            self._answer(message)

    def _cap_give(self, ended: int) -> None:
        ended = min(ended, self.admitted)
        self.admitted -= ended
        for _ in range(ended):
            self.listener.cap.give()

    def _answer(self, ask: Ask) -> None:
        listener = self.listener
        registered = listener.is_registered(ask.device)
        if registered:
            listener.devices.connected(ask.device, self.protocol, ask.peer)
        else:
            listener.devices.refused(ask.device, self.protocol, ask.peer)
            listener.reject({"unknown_device": 1})
        self._send(Answer(connection=ask.connection, kind="login", yes=registered))

    def _send(self, message: Answer | Taken) -> None:
        if self.channel is not None and self.channel.is_open:
            self.channel.send(ENCODER.encode(message))

    async def _hand_over(self) -> None:
        try:
            await self._hand_over_forever()
        except asyncio.CancelledError:
            raise
        except Exception:
            # Nothing of this worker's would be acknowledged again: end the link, so the
            # worker is started afresh and its trackers send what it held once more.
            log.exception("%s: handing a worker's batch to the core failed", self.listener.title)
            if self.channel is not None:
                self.channel.close()

    async def _hand_over_forever(self) -> None:
        listener = self.listener
        devices = listener.devices
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._batches:
                batch = self._batches.popleft()
                now = listener.received_at()
                taken: list[Fix] = []
                for peer, fixes in batch.packets:
                    devices.heard_all(fixes, peer, now)
                    taken += fixes
                found = observations(taken, now)
                for device in batch.hung_up:
                    devices.disconnected(device)
                if batch.rejected:
                    listener.reject(batch.rejected)
                if found:
                    await self.sink.submit(found)
                self._send(Taken(seq=batch.seq))

    def stop(self) -> None:
        """The worker has ended: its connections are gone with it."""
        self._cap_give(self.admitted)
        # Batches not yet handed over go with the worker: their trackers were not
        # acknowledged, so they send those records again.
        self._task.cancel()
