"""Plugins' ``floki-core`` subcommands, found when the command line is parsed.

Only the plugins' command registrations run here: no core is started, so a command
such as ``floki-core labels`` works on an appliance that is not serving.
"""

from __future__ import annotations

import logging

from floki_core.plugins.contract import judge
from floki_core.plugins.installed import plugin_entry_points
from floki_core.plugins.registry import (
    CommandRegistry,
    CommandSpec,
    NamedRegistry,
    RegistrationError,
)

log = logging.getLogger(__name__)


def plugin_commands(core_commands: set[str]) -> list[tuple[str, CommandSpec]]:
    """(plugin, command) for every installed plugin's commands; broken plugins are
    logged and skipped, so one never takes the whole command line down."""
    registry: NamedRegistry[CommandSpec] = NamedRegistry("command")
    for ep in plugin_entry_points():
        try:
            module = ep.load()
            refusal = judge(module).refusal
            if refusal is not None:
                log.warning("plugin %s: its commands are unavailable: %s", ep.name, refusal)
                continue
            register = getattr(module, "floki_register_commands", None)
            if register is not None:
                register(registry=CommandRegistry(registry, ep.name))
        except Exception as exc:
            log.warning("plugin %s: its commands are unavailable: %s", ep.name, exc)
            registry.discard_plugin(ep.name)
    found = []
    for registration in registry:
        if registration.name in core_commands:
            log.warning(
                "plugin %s: command %r is the core's; ignored",
                registration.plugin,
                registration.name,
            )
            continue
        found.append((registration.plugin, registration.item))
    return found


__all__ = ["RegistrationError", "plugin_commands"]
