"""Floki BLE plugin. This module holds only the hook implementations."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import msgspec
from aiohttp import web

from floki_ble import http_gateways
from floki_ble.config import BleSettings
from floki_ble.dialects import parse_ingics, parse_json_batch
from floki_ble.espresense import SOURCE_NAME, EspresenseSource
from floki_ble.simulator import SOURCE_NAME as SIMULATOR_NAME
from floki_ble.simulator import SimulatedGateways, read_register
from floki_ble.sources import LocalRadioSource
from floki_core.sdk import ConfigRegistry, PluginContext, RouteRegistry, SourceRegistry, hookimpl

__version__ = "0.1.0"
# The plugin API versions (floki_core.PLUGIN_API) this plugin is written for.
FLOKI_PLUGIN_API = ">=1.0,<2"


class GatewayReceipt(msgspec.Struct):
    queued: int
    rejected: dict[str, int]


LOCAL_RADIO = "ble-local-radio"
# Where the ESPresense source of this appliance is kept in the plugin's context, for the
# gateway health route.
ESPRESENSE = "espresense"


@hookimpl
def floki_register_config(registry: ConfigRegistry) -> None:
    registry.section(BleSettings)


@hookimpl
def floki_register_sources(registry: SourceRegistry, context: PluginContext) -> None:
    settings: BleSettings = context.settings
    if settings.local_radio:
        # Counted with the pipeline's own refusals, so /api/v1/sources shows them.
        rejected = context.sink(LOCAL_RADIO).reject
        registry.add(
            LOCAL_RADIO,
            LocalRadioSource(
                settings,
                context.clock,
                scanning=settings.local_radio_scanning,
                on_rejected=rejected,
            ),
        )
    if settings.espresense_host:
        source = EspresenseSource(settings, context.clock, context.log, context.events)
        registry.add(SOURCE_NAME, source)
        context.state[ESPRESENSE] = source
    if settings.simulate:
        register = context.register
        if register is None:
            raise RuntimeError("simulate = true needs the running appliance to read the site from")
        registry.add(
            SIMULATOR_NAME,
            SimulatedGateways(
                settings, context.clock, lambda: read_register(register), context.log
            ),
        )


def _gateway_health(context: PluginContext) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def gateways(request: web.Request) -> web.Response:
        source: EspresenseSource | None = context.state.get(ESPRESENSE)
        body: dict[str, Any] = {"items": [], "connected": False, "rejected": {}}
        if source is not None:
            body = {
                "items": source.gateways(),
                "connected": source.connected,
                "rejected": dict(source.rejections),
            }
        return web.json_response(body)

    return gateways


@hookimpl
def floki_register_routes(registry: RouteRegistry, context: PluginContext) -> None:
    registry.add(
        "GET",
        "/api/v1/ble/gateways",
        _gateway_health(context),
        policy="viewer",
        summary="ESPresense gateway health: online, last heard, adverts per second",
    )
    for dialect, parse in (("json", parse_json_batch), ("ingics", parse_ingics)):
        registry.add(
            "POST",
            f"/api/v1/ble/ingest/{dialect}",
            http_gateways.handler(parse, context.clock),
            policy="device",
            summary=f"Sightings from a BLE gateway speaking the {dialect} dialect "
            "(docs/gateways.md); 202 with counts of refused entries by reason",
            status=202,
            response=GatewayReceipt,
            body_type="application/json" if dialect == "json" else "text/plain",
        )
