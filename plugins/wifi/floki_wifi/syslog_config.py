"""The ``[plugin.wifi.syslog]`` settings: where the listener takes syslog, which dialects
read it, and how a hostapd access point is known.

A bad extra dialect (a pattern that does not compile, or has no ``device`` group) is
refused at start, naming the dialect and the pattern; see docs/wifi-syslog.md.
"""

from __future__ import annotations

import re
import zoneinfo
from typing import Literal

import msgspec

from floki_core.sdk import spell_mac

BUILT_IN_DIALECTS = ("hostapd", "cisco", "aruba")
# The named groups a pattern may have; ``device`` (the client's MAC) is required.
PATTERN_GROUPS = frozenset({"device", "ap_mac", "ap_name", "interface"})


class PatternSettings(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """One line shape of a dialect."""

    # What the line reports: a device joining an access point, or leaving the network.
    event: Literal["associated", "disassociated"]
    # A regular expression (Python syntax) searched in the message; named groups:
    # device (required: the client's MAC), ap_mac or ap_name (the access point),
    # interface (a hostapd interface, for [plugin.wifi.syslog] access_points).
    regex: str
    # Text every line of this shape contains (e.g. "Assoc success"): lines without it
    # are passed over without running the expression. Empty: the expression decides.
    contains: str = ""


class DialectSettings(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """An extra dialect: a named set of line shapes."""

    # Its name, unique among the dialects (built-in ones included).
    name: str
    # Its line shapes, tried in order; the first that matches a line reads it.
    patterns: list[PatternSettings]

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[a-z][a-z0-9_-]{0,31}", self.name):
            raise ValueError(
                f"dialect {self.name!r}: a name of lower-case letters, digits, - and _"
            )
        if self.name in BUILT_IN_DIALECTS:
            raise ValueError(f"dialect {self.name!r} is built in: give yours another name")
        if not self.patterns:
            raise ValueError(f"dialect {self.name!r} has no patterns")
        for number, pattern in enumerate(self.patterns, 1):
            problem = pattern_problem(pattern.regex)
            if problem is not None:
                raise ValueError(
                    f"dialect {self.name!r} pattern {number} ({pattern.regex!r}): {problem}"
                )


def pattern_problem(regex: str) -> str | None:
    """Why ``regex`` cannot be a dialect's pattern, or None."""
    try:
        compiled = re.compile(regex.encode("utf-8"))
    except re.error as exc:
        return f"does not compile: {exc}"
    names = set(compiled.groupindex)
    if "device" not in names:
        return "has no (?P<device>...) group for the client's MAC"
    unknown = sorted(names - PATTERN_GROUPS)
    if unknown:
        return f"unknown group {unknown[0]!r} (groups: {', '.join(sorted(PATTERN_GROUPS))})"
    return None


class SyslogSettings(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Syslog from hostapd access points and Cisco / Aruba controllers, on
    ``[plugin.wifi] listen_host``."""

    # UDP port syslog datagrams are taken on (RFC 5426). 514 is the usual one but needs
    # root: forward to this one instead (docs/wifi-syslog.md). 0: no UDP listener.
    udp_port: int = msgspec.field(default=5514)
    # TCP port syslog streams are taken on (RFC 6587: octet counting or one message a
    # line). 0: no TCP listener.
    tcp_port: int = 5514
    # The built-in dialects that read the lines (hostapd, cisco, aruba); every extra
    # dialect in [[plugin.wifi.syslog.dialects]] reads them too.
    enabled_dialects: list[str] = msgspec.field(default_factory=lambda: list(BUILT_IN_DIALECTS))
    # Extra dialects: a name and its patterns (see docs/wifi-syslog.md).
    dialects: list[DialectSettings] = msgspec.field(default_factory=list)
    # The time zone of RFC 3164 timestamps (which carry none), e.g. "Europe/London".
    # Empty: the appliance's own. RFC 5424 timestamps carry their offset.
    time_zone: str = ""
    # A hostapd access point's MAC by the host name it logs as, or "host/interface"
    # for one interface of a host with several radios, e.g. {"ward5-ap1" =
    # "00:11:22:33:44:55"}. A host not listed is looked up by receiver name.
    access_points: dict[str, str] = msgspec.field(default_factory=dict)
    # How often what arrived is handed to the core, in seconds.
    batch_seconds: float = 0.2
    # Longest message taken, in bytes; a longer one is refused (line_too_long).
    max_message_bytes: int = 8192
    # TCP connections held at once (each controller keeps one).
    max_connections: int = 64

    def __post_init__(self) -> None:
        for name, port in (("udp_port", self.udp_port), ("tcp_port", self.tcp_port)):
            if not 0 <= port <= 65535:
                raise ValueError(f"{name} {port} is not a port (0 to 65535)")
        names = {d.name for d in self.dialects}
        if len(names) != len(self.dialects):
            raise ValueError("two extra dialects have the same name")
        for name in self.enabled_dialects:
            if name not in BUILT_IN_DIALECTS:
                raise ValueError(
                    f"enabled_dialects: {name!r} is not a built-in dialect "
                    f"({', '.join(BUILT_IN_DIALECTS)}); extra dialects are always on"
                )
        if self.time_zone:
            try:
                zoneinfo.ZoneInfo(self.time_zone)
            except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                raise ValueError(
                    f"time_zone {self.time_zone!r} is not a time zone (e.g. Europe/London)"
                ) from None
        for host, mac in self.access_points.items():
            if spell_mac(mac) is None:
                raise ValueError(f"access_points: {host!r} = {mac!r} is not a MAC address")
        if not 0 < self.batch_seconds <= 10:
            raise ValueError("batch_seconds must be above 0 and at most 10")
        if not 256 <= self.max_message_bytes <= 65536:
            raise ValueError("max_message_bytes must be 256 to 65536")
        if self.max_connections < 1:
            raise ValueError("max_connections must be at least 1")
