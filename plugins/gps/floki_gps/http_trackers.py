"""Traccar Client / OsmAnd over HTTP and a Traccar server's forwarding: the listener and
the routes, registered from the plugin's hooks."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import msgspec
from aiohttp import web

from floki_core.sdk import (
    Decoded,
    PluginContext,
    RouteRegistry,
    SourceRegistry,
    UploadRefused,
    accept_upload,
    upload_source,
)
from floki_gps.config import GpsSettings
from floki_gps.devices import DeviceBook
from floki_gps.fix_batches import is_registered
from floki_gps.fix_observations import observation
from floki_gps.osmand_listener import OsmandListener
from floki_gps.traccar_forward import PROTOCOL as TRACCAR
from floki_gps.traccar_forward import DecodeError, decode_forward

OSMAND_SOURCE = "gps-osmand"
TRACCAR_PATH = "/api/v1/gps/traccar"
# Counted in GET /api/v1/sources as gps-traccar:<the device token's name>.
TRACCAR_SOURCE_PREFIX = "gps-traccar"


class ForwardReceipt(msgspec.Struct):
    queued: int
    queue_depth: int
    rejected: dict[str, int]


def register_sources(
    registry: SourceRegistry, context: PluginContext, settings: GpsSettings, devices: DeviceBook
) -> None:
    """Add this family's sources for what the settings switch on; each keeps the device
    book up to date with the trackers it hears."""
    if settings.osmand_port and settings.listen_host:  # no port opens without listen_host
        listener = OsmandListener(settings, context, devices)
        registry.add(OSMAND_SOURCE, listener)
        context.state[OSMAND_SOURCE] = listener


def _traccar_forward(context: PluginContext) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def forward(request: web.Request) -> web.Response:
        now = context.clock.now()
        devices: DeviceBook | None = context.state.get("devices")

        def decode(raw: bytes) -> Decoded:
            try:
                fix = decode_forward(raw)
            except DecodeError as exc:
                raise UploadRefused(400, exc.reason, exc.counted_as) from None
            if not is_registered(context, fix.device):
                # Traccar forwards every device it tracks; those no asset carries are
                # counted, answered 2xx (Traccar would only retry them) and listed.
                if devices is not None:
                    devices.refused(fix.device, TRACCAR, request.remote)
                return Decoded([], {"unregistered_device": 1})
            if devices is not None:
                devices.heard(fix, request.remote)
            return Decoded([observation(fix, now)])

        return await accept_upload(request, upload_source(request, TRACCAR_SOURCE_PREFIX), decode)

    return forward


def register_routes(registry: RouteRegistry, context: PluginContext) -> None:
    """Add the routes this family serves on the appliance's API."""
    settings: GpsSettings = context.settings
    if settings.traccar_forward:
        registry.add(
            "POST",
            TRACCAR_PATH,
            _traccar_forward(context),
            policy="device",
            summary="A position forwarded by a Traccar server (forward.type=json, one "
            "position a request); 202 with refused positions counted by reason "
            "(unregistered_device for a tracker no asset carries)",
            status=202,
            response=ForwardReceipt,
            body_type="application/json",
        )
