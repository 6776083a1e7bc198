"""The register as a plugin may read it: plain domain records, never database rows.

A plugin asks which asset a tag belongs to, which receiver a gateway is, and how the
zones nest - what it needs to decode, label or route - without touching the database or
the location service's internals. Answers come from the in-memory index the resolver
binds with (so they agree with what the appliance locates) and, for whole records, one
read of the database.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import msgspec

from floki_core.domain import Asset, Floor, Identifier, Receiver, Zone
from floki_core.location.register_index import RegisterIndex
from floki_core.storage import resources
from floki_core.storage.register import ASSETS, FLOORS, IDENTIFIERS, RECEIVERS, ZONES

Reader = Callable[..., Awaitable[Any]]


class ZoneNode(msgspec.Struct, frozen=True, kw_only=True):
    """A zone and the zones inside it."""

    id: int
    name: str
    type: str
    site_id: int
    children: tuple[ZoneNode, ...] = ()


class RegisterSnapshot(msgspec.Struct, frozen=True, kw_only=True):
    """The site as the register holds it now, read in one transaction."""

    floors: list[Floor]
    zones: list[Zone]
    receivers: list[Receiver]
    assets: list[Asset]
    identifiers: list[Identifier]


def _everything(session: Any, resource: resources.Resource) -> list[Any]:
    found: list[Any] = []
    while True:
        page, total = resources.list_records(session, resource, limit=10_000, offset=len(found))
        found += page
        if not page or len(found) >= total:
            return found


def _snapshot(session: Any) -> RegisterSnapshot:
    return RegisterSnapshot(
        floors=_everything(session, FLOORS),
        zones=_everything(session, ZONES),
        receivers=_everything(session, RECEIVERS),
        assets=_everything(session, ASSETS),
        identifiers=_everything(session, IDENTIFIERS),
    )


class RegisterView:
    """Read-only views of the register. ``index`` gives the current register index (it
    is rebuilt on every register change); ``read`` runs ``fn(session, ...)`` off the
    event loop, as ``Core.read`` does."""

    def __init__(self, index: Callable[[], RegisterIndex], read: Reader) -> None:
        self._index = index
        self._read = read

    def asset_id_for(self, technology: str, tag: str) -> int | None:
        """The asset a tag is bound to (any spelling of the tag), or None."""
        return self._index().asset_for(technology, tag)

    async def asset_by_identifier(self, technology: str, tag: str) -> Asset | None:
        asset_id = self.asset_id_for(technology, tag)
        if asset_id is None:
            return None
        asset: Asset = await self._read(resources.get_record, ASSETS, asset_id)
        return asset

    async def receiver_by_key(self, technology: str, identifier: str) -> Receiver | None:
        """The receiver registered under ``identifier`` (its MAC, its name in a
        gateway's reports) for ``technology``, or None."""
        found = self._index().receiver(technology, identifier)
        if found is None:
            return None
        receiver: Receiver = await self._read(resources.get_record, RECEIVERS, found.id)
        return receiver

    def zone_tree(self) -> tuple[ZoneNode, ...]:
        """Every zone, nested as in the register: the zones without a parent, each with
        the zones inside it, by name."""
        index = self._index()

        def node(zone_id: int) -> ZoneNode:
            zone = index.zones[zone_id]
            inside = sorted(index.children.get(zone_id, ()), key=lambda z: index.zones[z].name)
            return ZoneNode(
                id=zone.id,
                name=zone.name,
                type=zone.type,
                site_id=zone.site_id,
                children=tuple(node(child) for child in inside if child in index.zones),
            )

        roots = [z for z in index.zones.values() if z.parent_id not in index.zones]
        return tuple(node(z.id) for z in sorted(roots, key=lambda z: (z.site_id, z.name)))

    async def snapshot(self) -> RegisterSnapshot:
        """Every floor, zone, receiver, asset and identifier, as one consistent read (a
        simulation builds its site from it)."""
        found: RegisterSnapshot = await self._read(_snapshot)
        return found
