"""Floki plugin for GPS trackers and phones: community equipment located by geofence.
Hook implementations only (the `floki` entry point); see README.md."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from floki_core.sdk import (
    ConfigRegistry,
    PluginContext,
    RouteRegistry,
    SourceRegistry,
    hookimpl,
)
from floki_gps import http_trackers, receivers, tcp_trackers
from floki_gps.config import GpsSettings
from floki_gps.devices import DeviceBook
from floki_gps.simulator import SOURCE_NAME as SIMULATOR_NAME
from floki_gps.simulator import SimulatedTrackers, read_register

FLOKI_PLUGIN_API = ">=1.4,<2"  # worker processes (floki_core.sdk_worker) came in 1.4


def _devices(context: PluginContext) -> DeviceBook:
    """The run's one picture of the trackers, shared by the sources and the routes."""
    book: DeviceBook | None = context.state.get("devices")
    if book is None:
        book = context.state["devices"] = DeviceBook(context.clock.now)
    return book


@hookimpl
def floki_register_config(registry: ConfigRegistry) -> None:
    registry.section(GpsSettings)


@hookimpl
def floki_register_sources(registry: SourceRegistry, context: PluginContext) -> None:
    settings: GpsSettings = context.settings
    devices = _devices(context)
    if settings.listen_host:
        tcp_trackers.register_sources(registry, context, settings, devices)
        http_trackers.register_sources(registry, context, settings, devices)
    else:
        context.log.info("no [plugin.gps] listen_host: no tracker listener is started")
    receivers.register_sources(registry, context, settings, devices)
    if settings.simulate:
        _register_simulator(registry, context, settings)


def _register_simulator(
    registry: SourceRegistry, context: PluginContext, settings: GpsSettings
) -> None:
    # The simulated trackers report through the listeners, so without them there is
    # nothing to report to.
    if not settings.listen_host:
        context.log.warning(
            '[plugin.gps] simulate = true needs listen_host (e.g. "127.0.0.1"): '
            "no tracker is simulated"
        )
        return
    register = context.register
    if register is None:
        raise RuntimeError("simulate = true needs the running appliance to read the register")
    registry.add(
        SIMULATOR_NAME,
        SimulatedTrackers(settings, context.clock, lambda: read_register(register), context.log),
    )


def _device_listing(context: PluginContext) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def devices(request: web.Request) -> web.Response:
        return web.json_response({"items": _devices(context).listing()})

    return devices


@hookimpl
def floki_register_routes(registry: RouteRegistry, context: PluginContext) -> None:
    registry.add(
        "GET",
        "/api/v1/gps/devices",
        _device_listing(context),
        policy="engineer",
        summary="GPS trackers: protocol, connection, last fix age, battery; trackers "
        "refused because no asset has them registered are listed after, newest first",
    )
    http_trackers.register_routes(registry, context)
