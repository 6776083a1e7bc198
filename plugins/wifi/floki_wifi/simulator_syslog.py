"""The simulated access points' side of the wire: syslog datagrams over UDP, as hostapd
on an access point sends them through its syslog daemon to a collector.

One message per datagram (RFC 5426), RFC 5424 framing with the time to the microsecond
in UTC, the access point as HOSTNAME and ``hostapd`` as APP-NAME:

    <30>1 2026-12-07T20:01:02.123456Z AP-Ward-5 hostapd - - - wlan0: AP-STA-CONNECTED 0c:...

Facility daemon (3), severity informational (6): PRI 30.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

PRI_DAEMON_INFO = 30
INTERFACE = "wlan0"


@dataclass(frozen=True)
class Association:
    """One line an access point logs: a device joined (``connected``) or left it."""

    host: str  # the access point's syslog HOSTNAME
    mac: str  # the device, spelt AA:BB:CC:DD:EE:FF
    connected: bool
    at: dt.datetime  # aware


def _stamp(at: dt.datetime) -> str:
    return at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def hostapd_line(event: Association) -> bytes:
    """The datagram hostapd's syslog sends for ``event`` (hostapd writes MACs in lower case)."""
    what = "AP-STA-CONNECTED" if event.connected else "AP-STA-DISCONNECTED"
    return (
        f"<{PRI_DAEMON_INFO}>1 {_stamp(event.at)} {event.host} hostapd - - - "
        f"{INTERFACE}: {what} {event.mac.lower()}"
    ).encode("ascii")


class _Quiet(asyncio.DatagramProtocol):
    """Nothing comes back over syslog; a refused port (ICMP) is told to the next send."""

    def __init__(self) -> None:
        self.error: OSError | None = None

    def error_received(self, exc: Exception) -> None:
        if isinstance(exc, OSError):
            self.error = exc


class SyslogSender:
    """A UDP socket connected to the collector (the plugin's own syslog listener)."""

    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port
        self._transport: asyncio.DatagramTransport | None = None
        self._protocol: _Quiet | None = None

    async def send(self, datagrams: Sequence[bytes]) -> int:
        """Send each datagram; how many were handed to the network. Raises OSError when
        the collector's port refused an earlier one (nothing listens there)."""
        if self._transport is None or self._transport.is_closing():
            loop = asyncio.get_running_loop()
            self._transport, self._protocol = await loop.create_datagram_endpoint(
                _Quiet, remote_addr=(self.host, self.port)
            )
        assert self._protocol is not None
        error, self._protocol.error = self._protocol.error, None
        if error is not None:
            raise error
        for datagram in datagrams:
            self._transport.sendto(datagram)
            # The listener runs on this loop too and reads a datagram a turn: let it, so a
            # catch-up after a pause cannot overflow its socket's buffer.
            await asyncio.sleep(0)
        return len(datagrams)

    def close(self) -> None:
        transport, self._transport = self._transport, None
        if transport is not None:
            transport.close()
