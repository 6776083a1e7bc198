"""Applying checked register rows to the database (one asset per row, audited)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from floki_core.domain import Principal
from floki_core.errors import Conflict
from floki_core.register_rows import RegisterRow, RowProblem
from floki_core.storage.models import AssetClassRow, AssetRow, ZoneRow
from floki_core.storage.register import ASSET_CLASSES, ASSETS
from floki_core.storage.resources import create_record, update_record

_ASSET_FIELDS = ("description", "serial", "department", "giai", "last_ppm", "next_ppm_due")
Outcome = Literal["created", "updated", "unchanged"]


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    problems: list[RowProblem] = field(default_factory=list)
    warnings: list[RowProblem] = field(default_factory=list)


class Refused(Conflict):
    """A row the database would refuse, with the file's column to blame."""

    def __init__(self, column: str, reason: str) -> None:
        super().__init__(reason)
        self.column = column


class RegisterWriter:
    """Applies checked rows, with the register loaded once rather than queried per row."""

    def __init__(
        self,
        session: Session,
        columns: dict[str, str],
        actor: Principal,
        now: dt.datetime,
        warnings: list[RowProblem],
    ) -> None:
        self.session, self.columns, self.actor, self.now = session, columns, actor, now
        self.warnings = warnings
        self.assets = {a.asset_number: a for a in session.scalars(select(AssetRow))}
        self.giai_owner = {a.giai: n for n, a in self.assets.items() if a.giai}
        self.classes: dict[int, AssetClassRow] = {
            c.id: c for c in session.scalars(select(AssetClassRow).order_by(AssetClassRow.id))
        }
        self.by_make_model: dict[tuple[str, str], AssetClassRow] = {}
        for cls in self.classes.values():
            self.by_make_model.setdefault(_make_model(cls.make, cls.model), cls)
        self.class_names = {c.name.casefold() for c in self.classes.values()}
        self.zones_by_name: dict[str, list[int]] = {}
        self.zones_by_gln: dict[str, int] = {}
        for zone in session.scalars(select(ZoneRow)):
            self.zones_by_name.setdefault(zone.name.strip().casefold(), []).append(zone.id)
            if zone.gln:
                self.zones_by_gln[zone.gln] = zone.id

    def apply(self, row: RegisterRow) -> Outcome:
        """Returns which count of the report the row adds to."""
        existing = self.assets.get(row.asset_number)
        outcome: Outcome
        values = {f: getattr(row, f) for f in _ASSET_FIELDS if f in self.columns}
        giai = values.get("giai")
        owner = self.giai_owner.get(giai) if giai else None
        if owner not in (None, row.asset_number):
            raise Refused(self.columns["giai"], f"GIAI {giai!r} belongs to asset {owner}")
        if "location" in self.columns:
            matched, zone_id = self._zone(row, existing)
            if matched:
                values["home_zone_id"] = zone_id
        if row.make or row.model:
            values["class_id"] = self._class_id(row, existing)
        if existing is None:
            record = create_record(
                self.session,
                ASSETS,
                {"asset_number": row.asset_number, **values},
                actor=self.actor,
                now=self.now,
            )
            self.assets[row.asset_number] = self.session.get_one(AssetRow, record.id)
            outcome = "created"
        else:
            changes = {k: v for k, v in values.items() if getattr(existing, k) != v}
            if not changes:
                return "unchanged"
            if existing.giai and "giai" in changes:
                self.giai_owner.pop(existing.giai, None)
            update_record(
                self.session, ASSETS, existing.id, changes, actor=self.actor, now=self.now
            )
            outcome = "updated"
        if giai:
            self.giai_owner[giai] = row.asset_number
        return outcome

    def _zone(self, row: RegisterRow, existing: AssetRow | None) -> tuple[bool, int | None]:
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
        self.warnings.append(RowProblem(row.line, self.columns["location"], reason))
        return False, None

    def _class_id(self, row: RegisterRow, existing: AssetRow | None) -> int:
        key = _make_model(row.make, row.model)
        current = self.classes.get(existing.class_id) if existing and existing.class_id else None
        # Keep a matching class the asset already has, even if another shares its make/model.
        if current is not None and _make_model(current.make, current.model) == key:
            cls: AssetClassRow | None = current
        else:
            cls = self.by_make_model.get(key)
        if cls is None:
            return self._create_class(row, key)
        # Fill what the class lacks; never overwrite, so rows sharing a class cannot flip it.
        fill: dict[str, Any] = {}
        if row.category and not cls.category:
            fill["category"] = row.category
        if row.ppm_interval_days and cls.ppm_interval_days is None:
            fill["ppm_interval_days"] = row.ppm_interval_days
        if fill:
            update_record(self.session, ASSET_CLASSES, cls.id, fill, actor=self.actor, now=self.now)
        return cls.id

    def _create_class(self, row: RegisterRow, key: tuple[str, str]) -> int:
        parts = (row.category or row.description, row.make, row.model)
        base = " ".join(p for p in parts if p)[:200].strip()
        name, n = base, 2
        while name.casefold() in self.class_names:
            name, n = f"{base[:190]} ({n})", n + 1
        values: dict[str, Any] = {
            "name": name,
            "category": row.category,
            "make": row.make,
            "model": row.model,
            "ppm_interval_days": row.ppm_interval_days,
        }
        if row.criticality is not None:
            values["criticality"] = row.criticality
        record = create_record(self.session, ASSET_CLASSES, values, actor=self.actor, now=self.now)
        cls = self.session.get_one(AssetClassRow, record.id)
        self.classes[cls.id] = cls
        self.by_make_model[key] = cls
        self.class_names.add(name.casefold())
        return cls.id


def _make_model(make: str, model: str) -> tuple[str, str]:
    return make.strip().casefold(), model.strip().casefold()
