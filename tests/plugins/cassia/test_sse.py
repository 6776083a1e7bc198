"""The scan stream's framing: events split across reads, any line ending, comments."""

from __future__ import annotations

import pytest
from floki_cassia.sse import SseParser, SseTooLong


def test_events_arrive_whole_however_the_stream_is_cut() -> None:
    stream = b':keep-alive\n\ndata: {"a": 1}\r\n\r\ndata: {"b":\rdata: 2}\r\rdata: x\n\n'
    whole = SseParser().feed(stream)
    assert whole == ['{"a": 1}', '{"b":\n2}', "x"]
    parser = SseParser()
    cut = [event for at in range(len(stream)) for event in parser.feed(stream[at : at + 1])]
    assert cut == whole


def test_an_endless_line_is_refused_not_kept() -> None:
    parser = SseParser()
    with pytest.raises(SseTooLong):
        parser.feed(b"data: " + b"x" * 70_000)
    assert parser.feed(b'data: {"a": 1}\n\n') == ['{"a": 1}']
