"""The Impinj stream source against a reader's IoT device interface served on loopback:
``GET /api/v1/data/stream`` with basic auth, one JSON event a line, as an R700 streams it.

``ImpinjReaderPeer`` is that reader (aiohttp on a free port); the conformance test of the
source drives it too."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import ssl
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import hdrs, web
from floki_rfid.config import ImpinjReaderSettings
from floki_rfid.impinj_source import ImpinjStreamSource
from floki_rfid.llrp_reads import ReaderGone

from floki_core.clock import ManualClock
from floki_core.security.tls import generate_self_signed, server_context
from floki_core.testing import Floki
from tests.plugins.rfid.conftest import RecordingSink

USER, PASSWORD = "root", "library-door-secret"
PUMP = "E280116060000205A0B1C2D3"
HOIST = "3034257BF400B7800004CB2F"
STREAM = "/api/v1/data/stream"


def tag_event(epc_hex: str, port: int | None, cdbm: int = -5700, *, hexed: bool = False) -> bytes:
    """One tagInventoryEvent line, ``epc`` in base64 (and ``epcHex`` when ``hexed``)."""
    tag: dict[str, Any] = {"epc": base64.b64encode(bytes.fromhex(epc_hex)).decode()}
    if hexed:
        tag["epcHex"] = epc_hex
    if port is not None:
        tag |= {"antennaPort": port, "antennaName": f"Antenna {port}"}
    tag["peakRssiCdbm"] = cdbm
    event: dict[str, Any] = {
        "timestamp": "2026-12-07T10:00:00.123456789Z",
        "hostname": "impinj-14-46-36",
        "eventType": "tagInventory",
        "tagInventoryEvent": tag,
    }
    return json.dumps(event).encode()


class ImpinjReaderPeer:
    """A reader's data stream on a free loopback port. Lines ``send`` writes go to every
    connected client; ``drop`` cuts the connections (mid-line when asked), ``lose`` stops
    answering at all until ``come_back``."""

    def __init__(
        self, username: str = USER, password: str = PASSWORD, tls: ssl.SSLContext | None = None
    ) -> None:
        self.tls = tls
        self.auth = "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()
        self.port = 0
        self.streams: list[web.StreamResponse] = []
        self.refused_logins = 0
        self._runner: web.AppRunner | None = None
        self._closing = asyncio.Event()
        self._tasks: set[asyncio.Future[Any]] = set()

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get(STREAM, self._stream)
        self._runner = web.AppRunner(app, shutdown_timeout=0.1)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self.port, ssl_context=self.tls)
        await site.start()
        server = site._server
        assert server is not None
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def _stream(self, request: web.Request) -> web.StreamResponse:
        if request.headers.get(hdrs.AUTHORIZATION) != self.auth:
            self.refused_logins += 1
            raise web.HTTPUnauthorized(headers={hdrs.WWW_AUTHENTICATE: 'Basic realm="reader"'})
        resp = web.StreamResponse(headers={hdrs.CONTENT_TYPE: "application/x-ndjson"})
        await resp.prepare(request)
        self.streams.append(resp)
        # This request's task and its connection's, waited for when the reader goes.
        self._tasks.add(asyncio.current_task())  # type: ignore[arg-type]
        connection = getattr(request.protocol, "_task_handler", None)
        if connection is not None:
            self._tasks.add(connection)
        try:
            while not self._closing.is_set() and not (
                request.transport is None or request.transport.is_closing()
            ):
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._closing.wait(), 0.02)
        finally:
            if resp in self.streams:
                self.streams.remove(resp)
        return resp

    def _live(self) -> list[web.StreamResponse]:
        """The streams whose client is still connected (a stopped one may linger)."""
        for resp in list(self.streams):
            transport = resp._req.transport if resp._req is not None else None
            if transport is None or transport.is_closing():
                self.streams.remove(resp)
        return list(self.streams)

    async def streaming(self) -> None:
        await Floki.eventually(lambda: bool(self._live()), "a client on the data stream")

    async def send(self, *lines: bytes) -> None:
        for resp in self._live():
            await resp.write(b"".join(line + b"\n" for line in lines))

    async def drop(self, *, mid_line: bytes = b"") -> None:
        """Cut every stream, after ``mid_line`` written without its end."""
        for resp in list(self.streams):
            if mid_line:
                await resp.write(mid_line)
            if resp.task is not None:
                transport = resp._req.transport if resp._req is not None else None
                if transport is not None:
                    transport.abort()
        self.streams.clear()

    async def lose(self) -> None:
        self._closing.set()
        await self.drop()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        pending = {t for t in self._tasks if not t.done()}
        if pending:
            await asyncio.wait(pending, timeout=1.0)
        self._tasks.clear()

    async def come_back(self) -> None:
        self._closing.clear()
        if self._runner is None:
            await self.start()

    async def close(self) -> None:
        await self.lose()


@pytest.fixture
async def impinj_reader() -> AsyncIterator[ImpinjReaderPeer]:
    peer = ImpinjReaderPeer()
    await peer.start()
    yield peer
    await peer.close()


def reader_settings(peer: ImpinjReaderPeer, **more: Any) -> ImpinjReaderSettings:
    fields: dict[str, Any] = {"name": "library-door", "url": peer.url, "password": PASSWORD}
    return ImpinjReaderSettings(**(fields | more))


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


async def running(source: ImpinjStreamSource, sink: RecordingSink) -> asyncio.Task[None]:
    return asyncio.ensure_future(source.run(sink))


async def test_reads_are_folded_per_tag_and_antenna_into_observations(
    impinj_reader: ImpinjReaderPeer, sink: RecordingSink, clock: ManualClock
) -> None:
    source = ImpinjStreamSource(reader_settings(impinj_reader), clock, batch_seconds=0.05)
    task = await running(source, sink)
    await impinj_reader.streaming()
    await impinj_reader.send(
        tag_event(PUMP, 1, -6100),
        b"",  # a keepalive
        tag_event(PUMP, 1, -5712, hexed=True),
        b'{"timestamp":"2026-12-07T10:00:01Z","eventType":"inventoryStatus",'
        b'"inventoryStatusEvent":{"inventoryStatus":"running"}}',
        tag_event(HOIST, 2, -6300),
    )
    await Floki.eventually(lambda: len(sink.observations) >= 2, "both tags handed over")
    await source.stop()
    await task
    assert {(o.tag, o.receiver) for o in sink.observations} == {
        (PUMP, "library-door:1"),
        (HOIST, "library-door:2"),
    }
    # Both pump reads in one window as a rule; a busy machine may split them across two.
    pumps = [o for o in sink.observations if o.tag == PUMP]
    assert sum(o.extras["seen_count"] for o in pumps) == 2
    assert len(pumps) == 1 or len(sink.batches) > 1
    assert max(o.rssi or -999 for o in pumps) == -57.12
    pump = pumps[0]
    assert (pump.technology, pump.observed_at) == ("rfid", clock.now())
    assert pump.extras["last_seen"] == "2026-12-07T10:00:00.123456+00:00"
    assert not sink.rejected


async def test_unusable_lines_are_counted_by_reason_and_the_stream_kept(
    impinj_reader: ImpinjReaderPeer, sink: RecordingSink, clock: ManualClock
) -> None:
    settings = reader_settings(impinj_reader, antennas=[1, 2])
    source = ImpinjStreamSource(settings, clock, batch_seconds=0.05)
    task = await running(source, sink)
    await impinj_reader.streaming()
    await impinj_reader.send(
        b"{this is not json",
        tag_event(PUMP, None),
        tag_event(PUMP, 3),
        b'{"tagInventoryEvent":{"epc":"!!","antennaPort":1}}',
        tag_event(HOIST, 1),
    )
    await Floki.eventually(lambda: sink.observations, "the good read handed over")
    await Floki.eventually(lambda: sum(sink.rejected.values()) >= 4, "the bad lines counted")
    assert sink.rejected == {"bad_json": 1, "no_antenna": 1, "unknown_antenna": 1, "bad_epc": 1}
    assert source.connected and not task.done()
    await source.stop()
    await task


async def test_a_stream_cut_mid_line_loses_nothing_received_and_is_read_again(
    impinj_reader: ImpinjReaderPeer, sink: RecordingSink, clock: ManualClock
) -> None:
    # A long window: what was read before the cut reaches the sink because the
    # connection ended, not because a tick came.
    source = ImpinjStreamSource(reader_settings(impinj_reader), clock, batch_seconds=30)
    task = await running(source, sink)
    await impinj_reader.streaming()
    await impinj_reader.send(tag_event(PUMP, 1), tag_event(HOIST, 2))
    await asyncio.sleep(0.05)
    await impinj_reader.drop(mid_line=tag_event(PUMP, 4)[:40])
    with pytest.raises(ReaderGone) as gone:
        await task
    assert "library-door" in str(gone.value)
    assert {(o.tag, o.receiver) for o in sink.observations} == {
        (PUMP, "library-door:1"),
        (HOIST, "library-door:2"),
    }
    # The supervisor runs it again: the same source reads the stream again.
    again = await running(source, sink)
    await impinj_reader.streaming()
    await impinj_reader.send(tag_event(PUMP, 4))
    await source.stop()
    await again
    assert (PUMP, "library-door:4") in {(o.tag, o.receiver) for o in sink.observations}
    assert not sink.rejected  # the cut line was never a whole event: not a bad one either


async def test_a_wrong_password_ends_the_run_saying_so(
    impinj_reader: ImpinjReaderPeer, sink: RecordingSink, clock: ManualClock
) -> None:
    source = ImpinjStreamSource(reader_settings(impinj_reader, password="guess"), clock)
    with pytest.raises(ReaderGone) as refused:
        await source.run(sink)
    assert "refused user root" in str(refused.value)
    assert "401" in str(refused.value)
    assert impinj_reader.refused_logins == 1


async def test_an_unreachable_reader_ends_the_run_naming_where(
    impinj_reader: ImpinjReaderPeer, sink: RecordingSink, clock: ManualClock
) -> None:
    await impinj_reader.lose()
    source = ImpinjStreamSource(reader_settings(impinj_reader), clock)
    with pytest.raises(ReaderGone) as gone:
        await source.run(sink)
    assert impinj_reader.url in str(gone.value)


async def test_a_silent_stream_is_given_up_after_idle_seconds(
    impinj_reader: ImpinjReaderPeer, sink: RecordingSink, clock: ManualClock
) -> None:
    # Constructed directly (no bounds checked) to keep the test short.
    source = ImpinjStreamSource(reader_settings(impinj_reader, idle_seconds=0.2), clock)
    with pytest.raises(ReaderGone) as gone:
        await source.run(sink)
    assert "nothing (no event, no keepalive) for idle_seconds = 0.2 s" in str(gone.value)


async def test_a_ca_file_that_cannot_be_read_is_the_reason(
    impinj_reader: ImpinjReaderPeer, sink: RecordingSink, clock: ManualClock, tmp_path: Any
) -> None:
    missing = tmp_path / "reader-ca.pem"
    source = ImpinjStreamSource(reader_settings(impinj_reader, ca_file=str(missing)), clock)
    with pytest.raises(ReaderGone) as gone:
        await source.run(sink)
    assert f"ca_file {missing} cannot be used" in str(gone.value)


async def test_a_reader_with_its_own_certificate_is_trusted_through_ca_file(
    sink: RecordingSink, clock: ManualClock, tmp_path: Path
) -> None:
    cert, key = generate_self_signed(tmp_path / "reader", "impinj-14-46-36")
    peer = ImpinjReaderPeer(tls=server_context(cert, key))
    await peer.start()
    try:
        # Not trusted by default: the reason names the certificate.
        unverified = ImpinjStreamSource(reader_settings(peer), clock)
        with pytest.raises(ReaderGone) as refused:
            await unverified.run(sink)
        assert "certificate verify failed" in str(refused.value)
        for settings in (
            reader_settings(peer, ca_file=str(cert)),
            reader_settings(peer, verify_tls=False),
        ):
            source = ImpinjStreamSource(settings, clock, batch_seconds=0.05)
            task = asyncio.ensure_future(source.run(sink))
            await peer.streaming()
            await peer.send(tag_event(PUMP, 1))
            await Floki.eventually(lambda: sink.observations, "the read over TLS")
            await source.stop()
            await task
            sink.batches.clear()
    finally:
        await peer.close()
