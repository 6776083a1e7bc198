"""NMEA 0183 receivers on a serial port and gpsd: their sources, registered from the
plugin's hooks (NMEA over TCP is one of the TCP trackers, ``tcp_trackers``)."""

from __future__ import annotations

from floki_core.sdk import PluginContext, SourceRegistry
from floki_gps.config import GpsSettings
from floki_gps.devices import DeviceBook
from floki_gps.gpsd_client import GpsdClient
from floki_gps.nmea_sources import NmeaSerialSource

NMEA_SERIAL_SOURCE = "gps-nmea-serial"
GPSD_SOURCE = "gps-gpsd"


def register_sources(
    registry: SourceRegistry, context: PluginContext, settings: GpsSettings, devices: DeviceBook
) -> None:
    """Add this family's sources for what the settings switch on; each keeps the device
    book up to date with the trackers it hears."""
    if settings.nmea_serial.strip():
        registry.add(NMEA_SERIAL_SOURCE, NmeaSerialSource(settings, context, devices))
    if settings.gpsd.strip():
        registry.add(GPSD_SOURCE, GpsdClient(settings, context, devices))
