"""A worker process that holds trackers' TCP connections for the appliance:
``python -m floki_gps.tcp_worker`` (started by ``tcp_workers.TrackerWorkers``, never by
hand).

It does the part of intake that grows with the trackers and not with the estate: reading
the sockets, framing, CRC checks and decoding (the same sessions as in-process:
``teltonika``, ``gt06``), on a core of its own. The appliance keeps the location pipeline
and the register, so:

- a tracker's login is asked of the appliance (``Ask``), and answered only once the
  register has said yes (a refused one gets its protocol's refusal);
- decoded packets go to the appliance in a ``Batch`` every ``batch_seconds``, and each
  packet's acknowledgement is written to its tracker only when the appliance says the
  batch is in the core (``Taken``): a worker that is killed has acknowledged nothing the
  core does not have, and its trackers send again what it held;
- past ``--pending-limit`` fixes not yet taken, connections that deliver are read no
  further until the core catches up (TCP holds the trackers' records back);
- each connection is admitted by the appliance (``Open``: the connection cap is shared by
  every protocol's listener) before a byte of it is read.

It exits when its channel to the appliance closes (the appliance stopped or was killed)
or on SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import datetime as dt
import signal
import socket
import sys
from collections.abc import Callable

from floki_core.sdk_worker import open_channel
from floki_gps.fixes import Fix
from floki_gps.gt06 import Gt06Session
from floki_gps.tcp_connection import SWEEPS_PER_TIMEOUT, TrackerConnection, sweep
from floki_gps.tcp_messages import ENCODER, TO_WORKER, Ask, Batch, Open, Taken
from floki_gps.tcp_session import Step, TrackerSession
from floki_gps.teltonika import TeltonikaSession

__all__ = ["PROTOCOLS", "main"]

# The appliance passes its listener's own limits (``tcp_listener.PENDING_LIMIT``: fixes
# not yet taken by the core at which connections that deliver are read no further, and at
# which a batch goes at once; ``WRITE_TIMEOUT_SECONDS``: a tracker not taking its answers
# this long is hung up on), so both ways of holding trackers behave alike.

IsRegistered = Callable[[str], bool]


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


PROTOCOLS: dict[str, Callable[[IsRegistered], TrackerSession]] = {
    "teltonika": TeltonikaSession,
    "gt06": lambda is_registered: Gt06Session(is_registered, _now),
}


def _assume_registered(device: str) -> bool:
    # The worker's sessions log every tracker in; the connection then holds the answer
    # until the appliance's register has decided (``Connection._logged_in``).
    return True


def _never_registered(device: str) -> bool:
    return False


class Intake:
    """The worker's connections, the batch being gathered and the batches in flight."""

    def __init__(
        self, protocol: str, idle_timeout: float, batch_seconds: float, max_connections: int
    ) -> None:
        self.new_session = PROTOCOLS[protocol]
        # Connections held at once, admitted or waiting to be: never more than the whole
        # cap, whatever the appliance answers.
        self.max_connections = max_connections
        self.pending_limit = 20_000
        self.write_timeout = 10.0
        self.idle_timeout = idle_timeout
        self.batch_seconds = batch_seconds
        self.send: Callable[[bytes], None] = lambda payload: None
        self.connections: dict[int, Connection] = {}
        self._next_id = 0
        self.seq = 0
        self.packets: list[tuple[str, list[Fix]]] = []
        self.acks: list[tuple[Connection, bytes, bool]] = []  # with this batch
        self.fixes = 0  # in ``packets``
        self.rejected: collections.Counter[str] = collections.Counter()
        self.hung_up: list[str] = []
        self.ended = 0  # admitted connections that have ended since the last batch
        self.in_flight: dict[int, tuple[list[tuple[Connection, bytes, bool]], int]] = {}
        self.untaken = 0  # fixes sent or gathered that the core has not taken
        self.paused: set[Connection] = set()
        self.due = asyncio.Event()

    # --- connections -------------------------------------------------------------------

    def opened(self, connection: Connection) -> int | None:
        if len(self.connections) >= self.max_connections:
            self.rejected["too_many_connections"] += 1
            return None
        self._next_id += 1
        self.connections[self._next_id] = connection
        self.send(ENCODER.encode(Open(connection=self._next_id)))
        return self._next_id

    def closed(self, connection: Connection) -> None:
        self.connections.pop(connection.id, None)
        self.paused.discard(connection)
        if connection.admitted:
            self.ended += 1
        if connection.session.device is not None:
            self.hung_up.append(connection.session.device)

    def take(self, connection: Connection, step: Step) -> None:
        """A step's outcome: fixes into the batch (their answer held with it), answers
        with nothing to wait for written at once, unless an earlier answer of the same
        connection is still held (answers go out in order)."""
        if step.rejected:
            self.rejected.update(step.rejected)
        if step.fixes:
            self.packets.append((connection.peer, step.fixes))
            count = len(step.fixes)
            self.fixes += count
            self.untaken += count
            self.acks.append((connection, bytes(step.answer), step.close))
            connection.held += 1
            if self.fixes >= self.pending_limit:
                self.due.set()
            if self.untaken >= self.pending_limit:
                connection.pause()
                self.paused.add(connection)
        elif step.close and step.rejected:
            # Hung up for bad input: the counters are the appliance's before the tracker
            # sees the connection end, and the batch goes now rather than at the tick.
            self.acks.append((connection, bytes(step.answer), True))
            connection.held += 1
            self.due.set()
        elif connection.held:
            if step.answer or step.close:
                self.acks.append((connection, bytes(step.answer), step.close))
                connection.held += 1
        else:
            connection.answer(bytes(step.answer), step.close)

    # --- the appliance -----------------------------------------------------------------

    def flush(self) -> None:
        if not (self.packets or self.rejected or self.hung_up or self.ended):
            return
        self.seq += 1
        batch = Batch(
            seq=self.seq,
            packets=self.packets,
            rejected=dict(self.rejected),
            hung_up=self.hung_up,
            ended=self.ended,
        )
        self.in_flight[self.seq] = (self.acks, self.fixes)
        self.packets, self.acks, self.fixes = [], [], 0
        self.rejected.clear()
        self.hung_up = []
        self.ended = 0
        self.send(ENCODER.encode(batch))

    def received(self, frame: bytes) -> None:
        message = TO_WORKER.decode(frame)
        if isinstance(message, Taken):
            acks, fixes = self.in_flight.pop(message.seq, ([], 0))
            self.untaken -= fixes
            for connection, answer, close in acks:
                connection.held -= 1
                connection.answer(answer, close)
            if self.untaken < self.pending_limit and self.paused:
                paused, self.paused = self.paused, set()
                for connection in paused:
                    connection.resume()
        else:
            found = self.connections.get(message.connection)
            if found is None:
                return
            if message.kind == "open":
                found.admit(message.yes)
            else:
                found.decided(message.yes)

    def ask(self, connection: Connection, device: str) -> None:
        ask = Ask(connection=connection.id, device=device, peer=connection.peer)
        self.send(ENCODER.encode(ask))

    # --- housekeeping ------------------------------------------------------------------

    def sweep(self, now: float) -> None:
        idle = sweep(self.connections.values(), now, self.idle_timeout, self.write_timeout)
        if idle:
            self.rejected["idle_timeout"] += idle
            self.due.set()  # counted in the appliance at once, not at the next tick


class Connection(TrackerConnection):
    """One tracker's connection in the worker."""

    def __init__(self, intake: Intake) -> None:
        super().__init__()
        self.intake = intake
        self.session = intake.new_session(_assume_registered)
        self.id = 0
        self.held = 0  # answers held until their batch is taken
        self.admitted = False  # by the appliance: nothing is read until it is
        self.asking = False  # the login is with the appliance
        self._fed = bytearray()  # what came before the login was answered
        self._login_step: Step | None = None
        self._fed_at_login = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        number = self.intake.opened(self)
        if number is None:
            transport.close()  # refused before a byte is read
            return
        self.id = number
        self.take_transport(transport).pause_reading()  # until the appliance admits it

    def admit(self, yes: bool) -> None:
        if self.transport is None or self.transport.is_closing():
            if yes:
                self.intake.ended += 1  # admitted after it had gone: give the place back
            return
        if not yes:  # the appliance counted it
            self.hang_up()
            return
        self.admitted = True
        self.resume()

    def data_received(self, data: bytes) -> None:
        transport = self.transport
        if transport is None or transport.is_closing():
            return
        self.last_heard = asyncio.get_running_loop().time()
        if self.asking:
            self._fed += data  # read on once the login is decided
            return
        before = self.session.device
        if before is None:
            self._fed += data
        step = self.session.feed(data)
        if before is None and step.logged_in is not None:
            self._logged_in(step)
            return
        self.intake.take(self, step)

    def _logged_in(self, step: Step) -> None:
        """Hold what the login step would say until the register has decided."""
        self.asking = True
        self._login_step = step
        self._fed_at_login = len(self._fed)
        assert self.transport is not None
        self.transport.pause_reading()
        assert step.logged_in is not None
        self.intake.ask(self, step.logged_in)

    def decided(self, registered: bool) -> None:
        step, self._login_step = self._login_step, None
        if not self.asking or step is None:
            return
        self.asking = False
        later = bytes(self._fed[self._fed_at_login :])
        if registered:
            self._fed = bytearray()
            self.intake.take(self, step)
            if self.transport is not None and not self.transport.is_closing():
                self.resume()
                if later:
                    self.data_received(later)
            return
        # Not registered: what a session that knew it would have said (the protocol's
        # refusal, the counter's reason), and the connection ends.
        refusing = self.intake.new_session(_never_registered)
        refusal = refusing.feed(bytes(self._fed[: self._fed_at_login]))
        refusal.fixes = []
        refusal.rejected = []  # the appliance counted the refusal as it answered
        refusal.close = True
        self._fed = bytearray()
        self.intake.take(self, refusal)

    def may_read(self) -> bool:
        return self.admitted and not self.asking and self not in self.intake.paused

    def connection_lost(self, exc: Exception | None) -> None:
        if self.transport is not None:
            self.transport = None
            self.intake.closed(self)


async def serve(args: argparse.Namespace) -> None:
    loop = asyncio.get_running_loop()
    intake = Intake(args.protocol, args.idle_timeout, args.batch_seconds, args.max_connections)
    intake.pending_limit, intake.write_timeout = args.pending_limit, args.write_timeout
    stopping = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopping.set)
    channel = await open_channel(socket.socket(fileno=args.channel_fd), intake.received)
    intake.send = channel.send
    listening = socket.socket(fileno=args.listen_fd)
    listening.setblocking(False)
    server = await loop.create_server(lambda: Connection(intake), sock=listening)
    sweep_every = min(args.idle_timeout / SWEEPS_PER_TIMEOUT, 1.0)
    next_sweep = loop.time() + sweep_every
    next_flush = loop.time() + args.batch_seconds
    try:
        while not stopping.is_set() and not channel.closed.done():
            wait = max(0.0, min(next_sweep, next_flush) - loop.time())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(intake.due.wait(), wait)
            now = loop.time()
            if now >= next_sweep:
                intake.sweep(now)
                next_sweep = now + sweep_every
            if intake.due.is_set() or now >= next_flush:
                intake.due.clear()
                if channel.is_open:
                    intake.flush()
                    await channel.drain()
                next_flush = loop.time() + args.batch_seconds
    finally:
        server.close()
        for connection in list(intake.connections.values()):
            connection.hang_up()
        channel.close()


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m floki_gps.tcp_worker")
    parser.add_argument("--protocol", choices=sorted(PROTOCOLS), required=True)
    parser.add_argument("--listen-fd", type=int, required=True)
    parser.add_argument("--channel-fd", type=int, required=True)
    parser.add_argument("--idle-timeout", type=float, required=True)
    parser.add_argument("--batch-seconds", type=float, required=True)
    parser.add_argument("--max-connections", type=int, required=True)
    parser.add_argument("--pending-limit", type=int, default=20_000)
    parser.add_argument("--write-timeout", type=float, default=10.0)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    try:
        import uvloop

        uvloop.run(serve(args))
    except ImportError:  # pragma: no cover - uvloop is a dependency of the core
        asyncio.run(serve(args))
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
