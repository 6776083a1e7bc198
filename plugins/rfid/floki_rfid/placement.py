"""How RFID reads place equipment: read zones and portals (docs/rfid-placement.md)."""

from __future__ import annotations

from floki_core.sdk import LocatorRegistry, PluginContext


def register_locators(registry: LocatorRegistry, context: PluginContext) -> None:
    """Until read zones and portals are configured here, RFID reads use the core's
    fixed-point locator (the reader's zone, at once)."""
