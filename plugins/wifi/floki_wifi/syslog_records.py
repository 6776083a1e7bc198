"""One syslog line read whole, into a typed record of only what the plugin may keep.

``read_line`` is what the listener does for a device bound to an asset, without the
register: the header (time, host) and the dialect's groups (device, access point,
interface). It is the decoder the tests feed golden and random lines, and the bare
parse loop the benchmark compares the listener with. User names, client IPs and SSIDs
in the same lines have no field here: they are never copied out.
"""

from __future__ import annotations

import datetime as dt

import msgspec

from floki_wifi.privacy import device_mac
from floki_wifi.syslog_dialects import Dialects, Event, group_text
from floki_wifi.syslog_headers import HeaderError, read_header

__all__ = ["HeaderError", "SyslogRecord", "read_line"]


class SyslogRecord(msgspec.Struct, frozen=True, kw_only=True):
    dialect: str
    event: Event
    device: str | None  # AA:BB:CC:DD:EE:FF; None: what was captured is no MAC
    ap_mac: str | None = None
    ap_name: str | None = None
    interface: str | None = None
    hostname: str = ""
    timestamp: dt.datetime | None = None  # aware; None: the line carries no time


def read_line(
    line: bytes, dialects: Dialects, now: dt.datetime, zone: dt.tzinfo
) -> SyslogRecord | None:
    """The record ``line`` holds, or None for a line of no shape in use. Raises
    ``HeaderError`` (with the reason it is counted as) for a header it cannot read."""
    found = dialects.match(line)
    if found is None:
        return None
    pattern, matched = found
    header = read_header(line, now, zone)
    ap_mac = group_text(matched, "ap_mac")
    return SyslogRecord(
        dialect=pattern.dialect,
        event=pattern.event,
        device=device_mac(group_text(matched, "device") or ""),
        ap_mac=device_mac(ap_mac) if ap_mac else None,
        ap_name=group_text(matched, "ap_name"),
        interface=group_text(matched, "interface"),
        hostname=header.hostname,
        timestamp=header.timestamp,
    )
