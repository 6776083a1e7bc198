"""What the appliance knows of each tracker now: its protocol, its connection, its last
fix and battery. Every source of the plugin writes here; ``GET /api/v1/gps/devices``
reads it. Kept in memory: it is the live picture, the core keeps the history."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from floki_gps.fixes import Fix

__all__ = ["DeviceBook", "DeviceStatus"]

REFUSED_KEPT = 200  # unregistered trackers remembered, so an engineer can register them


@dataclass(slots=True)
class DeviceStatus:
    device: str
    protocol: str
    registered: bool = True
    connected: bool | None = None  # None: a protocol without a connection (HTTP posts)
    peer: str | None = None  # the address it last spoke from
    last_heard: dt.datetime | None = None  # appliance clock
    last_fix_at: dt.datetime | None = None  # the device's time of its last position
    battery_pct: float | None = None
    battery_mv: int | None = None
    fixes: int = 0
    refused: int = 0  # handshakes or posts refused (not registered, rate-limited, bad)

    def as_json(self, now: dt.datetime) -> dict[str, object]:
        def age(at: dt.datetime | None) -> float | None:
            return None if at is None else round((now - at).total_seconds(), 1)

        return {
            "device": self.device,
            "protocol": self.protocol,
            "registered": self.registered,
            "connected": self.connected,
            "peer": self.peer,
            "last_heard": None if self.last_heard is None else self.last_heard.isoformat(),
            "last_heard_age_s": age(self.last_heard),
            "last_fix_at": None if self.last_fix_at is None else self.last_fix_at.isoformat(),
            "fix_age_s": age(self.last_fix_at),
            "battery_pct": self.battery_pct,
            "battery_mv": self.battery_mv,
            "fixes": self.fixes,
            "refused": self.refused,
        }


class DeviceBook:
    """Every tracker heard, by id; unregistered ones (refused) kept to a bounded number."""

    def __init__(self, now: Callable[[], dt.datetime]) -> None:
        self._now = now
        self._devices: dict[str, DeviceStatus] = {}
        self._refused: dict[str, DeviceStatus] = {}

    def _status(self, device: str, protocol: str) -> DeviceStatus:
        status = self._devices.get(device)
        if status is None:
            status = self._devices[device] = DeviceStatus(device, protocol)
            self._refused.pop(device, None)
        status.protocol = protocol
        return status

    def connected(self, device: str, protocol: str, peer: str | None) -> None:
        status = self._status(device, protocol)
        status.connected, status.peer, status.last_heard = True, peer, self._now()

    def disconnected(self, device: str) -> None:
        status = self._devices.get(device)
        if status is not None:
            status.connected = False

    def heard(self, fix: Fix, peer: str | None = None, at: dt.datetime | None = None) -> None:
        """A record from a registered tracker (a position or a heartbeat), heard ``at``
        (now unless given: a listener taking a packet's records gives its one time)."""
        status = self._status(fix.device, fix.protocol)
        status.last_heard = at or self._now()
        if peer is not None:
            status.peer = peer
        if fix.lat is not None and fix.lon is not None:
            status.fixes += 1
            if status.last_fix_at is None or fix.at > status.last_fix_at:
                status.last_fix_at = fix.at
        if fix.battery_pct is not None:
            status.battery_pct = fix.battery_pct
        if fix.battery_mv is not None:
            status.battery_mv = fix.battery_mv

    def heard_all(self, fixes: Sequence[Fix], peer: str, at: dt.datetime) -> None:
        """``heard`` for each of a packet's records, in order (one call per packet: a
        listener takes thousands a second)."""
        devices = self._devices
        status: DeviceStatus | None = None
        for fix in fixes:
            # A packet's records are all one tracker's: its status is looked up once.
            if status is None or fix.device != status.device or fix.protocol != status.protocol:
                status = devices.get(fix.device)
                if status is None or status.protocol != fix.protocol:
                    status = self._status(fix.device, fix.protocol)
                status.last_heard = at
                status.peer = peer
            if fix.lat is not None and fix.lon is not None:
                status.fixes += 1
                last_fix_at = status.last_fix_at
                if last_fix_at is None or fix.at > last_fix_at:
                    status.last_fix_at = fix.at
            if fix.battery_pct is not None:
                status.battery_pct = fix.battery_pct
            if fix.battery_mv is not None:
                status.battery_mv = fix.battery_mv

    def refused(self, device: str, protocol: str, peer: str | None = None) -> None:
        """A tracker that is not registered on any asset tried to report."""
        if device in self._devices:
            self._devices[device].refused += 1
            return
        status = self._refused.pop(device, None) or DeviceStatus(device, protocol, registered=False)
        status.refused += 1
        status.protocol, status.peer, status.last_heard = protocol, peer, self._now()
        self._refused[device] = status  # most recent last
        while len(self._refused) > REFUSED_KEPT:
            del self._refused[next(iter(self._refused))]

    def listing(self) -> list[dict[str, object]]:
        """Registered trackers by id, then refused ones, most recent first."""
        now = self._now()
        known = [self._devices[d].as_json(now) for d in sorted(self._devices)]
        refused = [s.as_json(now) for s in reversed(self._refused.values())]
        return known + refused
