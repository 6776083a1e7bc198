"""Server-Sent Events framing (https://html.spec.whatwg.org/multipage/server-sent-events.html):
lines ending in CR, LF or CRLF; ``data:`` lines joined with newlines make one event,
dispatched at a blank line; lines starting with ``:`` are comments (Cassia's
``:keep-alive``)."""

from __future__ import annotations

MAX_PENDING_BYTES = 64 * 1024  # an unterminated line longer than this is not SSE


class SseTooLong(ValueError):
    """A line or event grew past any scan event's size."""


class SseParser:
    """Feed bytes as they arrive; get back the ``data`` of every complete event."""

    def __init__(self) -> None:
        self._buffer = b""
        self._data: list[str] = []

    def feed(self, chunk: bytes) -> list[str]:
        self._buffer += chunk
        events: list[str] = []
        while True:
            cut = _line_end(self._buffer)
            if cut is None:
                break
            end, after = cut
            line = self._buffer[:end].decode("utf-8", errors="replace")
            self._buffer = self._buffer[after:]
            if line == "":
                if self._data:
                    events.append("\n".join(self._data))
                    self._data = []
                continue
            if line.startswith(":"):
                continue
            name, _, value = line.partition(":")
            if value.startswith(" "):
                value = value[1:]
            if name == "data":
                self._data.append(value)
        if len(self._buffer) > MAX_PENDING_BYTES or sum(map(len, self._data)) > MAX_PENDING_BYTES:
            self._buffer = b""
            self._data = []
            raise SseTooLong(f"more than {MAX_PENDING_BYTES} bytes without an end of event")
        return events


def _line_end(buffer: bytes) -> tuple[int, int] | None:
    """(end of the first line, start of the next), or None if no line is complete. A CR
    at the very end may be the first half of a CRLF: wait for more."""
    lf = buffer.find(b"\n")
    cr = buffer.find(b"\r", 0, lf if lf >= 0 else len(buffer))
    if cr < 0:
        return None if lf < 0 else (lf, lf + 1)
    if cr + 1 == len(buffer):
        return None
    return cr, cr + 2 if buffer[cr + 1 : cr + 2] == b"\n" else cr + 1
