"""The stock-take API (``/api/v1/rfid/stocktakes``; docs/rfid-stocktake.md)."""

from __future__ import annotations

from floki_core.sdk import PluginContext, RouteRegistry


def register_routes(registry: RouteRegistry, context: PluginContext) -> None:
    """The stock-take routes are added here."""
