"""Access points by the name a controller gives them.

Cisco and Aruba controllers name the access point a client joined (``AP name``,
``<ip>-<bssid>-<name>``); a hostapd line names none, so its sending host stands in. An
access point is registered as a receiver of technology ``wifi`` with its MAC as
identifier and, as its name, what the controller calls it: this maps one to the other,
from the register's snapshot, read at start and again when a name is not found (at most
every ``REFRESH_SECONDS``) or the register's receivers change.
"""

from __future__ import annotations

import datetime as dt

from floki_core.sdk import Clock, RegisterSnapshot, RegisterView
from floki_wifi.privacy import TECHNOLOGY, device_mac

__all__ = ["REFRESH_SECONDS", "AccessPointNames"]

REFRESH_SECONDS = 30.0


class AccessPointNames:
    """Name -> MAC of the register's Wi-Fi access points (names compared exactly, then
    regardless of case), and which MACs are access points."""

    def __init__(self, register: RegisterView | None, clock: Clock) -> None:
        self._register = register
        self._clock = clock
        self._by_name: dict[str, str] = {}
        self._by_folded: dict[str, str] = {}
        self.macs: frozenset[str] = frozenset()
        self._refreshed_at: dt.datetime | None = None
        self._missed = False  # a name was not found since the last refresh
        self._changed = False  # the register's receivers changed since the last refresh

    def update(self, snapshot: RegisterSnapshot) -> None:
        by_name: dict[str, str] = {}
        for receiver in snapshot.receivers:
            if receiver.technology != TECHNOLOGY:
                continue
            mac = device_mac(receiver.identifier)
            if mac is not None:
                by_name[receiver.name] = mac
        self._by_name = by_name
        self._by_folded = {name.casefold(): mac for name, mac in by_name.items()}
        self.macs = frozenset(by_name.values())
        self._refreshed_at = self._clock.now()
        self._missed = self._changed = False

    async def refresh(self) -> None:
        """Read the register again (a running appliance only)."""
        if self._register is not None:
            self.update(await self._register.snapshot())

    def mac_for(self, name: str) -> str | None:
        """The MAC of the access point called ``name``, or None (noted: a refresh is
        then due, within ``REFRESH_SECONDS``)."""
        found = self._by_name.get(name) or self._by_folded.get(name.casefold())
        if found is None:
            self._missed = True
        return found

    def changed(self) -> None:
        """The register's receivers changed: read them again at the next chance."""
        self._changed = True

    @property
    def due(self) -> bool:
        """Whether a refresh is wanted now."""
        if self._refreshed_at is None or self._changed:
            return True
        if not self._missed:
            return False
        age = (self._clock.now() - self._refreshed_at).total_seconds()
        return age >= REFRESH_SECONDS
