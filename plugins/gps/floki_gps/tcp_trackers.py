"""Teltonika and GT06 trackers over TCP: their listeners, registered from the plugin's hooks."""

from __future__ import annotations

from floki_core.sdk import PluginContext, SourceRegistry
from floki_gps.config import GpsSettings
from floki_gps.devices import DeviceBook
from floki_gps.fixes import TECHNOLOGY
from floki_gps.gt06 import Gt06Session
from floki_gps.tcp_listener import ConnectionCap, TrackerListener
from floki_gps.tcp_session import IsRegistered
from floki_gps.teltonika import TeltonikaSession

TELTONIKA_SOURCE = "gps-teltonika"
GT06_SOURCE = "gps-gt06"


def registered_check(context: PluginContext) -> IsRegistered:
    """Whether a tracker's IMEI is an asset's ``gps`` identifier, read from the register
    as it is now (an identifier added while the appliance runs is known at the next
    connection)."""
    register = context.register

    def is_registered(imei: str) -> bool:
        return register is not None and register.asset_id_for(TECHNOLOGY, imei) is not None

    return is_registered


def register_sources(
    registry: SourceRegistry, context: PluginContext, settings: GpsSettings, devices: DeviceBook
) -> None:
    """Add this family's sources for what the settings switch on; each keeps the device
    book up to date with the trackers it hears."""
    cap = ConnectionCap(settings.max_connections)  # shared: the cap is over all protocols
    is_registered = registered_check(context)
    common = {
        "host": settings.listen_host,
        "devices": devices,
        "clock": context.clock,
        "cap": cap,
        "idle_timeout": settings.idle_timeout_seconds,
        "batch_seconds": settings.batch_seconds,
    }
    if settings.teltonika_port:
        registry.add(
            TELTONIKA_SOURCE,
            TrackerListener(
                title="Teltonika",
                port=settings.teltonika_port,
                new_session=lambda: TeltonikaSession(is_registered),
                **common,  # type: ignore[arg-type]
            ),
        )
    if settings.gt06_port:
        registry.add(
            GT06_SOURCE,
            TrackerListener(
                title="GT06",
                port=settings.gt06_port,
                new_session=lambda: Gt06Session(is_registered, context.clock.now),
                **common,  # type: ignore[arg-type]
            ),
        )
