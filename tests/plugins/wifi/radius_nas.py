"""A NAS (a Wi-Fi controller, or a RADIUS server replicating its accounting) sending RADIUS
accounting to the plugin's listener over loopback UDP, built with pyrad as a real one
would send it."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hashlib
import socket
import struct
from typing import Any

from floki_wifi.radius_packets import dictionary
from pyrad import client as radius_client
from pyrad import packet as radius

SECRET = b"floki-accounting-s3cret"
NO_ANSWER_SECONDS = 0.3  # a refused packet is never answered; this long is enough on loopback
ANSWER_SECONDS = 3.0


def accounting(
    status: str,
    device: str | None,
    called: str | None,
    *,
    secret: bytes = SECRET,
    at: dt.datetime | None = None,
    **attributes: Any,
) -> radius.AcctPacket:
    """An Accounting-Request as a controller sends one for a Wi-Fi station."""
    request = radius.AcctPacket(secret=secret, dict=dictionary())
    request["Acct-Status-Type"] = status
    if device is not None:
        request["Calling-Station-Id"] = device
    if called is not None:
        request["Called-Station-Id"] = called
    if at is not None:
        request["Event-Timestamp"] = int(at.timestamp())
    request["NAS-Port-Type"] = "Wireless-802.11"
    for name, value in attributes.items():
        request[name.replace("_", "-")] = value
    return request


def rfc_request(identifier: int, secret: bytes, attributes: list[tuple[int, bytes]]) -> bytes:
    """An Accounting-Request put together octet by octet as RFC 2866 section 3 lays it
    out (Code 4, Identifier, Length, Request Authenticator = MD5(Code + Identifier +
    Length + 16 zero octets + attributes + secret), attributes as Type, Length, Value),
    without pyrad."""
    body = b"".join(struct.pack("!BB", kind, len(value) + 2) + value for kind, value in attributes)
    header = struct.pack("!BBH", 4, identifier, 20 + len(body))
    authenticator = hashlib.md5(header + bytes(16) + body + secret).digest()
    return header + authenticator + body


def response_is_signed(request: bytes, response: bytes, secret: bytes) -> bool:
    """RFC 2866 section 4: an Accounting-Response to ``request`` (code 5, the request's
    identifier) whose Response Authenticator is MD5(Code + Identifier + Length + Request
    Authenticator + attributes + secret)."""
    if len(response) < 20 or response[0] != 5 or response[1] != request[1]:
        return False
    expected = hashlib.md5(response[:4] + request[4:20] + response[20:] + secret).digest()
    return response[4:20] == expected


class Nas:
    """Sends to the listener at ``port`` from ``source`` (another loopback address is
    another NAS)."""

    def __init__(self, port: int, *, source: str = "127.0.0.1", secret: bytes = SECRET) -> None:
        self.port = port
        self.source = source
        self.secret = secret

    async def send_with_pyrad(self, request: radius.AcctPacket) -> radius.Packet:
        """Send as pyrad's client does (once), which returns only an answer whose Response
        Authenticator it verified (else ``pyrad.client.Timeout``)."""
        nas = radius_client.Client(
            server="127.0.0.1",
            acctport=self.port,
            secret=self.secret,
            dict=dictionary(),
            retries=1,
            timeout=ANSWER_SECONDS,
        )
        nas.bind((self.source, 0))
        try:
            return await asyncio.to_thread(nas.SendPacket, request)
        finally:
            nas._CloseSocket()

    async def send(self, datagram: bytes, *, wait: float = ANSWER_SECONDS) -> bytes | None:
        """Send one datagram and return what comes back within ``wait`` s, or None."""
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.bind((self.source, 0))
            sock.setblocking(False)
            loop = asyncio.get_running_loop()
            await loop.sock_sendto(sock, datagram, ("127.0.0.1", self.port))
            with contextlib.suppress(TimeoutError):
                return await asyncio.wait_for(loop.sock_recv(sock, 4096), wait)
        return None
