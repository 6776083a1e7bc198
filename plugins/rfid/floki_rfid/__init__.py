"""floki-rfid: UHF RFID readers and handheld stock-takes. This module holds only the hook
implementations; ``readers`` registers the readers' sources, ``placement`` the read-zone and
portal locator, ``stocktake_routes`` the stock-take API, ``commands`` the plugin's
``floki-core`` subcommands, ``simulator`` the demo's emulated readers."""

from __future__ import annotations

from collections.abc import Sequence

from floki_core.sdk import (
    CommandRegistry,
    ConfigRegistry,
    LocatorRegistry,
    PluginContext,
    RouteRegistry,
    SourceRegistry,
    TagKeyRegistry,
    hookimpl,
)
from floki_rfid import commands, epc, placement, portal_routes, readers, simulator, stocktake_routes
from floki_rfid.config import RfidSettings
from floki_rfid.simulator_readers import EmulatedReader
from floki_rfid.simulator_sweep import record_sample_sweep

__version__ = "0.1.0"
# The plugin API versions (floki_core.PLUGIN_API) this plugin is written for.
FLOKI_PLUGIN_API = ">=1.1,<2"  # floki_register_tag_keys came with 1.1


@hookimpl
def floki_register_config(registry: ConfigRegistry) -> None:
    registry.section(RfidSettings)


@hookimpl
def floki_register_sources(registry: SourceRegistry, context: PluginContext) -> None:
    # With simulate on, the demo's emulated readers and their portals join the settings
    # (context.settings) before anything reads them.
    emulated = simulator.prepare(context)
    readers.register_sources(registry, context, context.settings)
    if emulated:
        _register_simulator(registry, context, emulated)


def _register_simulator(
    registry: SourceRegistry,
    context: PluginContext,
    emulated: dict[str, EmulatedReader],
) -> None:
    register = context.register
    if register is None:
        raise RuntimeError("simulate = true needs the running appliance to read the register")

    async def sweep(zone_id: int, epcs: Sequence[str]) -> object:
        return await record_sample_sweep(context, zone_id, epcs)

    registry.add(
        simulator.SOURCE_NAME,
        simulator.SimulatedReaders(
            context.settings, context.clock, register.snapshot, context.log, emulated, sweep
        ),
    )


@hookimpl
def floki_register_routes(registry: RouteRegistry, context: PluginContext) -> None:
    readers.register_routes(registry, context)
    stocktake_routes.register_routes(registry, context)
    portal_routes.register_routes(registry, context)


@hookimpl
async def floki_startup(context: PluginContext) -> None:
    # A portal whose antennas are not registered receivers is said at start.
    await portal_routes.startup(context)


@hookimpl
async def floki_shutdown(context: PluginContext) -> None:
    # The portal crossings still being written reach the disk before the appliance stops.
    await portal_routes.shutdown(context)


@hookimpl
def floki_register_locators(registry: LocatorRegistry, context: PluginContext) -> None:
    simulator.prepare(context)  # the simulated portals, whichever hook runs first
    placement.register_locators(registry, context)


@hookimpl
def floki_register_commands(registry: CommandRegistry) -> None:
    commands.register_commands(registry)


@hookimpl
def floki_register_tag_keys(registry: TagKeyRegistry, context: PluginContext) -> None:
    # An EPC no rfid identifier holds is looked up by the GIAI or UDI it carries.
    registry.add(epc.RFID, epc.epc_tag_keys)
