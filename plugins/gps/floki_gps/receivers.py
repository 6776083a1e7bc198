"""NMEA 0183 receivers (serial or TCP) and gpsd: their sources, registered from the
plugin's hooks."""

from __future__ import annotations

from floki_core.sdk import PluginContext, SourceRegistry
from floki_gps.config import GpsSettings
from floki_gps.devices import DeviceBook
from floki_gps.gpsd_client import GpsdClient
from floki_gps.nmea_sources import NmeaSerialSource, NmeaTcpListener

NMEA_SERIAL_SOURCE = "gps-nmea-serial"
NMEA_TCP_SOURCE = "gps-nmea-tcp"
GPSD_SOURCE = "gps-gpsd"


def register_sources(
    registry: SourceRegistry, context: PluginContext, settings: GpsSettings, devices: DeviceBook
) -> None:
    """Add this family's sources for what the settings switch on; each keeps the device
    book up to date with the trackers it hears."""
    if settings.nmea_serial.strip():
        registry.add(NMEA_SERIAL_SOURCE, NmeaSerialSource(settings, context, devices))
    # A listener opens a port: not until listen_host says where (the serial port and
    # gpsd are reached from here, so they need none).
    if settings.nmea_tcp_port and settings.listen_host:
        registry.add(NMEA_TCP_SOURCE, NmeaTcpListener(settings, context, devices))
    if settings.gpsd.strip():
        registry.add(GPSD_SOURCE, GpsdClient(settings, context, devices))
