"""Floki QR and barcode plugin. This module holds only the hook implementations."""

from __future__ import annotations

from floki_core.sdk import (
    CommandRegistry,
    ConfigRegistry,
    PluginContext,
    RouteRegistry,
    SourceRegistry,
    hookimpl,
)
from floki_qr.config import QrSettings
from floki_qr.labels import register_label_commands, register_label_routes
from floki_qr.pages import register_page_routes
from floki_qr.scanner import serial_sources

__version__ = "0.1.0"
# The plugin API versions (floki_core.PLUGIN_API) this plugin is written for.
FLOKI_PLUGIN_API = ">=1.0,<2"


@hookimpl
def floki_register_config(registry: ConfigRegistry) -> None:
    registry.section(QrSettings)


@hookimpl
def floki_register_routes(registry: RouteRegistry, context: PluginContext) -> None:
    register_label_routes(registry, context)
    register_page_routes(registry, context)


@hookimpl
def floki_register_sources(registry: SourceRegistry, context: PluginContext) -> None:
    settings: QrSettings = context.settings
    for name, source in serial_sources(settings.scanners, context):
        registry.add(name, source)


@hookimpl
def floki_register_commands(registry: CommandRegistry) -> None:
    register_label_commands(registry)
