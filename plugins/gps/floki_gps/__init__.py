"""Floki plugin for GPS trackers and phones: community equipment located by geofence.
Hook implementations only; see README.md."""

from __future__ import annotations

from floki_core.sdk import ConfigRegistry, hookimpl
from floki_gps.config import GpsSettings

FLOKI_PLUGIN_API = ">=1.0,<2"


@hookimpl
def floki_register_config(registry: ConfigRegistry) -> None:
    registry.section(GpsSettings)
