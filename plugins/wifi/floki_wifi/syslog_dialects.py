"""Dialects: which syslog lines say that a device joined or left an access point, and
where in the line the device, the access point and the interface are.

A dialect is a named set of line shapes (``LinePattern``: a regular expression with
named groups ``device``, ``ap_mac``, ``ap_name``, ``interface``, the event it reports,
and a literal every such line contains). Three are built in; a department adds its own
in ``[[plugin.wifi.syslog.dialects]]`` (``syslog_config.DialectSettings``).

The built-in shapes are taken from what these devices are published to send:

- ``hostapd``: the control-interface events ``AP-STA-CONNECTED <mac>`` and
  ``AP-STA-DISCONNECTED <mac>`` (hostapd's ``src/common/wpa_ctrl.h``), logged to syslog
  behind the interface, e.g. OpenWrt's ``daemon.notice hostapd: phy1-ap0:
  AP-STA-CONNECTED 3c:22:fb:61:0e:8d auth_alg=sae``. The line names no access point:
  the sending host (and interface) is mapped to one by ``[plugin.wifi.syslog]
  access_points`` or by a receiver of that name.
- ``cisco``: Catalyst 9800 (IOS XE) ``%CLIENT_ORCH_LOG-6-CLIENT_ADDED_TO_RUN_STATE:
  Chassis 1 R0/0: wncd: Username entry (...) joined with ssid (...) for device with MAC:
  abcd.ef12.3456`` (Elastic's cisco_aironet integration, its pipeline test log
  test-aironet-messages.log), which names the access point only when the controller is
  set to add it (``... AP name (name)``); AireOS ``%APF-3-AUTHENTICATION_TRAP`` ``Client
  Authenticated: MACAddress:<mac> Base Radio MAC:<ap radio mac> Slot:1 ...`` (LogZilla's
  Cisco WLC app documentation) and ``%APF-6-USER_NAME_DELETED: ... Username entry (...)
  is deleted for mobile <mac>`` (the same Elastic test log).
- ``aruba``: ArubaOS / Aruba Instant ``stm`` messages 501100 ``Assoc success @
  14:49:11.809533: <mac>: AP <ip>-<bssid>-<ap name>``, 501105 ``Deauth from sta: <mac>:
  AP <ip>-<bssid>-<ap name> Reason ...``, 501080 ``Deauth to sta: <mac>: Ageout AP
  <ip>-<bssid>-<ap name> ...`` and ``Disassoc from sta: <mac>: AP ...`` (the ArubaOS
  syslog messages reference; sample lines in public log parsers on GitHub).

Only the device's MAC, the access point and the interface are ever read out of a line:
user names, client IPs and SSIDs in the same lines are never copied.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from floki_wifi.syslog_config import BUILT_IN_DIALECTS, DialectSettings, SyslogSettings

__all__ = ["BUILT_IN", "Dialects", "LinePattern", "dialects_for", "group_text"]

Event = Literal["associated", "disassociated"]
# How far before its literal a shape's expression starts looking: the interface before
# "AP-STA-CONNECTED", the task and mnemonic before a Cisco message's text.
LOOK_BEHIND = 64

_HEX = rb"[0-9A-Fa-f]"
MAC = (
    rb"(?:" + _HEX + rb"{2}(?:[:-]" + _HEX + rb"{2}){5}"  # aa:bb:cc:dd:ee:ff, aa-bb-...
    rb"|" + _HEX + rb"{4}\." + _HEX + rb"{4}\." + _HEX + rb"{4})"  # aabb.ccdd.eeff
)


@dataclass(frozen=True, slots=True)
class LinePattern:
    """One line shape. ``device`` (built-in shapes) is matched exactly where ``contains``
    was found and captures the device's MAC only: the cheap first look every line of
    the shape gets. ``regex``, with every group, is searched only in a line about a
    device bound to an asset."""

    dialect: str
    event: Event
    regex: re.Pattern[bytes]
    contains: bytes  # b"": none; the expression is searched in every line
    device: re.Pattern[bytes] | None = None


def _shape(dialect: str, event: Event, contains: bytes, device: bytes, regex: bytes) -> LinePattern:
    def compiled(text: bytes) -> re.Pattern[bytes]:
        return re.compile(text.replace(b"<MAC>", MAC))

    return LinePattern(dialect, event, compiled(regex), contains, compiled(device))


# A hostapd interface before the event: it starts a word (so the search tries no more
# than the word starts before the event).
_INTERFACE = rb"(?:(?<![\w.-])(?P<interface>[\w.-]+): )?"

BUILT_IN: dict[str, tuple[LinePattern, ...]] = {
    "hostapd": (
        _shape(
            "hostapd",
            "associated",
            b"AP-STA-CONNECTED ",
            rb"AP-STA-CONNECTED (?P<device><MAC>)",
            _INTERFACE + rb"AP-STA-CONNECTED (?P<device><MAC>)",
        ),
        _shape(
            "hostapd",
            "disassociated",
            b"AP-STA-DISCONNECTED ",
            rb"AP-STA-DISCONNECTED (?P<device><MAC>)",
            _INTERFACE + rb"AP-STA-DISCONNECTED (?P<device><MAC>)",
        ),
    ),
    "cisco": (
        _shape(
            "cisco",
            "associated",
            b"for device with MAC: ",
            rb"for device with MAC: (?P<device><MAC>)",
            rb"CLIENT_ADDED_TO_RUN_STATE: .*?for device with MAC: (?P<device><MAC>)"
            rb"(?:.*?AP name:? \(?(?P<ap_name>[^()\s]+)\)?)?",
        ),
        _shape(
            "cisco",
            "associated",
            b"Client Authenticated:",
            rb"Client Authenticated:\s*MACAddress:(?P<device><MAC>)",
            rb"Client Authenticated:\s*MACAddress:(?P<device><MAC>)\s+"
            rb"Base Radio MAC:(?P<ap_mac><MAC>)",
        ),
        _shape(
            "cisco",
            "disassociated",
            b"is deleted for mobile ",
            rb"is deleted for mobile (?P<device><MAC>)",
            rb"is deleted for mobile (?P<device><MAC>)",
        ),
    ),
    "aruba": (
        _shape(
            "aruba",
            "associated",
            b"Assoc success @ ",
            rb"Assoc success @ [\d:.]+: (?P<device><MAC>)",
            rb"Assoc success @ [\d:.]+: (?P<device><MAC>): AP [\d.]+-(?P<ap_mac><MAC>)"
            rb"-(?P<ap_name>[^\s|]+)",
        ),
        _shape(
            "aruba",
            "disassociated",
            b" sta: ",
            rb" sta: (?P<device><MAC>)",
            rb"(?:Deauth|Disassoc) (?:from|to) sta: (?P<device><MAC>): (?:\w+ )?"
            rb"AP [\d.]+-(?P<ap_mac><MAC>)-(?P<ap_name>[^\s|]+)",
        ),
    ),
}
assert tuple(BUILT_IN) == BUILT_IN_DIALECTS


def _configured(dialect: DialectSettings) -> tuple[LinePattern, ...]:
    # Validated by DialectSettings: every pattern compiles and has a device group.
    return tuple(
        LinePattern(
            dialect.name,
            p.event,
            re.compile(p.regex.encode("utf-8")),
            p.contains.encode("utf-8"),
        )
        for p in dialect.patterns
    )


class Dialects:
    """The line shapes in use. The built-in shapes' first looks are one expression (an
    alternation, one search of the line in C); an extra dialect's shapes are then tried
    in order."""

    def __init__(self, patterns: Iterable[LinePattern]) -> None:
        self.patterns: tuple[LinePattern, ...] = tuple(patterns)
        self.names: tuple[str, ...] = tuple(dict.fromkeys(p.dialect for p in self.patterns))
        quick = [p for p in self.patterns if p.device is not None]
        self._slow = tuple(p for p in self.patterns if p.device is None)
        self._quick_patterns = tuple(quick)
        self._quick: re.Pattern[bytes] | None = None
        if quick:
            # Each shape's first look, its device group made the alternative's only group:
            # the group that matched (lastindex) says which shape it was.
            self._quick = re.compile(
                b"|".join(
                    p.device.pattern.replace(b"(?P<device>", b"(")
                    for p in quick
                    if p.device is not None
                )
            )

    def device(self, line: bytes) -> tuple[LinePattern, bytes, int, re.Match[bytes]] | None:
        """The first look at a line: its shape, the device's MAC as written, where the
        shape's text starts, and the match; None for a line of no shape in use (most of
        what a controller logs)."""
        quick = self._quick
        if quick is not None:
            found = quick.search(line)
            if found is not None:
                index = found.lastindex or 1
                return self._quick_patterns[index - 1], found.group(index), found.start(), found
        for pattern in self._slow:
            contains = pattern.contains
            at = 0
            if contains:
                at = line.find(contains)
                if at < 0:
                    continue
            whole = pattern.regex.search(line, at - LOOK_BEHIND if at > LOOK_BEHIND else 0)
            if whole is not None:
                return pattern, whole.group("device"), at, whole
        return None

    @staticmethod
    def whole(pattern: LinePattern, line: bytes, first: re.Match[bytes]) -> re.Match[bytes] | None:
        """Every group of ``pattern`` in ``line`` (whose first look was ``first``)."""
        if pattern.device is None:
            return first  # the first look was the whole expression
        return pattern.regex.search(line)  # a bound device's line: rare, read whole

    def match(self, line: bytes) -> tuple[LinePattern, re.Match[bytes]] | None:
        """The shape ``line`` has and its whole match, or None."""
        found = self.device(line)
        if found is None:
            return None
        pattern, _device, _at, first = found
        whole = self.whole(pattern, line, first)
        return None if whole is None else (pattern, whole)


def dialects_for(settings: SyslogSettings) -> Dialects:
    """The enabled built-in dialects, then every extra one."""
    chosen: list[LinePattern] = []
    for name in settings.enabled_dialects:
        chosen += BUILT_IN[name]
    for dialect in settings.dialects:
        chosen += _configured(dialect)
    return Dialects(chosen)


def bare_mac(text: bytes) -> bytes:
    """The 12 hex digits of a MAC as a dialect captured it, upper case (``b""`` noise
    is returned as it is: it matches no known device)."""
    return text.translate(None, b":-.").upper()


def spell(bare: bytes) -> str:
    """``AA:BB:CC:DD:EE:FF`` from ``bare_mac``'s 12 digits."""
    text = bare.decode("ascii")
    return ":".join((text[0:2], text[2:4], text[4:6], text[6:8], text[8:10], text[10:12]))


def group_text(matched: re.Match[bytes], name: str) -> str | None:
    """What the pattern's group ``name`` captured, as text; None where the pattern has no
    such group or it captured nothing."""
    value = matched.groupdict().get(name)
    return value.decode("utf-8", "replace") if value else None
