"""Floki plugin for equipment on the trust's Wi-Fi: located by the access point it is on
(or the position a Meraki or Spaces feed gives). Hook implementations only; see README.md."""

from __future__ import annotations

from floki_core.sdk import (
    ConfigRegistry,
    LocatorRegistry,
    PluginContext,
    RouteRegistry,
    SourceRegistry,
    hookimpl,
)
from floki_wifi import (
    access_points,
    locator,
    meraki_routes,
    presence,
    radius_source,
    simulator,
    spaces_source,
    syslog_source,
)
from floki_wifi.config import WifiSettings
from floki_wifi.state import association_book

FLOKI_PLUGIN_API = ">=1.3,<2"  # sink.reject(..., expected=True)


@hookimpl
def floki_register_config(registry: ConfigRegistry) -> None:
    registry.section(WifiSettings)


@hookimpl
def floki_register_sources(registry: SourceRegistry, context: PluginContext) -> None:
    settings: WifiSettings = context.settings
    if settings.listen_host:
        syslog_source.register_sources(registry, context, settings)
        radius_source.register_sources(registry, context, settings)
    else:
        context.log.info("no [plugin.wifi] listen_host: no syslog or RADIUS listener is started")
    spaces_source.register_sources(registry, context, settings)
    # Nothing to keep present on an appliance none of whose feeds is set up.
    any_feed = settings.listen_host or settings.spaces.api_key or settings.meraki.secret
    if any_feed and settings.location.presence_seconds > 0:
        registry.add(
            presence.SOURCE_NAME,
            presence.NetworkPresence(association_book(context), settings.location, context.clock),
        )
    if settings.simulate:
        simulator.register_sources(registry, context, settings)


@hookimpl
def floki_register_routes(registry: RouteRegistry, context: PluginContext) -> None:
    settings: WifiSettings = context.settings
    access_points.register_routes(registry, context)
    meraki_routes.register_routes(registry, context, settings)


@hookimpl
def floki_register_locators(registry: LocatorRegistry, context: PluginContext) -> None:
    locator.register_locators(registry, context)
