"""What a register import will write: every checked row planned against a snapshot of
the register, in memory, with no lock held (``register_stage`` then writes the plan).

The plan makes the decisions the register's own create and update make - which asset,
class and zone a row means, what changes, which GIAI is whose - and gives new assets
and classes the ids they will have (the next after the snapshot's highest); the write
checks, under the lock, that the snapshot still holds.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple, cast

from sqlalchemy import Connection, Table, select

from floki_core.domain import Criticality
from floki_core.register_rows import ParsedRegister, RegisterRow, RowProblem
from floki_core.storage.models import AssetClassRow, AssetRow, ZoneRow

ASSETS = cast(Table, AssetRow.__table__)
CLASSES = cast(Table, AssetClassRow.__table__)
_ZONES = cast(Table, ZoneRow.__table__)
# The asset columns a register file may set.
FILE_FIELDS = ("description", "serial", "department", "giai", "last_ppm", "next_ppm_due")
SET_FIELDS = (*FILE_FIELDS, "class_id", "home_zone_id")
NEW_ASSET: dict[str, Any] = {
    "description": "",
    "serial": "",
    "department": "",
    "giai": None,
    "class_id": None,
    "home_zone_id": None,
    "last_ppm": None,
    "next_ppm_due": None,
}
Progress = Callable[[int], None]


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    problems: list[RowProblem] = field(default_factory=list)
    warnings: list[RowProblem] = field(default_factory=list)


class StoredAsset(NamedTuple):
    id: int
    asset_number: str
    description: str
    serial: str
    giai: str | None
    class_id: int | None
    home_zone_id: int | None
    department: str
    state: str
    last_ppm: dt.date | None
    next_ppm_due: dt.date | None
    created_at: dt.datetime
    updated_at: dt.datetime


class StoredClass(NamedTuple):
    id: int
    name: str
    category: str
    make: str
    model: str
    ppm_interval_days: int | None
    criticality: str


# Read without type conversion (plain SQL): cheap enough to read again under the lock.
_ASSET_MARKS = (
    "SELECT id, asset_number, giai, class_id, home_zone_id, description, serial, department, "
    "last_ppm, next_ppm_due, state, updated_at FROM assets ORDER BY id"
)
_FILED = 10  # the leading columns above that an import reads; then state and updated_at
_CLASS_MARKS = (
    "SELECT id, name, category, make, model, ppm_interval_days, criticality "
    "FROM asset_classes ORDER BY id"
)
_ZONE_MARKS = "SELECT id, name, gln FROM zones ORDER BY id"


@dataclass(frozen=True)
class RegisterMarks:
    """The register's rows as stored, to tell whether it changed since a snapshot."""

    assets: list[tuple[Any, ...]]
    classes: list[tuple[Any, ...]]
    zones: list[tuple[Any, ...]]

    @classmethod
    def load(cls, conn: Connection) -> RegisterMarks:
        def rows(sql: str) -> list[tuple[Any, ...]]:
            cursor = conn.connection.cursor()  # the driver's own rows: no Row objects
            try:
                cursor.execute(sql)
                return list(cursor.fetchall())
            finally:
                cursor.close()

        return cls(rows(_ASSET_MARKS), rows(_CLASS_MARKS), rows(_ZONE_MARKS))


@dataclass(frozen=True)
class RegisterSnapshot:
    """What an import reads of the register (read in one snapshot transaction)."""

    assets: dict[str, StoredAsset]
    classes: tuple[StoredClass, ...]  # by id
    zones: tuple[tuple[int, str, str | None], ...]  # (id, name, GLN) by id
    marks: RegisterMarks

    @classmethod
    def load(cls, conn: Connection) -> RegisterSnapshot:
        rows = conn.execute(select(*(ASSETS.c[f] for f in StoredAsset._fields)))
        assets = {row.asset_number: row for row in map(StoredAsset._make, rows)}
        query = select(*(CLASSES.c[f] for f in StoredClass._fields)).order_by(CLASSES.c.id)
        classes = tuple(map(StoredClass._make, conn.execute(query)))
        zones = conn.execute(select(_ZONES.c.id, _ZONES.c.name, _ZONES.c.gln).order_by(_ZONES.c.id))
        zone_rows = tuple((z.id, z.name, z.gln) for z in zones)
        return cls(assets, classes, zone_rows, RegisterMarks.load(conn))

    def still_holds(self, plan: ImportPlan, now: RegisterMarks) -> bool:
        """Whether ``plan``, made from this snapshot, is still right for the register as
        ``now`` marks it: the same assets with the same ids, GIAIs and filed values, the
        same classes and zones, and the assets it updates exactly as they were (their
        audit entries say what they were). A state changed meanwhile on another asset
        does not matter."""
        then = self.marks
        if then.classes != now.classes or then.zones != now.zones:
            return False
        if then.assets == now.assets:
            return True
        if len(then.assets) != len(now.assets):
            return False
        updated = {before.id for before, _ in plan.updates}
        for was, is_ in zip(then.assets, now.assets, strict=True):
            if was != is_ and (was[:_FILED] != is_[:_FILED] or was[0] in updated):
                return False
        return True


@dataclass
class ImportPlan:
    """Everything the write does, worked out in advance."""

    new_classes: list[dict[str, Any]] = field(default_factory=list)  # with their ids
    class_fills: dict[int, tuple[StoredClass, dict[str, Any]]] = field(default_factory=dict)
    creates: list[dict[str, Any]] = field(default_factory=list)  # with their ids
    updates: list[tuple[StoredAsset, dict[str, Any]]] = field(default_factory=list)
    unchanged: int = 0
    problems: list[RowProblem] = field(default_factory=list)  # rows the register refuses
    warnings: list[RowProblem] = field(default_factory=list)


def plan_import(
    parsed: ParsedRegister, snapshot: RegisterSnapshot, progress: Progress | None = None
) -> ImportPlan:
    """Work out the write for every checked row against ``snapshot``; no database."""
    planner = _Planner(parsed.columns, snapshot)
    for done, row in enumerate(parsed.rows, start=1):
        planner.plan(row)
        if progress is not None:
            progress(done)
    return planner.result


class _Planner:
    """The decisions of the register's create and update, made in memory for each row."""

    def __init__(self, columns: dict[str, str], snapshot: RegisterSnapshot) -> None:
        self.columns = columns
        self.result = ImportPlan()
        self.assets = snapshot.assets
        self.next_asset_id = max((a.id for a in snapshot.assets.values()), default=0) + 1
        self.next_class_id = max((c.id for c in snapshot.classes), default=0) + 1
        self.giai_owner = {a.giai: n for n, a in snapshot.assets.items() if a.giai}
        # Class id -> the class as it will be after the import.
        self.classes: dict[int, StoredClass] = {c.id: c for c in snapshot.classes}
        self.planned_classes: dict[int, dict[str, Any]] = {}
        self.by_make_model: dict[tuple[str, str], int] = {}
        for cls in snapshot.classes:
            self.by_make_model.setdefault(_make_model(cls.make, cls.model), cls.id)
        self.class_names = {c.name.casefold() for c in snapshot.classes}
        self.zones_by_name: dict[str, list[int]] = {}
        self.zones_by_gln: dict[str, int] = {}
        for zone_id, name, gln in snapshot.zones:
            self.zones_by_name.setdefault(name.strip().casefold(), []).append(zone_id)
            if gln:
                self.zones_by_gln[gln] = zone_id

    def plan(self, row: RegisterRow) -> None:
        plan, columns = self.result, self.columns
        number = row.asset_number
        existing = self.assets.get(number)
        values = {f: getattr(row, f) for f in FILE_FIELDS if f in columns}
        giai = values.get("giai")
        owner = self.giai_owner.get(giai) if giai else None
        if owner not in (None, number):
            reason = f"GIAI {giai!r} belongs to asset {owner}"
            plan.problems.append(RowProblem(row.line, columns["giai"], reason))
            return
        if "location" in columns:
            matched, zone_id = self._zone(row, existing)
            if matched:
                values["home_zone_id"] = zone_id
        if row.make or row.model:
            values["class_id"] = self._class_id(row, existing)
        if existing is None:
            plan.creates.append({"id": self.next_asset_id, "asset_number": number, **values})
            self.next_asset_id += 1
        else:
            changes = {k: v for k, v in values.items() if getattr(existing, k) != v}
            if not changes:
                plan.unchanged += 1
                return
            last = changes.get("last_ppm", existing.last_ppm)
            due = changes.get("next_ppm_due", existing.next_ppm_due)
            if last and due and due < last:
                reason = f"next PPM due {due} would be before the last PPM {last}"
                column = columns.get("next_ppm_due") or columns.get("last_ppm")
                plan.problems.append(RowProblem(row.line, column, reason))
                return
            if existing.giai and "giai" in changes:
                self.giai_owner.pop(existing.giai, None)
            plan.updates.append((existing, changes))
        if giai:
            self.giai_owner[giai] = number

    def _zone(self, row: RegisterRow, existing: StoredAsset | None) -> tuple[bool, int | None]:
        """(matched, zone id); an empty location clears the home zone."""
        if not row.location:
            return True, None
        if gln_match := self.zones_by_gln.get(row.location):
            return True, gln_match
        matches = self.zones_by_name.get(row.location.casefold(), [])
        if len(matches) == 1:
            return True, matches[0]
        kept = "home zone left as it was" if existing else "no home zone set"
        what = f"names {len(matches)} zones" if matches else "matches no zone by name or GLN"
        reason = f"{row.location!r} {what}; {kept}"
        self.result.warnings.append(RowProblem(row.line, self.columns["location"], reason))
        return False, None

    def _class_id(self, row: RegisterRow, existing: StoredAsset | None) -> int:
        key = _make_model(row.make, row.model)
        current = self.classes.get(existing.class_id) if existing and existing.class_id else None
        # Keep a matching class the asset already has, even if another shares its make/model.
        if current is not None and _make_model(current.make, current.model) == key:
            class_id: int | None = current.id
        else:
            class_id = self.by_make_model.get(key)
        if class_id is None:
            return self._new_class(row, key)
        cls = self.classes[class_id]
        # Fill what the class lacks; never overwrite, so rows sharing a class cannot flip it.
        fill: dict[str, Any] = {}
        if row.category and not cls.category:
            fill["category"] = row.category
        if row.ppm_interval_days and cls.ppm_interval_days is None:
            fill["ppm_interval_days"] = row.ppm_interval_days
        if fill:
            self.classes[class_id] = cls._replace(**fill)
            if class_id in self.planned_classes:  # new in this import: created filled
                self.planned_classes[class_id].update(fill)
            else:
                before, earlier = self.result.class_fills.get(class_id, (cls, {}))
                self.result.class_fills[class_id] = (before, {**earlier, **fill})
        return class_id

    def _new_class(self, row: RegisterRow, key: tuple[str, str]) -> int:
        parts = (row.category or row.description, row.make, row.model)
        base = " ".join(p for p in parts if p)[:200].strip()
        name, n = base, 2
        while name.casefold() in self.class_names:
            name, n = f"{base[:190]} ({n})", n + 1
        class_id = self.next_class_id
        self.next_class_id += 1
        values: dict[str, Any] = {
            "id": class_id,
            "name": name,
            "category": row.category,
            "make": row.make,
            "model": row.model,
            "ppm_interval_days": row.ppm_interval_days,
            "criticality": (row.criticality or Criticality.MEDIUM).value,
        }
        self.result.new_classes.append(values)
        self.planned_classes[class_id] = values
        self.classes[class_id] = StoredClass(**values)
        self.by_make_model[key] = class_id
        self.class_names.add(name.casefold())
        return class_id


def _make_model(make: str, model: str) -> tuple[str, str]:
    return make.strip().casefold(), model.strip().casefold()
