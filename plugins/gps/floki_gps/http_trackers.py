"""Sources of this family, registered from the plugin's hooks."""

from __future__ import annotations

from floki_core.sdk import PluginContext, RouteRegistry, SourceRegistry
from floki_gps.config import GpsSettings


def register_sources(
    registry: SourceRegistry, context: PluginContext, settings: GpsSettings
) -> None:
    """Add this family's sources for what settings switches on."""


def register_routes(registry: RouteRegistry, context: PluginContext) -> None:
    """Add the routes this family serves on the appliance's API."""
