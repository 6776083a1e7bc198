"""Settings of the Zebra readers: fixed readers heard through their IoT Connector over
MQTT (``[[plugin.rfid.zebra_readers]]``) and handhelds' DataWedge output over TCP/UDP
(``[[plugin.rfid.handhelds]]``)."""

from __future__ import annotations

from typing import Annotated

import msgspec

Name = Annotated[str, msgspec.Meta(pattern=r"^[a-z0-9][a-z0-9_-]{0,39}$")]
Port = Annotated[int, msgspec.Meta(ge=1, le=65535)]
# An MQTT topic to subscribe to: no wildcards, so one topic is one reader's data.
DataTopic = Annotated[str, msgspec.Meta(min_length=1, max_length=256, pattern=r"^[^#+]+$")]


class ZebraReaderSettings(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """One Zebra fixed reader (FX7500, FX9600, ATR7000) whose IoT Connector publishes its
    tag data to an MQTT broker (``[[plugin.rfid.zebra_readers]]``)."""

    # What the reader is called here: its antennas are the receivers "<name>:<port>".
    name: Name
    # The MQTT broker the reader's IoT Connector publishes to (the reader's own MQTT
    # endpoint settings name the same broker).
    broker_host: Annotated[str, msgspec.Meta(min_length=1, max_length=253)]
    broker_port: Port = 1883
    # The data topic set on the reader's data interface (no wildcards).
    data_topic: DataTopic
    broker_username: str | None = None
    broker_password: str | None = None
    # TLS to the broker (usually port 8883), checked against the system's CAs or ca_file.
    broker_tls: bool = False
    ca_file: str | None = None
    # The antenna ports read (1 = the first); empty: every port. Reads from a port not
    # listed are counted as unknown_antenna, not used.
    antennas: list[Annotated[int, msgspec.Meta(ge=1, le=32)]] = []

    def __post_init__(self) -> None:
        if len(set(self.antennas)) != len(self.antennas):
            raise ValueError("antennas lists a port twice")
        if self.ca_file is not None and not self.broker_tls:
            raise ValueError("ca_file is set but broker_tls is false")


class DataWedgeSettings(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """One Zebra handheld (RFD40/RFD90 sled, MC3390R ...) whose DataWedge IP output sends
    each tag read as a line (``[[plugin.rfid.handhelds]]``)."""

    # What the handheld is called here: its reads come from the receiver "<name>:0".
    name: Name
    # The address to listen on; empty: nothing is opened for this handheld.
    listen_host: Annotated[str, msgspec.Meta(max_length=253)] = ""
    # The ports DataWedge's IP output sends to (its "Port" setting, TCP or UDP);
    # either may be unset.
    tcp_port: Port | None = None
    udp_port: Port | None = None
    # DataWedge's basic data formatting "Prefix to data" / "Suffix to data": a line that
    # does not carry them is counted as bad_line.
    prefix: Annotated[str, msgspec.Meta(max_length=32)] = ""
    suffix: Annotated[str, msgspec.Meta(max_length=32)] = ""

    def __post_init__(self) -> None:
        if self.listen_host and self.tcp_port is None and self.udp_port is None:
            raise ValueError(f"handheld {self.name} has a listen_host but no tcp_port or udp_port")
        for text in (self.prefix, self.suffix):
            if "\n" in text or "\r" in text:
                raise ValueError("prefix and suffix cannot hold a line break")
