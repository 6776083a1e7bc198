"""The plugin's ``floki-core`` subcommands."""

from __future__ import annotations

from floki_core.sdk import CommandRegistry


def register_commands(registry: CommandRegistry) -> None:
    """The plugin's commands are added here."""
