"""Trackers over TCP (Teltonika, GT06, NMEA receivers streaming sentences): their
listeners, registered from the plugin's hooks, all under one connection cap."""

from __future__ import annotations

import functools

from floki_core.sdk import PluginContext, SourceRegistry, default_worker_count
from floki_gps.config import GpsSettings
from floki_gps.devices import DeviceBook
from floki_gps.fix_batches import is_registered as registered
from floki_gps.gt06 import Gt06Session
from floki_gps.nmea_sources import NmeaSession, configured_device
from floki_gps.tcp_listener import ConnectionCap, TrackerListener
from floki_gps.teltonika import TeltonikaSession

TELTONIKA_SOURCE = "gps-teltonika"
GT06_SOURCE = "gps-gt06"
NMEA_TCP_SOURCE = "gps-nmea-tcp"


def register_sources(
    registry: SourceRegistry, context: PluginContext, settings: GpsSettings, devices: DeviceBook
) -> None:
    """Add this family's sources for what the settings switch on; each keeps the device
    book up to date with the trackers it hears."""
    cap = ConnectionCap(settings.max_connections)  # shared: the cap is over all protocols
    # Read from the register as it is now: an IMEI added while the appliance runs is
    # known at the tracker's next connection.
    is_registered = functools.partial(registered, context)
    common = {
        "host": settings.listen_host,
        "devices": devices,
        "clock": context.clock,
        "cap": cap,
        "idle_timeout": settings.idle_timeout_seconds,
        "batch_seconds": settings.batch_seconds,
    }
    workers = (
        default_worker_count() if settings.tcp_workers == "auto" else int(settings.tcp_workers)
    )
    in_workers = {"workers": workers, "is_registered": is_registered}
    if settings.teltonika_port:
        registry.add(
            TELTONIKA_SOURCE,
            TrackerListener(
                title="Teltonika",
                port=settings.teltonika_port,
                new_session=lambda: TeltonikaSession(is_registered),
                worker_protocol="teltonika",
                **in_workers,  # type: ignore[arg-type]
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
                worker_protocol="gt06",
                **in_workers,  # type: ignore[arg-type]
                **common,  # type: ignore[arg-type]
            ),
        )
    if settings.nmea_tcp_port:
        device = settings.nmea_device.strip()
        registry.add(
            NMEA_TCP_SOURCE,
            TrackerListener(
                title="NMEA",
                port=settings.nmea_tcp_port,
                new_session=lambda: NmeaSession(device, context.clock.now, is_registered),
                check=functools.partial(configured_device, settings),
                **common,  # type: ignore[arg-type]
            ),
        )
