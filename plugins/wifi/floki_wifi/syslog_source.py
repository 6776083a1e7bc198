"""(Not yet written.)"""

from __future__ import annotations

from floki_core.sdk import PluginContext, SourceRegistry
from floki_wifi.config import WifiSettings


def register_sources(
    registry: SourceRegistry, context: PluginContext, settings: WifiSettings
) -> None:
    """Nothing yet."""
