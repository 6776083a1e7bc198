"""What the feeds have said about access points and the tracked devices on them.

Only devices bound to assets are ever recorded here (``privacy.DeviceFilter`` decides
before a feed calls in). ``GET /api/v1/wifi/access-points`` and the sources' health read it.
An access point is keyed as its feed named it: its MAC spelt ``AA:BB:CC:DD:EE:FF``, or its
name as the controller reports it.
"""

from __future__ import annotations

import datetime as dt

import msgspec


class AccessPointRecord(msgspec.Struct, kw_only=True):
    key: str
    feed: str  # the source that last heard of it ("wifi-syslog", "wifi-radius", ...)
    last_message_at: dt.datetime
    # Tracked devices now associated (MAC -> when the association was reported).
    devices: dict[str, dt.datetime] = msgspec.field(default_factory=dict)


class DeviceRecord(msgspec.Struct, kw_only=True):
    mac: str
    asset_id: int
    access_point: str | None  # None once it has left the network
    last_on_network_at: dt.datetime
    feed: str


class AssociationBook:
    """The run's one picture of access points and tracked devices, shared by the sources
    (which write it) and the routes (which read it). Bounded by the register: only bound
    devices and the access points they or the feeds name."""

    def __init__(self) -> None:
        self.access_points: dict[str, AccessPointRecord] = {}
        self.devices: dict[str, DeviceRecord] = {}

    def heard_from(self, access_point: str, at: dt.datetime, feed: str) -> AccessPointRecord:
        """Any message from or about ``access_point`` (its last message)."""
        record = self.access_points.get(access_point)
        if record is None:
            record = self.access_points[access_point] = AccessPointRecord(
                key=access_point, feed=feed, last_message_at=at
            )
        elif at >= record.last_message_at:
            record.last_message_at = at
            record.feed = feed
        return record

    def associated(
        self, mac: str, asset_id: int, access_point: str, at: dt.datetime, feed: str
    ) -> None:
        """A tracked device reported on ``access_point`` (an association, an accounting
        start or interim update, a location record)."""
        previous = self.devices.get(mac)
        if previous is not None and at < previous.last_on_network_at:
            self.heard_from(access_point, at, feed)
            return  # an older report arriving late does not move it back
        if previous is not None and previous.access_point not in (None, access_point):
            old = self.access_points.get(previous.access_point or "")
            if old is not None:
                old.devices.pop(mac, None)
        self.heard_from(access_point, at, feed).devices[mac] = at
        self.devices[mac] = DeviceRecord(
            mac=mac, asset_id=asset_id, access_point=access_point, last_on_network_at=at, feed=feed
        )

    def disassociated(
        self, mac: str, asset_id: int, access_point: str | None, at: dt.datetime, feed: str
    ) -> None:
        """A tracked device left the network (or ``access_point``): it was last on the
        network at ``at``."""
        if access_point is not None:
            self.heard_from(access_point, at, feed)
        previous = self.devices.get(mac)
        if previous is not None and at < previous.last_on_network_at:
            return
        if previous is not None and previous.access_point is not None:
            if access_point is None or previous.access_point == access_point:
                old = self.access_points.get(previous.access_point)
                if old is not None:
                    old.devices.pop(mac, None)
            else:
                return  # left an AP it had already roamed away from: still on the new one
        self.devices[mac] = DeviceRecord(
            mac=mac, asset_id=asset_id, access_point=None, last_on_network_at=at, feed=feed
        )

    def last_on_network(self, mac: str) -> dt.datetime | None:
        record = self.devices.get(mac)
        return None if record is None else record.last_on_network_at
