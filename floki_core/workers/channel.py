"""Length-prefixed frames over a Unix stream socket, between the appliance and a worker
process it started (each end holds one half of a ``socket.socketpair()``).

A frame is a 4-byte big-endian length and that many bytes; what the bytes mean (msgpack
of the caller's own message types, say) is the caller's. Reading is an
``asyncio.Protocol`` fed by the event loop's read callback, so a worker sending thousands
of small frames a second costs one callback per read, not one task per frame.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Callable

__all__ = ["MAX_FRAME", "ChannelClosed", "FrameChannel", "open_channel"]

log = logging.getLogger("floki.workers")

# A frame larger than this is not from a process of ours: the link is dropped.
MAX_FRAME = 64 * 1024 * 1024
_HEADER = 4
# The writer holds at most this much unsent before ``drain`` waits for the reader.
_WRITE_HIGH = 4 * 1024 * 1024


class ChannelClosed(ConnectionError):
    """The other end closed the channel (or it broke)."""


class FrameChannel(asyncio.Protocol):
    """One end of the link. ``on_frame`` is called with each whole frame, in order;
    ``closed`` is done when the link ends (by either side)."""

    def __init__(self, on_frame: Callable[[bytes], None]) -> None:
        self._on_frame = on_frame
        self._buffer = bytearray()
        self._transport: asyncio.Transport | None = None
        self._can_write = asyncio.Event()
        self._can_write.set()
        self.closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    # --- asyncio.Protocol ---------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]
        self._transport.set_write_buffer_limits(high=_WRITE_HIGH)  # type: ignore[union-attr]

    def data_received(self, data: bytes) -> None:
        buffer = self._buffer
        buffer += data
        start = 0
        end = len(buffer)
        while end - start >= _HEADER:
            size = int.from_bytes(buffer[start : start + _HEADER], "big")
            if size > MAX_FRAME:
                self.close()
                return
            if end - start - _HEADER < size:
                break
            frame = bytes(buffer[start + _HEADER : start + _HEADER + size])
            start += _HEADER + size
            try:
                self._on_frame(frame)
            except Exception:
                # A frame its reader cannot take leaves the two ends out of step: the
                # link ends (the worker's owner starts it afresh) rather than go on.
                log.exception("a worker channel's frame could not be taken; closing it")
                self.close()
                return
        if start:
            del buffer[:start]

    def connection_lost(self, exc: Exception | None) -> None:
        self._transport = None
        self._can_write.set()
        if not self.closed.done():
            self.closed.set_result(None)

    def pause_writing(self) -> None:
        self._can_write.clear()

    def resume_writing(self) -> None:
        self._can_write.set()

    # --- the caller's side --------------------------------------------------------------

    @property
    def is_open(self) -> bool:
        return self._transport is not None and not self._transport.is_closing()

    def send(self, payload: bytes) -> None:
        """Queue one frame (never waits; ``drain`` does)."""
        if self._transport is None or self._transport.is_closing():
            raise ChannelClosed("the worker link is closed")
        self._transport.write(len(payload).to_bytes(_HEADER, "big") + payload)

    async def drain(self) -> None:
        """Wait while more than a few megabytes are unsent (the reader is behind)."""
        await self._can_write.wait()
        if self._transport is None:
            raise ChannelClosed("the worker link is closed")

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()


async def open_channel(sock: socket.socket, on_frame: Callable[[bytes], None]) -> FrameChannel:
    """The channel over ``sock`` (a connected Unix stream socket, e.g. one half of a
    ``socket.socketpair()``, or one inherited by a worker process)."""
    sock.setblocking(False)
    loop = asyncio.get_running_loop()
    _, channel = await loop.create_unix_connection(lambda: FrameChannel(on_frame), sock=sock)
    return channel
