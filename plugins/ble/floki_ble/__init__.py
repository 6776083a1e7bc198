"""Floki BLE plugin. This module holds only the hook implementations."""

from __future__ import annotations

from floki_ble.config import BleSettings
from floki_ble.sources import LocalRadioSource
from floki_core import hookimpl
from floki_core.plugins.context import PluginContext
from floki_core.plugins.registry import ConfigRegistry, SourceRegistry

__version__ = "0.1.0"


@hookimpl
def floki_register_config(registry: ConfigRegistry) -> None:
    registry.section(BleSettings)


@hookimpl
def floki_register_sources(registry: SourceRegistry, context: PluginContext) -> None:
    settings: BleSettings = context.settings
    if settings.local_radio:
        registry.add("ble-local-radio", LocalRadioSource(settings, context.clock))
