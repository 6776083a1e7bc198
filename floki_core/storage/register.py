"""The equipment register's resources: places, receivers, classes, assets, identifiers."""

from __future__ import annotations

import zoneinfo
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from floki_core import domain
from floki_core.errors import Invalid
from floki_core.schemas import gs1_check_digit_ok, identifier_problem, normalise_identifier
from floki_core.storage.models import (
    AssetClassRow,
    AssetRow,
    BuildingRow,
    FloorRow,
    IdentifierRow,
    ReceiverRow,
    SiteRow,
    ZoneRow,
)
from floki_core.storage.models_loans import LoanRow
from floki_core.storage.models_ppm import WorkOrderRow
from floki_core.storage.resources import Resource


def _validate_zone(session: Session, values: dict[str, Any], row: ZoneRow | None) -> None:
    gln = values.get("gln")
    if gln and not gs1_check_digit_ok(gln):
        raise Invalid(f"gln: {gln} has a wrong GS1 check digit")
    site_id = values.get("site_id", row.site_id if row else None)
    floor_id = values.get("floor_id", row.floor_id if row else None)
    if floor_id is not None:
        floor_site = session.scalar(
            select(BuildingRow.site_id)
            .join(FloorRow, FloorRow.building_id == BuildingRow.id)
            .where(FloorRow.id == floor_id)
        )
        if floor_site is not None and floor_site != site_id:
            raise Invalid("floor_id: the floor belongs to a building of another site")
    parent_id = values.get("parent_id", row.parent_id if row else None)
    if parent_id is not None:
        parent = session.get(ZoneRow, parent_id)
        if parent is None:
            raise Invalid(f"parent_id: zone {parent_id} does not exist")
        if parent.site_id != site_id:
            raise Invalid("parent_id: the parent zone belongs to another site")
        # Walk up from the new parent: meeting ourselves would make a loop.
        seen: set[int] = set()
        node: ZoneRow | None = parent
        while node is not None and node.id not in seen:
            if row is not None and node.id == row.id:
                raise Invalid("parent_id: a zone cannot sit inside itself or its own children")
            seen.add(node.id)
            node = session.get(ZoneRow, node.parent_id) if node.parent_id else None


def _validate_asset(session: Session, values: dict[str, Any], row: AssetRow | None) -> None:
    last = values.get("last_ppm", row.last_ppm if row else None)
    due = values.get("next_ppm_due", row.next_ppm_due if row else None)
    if last and due and due < last:
        raise Invalid("next_ppm_due: earlier than last_ppm")


def _normaliser(field: str, *, checked: bool = False) -> Any:
    """Spell ``field`` as its technology's kind does (the technology given, or the stored
    one on update). ``checked``: a value that is not of its kind is refused, naming the
    form expected (tags; a receiver's identifier may be a name, e.g. an ESPresense room)."""

    def normalise(values: dict[str, Any], row: Any) -> dict[str, Any]:
        technology = values.get("technology", row.technology if row is not None else None)
        if field in values and technology is not None:
            value = values[field]
            problem = identifier_problem(technology, value) if checked else None
            if problem is not None:
                raise Invalid(f"{field}: {problem}")
            spelled = normalise_identifier(technology, value)
            if not spelled:
                raise Invalid(f"{field}: only spaces")
            values = {**values, field: spelled}
        return values

    return normalise


def _validate_site(session: Session, values: dict[str, Any], row: SiteRow | None) -> None:
    zone = values.get("timezone")
    if zone is not None:
        try:
            zoneinfo.ZoneInfo(zone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise Invalid(
                f"timezone: {zone!r} is not a known time zone (e.g. Europe/London)"
            ) from None


class _FloorRecord(Resource):
    def to_record(self, row: Any) -> Any:
        return domain.Floor(
            id=row.id,
            building_id=row.building_id,
            name=row.name,
            level=row.level,
            metres_per_pixel=row.metres_per_pixel,
            plan_width_px=row.plan_width_px,
            plan_height_px=row.plan_height_px,
            has_plan=row.plan_file is not None,
        )


SITES = Resource(
    "sites",
    "site",
    SiteRow,
    domain.Site,
    unique=(("name",),),
    dependents=((BuildingRow, "site_id", "buildings"), (ZoneRow, "site_id", "zones")),
    validate=_validate_site,
)
BUILDINGS = Resource(
    "buildings",
    "building",
    BuildingRow,
    domain.Building,
    references={"site_id": (SiteRow, "site")},
    unique=(("site_id", "name"),),
    dependents=((FloorRow, "building_id", "floors"),),
    filters=("site_id",),
)
FLOORS = _FloorRecord(
    "floors",
    "floor",
    FloorRow,
    domain.Floor,
    references={"building_id": (BuildingRow, "building")},
    unique=(("building_id", "name"),),
    dependents=((ZoneRow, "floor_id", "zones"),),
    filters=("building_id",),
)
ZONES = Resource(
    "zones",
    "zone",
    ZoneRow,
    domain.Zone,
    references={"site_id": (SiteRow, "site"), "floor_id": (FloorRow, "floor")},
    unique=(("site_id", "name"), ("gln",)),
    dependents=(
        (ZoneRow, "parent_id", "child zones"),
        (ReceiverRow, "zone_id", "receivers"),
        (AssetRow, "home_zone_id", "assets (as home zone)"),
    ),
    validate=_validate_zone,
    filters=("site_id", "floor_id", "parent_id", "type"),
)
RECEIVERS = Resource(
    "receivers",
    "receiver",
    ReceiverRow,
    domain.Receiver,
    references={"zone_id": (ZoneRow, "zone")},
    unique=(("name",), ("technology", "identifier")),
    normalise=_normaliser("identifier"),
    filters=("zone_id", "technology"),
)
ASSET_CLASSES = Resource(
    "asset-classes",
    "asset class",
    AssetClassRow,
    domain.AssetClass,
    unique=(("name",),),
    dependents=((AssetRow, "class_id", "assets"),),
    filters=("category",),
)
ASSETS = Resource(
    "assets",
    "asset",
    AssetRow,
    domain.Asset,
    references={"class_id": (AssetClassRow, "asset class"), "home_zone_id": (ZoneRow, "zone")},
    unique=(("asset_number",), ("giai",)),
    dependents=(
        (IdentifierRow, "asset_id", "identifiers"),
        (LoanRow, "asset_id", "loans"),
        (WorkOrderRow, "asset_id", "work orders"),
    ),
    validate=_validate_asset,
    timestamps=True,
    filters=("class_id", "home_zone_id", "state", "department"),
)
IDENTIFIERS = Resource(
    "identifiers",
    "identifier",
    IdentifierRow,
    domain.Identifier,
    references={"asset_id": (AssetRow, "asset")},
    unique=(("technology", "value"),),
    normalise=_normaliser("value", checked=True),
    filters=("asset_id", "technology"),
)

ALL = (SITES, BUILDINGS, FLOORS, ZONES, RECEIVERS, ASSET_CLASSES, ASSETS, IDENTIFIERS)
