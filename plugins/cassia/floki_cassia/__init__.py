"""Floki plugin for Cassia Networks Bluetooth gateways: each gateway's scan stream is a
source of BLE sightings, the gateway the receiver that heard them. Hook implementations
only; see README.md."""

from __future__ import annotations

from floki_cassia.config import CassiaSettings
from floki_cassia.sources import CassiaScan
from floki_core.sdk import ConfigError, ConfigRegistry, PluginContext, SourceRegistry, hookimpl

FLOKI_PLUGIN_API = ">=1.0,<2"
SOURCE = "cassia-scan"


@hookimpl
def floki_register_config(registry: ConfigRegistry) -> None:
    registry.section(CassiaSettings)


@hookimpl
def floki_register_sources(registry: SourceRegistry, context: PluginContext) -> None:
    settings: CassiaSettings = context.settings
    if not settings.url:
        context.log.info("no [plugin.cassia] url: no gateway to read")
        return
    if not settings.gateway:
        raise ConfigError("plugin.cassia.gateway: the gateway's MAC is needed with url")
    scan = CassiaScan(settings, context.clock)
    registry.add(SOURCE, scan)
    context.state["scan"] = scan
