"""(Not yet written.)"""

from __future__ import annotations

from floki_core.sdk import PluginContext, RouteRegistry


def register_routes(registry: RouteRegistry, context: PluginContext) -> None:
    """Nothing yet."""
