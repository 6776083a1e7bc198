"""How RFID reads place equipment: read zones and portals (docs/rfid-placement.md).

``RfidPlacement`` is the locator of technology ``rfid``: a read at a portal's antenna goes
to the portal watch (``portals``), any other read to the read zones (``read_zones``). It is
pure and quick: per batch, work in proportion to the batch. Crossings are handed to
``on_crossings`` once per batch (the plugin records and publishes them: ``portal_events``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence

from floki_core.sdk import LocatorRegistry, PluginContext, ReceiverInfo, Sighting, ZoneEvidence
from floki_rfid.config import PlacementSettings, PortalSettings, RfidSettings
from floki_rfid.portal_events import portal_events
from floki_rfid.portals import PortalCrossing, PortalWatch
from floki_rfid.read_zones import METHOD, ReadZones

LOCATOR_NAME = "rfid-placement"
# A read a stock-take hands the pipeline carries its stock-take's id under this key
# (floki_rfid.stocktake_sweep): it places at once, with no dwell.
STOCKTAKE = "stocktake"


def _observed_at(sighting: Sighting) -> dt.datetime:
    return sighting.observed_at


def _in_time_order(batch: Sequence[Sighting]) -> Sequence[Sighting]:
    """``batch`` oldest first (as it mostly comes: sorted only when it is not)."""
    previous: dt.datetime | None = None
    for sighting in batch:
        at = sighting.observed_at
        if previous is not None and at < previous:
            return sorted(batch, key=_observed_at)
        previous = at
    return batch


class RfidPlacement:
    """Read zones with dwell and hysteresis, and portals' crossings, as zone evidence."""

    method = METHOD

    def __init__(
        self,
        settings: PlacementSettings,
        portals: Sequence[PortalSettings] = (),
        *,
        on_crossings: Callable[[list[PortalCrossing]], None] | None = None,
    ) -> None:
        self.settings = settings
        self.read_zones = ReadZones(settings, self._evidence)
        self.portals = PortalWatch(portals)
        self.on_crossings = on_crossings

    def forget(self, asset_id: int) -> None:
        self.read_zones.forget(asset_id)

    def locate(self, batch: Sequence[Sighting]) -> list[ZoneEvidence]:
        out: list[ZoneEvidence] = []
        crossings: list[PortalCrossing] = []
        sides = self.portals.sides
        read_zones = self.read_zones
        read = read_zones.read
        for sighting in _in_time_order(batch):
            receiver = sighting.receiver
            if receiver is None:
                continue  # a read says where only through the antenna that made it
            if STOCKTAKE in sighting.extras:
                # A handheld sweep of a zone is a deliberate look: what it read is there now.
                self._place(sighting, receiver, None, out)
                continue
            side = sides.get(receiver.identifier) if sides else None
            if side is None:
                read(sighting, receiver, out)
                continue
            crossing = self.portals.read(side[0], side[1], sighting, receiver)
            if crossing is not None:
                crossings.append(crossing)
                # Where the tag is now: the deciding antenna's zone (inner: entered,
                # outer: left).
                self._place(sighting, crossing.receiver, crossing.signal, out)
        read_zones.finish(out)
        if crossings and self.on_crossings is not None:
            self.on_crossings(crossings)
        return out

    def _place(
        self,
        sighting: Sighting,
        receiver: ReceiverInfo,
        signal: float | None,
        out: list[ZoneEvidence],
    ) -> None:
        """The asset in ``receiver``'s zone at once, the read zones going on from there."""
        if signal is None and sighting.receiver is receiver and sighting.rssi is not None:
            signal = sighting.rssi + receiver.rssi_offset
        self.read_zones.place(sighting, receiver, out)
        out.append(self._evidence(sighting.asset_id, receiver, sighting, signal))

    def _evidence(
        self, asset_id: int, receiver: ReceiverInfo, sighting: Sighting, signal: float | None
    ) -> ZoneEvidence:
        """``asset_id`` in ``receiver``'s zone as of ``sighting``; ``signal``: the peak RSSI
        behind it, offset-corrected."""
        return ZoneEvidence(
            asset_id=asset_id,
            zone_id=receiver.zone_id,
            confidence=self.settings.confidence,
            method=METHOD,
            technology=sighting.technology,
            observed_at=sighting.observed_at,
            receiver_id=receiver.id,
            receiver_name=receiver.name,
            signal=signal,
            x=receiver.x,
            y=receiver.y,
        )


def register_locators(registry: LocatorRegistry, context: PluginContext) -> None:
    """The RFID locator, for technology ``rfid`` (it takes over from the core's
    fixed-point locator), its crossings recorded and published by the plugin's
    portal events."""
    settings: RfidSettings = context.settings
    events = portal_events(context)
    locator = RfidPlacement(settings.placement, settings.portals, on_crossings=events.record)
    registry.add(LOCATOR_NAME, "rfid", locator)
