"""What a TCP tracker protocol's connection state machine gives back for the bytes it is
fed: the answers to send, the fixes heard, what it refused and whether to hang up.

The protocol modules (``teltonika``, ``gt06``) implement :class:`TrackerSession` without
any I/O, so the listener (``tcp_listener``) is one piece of code for every protocol and
the sessions are tested, fuzzed and benchmarked without sockets."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from floki_gps.fixes import Fix

__all__ = [
    "MAX_FRAME_BYTES",
    "DecodeError",
    "HoldingSession",
    "IsRegistered",
    "Step",
    "TrackerSession",
]

# The longest frame a connection may hold unfinished. Teltonika's largest AVL packets are
# 1,280 bytes (FMB) and a few kilobytes for Codec 8E with many IO elements; GT06 frames are
# under 300 bytes. Past this the peer is not speaking the protocol: the connection closes.
MAX_FRAME_BYTES = 16 * 1024

# Whether a tracker id (its IMEI) is registered on an asset.
IsRegistered = Callable[[str], bool]


class DecodeError(ValueError):
    """Bytes that are not a valid frame of the protocol; ``reason`` is the counter's word
    (``bad_frame``, ``bad_crc`` ...) and the message says what was wrong."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class Step:
    """The outcome of feeding a session some bytes."""

    # A plain class rather than a dataclass: one is made for every read of every
    # connection, and a dataclass's __init__ with default factories costs twice as much.
    __slots__ = ("answer", "close", "fixes", "logged_in", "refused", "rejected")

    def __init__(self) -> None:
        self.answer = bytearray()  # to write back, in order
        self.fixes: list[Fix] = []
        self.rejected: list[str] = []  # one reason per refused input
        self.logged_in: str | None = None  # the tracker id accepted by this step's handshake
        self.refused: str | None = None  # a tracker id refused: no asset has it registered
        self.close = False  # hang up after writing the answer


class TrackerSession(Protocol):
    """One connection's protocol state: fed bytes as they arrive, in any split."""

    protocol: str
    device: str | None  # the tracker id once logged in

    def feed(self, data: bytes) -> Step: ...


class HoldingSession(TrackerSession, Protocol):
    """A session that makes one fix of several messages (an NMEA receiver's cycle) and
    holds the one in progress: the listener takes it with each batch and at hang-up."""

    def held(self) -> list[Fix]: ...
