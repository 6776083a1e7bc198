"""Recording where an asset is from a phone: a label scan, a zone picked, a position shared.

All three become the same evidence: a ``qr`` observation of the asset's label code at a
location label of the zone, which the fixed-point locator turns into a high-confidence,
immediate location. A zone without a location label gets one (its code is created
through the register's audited path, as printing a label would). Each confirmation is
applied at once (not behind the gateways' queue) and written - the location it gives and
an audit entry with who made it and how - in one durable transaction before the page
answers.

A shared phone position is used once, to find the zone it falls in (the zones' map
outlines, as for GPS trackers); the coordinates themselves are not kept.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from floki_core.sdk import (
    Invalid,
    NotFound,
    Observation,
    PluginContext,
    Principal,
    RegisterIndex,
    ZoneInfo,
)
from floki_qr.label_codes import QR, ensure_codes

log = logging.getLogger(__name__)

SOURCE = "qr:phone"  # the ingest source of phone confirmations, in /api/v1/sources


@dataclass(frozen=True)
class Placed:
    zone_id: int
    zone_name: str
    was_in: int | None  # the zone Floki placed the asset in before
    now_in: int | None  # ... and after (None: not taken in yet)
    now_in_name: str | None

    def outcome(self, asset_number: str, *, capital: bool = True) -> str:
        """What happened, for the person who said where the asset is."""
        text = self._outcome(asset_number)
        return text[:1].upper() + text[1:] if capital else text

    def _outcome(self, asset_number: str) -> str:
        if self.now_in is None:
            return f"recorded {asset_number} in {self.zone_name}; the location shows it shortly."
        if self.now_in != self.zone_id:
            return (
                f"recorded {asset_number} in {self.zone_name}, but newer evidence still "
                f"places it in {self.now_in_name}."
            )
        if self.was_in == self.zone_id:
            return f"confirmed {asset_number} in {self.zone_name}."
        return f"moved {asset_number} to {self.zone_name}."


def _zone_of(context: PluginContext, asset_id: int) -> tuple[int | None, str | None]:
    where = context.locations.where_is(asset_id)
    zone = where.get("zone") if where else None
    if not isinstance(zone, dict):
        return None, None
    return zone.get("id"), zone.get("name")


def zone_name(context: PluginContext, zone_id: int) -> str:
    zone = context.locations.index.zones.get(zone_id)
    if zone is None:
        raise NotFound(f"zone {zone_id} not found")
    return zone.name


async def record_at_zone(
    context: PluginContext,
    *,
    asset_id: int,
    zone_id: int,
    actor: Principal,
    how: str,
    tag: str | None = None,
    receiver: str | None = None,
) -> Placed:
    """The asset is in ``zone_id`` because ``actor`` said so (``how``: "label scan",
    "zone picked", "phone position ..."). ``tag`` and ``receiver`` are the label codes
    when the caller has them."""
    name = zone_name(context, zone_id)
    was_in, _ = _zone_of(context, asset_id)
    if tag is None or receiver is None:
        assets, zones = await ensure_codes(
            context,
            asset_ids=[asset_id] if tag is None else [],
            zone_ids=[zone_id] if receiver is None else [],
            actor=actor,
        )
        tag = tag or assets[asset_id]
        receiver = receiver or zones[zone_id]
    now = context.clock.now()
    observation = Observation(
        technology=QR,
        tag=tag,
        receiver=receiver,
        observed_at=now,
        received_at=now,
        extras={"confirmed_by": actor.username, "how": how[:100]},
    )
    # Applied ahead of the gateways' queue, and its location and audit entry written
    # durably together, before the page may say it is done.
    await context.locations.confirm(
        SOURCE, [observation], actor=actor, asset_id=asset_id, detail=f"in {name} ({how})"
    )
    now_in, now_in_name = _zone_of(context, asset_id)
    return Placed(zone_id, name, was_in, now_in, now_in_name)


def zone_at_position(
    context: PluginContext, asset_id: int, lat: float, lon: float, accuracy_m: float, limit_m: float
) -> int:
    """The smallest zone whose map outline holds the position; refused with the reason
    when the position is too rough or in no zone."""
    if accuracy_m > limit_m:
        raise Invalid(
            f"your phone's position is only good to {accuracy_m:.0f} m (at most {limit_m:.0f} m "
            "is needed to tell zones apart); pick the zone from the list instead"
        )
    zone_id = context.locations.zone_at(asset_id, lat, lon, accuracy_m)
    if zone_id is None:
        raise Invalid(
            "your position is not inside any zone Floki has a map outline for; "
            "pick the zone from the list instead"
        )
    return zone_id


def parse_position(lat: str, lon: str, accuracy: str) -> tuple[float, float, float]:
    try:
        values = float(lat), float(lon), float(accuracy)
    except ValueError:
        raise Invalid("the phone did not send a usable position") from None
    la, lo, acc = values
    if not (-90 <= la <= 90 and -180 <= lo <= 180 and 0 <= acc < 1e7):
        raise Invalid("the phone sent a position outside the possible range")
    return la, lo, acc


def nearby_zones(index: RegisterIndex, anchors: Sequence[int | None], limit: int) -> list[ZoneInfo]:
    """Zones to offer under "it's here": each anchor (where Floki last placed the asset,
    its home zone), what is inside it, its neighbours under the same parent, the rest of
    its floor. With no anchor at all (a new register), simply the first zones by name."""
    zones = index.zones
    chosen: dict[int, ZoneInfo] = {}

    def add(ids: Sequence[int]) -> None:
        for zone_id in sorted((i for i in ids if i in zones), key=lambda i: zones[i].name.lower()):
            if len(chosen) < limit:
                chosen.setdefault(zone_id, zones[zone_id])

    known = [a for a in dict.fromkeys(anchors) if a is not None and a in zones]
    for anchor in known:
        add([anchor])
    for anchor in known:
        zone = zones[anchor]
        add(index.children.get(anchor, []))
        if zone.parent_id is not None and zone.parent_id in zones:
            add([zone.parent_id])
            add(index.children.get(zone.parent_id, []))
        if zone.floor_id is not None:
            add([z.id for z in zones.values() if z.floor_id == zone.floor_id])
    if not known:
        add(list(zones))
    return list(chosen.values())
