"""``floki-core import-site``: places and receivers from a TOML or JSON file.

Records refer to each other by name, so a file can be written by hand or exported
from a spreadsheet. Re-importing updates records by name; the whole file is applied
in one transaction, so an error anywhere leaves the register untouched.
"""

from __future__ import annotations

import json
import tomllib
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import msgspec
from sqlalchemy import select
from sqlalchemy.orm import Session

from floki_core.api.routes.floors import check_image, plans_dir
from floki_core.clock import SystemClock
from floki_core.config import describe_validation_error
from floki_core.domain import SYSTEM, Point, ZoneType
from floki_core.errors import Invalid
from floki_core.schemas import Gln, Name, Polygon, Slug
from floki_core.storage import register as reg
from floki_core.storage.database import Database
from floki_core.storage.models import BuildingRow, FloorRow, ReceiverRow, SiteRow, ZoneRow
from floki_core.storage.resources import Resource, create_record, update_record


class _Entry(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    pass


class SiteEntry(_Entry, kw_only=True):
    name: Name
    code: str | None = None
    timezone: str = "Europe/London"


class BuildingEntry(_Entry, kw_only=True):
    name: Name
    site: str | None = None


class FloorEntry(_Entry, kw_only=True):
    name: Name
    building: str
    site: str | None = None
    level: int = 0
    metres_per_pixel: float | None = None
    plan: str | None = None  # image path relative to the site file


class ZoneEntry(_Entry, kw_only=True):
    name: Name
    site: str | None = None
    type: ZoneType = ZoneType.ROOM
    parent: str | None = None
    floor: str | None = None  # "<building>/<floor>"
    polygon: Polygon | None = None
    geo_polygon: Polygon | None = None
    gln: Gln | None = None


class ReceiverEntry(_Entry, kw_only=True):
    name: Name
    technology: Slug
    identifier: Name
    zone: str
    x: float | None = None
    y: float | None = None
    notes: str = ""


class SiteFile(_Entry, kw_only=True):
    sites: list[SiteEntry] = msgspec.field(default_factory=list)
    buildings: list[BuildingEntry] = msgspec.field(default_factory=list)
    floors: list[FloorEntry] = msgspec.field(default_factory=list)
    zones: list[ZoneEntry] = msgspec.field(default_factory=list)
    receivers: list[ReceiverEntry] = msgspec.field(default_factory=list)


def parse_site_file(path: Path) -> SiteFile:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise Invalid(f"{path}: cannot read: {exc}") from None
    try:
        data: Any = json.loads(text) if path.suffix == ".json" else tomllib.loads(text)
    except (ValueError, tomllib.TOMLDecodeError) as exc:
        kind = "JSON" if path.suffix == ".json" else "TOML"
        raise Invalid(f"{path}: not valid {kind}: {exc}") from None
    try:
        return msgspec.convert(data, SiteFile, strict=True)
    except msgspec.ValidationError as exc:
        raise Invalid(f"{path}: {describe_validation_error(exc)}") from None


class _Importer:
    def __init__(self, session: Session, base: Path, data_dir: Path) -> None:
        self.session = session
        self.base = base
        self.data_dir = data_dir
        self.now = SystemClock().now()
        self.counts: Counter[str] = Counter()

    def upsert(self, resource: Resource, existing: Any, values: dict[str, Any]) -> int:
        if existing is None:
            record = create_record(self.session, resource, values, actor=SYSTEM, now=self.now)
            self.counts[f"{resource.name} created"] += 1
            return int(record.id)
        before, after = update_record(
            self.session, resource, existing.id, values, actor=SYSTEM, now=self.now
        )
        self.counts[f"{resource.name} {'updated' if before != after else 'unchanged'}"] += 1
        return int(existing.id)

    def site_id(self, name: str | None, what: str) -> int:
        if name is None:
            ids = self.session.scalars(select(SiteRow.id)).all()
            if len(ids) != 1:
                raise Invalid(f"{what}: name its site (the register has {len(ids)} sites)")
            return ids[0]
        found = self.session.scalar(select(SiteRow.id).where(SiteRow.name == name))
        if found is None:
            raise Invalid(f"{what}: site {name!r} not found")
        return found

    def building_id(self, site: str | None, name: str, what: str) -> int:
        site_id = self.site_id(site, what)
        found = self.session.scalar(
            select(BuildingRow.id).where(BuildingRow.site_id == site_id, BuildingRow.name == name)
        )
        if found is None:
            raise Invalid(f"{what}: building {name!r} not found")
        return found

    def floor_id(self, site: str | None, ref: str, what: str) -> int:
        building, _, floor = ref.partition("/")
        if not floor:
            raise Invalid(f"{what}: floor must be written '<building>/<floor>', got {ref!r}")
        building_id = self.building_id(site, building, what)
        found = self.session.scalar(
            select(FloorRow.id).where(FloorRow.building_id == building_id, FloorRow.name == floor)
        )
        if found is None:
            raise Invalid(f"{what}: floor {ref!r} not found")
        return found

    def zone(self, site_id: int, name: str) -> ZoneRow | None:
        return self.session.scalar(
            select(ZoneRow).where(ZoneRow.site_id == site_id, ZoneRow.name == name)
        )

    def plan(self, floor_id: int, relative: str) -> None:
        source = (self.base / relative).resolve()
        try:
            raw = source.read_bytes()
        except OSError as exc:
            raise Invalid(f"floor plan {relative!r}: cannot read: {exc.strerror}") from None
        content_type = "image/png" if source.suffix.lower() == ".png" else "image/jpeg"
        try:
            ext, width, height = check_image(raw, content_type)
        except Exception as exc:
            raise Invalid(f"floor plan {relative!r}: {exc}") from None
        name = f"{uuid.uuid4().hex}{ext}"
        (plans_dir(self.data_dir) / name).write_bytes(raw)
        row = self.session.get(FloorRow, floor_id)
        assert row is not None
        row.plan_file, row.plan_width_px, row.plan_height_px = name, width, height

    def apply(self, spec: SiteFile) -> None:
        row: Any
        values: dict[str, Any]
        for s in spec.sites:
            row = self.session.scalar(select(SiteRow).where(SiteRow.name == s.name))
            self.upsert(reg.SITES, row, msgspec.structs.asdict(s))
        for b in spec.buildings:
            site_id = self.site_id(b.site, f"building {b.name!r}")
            row = self.session.scalar(
                select(BuildingRow).where(
                    BuildingRow.site_id == site_id, BuildingRow.name == b.name
                )
            )
            self.upsert(reg.BUILDINGS, row, {"site_id": site_id, "name": b.name})
        for f in spec.floors:
            building_id = self.building_id(f.site, f.building, f"floor {f.name!r}")
            row = self.session.scalar(
                select(FloorRow).where(FloorRow.building_id == building_id, FloorRow.name == f.name)
            )
            values = {
                "building_id": building_id,
                "name": f.name,
                "level": f.level,
                "metres_per_pixel": f.metres_per_pixel,
            }
            floor_id = self.upsert(reg.FLOORS, row, values)
            if f.plan:
                self.plan(floor_id, f.plan)
        # Parents first, whatever order the file lists zones in.
        pending = list(spec.zones)
        while pending:
            progressed = False
            for z in list(pending):
                site_id = self.site_id(z.site, f"zone {z.name!r}")
                parent = self.zone(site_id, z.parent) if z.parent else None
                if z.parent and parent is None:
                    continue
                values = {
                    "site_id": site_id,
                    "name": z.name,
                    "type": z.type.value,
                    "parent_id": parent.id if parent else None,
                    "floor_id": self.floor_id(z.site, z.floor, f"zone {z.name!r}")
                    if z.floor
                    else None,
                    "polygon": _points(z.polygon),
                    "geo_polygon": _points(z.geo_polygon),
                    "gln": z.gln,
                }
                self.upsert(reg.ZONES, self.zone(site_id, z.name), values)
                pending.remove(z)
                progressed = True
            if not progressed:
                names = ", ".join(f"{z.name!r} (parent {z.parent!r})" for z in pending)
                raise Invalid(f"zones whose parent is missing: {names}")
        for r in spec.receivers:
            zone_ids = self.session.scalars(select(ZoneRow.id).where(ZoneRow.name == r.zone)).all()
            if len(zone_ids) != 1:
                found = "not found" if not zone_ids else "ambiguous across sites"
                raise Invalid(f"receiver {r.name!r}: zone {r.zone!r} {found}")
            row = self.session.scalar(select(ReceiverRow).where(ReceiverRow.name == r.name))
            values = {
                "name": r.name,
                "technology": r.technology,
                "identifier": r.identifier,
                "zone_id": zone_ids[0],
                "x": r.x,
                "y": r.y,
                "notes": r.notes,
            }
            self.upsert(reg.RECEIVERS, row, values)


def _points(polygon: list[Point] | None) -> list[list[float]] | None:
    return None if polygon is None else [[float(x), float(y)] for x, y in polygon]


def import_site_file(db: Database, path: Path, data_dir: Path) -> str:
    spec = parse_site_file(path)
    with db.transaction() as session:
        importer = _Importer(session, path.parent, data_dir)
        importer.apply(spec)
    return ", ".join(f"{n} {k}" for k, n in sorted(importer.counts.items())) or "nothing to do"
