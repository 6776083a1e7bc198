"""A Cassia AC on 127.0.0.1, as its public API guide describes it: ``POST /api/oauth2/token``
(HTTP Basic with the developer key, client credentials) and the scan stream
``GET /api/gap/nodes?event=1&mac=<gateway>`` as Server-Sent Events, one ``data:`` line
per advert and a ``:keep-alive`` comment now and then.
https://github.com/CassiaNetworks/CassiaSDKGuide/wiki/RESTful-API#scan-bluetooth-devices
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Mapping, Sequence
from typing import Any

from aiohttp import web

GATEWAY = "CC:1B:E0:E0:24:B4"
KEY, SECRET, TOKEN = "floki", "s3cret", "token-1"
IBEACON_ADVERT = "0201061AFF4C000215F7826DA64FA24E988024BC5B71E0893E00640007C5"
EDDYSTONE_UID_ADVERT = "0201060303AAFE1716AAFE00EEEDD1EBEAC04E5DEFA0170123456789AB0000"
# The event Cassia's examples print (python_examples/acScan.py, node_examples/acScan.js).
DOCUMENTED = {
    "bdaddrs": [{"bdaddr": "ED:47:B0:D3:A9:C8", "bdaddrType": "public"}],
    "scanData": "0C09536C656570616365205A32",
    "name": "Sleepace Z2",
    "rssi": -37,
    "evt_type": 4,
}


def advert_event(ad: str, address: str = "5A:11:22:33:44:55", rssi: int = -61) -> dict[str, Any]:
    return {
        "bdaddrs": [{"bdaddr": address, "bdaddrType": "random"}],
        "adData": ad,
        "scanData": "",
        "rssi": rssi,
        "name": "",
        "evtType": 3,
    }


GOOD: list[Any] = [advert_event(IBEACON_ADVERT), DOCUMENTED, advert_event(EDDYSTONE_UID_ADVERT)]
BAD: list[Any] = ["{not json", advert_event("020106"), {"rssi": -50}]
BAD_REASONS = {"bad_json": 1, "rotating_address_without_identity": 1, "missing_address": 1}


def frame(events: Sequence[Any]) -> bytes:
    """Events as the stream carries them; text is sent as it is (a broken event)."""
    out = []
    for event in events:
        data = event if isinstance(event, str) else json.dumps(event)
        out.append(f"data: {data}\n\n")
    return "".join(out).encode()


class FakeCassiaAC:
    """The test's device: drives the streams the plugin holds open."""

    def __init__(self) -> None:
        self.port = 0
        self.refusing = False
        self.streams: list[asyncio.Queue[bytes | None]] = []
        self.requests: list[Mapping[str, str]] = []
        self._runner: web.AppRunner | None = None

    async def open(self) -> None:
        app = web.Application()
        app.router.add_post("/api/oauth2/token", self._token)
        app.router.add_get("/api/gap/nodes", self._scan)
        self._runner = web.AppRunner(app, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]

    def settings(self) -> Mapping[str, Any]:
        return {
            "url": f"http://127.0.0.1:{self.port}/api",
            "gateway": GATEWAY.lower(),
            "client_id": KEY,
            "client_secret": SECRET,
            "batch_seconds": 0.05,
        }

    async def push(self, events: Sequence[Any]) -> None:
        for queue in list(self.streams):
            queue.put_nowait(frame(events))

    async def send_good(self, floki: object) -> None:
        await self.push(GOOD)

    async def send_bad(self, floki: object) -> None:
        await self.push(BAD)

    async def lose(self) -> None:
        self.refusing = True
        for queue in list(self.streams):
            queue.put_nowait(None)

    async def restore(self) -> None:
        self.refusing = False

    async def close(self) -> None:
        for queue in list(self.streams):
            queue.put_nowait(None)
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()

    async def connected(self) -> bool:
        return bool(self.streams)

    # --- the AC's side -------------------------------------------------------------------

    async def _token(self, request: web.Request) -> web.Response:
        expected = "Basic " + base64.b64encode(f"{KEY}:{SECRET}".encode()).decode()
        if request.headers.get("Authorization") != expected:
            return web.json_response({"error": "invalid_client"}, status=401)
        body = await request.json()
        if body != {"grant_type": "client_credentials"}:
            return web.json_response({"error": "unsupported_grant_type"}, status=400)
        return web.json_response(
            {"access_token": TOKEN, "token_type": "bearer", "expires_in": 3600}
        )

    async def _scan(self, request: web.Request) -> web.StreamResponse:
        self.requests.append(dict(request.query))
        if self.refusing:
            return web.Response(status=503, text="gateway offline")
        if request.headers.get("Authorization") != f"Bearer {TOKEN}":
            return web.Response(status=401, text="invalid token")
        if request.query.get("event") != "1" or request.query.get("mac") != GATEWAY:
            return web.Response(status=400, text="event=1 and mac=<gateway> expected")
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await resp.prepare(request)
        queue: asyncio.Queue[bytes | None] = asyncio.Queue()
        self.streams.append(queue)
        try:
            while True:
                try:
                    chunk = await asyncio.wait_for(queue.get(), 0.2)
                except TimeoutError:
                    chunk = b":keep-alive\n\n"
                if chunk is None:
                    break
                await resp.write(chunk)
        except ConnectionError:
            pass  # the plugin hung up
        finally:
            self.streams.remove(queue)
        return resp
