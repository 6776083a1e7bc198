"""The parts of the register the hot path needs, held in memory: tags, receivers, zones.

Rebuilt from the database when the register changes (identifier, receiver or place
events); a rebuild of a 10,000-tag register takes milliseconds.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from floki_core.location.evidence import ReceiverInfo
from floki_core.schemas import normalise_identifier
from floki_core.storage.models import (
    AssetRow,
    BuildingRow,
    FloorRow,
    IdentifierRow,
    ReceiverRow,
    SiteRow,
    ZoneRow,
)

log = logging.getLogger(__name__)

# What else a tag is known by: (technology, value) pairs (floki_core.sdk.TagKeys).
OtherKeys = Callable[[str], Sequence[tuple[str, str]]]
DERIVED_KEPT = 65_536  # tags whose other keys are remembered at most


@dataclass(frozen=True)
class ZoneInfo:
    id: int
    name: str
    type: str
    site_id: int
    parent_id: int | None
    floor_id: int | None
    geo_polygon: list[list[float]] | None


@dataclass
class RegisterIndex:
    tags: dict[tuple[str, str], int] = field(default_factory=dict)
    receivers: dict[tuple[str, str], ReceiverInfo] = field(default_factory=dict)
    receivers_by_identifier: dict[str, ReceiverInfo] = field(default_factory=dict)
    zones: dict[int, ZoneInfo] = field(default_factory=dict)
    children: dict[int, list[int]] = field(default_factory=dict)
    sites: dict[int, str] = field(default_factory=dict)
    buildings: dict[int, str] = field(default_factory=dict)
    floors: dict[int, tuple[str, int]] = field(default_factory=dict)  # id -> (name, building)

    giais: dict[int, str] = field(default_factory=dict)  # asset -> its own GIAI, spelled
    # technology -> what else its tags are known by (a plugin's floki_register_tag_keys)
    tag_keys: dict[str, OtherKeys] = field(default_factory=dict)
    # (technology, tag) -> the asset its other keys found (None: none): remembered, as a
    # tag is reported again and again; bounded, and new with each rebuilt index.
    _derived: dict[tuple[str, str], int | None] = field(default_factory=dict)

    def asset_for(self, technology: str, tag: str) -> int | None:
        found = self.tags.get((technology, tag))
        if found is None:
            # Only a miss pays for normalising: gateways mostly send the stored spelling.
            spelled = normalise_identifier(technology, tag)
            if spelled != tag:
                found = self.tags.get((technology, spelled))
            if found is None and technology in self.tag_keys:
                found = self._by_other_keys(technology, tag)
        return found

    def _by_other_keys(self, technology: str, tag: str) -> int | None:
        key = (technology, tag)
        if key in self._derived:
            return self._derived[key]
        found = None
        try:
            keys = list(self.tag_keys[technology](tag))
        except Exception:
            log.warning("tag keys for %s failed on %r; taken as none", technology, tag[:64])
            keys = []
        for other, value in keys:
            found = self.tags.get((other, normalise_identifier(other, value)))
            if found is not None:
                break
        if len(self._derived) >= DERIVED_KEPT:
            self._derived.clear()
        self._derived[key] = found
        return found

    def receiver(self, technology: str, identifier: str) -> ReceiverInfo | None:
        # A QR scanner or an AP may be registered under its own technology name, so fall
        # back to the identifier alone.
        found = self.receivers.get((technology, identifier))
        if found is None:
            found = self.receivers_by_identifier.get(identifier)
        if found is None:
            spelled = normalise_identifier(technology, identifier)
            if spelled != identifier:
                found = self.receivers.get(
                    (technology, spelled)
                ) or self.receivers_by_identifier.get(spelled)
        return found

    def descendants(self, zone_id: int) -> set[int]:
        """The zone and every zone inside it."""
        found, stack = set(), [zone_id]
        while stack:
            current = stack.pop()
            if current in found:
                continue
            found.add(current)
            stack.extend(self.children.get(current, ()))
        return found

    def zone_chain(self, zone_id: int) -> list[ZoneInfo]:
        """Outermost zone first, ending with ``zone_id``."""
        chain: list[ZoneInfo] = []
        node = self.zones.get(zone_id)
        while node is not None and node not in chain:
            chain.append(node)
            node = self.zones.get(node.parent_id) if node.parent_id else None
        return chain[::-1]

    def path(self, zone_id: int) -> list[dict[str, object]]:
        """Site > building > floor > zones, for "where is it" answers."""
        chain = self.zone_chain(zone_id)
        if not chain:
            return []
        site_id = chain[0].site_id
        path: list[dict[str, object]] = [
            {"kind": "site", "id": site_id, "name": self.sites.get(site_id, "")}
        ]
        floor_id = next((z.floor_id for z in reversed(chain) if z.floor_id), None)
        if floor_id is not None and floor_id in self.floors:
            floor_name, building_id = self.floors[floor_id]
            path.append(
                {"kind": "building", "id": building_id, "name": self.buildings.get(building_id)}
            )
            path.append({"kind": "floor", "id": floor_id, "name": floor_name})
        path += [{"kind": z.type, "id": z.id, "name": z.name} for z in chain]
        return path


def _receiver(row: ReceiverRow) -> ReceiverInfo:
    return ReceiverInfo(
        id=row.id,
        name=row.name,
        technology=row.technology,
        identifier=row.identifier,
        zone_id=row.zone_id,
        x=row.x,
        y=row.y,
        rssi_offset=row.rssi_offset or 0.0,
    )


def load_register_index(session: Session) -> RegisterIndex:
    index = RegisterIndex()
    for technology, value, asset_id in session.execute(
        select(IdentifierRow.technology, IdentifierRow.value, IdentifierRow.asset_id).order_by(
            IdentifierRow.id
        )
    ):
        # Keyed by the kind's spelling, which sources report: rows stored before a kind
        # was normalised (an AltBeacon id typed in lower case) are found all the same.
        spelled = normalise_identifier(technology, value)
        if spelled == value:
            index.tags[(technology, spelled)] = asset_id
        else:
            # A row the upgrade left in an old spelling (another row holds the current
            # one) never hides the row in the register's spelling, as a scan would not.
            index.tags.setdefault((technology, spelled), asset_id)
    # An asset's own GIAI is a key too (an RFID EPC or a scanned label carries it); the
    # field wins over a giai identifier naming another asset, as the QR resolver has it.
    for asset_id, giai in session.execute(
        select(AssetRow.id, AssetRow.giai).where(AssetRow.giai.is_not(None))
    ):
        if giai:
            spelled = index.giais[asset_id] = normalise_identifier("giai", giai)
            index.tags[("giai", spelled)] = asset_id
    for row in session.scalars(select(ReceiverRow)):
        info = _receiver(row)
        index.receivers[(info.technology, info.identifier)] = info
        index.receivers_by_identifier.setdefault(info.identifier, info)
    for zone in session.scalars(select(ZoneRow)):
        index.zones[zone.id] = ZoneInfo(
            zone.id,
            zone.name,
            zone.type,
            zone.site_id,
            zone.parent_id,
            zone.floor_id,
            zone.geo_polygon,
        )
        if zone.parent_id is not None:
            index.children.setdefault(zone.parent_id, []).append(zone.id)
    index.sites = {i: n for i, n in session.execute(select(SiteRow.id, SiteRow.name))}
    index.buildings = {i: n for i, n in session.execute(select(BuildingRow.id, BuildingRow.name))}
    index.floors = {
        floor_id: (name, building_id)
        for floor_id, name, building_id in session.execute(
            select(FloorRow.id, FloorRow.name, FloorRow.building_id)
        )
    }
    return index
