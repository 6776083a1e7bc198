"""From syslog messages to what the plugin keeps: the hot path of the syslog feed.

Most of what a controller logs is about phones, staff's and patients': a line is first
matched against the dialects' shapes (a substring test, then one expression), and the
device's MAC it captured is looked up in the set of MACs bound to assets
(``KnownDevices``) as bare bytes. A device not in it is counted (a number) and the line
dropped right there: no header is read, no text decoded, no object built, and its MAC
is kept nowhere. Only a known device's line has its header read (the record's time, the
sending host), its access point found and its association booked and observed.

``KnownDevices`` mirrors the register's ``wifi`` identifiers; while it may be behind the
register (an identifier added since it was read), every line is asked of the device
filter instead, so a device just bound is never dropped.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from floki_core.sdk import Clock, Observation, RegisterSnapshot
from floki_wifi.ap_names import AccessPointNames
from floki_wifi.associations import AssociationBook
from floki_wifi.privacy import TECHNOLOGY, DeviceFilter, device_mac, refusal
from floki_wifi.syslog_dialects import Dialects, LinePattern, bare_mac, group_text, spell
from floki_wifi.syslog_headers import HeaderError, read_header

__all__ = ["KnownDevices", "SyslogReader", "Taken"]

FEED = "wifi-syslog"
_RANDOMISED = frozenset(b"26AE")  # the second hex digit of a locally administered MAC
_TWELVE_HEX = re.compile(rb"[0-9A-F]{12}")


class KnownDevices:
    """The MACs bound to assets (``wifi`` identifiers), as 12 upper-case hex digits."""

    def __init__(self) -> None:
        self.bare: frozenset[bytes] = frozenset()
        self.stale = True  # not read yet, or the register changed since

    def update(self, snapshot: RegisterSnapshot) -> None:
        found = set()
        for identifier in snapshot.identifiers:
            if identifier.technology == TECHNOLOGY:
                mac = device_mac(identifier.value)
                if mac is not None:
                    found.add(mac.replace(":", "").encode("ascii"))
        self.bare = frozenset(found)
        self.stale = False


@dataclass
class Taken:
    """What the reader took since it was last drained."""

    observations: list[Observation] = field(default_factory=list)
    rejected: dict[str, int] = field(default_factory=dict)
    unknown: int = 0  # unknown devices dropped before the device filter was asked
    randomised: int = 0


class SyslogReader:
    """Reads messages (no framing) for one appliance run."""

    def __init__(
        self,
        *,
        dialects: Dialects,
        known: KnownDevices,
        device_filter: DeviceFilter,
        names: AccessPointNames,
        book: AssociationBook,
        clock: Clock,
        zone: dt.tzinfo,
        access_points: Mapping[str, str],
        max_bytes: int,
    ) -> None:
        self.dialects = dialects
        self.known = known
        self.device_filter = device_filter
        self.names = names
        self.book = book
        self.clock = clock
        self.zone = zone
        self.access_points = access_points  # "host" or "host/interface" -> AP MAC
        self.max_bytes = max_bytes
        self.taken = Taken()
        # Counters for the source's details (numbers only).
        self.lines = 0
        self.other_lines = 0  # lines of no shape in use: the controller's other news
        self.associations = 0
        self.disassociations = 0

    def drain(self) -> Taken:
        taken, self.taken = self.taken, Taken()
        return taken

    def reject(self, reason: str, count: int = 1) -> None:
        rejected = self.taken.rejected
        rejected[reason] = rejected.get(reason, 0) + count

    def take(self, lines: Iterable[bytes]) -> None:
        """Read ``lines`` (whole messages, no framing)."""
        first_look = self.dialects.device
        limit = self.max_bytes
        known = self.known
        bare_known = known.bare
        taken = self.taken
        count = other = 0
        for line in lines:
            count += 1
            if len(line) > limit:
                self.reject("line_too_long")
                continue
            found = first_look(line)
            if found is None:
                other += 1
                continue
            pattern, device, _at, first = found
            bare = bare_mac(device)
            if bare not in bare_known and not known.stale:
                # Not bound to an asset: counted, and nothing else done with it.
                if len(bare) == 12 and bare[1] in _RANDOMISED:
                    taken.randomised += 1
                else:
                    taken.unknown += 1
                continue
            whole = self.dialects.whole(pattern, line, first)
            if whole is None:
                other += 1
                continue
            self._known_line(line, pattern, whole, bare)
        self.lines += count
        self.other_lines += other

    def _known_line(
        self, line: bytes, pattern: LinePattern, matched: re.Match[bytes], bare: bytes
    ) -> None:
        if _TWELVE_HEX.fullmatch(bare) is None:  # only while the mirror is behind
            self.reject("bad_mac")
            return
        mac = spell(bare)
        asset_id = self.device_filter.asset_for(mac)
        if asset_id is None:  # counted by the filter; counted on the sink too
            self.reject(refusal(mac))
            return
        now = self.clock.now()
        try:
            header = read_header(line, now, self.zone)
        except HeaderError as exc:
            self.reject(exc.reason)
            return
        at = header.timestamp or now
        access_point, problem = self._access_point(matched, header.hostname)
        if pattern.event == "disassociated":
            self.disassociations += 1
            self.book.disassociated(mac, asset_id, access_point, at, FEED)
            return
        if access_point is None:
            self.reject(problem)
            return
        self.associations += 1
        self.book.associated(mac, asset_id, access_point, at, FEED)
        self.taken.observations.append(
            Observation(
                technology=TECHNOLOGY,
                tag=mac,
                receiver=access_point,
                observed_at=at,
                received_at=now,
                extras={"dialect": pattern.dialect},
            )
        )

    def _access_point(self, matched: re.Match[bytes], host: str) -> tuple[str | None, str]:
        """The access point's MAC, or None and the reason it is not known."""
        captured_mac = group_text(matched, "ap_mac")
        ap_mac = device_mac(captured_mac) if captured_mac else None
        ap_name = group_text(matched, "ap_name")
        interface = group_text(matched, "interface")
        if ap_mac is not None and ap_mac in self.names.macs:
            return ap_mac, ""
        if ap_name is not None:
            by_name = self.names.mac_for(ap_name)
            if by_name is not None:
                return by_name, ""
        if ap_mac is not None:
            return ap_mac, ""  # not registered: the core counts it as an unknown receiver
        if ap_name is not None:
            return None, "unknown_access_point"
        if not host:
            return None, "no_access_point"
        configured = self.access_points
        found = (
            configured.get(f"{host}/{interface}") if interface is not None else None
        ) or configured.get(host)
        if found is None:
            found = self.names.mac_for(host)
        return (found, "") if found is not None else (None, "unknown_access_point")
