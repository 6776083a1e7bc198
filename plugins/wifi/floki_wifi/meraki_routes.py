"""(Not yet written.)"""

from __future__ import annotations

from floki_core.sdk import PluginContext, RouteRegistry
from floki_wifi.config import WifiSettings


def register_routes(
    registry: RouteRegistry, context: PluginContext, settings: WifiSettings
) -> None:
    """Nothing yet."""
