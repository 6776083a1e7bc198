"""Teltonika and GT06 trackers over TCP: their listeners, registered from the plugin's hooks."""

from __future__ import annotations

from floki_core.sdk import PluginContext, SourceRegistry
from floki_gps.config import GpsSettings
from floki_gps.devices import DeviceBook


def register_sources(
    registry: SourceRegistry, context: PluginContext, settings: GpsSettings, devices: DeviceBook
) -> None:
    """Add this family's sources for what the settings switch on; each keeps the device
    book up to date with the trackers it hears."""
