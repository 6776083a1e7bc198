"""Floki plugin for GPS trackers and phones: community equipment located by geofence.
Hook implementations only; see README.md."""

from __future__ import annotations

from floki_core.sdk import (
    ConfigRegistry,
    PluginContext,
    RouteRegistry,
    SourceRegistry,
    hookimpl,
)
from floki_gps import http_trackers, receivers, tcp_trackers
from floki_gps.config import GpsSettings

FLOKI_PLUGIN_API = ">=1.0,<2"


@hookimpl
def floki_register_config(registry: ConfigRegistry) -> None:
    registry.section(GpsSettings)


@hookimpl
def floki_register_sources(registry: SourceRegistry, context: PluginContext) -> None:
    settings: GpsSettings = context.settings
    tcp_trackers.register_sources(registry, context, settings)
    http_trackers.register_sources(registry, context, settings)
    receivers.register_sources(registry, context, settings)


@hookimpl
def floki_register_routes(registry: RouteRegistry, context: PluginContext) -> None:
    http_trackers.register_routes(registry, context)
