"""The simulated access points' side of the wire: syslog datagrams over UDP, as a Cisco
wireless controller sends them to a collector for the Catalyst access points it runs.

One message per datagram (RFC 5426), RFC 5424 framing with the time to the microsecond
in UTC and the controller as HOSTNAME; the message is the controller's own (AireOS):

    <134>1 2026-12-07T20:01:02.123456Z SFGH-WLC-01 apf - - - *apfReceiveTask: Dec 07
    20:01:02.123: %APF-3-AUTHENTICATION_TRAP: apf_80211.c:2460 Client Authenticated:
    MACAddress:00:1e:c0:01:00:01 Base Radio MAC:00:00:0c:a0:00:0e Slot:1 User Name:unknown
    Ip Address:unknown SSID:SFGH-Clinical

names the access point by its radio's MAC (the receiver's identifier); a device leaving
the network is ``%APF-6-USER_NAME_DELETED: ... Username entry (unknown) is deleted for
mobile <mac>``. Facility local0 (16), severity informational (6): PRI 134. The user name
and address fields are there as a controller sends them, for the plugin's decoder to
leave behind.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

PRI_LOCAL0_INFO = 134
CONTROLLER = "SFGH-WLC-01"
SSID = "SFGH-Clinical"


@dataclass(frozen=True)
class Association:
    """One line the controller logs: a device joined an access point (``ap_mac``) or left
    the network (``ap_mac`` None)."""

    ap_mac: str | None  # the access point's radio MAC, spelt AA:BB:CC:DD:EE:FF
    mac: str  # the device, spelt AA:BB:CC:DD:EE:FF
    at: dt.datetime  # aware

    @property
    def connected(self) -> bool:
        return self.ap_mac is not None


def _stamp(at: dt.datetime) -> str:
    return at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _task_time(at: dt.datetime) -> str:
    utc = at.astimezone(dt.UTC)
    return utc.strftime("%b %d %H:%M:%S.") + f"{utc.microsecond // 1000:03d}"


def controller_line(event: Association) -> bytes:
    """The datagram the controller sends for ``event`` (AireOS writes MACs in lower case)."""
    mac = event.mac.lower()
    if event.ap_mac is not None:
        task, text = (
            "apfReceiveTask",
            "%APF-3-AUTHENTICATION_TRAP: apf_80211.c:2460 Client Authenticated: "
            f"MACAddress:{mac} Base Radio MAC:{event.ap_mac.lower()} Slot:1 "
            f"User Name:unknown Ip Address:unknown SSID:{SSID}",
        )
    else:
        task, text = (
            "apfMsConnTask_0",
            "%APF-6-USER_NAME_DELETED: apf_ms.c:6512 Username entry (unknown) is deleted "
            f"for mobile {mac}",
        )
    return (
        f"<{PRI_LOCAL0_INFO}>1 {_stamp(event.at)} {CONTROLLER} apf - - - "
        f"*{task}: {_task_time(event.at)}: {text}"
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
