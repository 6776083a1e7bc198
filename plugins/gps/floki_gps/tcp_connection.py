"""What every tracker's TCP connection does with its socket, whether the appliance holds
it (``tcp_listener``) or a worker process does (``tcp_worker``): small buffers for a few
bytes of answers, reading paused while answers back up, the sweep that hangs up on the
silent and the stuck. Imports nothing of the appliance (a worker loads this)."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterable
from typing import cast

__all__ = ["SWEEPS_PER_TIMEOUT", "ListenerUnavailable", "TrackerConnection", "sweep"]

# Answers (acknowledgements of a few bytes) held for a tracker before it counts as not
# reading them: ~1,000 unread acknowledgements in the transport and a few thousand in the
# kernel, not the 64 KB and autotuned megabytes meant for bulk transfers.
WRITE_BUFFER_BYTES = 4096
SOCKET_SEND_BUFFER_BYTES = 8192
# The idle sweep runs this often relative to the idle timeout (and at least every second).
SWEEPS_PER_TIMEOUT = 4


class ListenerUnavailable(ConnectionError):
    """The listener could not be opened; the message says where and why."""

    @classmethod
    def because(cls, title: str, host: str, port: int, exc: OSError) -> ListenerUnavailable:
        return cls(f"cannot listen for {title} trackers on {host}:{port}: {exc.strerror or exc}")


class TrackerConnection(asyncio.Protocol):
    """A tracker's connection: its transport, its peer, when it was last heard and since
    when its answers have backed up. Subclasses say when it may be read (``may_read``)."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.peer = ""
        self.last_heard = 0.0  # loop time of the last bytes read
        self.write_blocked_at: float | None = None  # loop time answers began to back up

    def take_transport(self, transport: asyncio.BaseTransport) -> asyncio.Transport:
        # A stream transport, whichever loop made it (uvloop's derive from no asyncio class).
        stream = cast(asyncio.Transport, transport)
        self.transport = stream
        stream.set_write_buffer_limits(high=WRITE_BUFFER_BYTES)
        sock = stream.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SOCKET_SEND_BUFFER_BYTES)
        address = stream.get_extra_info("peername")
        if isinstance(address, tuple) and len(address) >= 2:
            self.peer = f"{address[0]}:{address[1]}"
        else:
            self.peer = str(address)
        self.last_heard = asyncio.get_running_loop().time()
        return stream

    def may_read(self) -> bool:
        return True

    def answer(self, answer: bytes | bytearray, close: bool) -> None:
        transport = self.transport
        if transport is None or transport.is_closing():
            return
        if answer:
            transport.write(answer)
        if close:
            transport.close()  # after the answer is written

    def eof_received(self) -> bool:
        return False  # the tracker hung up: close our side too

    # A tracker that does not read its answers is read no further until it does: what it
    # sends meanwhile waits in TCP, and the sweep hangs up after the write timeout.
    def pause_writing(self) -> None:
        self.write_blocked_at = asyncio.get_running_loop().time()
        self.pause()

    def resume_writing(self) -> None:
        self.write_blocked_at = None
        self.resume()

    def pause(self) -> None:
        if self.transport is not None and self.transport.is_reading():
            self.transport.pause_reading()

    def resume(self) -> None:
        transport = self.transport
        if (
            transport is not None
            and not transport.is_closing()
            and self.write_blocked_at is None
            and self.may_read()
            and not transport.is_reading()
        ):
            transport.resume_reading()

    def hang_up(self) -> None:
        if self.transport is not None:
            self.transport.abort()


def sweep(
    connections: Iterable[TrackerConnection], now: float, idle_timeout: float, write_timeout: float
) -> int:
    """Hang up on connections silent past ``idle_timeout`` or whose answers have backed up
    for ``write_timeout``; how many were silent (the ``idle_timeout`` count)."""
    idle_since = now - idle_timeout
    stuck_since = now - write_timeout
    idle = 0
    for connection in list(connections):
        blocked_at = connection.write_blocked_at
        if blocked_at is not None and blocked_at < stuck_since:
            connection.hang_up()
        elif connection.last_heard < idle_since:
            idle += 1
            connection.hang_up()
    return idle
