"""Conformance of the Wi-Fi plugin's Cisco Spaces firehose source, loaded through its entry
point and fed over loopback by a stand-in streaming NDJSON as the firehose does."""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
from collections.abc import Mapping
from typing import Any, ClassVar

import pytest
from aiohttp import web
from floki_wifi.spaces_decoder import decode_line
from hypothesis import strategies as st

from floki_core.conformance import START, Sighting, SourceConformance
from floki_core.testing import Floki
from tests.plugins.wifi.spaces_firehose import EVENTS, KEY
from tests.plugins.wifi.test_spaces_source import location_update

SOURCE = "wifi-spaces"
SEEN_AT = START - dt.timedelta(seconds=5)
SEEN_MS = int(SEEN_AT.timestamp() * 1000)
AP = "AA:AA:AA:11:11:11"  # the stand-in's updates name this AP
PUMPS = ("00:1B:44:11:3A:B7", "00:1B:44:11:3A:B8")
STRANGER = "00:1B:44:99:99:99"


class FirehoseStandIn:
    """The firehose on a fixed loopback port: every GET streams what is sent; ``lose``
    takes the server away (the stream with it) and ``restore`` brings it back."""

    def __init__(self) -> None:
        self.port = 0
        self.runner: web.AppRunner | None = None
        self.streams: set[asyncio.Queue[bytes | None]] = set()
        self.backlog: list[bytes] = []
        self.uids = itertools.count(1)

    async def open(self) -> None:
        app = web.Application()
        app.router.add_get(EVENTS, self.stream)
        self.runner = web.AppRunner(app, shutdown_timeout=0.1)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", self.port, reuse_address=True)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    def settings(self) -> Mapping[str, Any]:
        return {
            "spaces": {
                "url": f"http://127.0.0.1:{self.port}{EVENTS}",
                "api_key": KEY,
                "batch_seconds": 0.05,
            }
        }

    async def stream(self, request: web.Request) -> web.StreamResponse:
        if request.headers.get("X-API-Key") != KEY:
            return web.Response(status=401)
        lines: asyncio.Queue[bytes | None] = asyncio.Queue()
        for line in self.backlog:
            lines.put_nowait(line)
        self.backlog.clear()
        self.streams.add(lines)
        resp = web.StreamResponse(headers={"Content-Type": "application/x-ndjson"})
        try:
            await resp.prepare(request)
            while (line := await lines.get()) is not None:
                await resp.write(line)
        finally:
            self.streams.discard(lines)
        return resp

    def send(self, *lines: bytes) -> None:
        joined = b"".join(lines)
        if not self.streams:
            self.backlog.append(joined)  # the next connection gets it
        for queue in self.streams:
            queue.put_nowait(joined)

    def update(self, mac: str) -> bytes:
        return location_update(mac, f"evt-{next(self.uids)}", SEEN_MS, 30.0, 40.0)

    async def send_good(self, floki: Floki) -> None:
        self.send(*(self.update(mac) for mac in PUMPS))

    async def send_bad(self, floki: Floki) -> None:
        self.send(b"{not an event\n", self.update(STRANGER))

    async def lose(self) -> None:
        for queue in self.streams:
            queue.put_nowait(None)
        await self.close()

    async def restore(self) -> None:
        await self.open()

    async def close(self) -> None:
        if self.runner is not None:
            runner, self.runner = self.runner, None
            for queue in self.streams:
                queue.put_nowait(None)
            await runner.cleanup()


class TestWifiSpacesConformance(SourceConformance):
    test_loads_through_its_entry_point = None
    test_config_defaults_validate_and_every_key_is_documented = None

    plugin = "wifi"
    source = SOURCE
    documentation = ("docs/wifi-meraki-spaces.md",)
    # No map is drawn on a floor here: each pump goes to its AP's zone.
    expected = tuple(Sighting("wifi", mac, AP, SEEN_AT) for mac in PUMPS)
    bad_reasons: ClassVar[Mapping[str, int]] = {"bad_record": 1, "unknown_device": 1}
    expected_reasons = frozenset({"unknown_device"})  # phones: dropped by design
    decoder = decode_line
    decoder_errors = ()
    decoder_examples = 25
    decoder_inputs = st.one_of(
        st.binary(max_size=300),
        st.builds(
            lambda mac, x, y: location_update(mac, "e", SEEN_MS, x, y),
            st.text(max_size=20),
            st.floats(allow_nan=False, allow_infinity=False),
            st.floats(allow_nan=False, allow_infinity=False),
        ),
    )

    @pytest.fixture
    def source_device(self) -> FirehoseStandIn:
        return FirehoseStandIn()
