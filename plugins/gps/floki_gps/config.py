"""The ``[plugin.gps]`` settings."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from floki_core.sdk import PluginSettings

Port = Annotated[int, msgspec.Meta(ge=0, le=65535)]


class GpsSettings(PluginSettings):
    # The address the trackers' listeners (Teltonika, GT06, Traccar Client/OsmAnd, NMEA
    # over TCP) bind to: "0.0.0.0" takes trackers from every interface (they reach the
    # appliance from the mobile network through the trust's firewall). Empty: none of
    # them listens, so installing the plugin opens no port until a department asks.
    listen_host: str = ""
    # Traccar Client / OsmAnd over HTTP (phones, and trackers speaking OsmAnd). 0: off.
    osmand_port: Port = 5055
    # Serve that listener over TLS with the appliance's certificate (as the API is).
    osmand_tls: bool = False
    # One device's posts closer together than this are answered 429 (the phone keeps the
    # fix and sends it again later); 0: no limit.
    osmand_min_interval_seconds: Annotated[float, msgspec.Meta(ge=0, le=3600)] = 1.0
    # Teltonika trackers (Codec 8 / 8 Extended over TCP). 0: off.
    teltonika_port: Port = 5027
    # GT06 / Concox trackers over TCP. 0: off.
    gt06_port: Port = 5023
    # NMEA 0183 sentences streamed over TCP by a receiver that connects. 0: off.
    nmea_tcp_port: Port = 0
    # A serial NMEA receiver on the appliance (e.g. "/dev/ttyUSB0"). Empty: none.
    nmea_serial: str = ""
    nmea_baud: Annotated[int, msgspec.Meta(ge=300, le=921600)] = 4800
    # The tracker id (as registered on an asset) that fixes from the serial or TCP NMEA
    # receiver carry: NMEA sentences do not name their receiver.
    nmea_device: str = ""
    # A gpsd to watch ("127.0.0.1:2947"); its receivers' fixes carry gpsd_device, or
    # the receiver's path when that is empty. Empty: none.
    gpsd: str = ""
    gpsd_device: str = ""
    # Accept Traccar's position forwarding (forward.type=json) at POST /api/v1/gps/traccar.
    traccar_forward: bool = True
    # A TCP tracker silent this long is disconnected (trackers reconnect on their own).
    idle_timeout_seconds: Annotated[float, msgspec.Meta(gt=0, le=86400)] = 900.0
    # TCP connections held at once, over all tracker protocols; more are refused.
    max_connections: Annotated[int, msgspec.Meta(ge=1, le=200_000)] = 20_000
    # Worker processes that hold the Teltonika and the GT06 trackers' connections (each
    # protocol its own), reading and decoding on another core than the location pipeline:
    # "auto" is one on a machine with two cores or more, none on one core; 0 holds them in
    # the appliance's own process.
    tcp_workers: Annotated[int, msgspec.Meta(ge=0, le=16)] | Literal["auto"] = "auto"
    # Fixes are handed to the core in batches this often.
    batch_seconds: Annotated[float, msgspec.Meta(gt=0, le=10)] = 0.1
    # Simulated trackers instead of real ones (the demo): every asset with a gps
    # identifier gets a tracker that drives it between the register's community hub,
    # depots and home areas (zones drawn on the map), reporting through this plugin's own
    # listeners on loopback, so listen_host must be set. IMEIs beginning 86 speak GT06,
    # other 15-digit ids Teltonika, any other id is a phone posting as Traccar Client.
    simulate: bool = False
    simulate_seed: Annotated[int, msgspec.Meta(ge=0)] = 1
    # How many times faster than real time the simulated items stay and travel.
    simulate_speedup: Annotated[float, msgspec.Meta(ge=0.1, le=100)] = 1.0
