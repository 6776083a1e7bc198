"""floki-rfid: UHF RFID readers and handheld stock-takes. This module holds only the hook
implementations; ``readers`` registers the readers' sources, ``commands`` the plugin's
``floki-core`` subcommands."""

from __future__ import annotations

from floki_core.sdk import CommandRegistry, ConfigRegistry, PluginContext, SourceRegistry, hookimpl
from floki_rfid import commands, readers
from floki_rfid.config import RfidSettings

__version__ = "0.1.0"
# The plugin API versions (floki_core.PLUGIN_API) this plugin is written for.
FLOKI_PLUGIN_API = ">=1.0,<2"


@hookimpl
def floki_register_config(registry: ConfigRegistry) -> None:
    registry.section(RfidSettings)


@hookimpl
def floki_register_sources(registry: SourceRegistry, context: PluginContext) -> None:
    readers.register_sources(registry, context, context.settings)


@hookimpl
def floki_register_commands(registry: CommandRegistry) -> None:
    commands.register_commands(registry)
