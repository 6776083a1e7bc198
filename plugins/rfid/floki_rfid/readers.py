"""The readers' sources, registered from the plugin's hooks for what the settings switch on."""

from __future__ import annotations

from floki_core.sdk import PluginContext, SourceRegistry
from floki_rfid.config import RfidSettings


def register_sources(
    registry: SourceRegistry, context: PluginContext, settings: RfidSettings
) -> None:
    """No reader is configured by default: nothing is registered until one is."""
