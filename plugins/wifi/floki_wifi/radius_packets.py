"""RADIUS accounting packets (RFC 2866) read into what the Wi-Fi plugin may keep.

pyrad encodes and decodes the packets (its ``AcctPacket`` checks the Request
Authenticator, RFC 2866 section 3, and signs the Accounting-Response, section 4) with the
dictionary shipped beside this module. Of everything a packet carries, only these are
read: Acct-Status-Type, Acct-Delay-Time, Event-Timestamp, Calling-Station-Id (the device),
Called-Station-Id (the access point and SSID), and NAS-IP-Address, NAS-IPv6-Address or
NAS-Identifier (which controller the record is about, when a RADIUS server relays it). The
result, an ``AccountingRequest``, has no field for anything else: a user name, a client's
IP address, a session id or a class never leave ``read_request``. Pure: no I/O.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import struct
from pathlib import Path

import msgspec

# pyrad ships no type information (no py.typed): its two modules are used as untyped.
from pyrad import packet as radius  # type: ignore[import-untyped]
from pyrad.dictionary import Dictionary  # type: ignore[import-untyped]

from floki_wifi.privacy import device_mac

DICTIONARY_PATH = Path(__file__).with_name("radius_dictionary")

ACCOUNTING_REQUEST = radius.AccountingRequest  # 4
STATUS_SERVER = radius.StatusServer  # 12 (RFC 5997: a NAS asking whether we are alive)

# Acct-Status-Type values (RFC 2866 section 5.1) as the dictionary names them, and what
# each is to the plugin.
STATUSES = {
    "Start": "start",
    "Interim-Update": "interim",
    "Stop": "stop",
    "Accounting-On": "nas_restarted",
    "Accounting-Off": "nas_restarted",
}
STATUS_SERVER_STATUS = "status_server"

# An access point's MAC at the start of a Called-Station-Id: six bytes with "-" or ":"
# between them, twelve bare hex digits, or Cisco's three dotted groups of four.
_AP_MAC = re.compile(
    r"\s*(?P<mac>[0-9A-Fa-f]{2}(?:[-:][0-9A-Fa-f]{2}){5}"
    r"|[0-9A-Fa-f]{4}\.[0-9A-Fa-f]{4}\.[0-9A-Fa-f]{4}"
    r"|[0-9A-Fa-f]{12})(?P<rest>.*)",
    re.DOTALL,
)
_PRINTABLE_SSID = re.compile(r"[\x20-\x7e]{1,32}")


class RadiusRefused(Exception):
    """A packet that is not used and not answered; ``reason`` is what it is counted as:
    ``bad_packet`` (not RADIUS), ``not_accounting`` (another code, e.g. an
    Access-Request sent to the accounting port), ``bad_authenticator`` (not signed with
    the NAS's secret) or ``bad_attribute`` (signed, but an attribute cannot be read)."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason


class AccountingRequest(msgspec.Struct, frozen=True, kw_only=True):
    """What an authenticated request says, and nothing personal.

    ``status``: ``start``/``interim``/``stop``, ``nas_restarted`` (Accounting-On/Off),
    ``status_server``, or another status type as the dictionary names it (``Failed``) or
    its number as text (``"9"``, Tunnel-Start): none of those says where a device is.
    ``device``: the Calling-Station-Id spelt as a MAC, or None when absent or not a MAC
    (it may be a phone number or an IP address: never kept). ``access_point``: the MAC at
    the start of the Called-Station-Id, and ``ssid`` what follows its colon.
    ``event_at``: the Event-Timestamp, when the NAS sent one. ``nas``: the NAS the record
    is about (its NAS-IP-Address, NAS-IPv6-Address or NAS-Identifier), when it says.
    ``reply``: the signed Accounting-Response to send back."""

    identifier: int
    authenticator: bytes
    status: str
    device: str | None = None
    access_point: str | None = None
    ssid: str | None = None
    event_at: dt.datetime | None = None
    delay_seconds: int = 0
    nas: str | None = None
    reply: bytes


@functools.cache
def dictionary() -> Dictionary:
    """The attributes pyrad knows (read once per process)."""
    return Dictionary(str(DICTIONARY_PATH))


def read_request(data: bytes, secret: bytes) -> AccountingRequest:
    """``data``, one datagram from a NAS whose shared secret is ``secret``, as an
    ``AccountingRequest`` with the answer to send. Raises ``RadiusRefused`` for anything
    that must not be answered."""
    try:
        request = radius.AcctPacket(packet=data, secret=secret, dict=dictionary())
    except radius.PacketError as exc:
        raise RadiusRefused("bad_packet", str(exc)) from None
    if request.code not in (ACCOUNTING_REQUEST, STATUS_SERVER):
        raise RadiusRefused("not_accounting", f"code {request.code}")
    if not _signed(request):
        raise RadiusRefused("bad_authenticator", "not signed with the client's secret")
    reply = request.CreateReply()
    if request.code == STATUS_SERVER:
        return AccountingRequest(
            identifier=request.id,
            authenticator=request.authenticator,
            status=STATUS_SERVER_STATUS,
            reply=reply.ReplyPacket(),
        )
    try:
        return _accounting(request, reply.ReplyPacket())
    except (ValueError, TypeError, KeyError, struct.error, UnicodeError) as exc:
        raise RadiusRefused("bad_attribute", type(exc).__name__) from None


def _signed(request: radius.AcctPacket) -> bool:
    """The Request Authenticator (RFC 2866 section 3), and the Message-Authenticator
    (RFC 2869 section 5.14) when the packet has one, are right for the secret."""
    if not request.VerifyAcctRequest():
        return False
    if request.code == ACCOUNTING_REQUEST and request.message_authenticator:
        return bool(request.verify_message_authenticator())
    return True


def _accounting(request: radius.AcctPacket, reply: bytes) -> AccountingRequest:
    statuses = _one(request, "Acct-Status-Type")
    if statuses is None:
        raise ValueError("no Acct-Status-Type")
    status = STATUSES.get(statuses, str(statuses)) if isinstance(statuses, str) else statuses
    delay = _one(request, "Acct-Delay-Time")
    stamp = _one(request, "Event-Timestamp")
    access_point, ssid = _called_station(_one(request, "Called-Station-Id"))
    calling = _one(request, "Calling-Station-Id")
    return AccountingRequest(
        identifier=request.id,
        authenticator=request.authenticator,
        status=str(status),
        device=device_mac(calling.strip()) if isinstance(calling, str) else None,
        access_point=access_point,
        ssid=ssid,
        event_at=dt.datetime.fromtimestamp(stamp, dt.UTC) if isinstance(stamp, int) else None,
        delay_seconds=int(delay) if isinstance(delay, int) else 0,
        nas=_nas(request),
        reply=reply,
    )


def _nas(request: radius.AcctPacket) -> str | None:
    for name in ("NAS-IP-Address", "NAS-IPv6-Address", "NAS-Identifier"):
        value = _one(request, name)
        if isinstance(value, str) and value:
            return value[:64]
    return None


def _one(request: radius.AcctPacket, name: str) -> object:
    """The first value of attribute ``name`` decoded by the dictionary, or None."""
    values = request.get(name)
    return values[0] if values else None


def _called_station(value: object) -> tuple[str | None, str | None]:
    """(the AP's MAC, the SSID) from a Called-Station-Id such as
    ``00-10-A4-23-19-C0:AP1`` (RFC 3580 section 3.20); (None, None) when it does not
    start with a MAC (some controllers send their own name or IP address)."""
    if not isinstance(value, str):
        return None, None
    found = _AP_MAC.fullmatch(value)
    if found is None:
        return None, None
    rest = found["rest"].rstrip()
    if rest and not rest.startswith(":"):
        return None, None
    ssid = rest[1:]
    return device_mac(found["mac"]), ssid if _PRINTABLE_SSID.fullmatch(ssid) else None
