"""The ``wifi`` locator: where the network's records put a device.

An association (syslog, RADIUS accounting, a Meraki or Spaces record naming the nearest
access point) puts the device somewhere in that AP's zone: the zone of the receiver of
technology ``wifi`` the AP is registered as, with the modest confidence of
``[plugin.wifi.location] association_confidence``. A record with a position (x/y on a
floor plan, or latitude/longitude) goes to ``positions.PositionPlacer`` for the zone that
holds it; when no zone does, or the placer has nothing to say, its AP's zone is used as
for an association.

The resolver weighs this against the asset's other technologies (docs/wifi.md, "Location
and fusion"): a room-level BLE fix heard within the last minute outweighs it, and a BLE
fix gone quiet gives way to it at once.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from floki_core.sdk import LocatorRegistry, PluginContext, Sighting, ZoneEvidence
from floki_wifi.config import WifiSettings
from floki_wifi.locator_config import WifiLocationSettings
from floki_wifi.positions import PositionPlacer

LOCATOR_NAME = "wifi"
TECHNOLOGY = "wifi"
ASSOCIATION = "association"  # the method of an AP's zone (the core's half-life for it)
POSITION = "position"  # the method of a zone found from a Meraki/Spaces position


def positioned(sighting: Sighting) -> bool:
    """Whether the record carries a position of its own (x/y or latitude/longitude)."""
    if sighting.lat is not None and sighting.lon is not None:
        return True
    extras = sighting.extras
    return ("x" in extras and "y" in extras) or ("lat" in extras and "lon" in extras)


def _asset_then_time(sighting: Sighting) -> tuple[int, dt.datetime]:
    return sighting.asset_id, sighting.observed_at


class WifiLocator:
    """Associations as the AP's zone; positions as the zone that holds them."""

    method = ASSOCIATION

    def __init__(self, settings: WifiLocationSettings, placer: PositionPlacer | None) -> None:
        self.confidence = settings.association_confidence
        self.placer = placer

    def locate(self, batch: Sequence[Sighting]) -> list[ZoneEvidence]:
        out: list[ZoneEvidence] = []
        associations: list[Sighting] = []
        placer = self.placer
        for sighting in batch:
            if placer is not None and positioned(sighting):
                placed = placer.place(sighting, POSITION)
                if placed is not None:
                    out.append(placed)
                    continue
            if sighting.receiver is not None:
                associations.append(sighting)
        if associations:
            out.extend(self._associations(associations))
        return out

    def _associations(self, sightings: list[Sighting]) -> list[ZoneEvidence]:
        """Per asset, the first and last record of each stay on one zone's APs: a feed's
        backlog keeps every roam for history, the repeats between add nothing."""
        out: list[ZoneEvidence] = []
        ordered = sorted(sightings, key=_asset_then_time)
        last = len(ordered) - 1
        first: Sighting | None = None
        for i, sighting in enumerate(ordered):
            if first is None:
                first = sighting
            following = ordered[i + 1] if i < last else None
            if (
                following is None
                or following.asset_id != sighting.asset_id
                or _zone(following) != _zone(sighting)
            ):
                if first is not sighting:
                    out.append(self._evidence(first))
                out.append(self._evidence(sighting))
                first = None
        return out

    def _evidence(self, sighting: Sighting) -> ZoneEvidence:
        receiver = sighting.receiver
        assert receiver is not None
        return ZoneEvidence(
            asset_id=sighting.asset_id,
            zone_id=receiver.zone_id,
            confidence=self.confidence,
            method=ASSOCIATION,
            technology=sighting.technology,
            observed_at=sighting.observed_at,
            receiver_id=receiver.id,
            receiver_name=receiver.name,
            signal=None if sighting.rssi is None else sighting.rssi + receiver.rssi_offset,
            x=receiver.x,
            y=receiver.y,
        )


def _zone(sighting: Sighting) -> int | None:
    return None if sighting.receiver is None else sighting.receiver.zone_id


def register_locators(registry: LocatorRegistry, context: PluginContext) -> None:
    """The ``wifi`` locator, for technology ``wifi`` (it takes over from the core's
    association locator)."""
    settings: WifiSettings = context.settings
    placer = PositionPlacer(settings, context.register)
    registry.add(LOCATOR_NAME, TECHNOLOGY, WifiLocator(settings.location, placer))
