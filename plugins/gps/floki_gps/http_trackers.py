"""Traccar Client / OsmAnd over HTTP and a Traccar server's forwarding: the listener and
the routes, registered from the plugin's hooks."""

from __future__ import annotations

from floki_core.sdk import PluginContext, RouteRegistry, SourceRegistry
from floki_gps.config import GpsSettings
from floki_gps.devices import DeviceBook


def register_sources(
    registry: SourceRegistry, context: PluginContext, settings: GpsSettings, devices: DeviceBook
) -> None:
    """Add this family's sources for what the settings switch on; each keeps the device
    book up to date with the trackers it hears."""


def register_routes(registry: RouteRegistry, context: PluginContext) -> None:
    """Add the routes this family serves on the appliance's API."""
