"""The scan stream of one Cassia gateway, read as a Floki source.

``GET <url>/gap/nodes?event=1`` answers a Server-Sent Events stream, one scan event per
``data:`` line, and a ``:keep-alive`` comment every 30 s (Cassia's RESTful API and its
examples: https://github.com/CassiaNetworks/CassiaSDKGuide/wiki/RESTful-API#scan-bluetooth-devices,
python_examples/acScan.py). Through the Cassia AC the gateway is named with ``mac=`` and
the request carries an OAuth2 client-credentials token from ``POST <url>/oauth2/token``
(HTTP Basic with the developer key and secret, ``{"grant_type": "client_credentials"}``;
https://github.com/CassiaNetworks/CassiaSDKGuide/wiki/Getting-Started).

A lost stream (refused, closed, silent past ``silent_seconds``) ends ``run`` with an error
naming why: the appliance's supervisor shows the source in backoff with that reason and
connects again after its backoff.
"""

from __future__ import annotations

import asyncio
import base64
import logging
from collections.abc import Sequence

import aiohttp

from floki_cassia.config import CassiaSettings
from floki_cassia.decoders import Refused, decode_event
from floki_cassia.sse import SseParser, SseTooLong
from floki_core.sdk import Clock, Observation, ObservationSink, spell_mac

log = logging.getLogger("floki.plugin.cassia")


class GatewayUnreachable(ConnectionError):
    """The stream could not be opened or was lost; the message says why."""


class CassiaScan:
    """One gateway's scan stream (directly, or through the AC)."""

    def __init__(self, settings: CassiaSettings, clock: Clock) -> None:
        self.settings = settings
        self.clock = clock
        self.receiver = spell_mac(settings.gateway) or settings.gateway.strip()
        self.connected = False
        self._stopping = asyncio.Event()
        self._session: aiohttp.ClientSession | None = None

    # --- the source protocol ------------------------------------------------------------

    async def run(self, sink: ObservationSink) -> None:
        self._stopping.clear()
        timeout = aiohttp.ClientTimeout(
            total=None, connect=self.settings.connect_timeout_seconds, sock_read=None
        )
        async with aiohttp.ClientSession(timeout=timeout) as session:
            self._session = session
            try:
                reading = asyncio.ensure_future(self._read(session, sink))
                stopping = asyncio.ensure_future(self._stopping.wait())
                try:
                    await asyncio.wait({reading, stopping}, return_when=asyncio.FIRST_COMPLETED)
                finally:
                    for task in (reading, stopping):
                        task.cancel()
                    await asyncio.gather(reading, stopping, return_exceptions=True)
                if reading.done() and not reading.cancelled() and reading.exception():
                    raise reading.exception()  # type: ignore[misc]
            finally:
                self.connected = False
                self._session = None

    async def stop(self) -> None:
        self._stopping.set()

    # --- reading ---------------------------------------------------------------------------

    def stream_url(self) -> tuple[str, dict[str, str]]:
        params = {"event": "1"}
        if self.settings.active:
            params["active"] = "1"
        if self.settings.filter_rssi:
            params["filter_rssi"] = str(self.settings.filter_rssi)
        if self.settings.client_id:
            params["mac"] = self.receiver
        return self.settings.url.rstrip("/") + "/gap/nodes", params

    async def _token(self, session: aiohttp.ClientSession) -> str | None:
        if not self.settings.client_id:
            return None
        url = self.settings.url.rstrip("/") + "/oauth2/token"
        pair = f"{self.settings.client_id}:{self.settings.client_secret}".encode()
        auth = {"Authorization": "Basic " + base64.b64encode(pair).decode("ascii")}
        try:
            async with session.post(
                url, headers=auth, json={"grant_type": "client_credentials"}
            ) as resp:
                if resp.status != 200:
                    raise GatewayUnreachable(
                        f"the AC refused the developer key: {resp.status} {resp.reason}"
                    )
                body = await resp.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise GatewayUnreachable(f"no token from {url}: {type(exc).__name__}: {exc}") from exc
        token = body.get("access_token") if isinstance(body, dict) else None
        if not isinstance(token, str) or not token:
            raise GatewayUnreachable(f"the AC's answer from {url} holds no access_token")
        return token

    async def _read(self, session: aiohttp.ClientSession, sink: ObservationSink) -> None:
        url, params = self.stream_url()
        headers = {"Accept": "text/event-stream"}
        token = await self._token(session)
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        try:
            async with session.get(url, params=params, headers=headers) as resp:
                if resp.status != 200:
                    raise GatewayUnreachable(
                        f"gateway {self.receiver} scan stream: {resp.status} {resp.reason}"
                    )
                self.connected = True
                log.info("reading the scan stream of gateway %s at %s", self.receiver, url)
                await self._events(resp, sink)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise GatewayUnreachable(
                f"gateway {self.receiver} at {url}: {type(exc).__name__}: {exc}"
            ) from exc
        finally:
            self.connected = False

    async def _events(self, resp: aiohttp.ClientResponse, sink: ObservationSink) -> None:
        """Decode events as they arrive; hand them over every ``batch_seconds``."""
        loop = asyncio.get_running_loop()
        parser = SseParser()
        pending: list[Observation] = []
        refused: dict[str, int] = {}
        due = 0.0
        while True:
            if pending or refused:
                wait = max(0.0, due - loop.time())
            else:
                wait = self.settings.silent_seconds
            try:
                chunk = await asyncio.wait_for(resp.content.readany(), wait)
            except TimeoutError:
                if pending or refused:
                    await self._hand_over(sink, pending, refused)
                    pending, refused = [], {}
                    continue
                raise GatewayUnreachable(
                    f"gateway {self.receiver} sent nothing for {self.settings.silent_seconds:g} s"
                ) from None
            if not chunk:
                await self._hand_over(sink, pending, refused)
                raise GatewayUnreachable(f"gateway {self.receiver} closed the scan stream")
            try:
                events = parser.feed(chunk)
            except SseTooLong:
                refused["bad_frame"] = refused.get("bad_frame", 0) + 1
                events = []
            if not pending and not refused:
                due = loop.time() + self.settings.batch_seconds
            now = self.clock.now()
            for data in events:
                heard = decode_event(data)
                if isinstance(heard, Refused):
                    refused[heard.reason] = refused.get(heard.reason, 0) + 1
                    continue
                pending.append(
                    Observation(
                        technology=heard.technology,
                        tag=heard.tag,
                        observed_at=now,  # the stream carries no time: when it arrived
                        receiver=self.receiver,
                        rssi=heard.rssi,
                        extras=heard.extras,
                    )
                )

    async def _hand_over(
        self, sink: ObservationSink, batch: Sequence[Observation], refused: dict[str, int]
    ) -> None:
        reject = getattr(sink, "reject", None)
        for reason, count in refused.items():
            if reject is not None:
                reject(reason, count)
        if batch:
            await sink.submit(batch)
