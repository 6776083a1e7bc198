"""The Traccar Client / OsmAnd listener: an HTTP server of its own (default port 5055),
as Traccar's, so that a phone set up for a Traccar server works unchanged.

Any path takes ``GET`` and ``POST`` (see :mod:`floki_gps.osmand` for the forms). The
answer is what the phone acts on: Traccar Client deletes a buffered fix only on a 2xx.

- 200: taken (a fix already taken, sent again, is answered 200 too: the core's replay
  admission stores it once).
- 400 with the reason: a field missing or unreadable; the phone should not send it
  again, but does: it is counted each time (``GET /api/v1/sources``).
- 404: no asset carries the device id as a gps identifier; the device is listed as
  refused in ``GET /api/v1/gps/devices`` so that an engineer can register it.
- 415: a body that is neither a form nor JSON.
- 429 with ``Retry-After``: the device posted again within ``osmand_min_interval_seconds``
  a fix taken within that interval of the last one taken from it. A phone replaying its
  buffer posts fast, but its fixes are older and further apart: they are all taken. The
  phone keeps a refused fix and sends it later, when it is taken.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import math
from dataclasses import dataclass

from aiohttp import hdrs, web

from floki_core.sdk import ObservationSink, PluginContext, appliance_ssl_context
from floki_gps.config import GpsSettings
from floki_gps.devices import DeviceBook
from floki_gps.fix_batches import FixBatcher, is_registered
from floki_gps.fixes import Fix
from floki_gps.osmand import PROTOCOL, DecodeError, decode_request

__all__ = ["MAX_BODY_BYTES", "OsmandListener"]

MAX_BODY_BYTES = 64 * 1024  # a Traccar Client JSON fix is under 1 KiB; a batch of 50, ~40
SHUTDOWN_SECONDS = 0.5  # requests in flight when the listener stops get this long


class ListenerError(OSError):
    """The listener cannot serve; the message says why."""


@dataclass
class _Taken:
    fix_at: dt.datetime  # the device's time of the last fix taken
    arrived: dt.datetime  # when it arrived, by the appliance's clock


def _answer(status: int, text: str = "", headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(status=status, text=text + "\n" if text else "", headers=headers)


class OsmandListener:
    """A supervised source: serves until stopped; a port it cannot bind ends ``run`` with
    the reason (the supervisor shows it and tries again)."""

    def __init__(self, settings: GpsSettings, context: PluginContext, devices: DeviceBook):
        self.settings = settings
        self.context = context
        self.devices = devices
        self.port: int | None = None  # the port bound (settings' port, or the one given)
        self.listening = asyncio.Event()
        self._stopping = asyncio.Event()
        self._taken: dict[str, _Taken] = {}
        self._batcher: FixBatcher | None = None

    # --- the source protocol ------------------------------------------------------------

    async def run(self, sink: ObservationSink) -> None:
        if self._stopping.is_set():
            return
        settings = self.settings
        batcher = self._batcher = FixBatcher(sink, self.context.clock.now, settings.batch_seconds)
        tls = appliance_ssl_context(self.context) if settings.osmand_tls else None
        app = web.Application(client_max_size=MAX_BODY_BYTES)
        app.router.add_route(hdrs.METH_GET, "/{path:.*}", self._handle)
        app.router.add_route(hdrs.METH_POST, "/{path:.*}", self._handle)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=SHUTDOWN_SECONDS)
        await runner.setup()
        try:
            site = web.TCPSite(runner, settings.listen_host, settings.osmand_port, ssl_context=tls)
            try:
                await site.start()
            except OSError as exc:
                raise ListenerError(
                    f"Traccar Client/OsmAnd listener cannot listen on "
                    f"{settings.listen_host}:{settings.osmand_port}: {exc.strerror or exc}"
                ) from None
            self.port = _bound_port(runner) or settings.osmand_port
            self.listening.set()
            self.context.log.info(
                "Traccar Client/OsmAnd listener on %s://%s:%s",
                "https" if tls else "http",
                settings.listen_host,
                self.port,
            )
            await batcher.run(self._stopping)
        finally:
            self.listening.clear()
            await runner.cleanup()
            await batcher.flush()  # what the last requests brought

    async def stop(self) -> None:
        self._stopping.set()

    # --- one request ----------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.Response:
        batcher = self._batcher
        if batcher is None or self._stopping.is_set():
            return _answer(503, "stopping; send it again", {"Retry-After": "5"})
        if batcher.full:
            # The core is behind: the phone keeps the fix and sends it again later.
            batcher.reject("busy")
            return _answer(503, "the appliance is catching up; send it again", {"Retry-After": "5"})
        now = self.context.clock.now()
        peer = request.remote
        body = await request.read()
        try:
            fixes = decode_request(
                request.query_string, request.headers.get(hdrs.CONTENT_TYPE), body, now
            )
        except DecodeError as exc:
            batcher.reject(exc.counted_as)
            return _answer(exc.status, exc.reason)
        device = fixes[0].device
        if not is_registered(self.context, device):
            self.devices.refused(device, PROTOCOL, peer)
            batcher.reject("unregistered_device")
            return _answer(
                404,
                f"device {device!r} is not registered: add a gps identifier {device!r} to "
                "the asset it tracks",
            )
        if len(fixes) == 1:
            wait = self._too_soon(fixes[0], now)
            if wait is not None:
                self.devices.refused(device, PROTOCOL, peer)
                batcher.reject("rate_limited")
                return _answer(
                    429,
                    f"device {device!r} sends faster than one fix every "
                    f"{self.settings.osmand_min_interval_seconds:g} s; keep this fix and "
                    "send it again later",
                    {"Retry-After": str(wait)},
                )
        for fix in fixes:
            self.devices.heard(fix, peer)
            batcher.add(fix, now)
        self._remember(fixes, now)
        return _answer(200)

    def _too_soon(self, fix: Fix, now: dt.datetime) -> int | None:
        """Seconds to wait when ``fix`` is too close to the last taken from its device,
        both by when it arrived and by the device's time; None when it may be taken."""
        interval = self.settings.osmand_min_interval_seconds
        last = self._taken.get(fix.device)
        if not interval or last is None:
            return None
        since_arrival = (now - last.arrived).total_seconds()
        since_fix = (fix.at - last.fix_at).total_seconds()
        if since_arrival < interval and 0 < since_fix < interval:
            return max(1, math.ceil(interval - since_arrival))
        return None

    def _remember(self, fixes: list[Fix], now: dt.datetime) -> None:
        newest = max(f.at for f in fixes)
        last = self._taken.get(fixes[0].device)
        if last is None or newest >= last.fix_at:
            self._taken[fixes[0].device] = _Taken(newest, now)
        else:
            last.arrived = now  # a backlog fix: the device's newest stays the reference


def _bound_port(runner: web.AppRunner) -> int | None:
    for address in runner.addresses:
        if isinstance(address, tuple) and len(address) >= 2:
            return int(address[1])
    return None
