"""Printable label sheets (to be filled in)."""

from __future__ import annotations

import msgspec

from floki_core.plugins.registry import CommandRegistry, RouteRegistry


class LabelSettings(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    pass


def register_label_routes(registry: RouteRegistry) -> None:
    del registry


def register_label_commands(registry: CommandRegistry) -> None:
    del registry
