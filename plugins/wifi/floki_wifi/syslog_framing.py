"""Syslog over TCP (RFC 6587): each message either octet-counted (``LEN SP MSG``, 3.4.1)
or ended by a line feed (non-transparent framing, 3.4.2; a CR before it and a NUL after
are dropped). Each frame says which by its first byte: a digit starts a count, anything
else (``<`` in practice) a line. Pure: bytes in as they arrive, whole messages out."""

from __future__ import annotations

__all__ = ["StreamFramer"]

MAX_COUNT_DIGITS = 6  # a count of up to 999,999 octets, beyond any max_message_bytes


class StreamFramer:
    """One connection's framing state. ``rejected`` counts frames refused by reason
    (``line_too_long``, ``bad_framing``) since it was last emptied."""

    __slots__ = ("_buffer", "_discard", "_discard_line", "max_bytes", "rejected")

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._buffer = bytearray()
        self._discard = 0  # octets still to drop of an octet-counted frame too long
        self._discard_line = False  # dropping a line too long up to its line feed
        self.rejected: dict[str, int] = {}

    def _reject(self, reason: str) -> None:
        self.rejected[reason] = self.rejected.get(reason, 0) + 1

    def feed(self, data: bytes) -> list[bytes]:
        if not self._buffer and not self._discard and not self._discard_line:
            found = self._lines(data)
            if found is not None:
                return found
        buffer = self._buffer
        buffer += data
        frames: list[bytes] = []
        at, size, limit = 0, len(buffer), self.max_bytes
        while at < size:
            if self._discard:
                dropped = min(self._discard, size - at)
                self._discard -= dropped
                at += dropped
                continue
            if self._discard_line:
                end = buffer.find(b"\n", at)
                if end < 0:
                    at = size
                    break
                self._discard_line = False
                at = end + 1
                continue
            first = buffer[at]
            if first in (0x0A, 0x0D, 0x00, 0x20):
                at += 1  # blank lines, a NUL trailer, spaces between frames
                continue
            if 0x31 <= first <= 0x39:  # octet counting
                space = buffer.find(b" ", at, at + MAX_COUNT_DIGITS + 1)
                if space < 0:
                    if size - at <= MAX_COUNT_DIGITS:
                        break  # the count is not all here yet
                    self._reject("bad_framing")
                    self._discard_line = True
                    continue
                digits = bytes(buffer[at:space])
                if not digits.isdigit():
                    self._reject("bad_framing")
                    self._discard_line = True
                    continue
                count = int(digits)
                start = space + 1
                if count > limit:
                    self._reject("line_too_long")
                    self._discard = count
                    at = start
                    continue
                end = start + count
                if end > size:
                    break
                frames.append(bytes(buffer[start:end]))
                at = end
                continue
            end = buffer.find(b"\n", at)
            if end < 0:
                if size - at > limit:
                    self._reject("line_too_long")
                    self._discard_line = True
                    at = size
                break
            stop = end - 1 if end > at and buffer[end - 1] == 0x0D else end
            if stop - at > limit:
                self._reject("line_too_long")
            else:
                frames.append(bytes(buffer[at:stop]))
            at = end + 1
        del buffer[:at]
        return frames

    def _lines(self, data: bytes) -> list[bytes] | None:
        """The common case read at C speed: whole messages, each a line starting with
        its priority, and a part of one after the last line feed (kept for later).
        None: anything else, left to the byte-by-byte reading."""
        end = data.rfind(b"\n")
        if end < 0 or data[:1] != b"<":
            return None
        pieces = data[:end].split(b"\n")
        limit = self.max_bytes
        frames = []
        too_long = 0
        for piece in pieces:
            if piece[:1] != b"<":
                return None
            if piece[-1:] == b"\r":
                piece = piece[:-1]
            if len(piece) > limit:
                too_long += 1
            else:
                frames.append(piece)
        if too_long:
            self.rejected["line_too_long"] = self.rejected.get("line_too_long", 0) + too_long
        if end + 1 < len(data):
            self._buffer += data[end + 1 :]
        return frames

    @property
    def held(self) -> int:
        """Octets of a frame not yet complete."""
        return len(self._buffer)
