"""(Not yet written: until then the core's association locator places ``wifi`` sightings.)"""

from __future__ import annotations

from floki_core.sdk import LocatorRegistry, PluginContext


def register_locators(registry: LocatorRegistry, context: PluginContext) -> None:
    """Nothing yet."""
