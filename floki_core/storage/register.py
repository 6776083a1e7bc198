"""The equipment register's resources: places, receivers, classes, assets, identifiers."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from floki_core import domain
from floki_core.errors import Invalid
from floki_core.schemas import gs1_check_digit_ok, normalise_identifier
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
from floki_core.storage.resources import Resource


def _validate_zone(session: Session, values: dict[str, Any], row: ZoneRow | None) -> None:
    gln = values.get("gln")
    if gln and not gs1_check_digit_ok(gln):
        raise Invalid(f"gln: {gln} has a wrong GS1 check digit")
    site_id = values.get("site_id", row.site_id if row else None)
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


def _normalise_identifier(values: dict[str, Any]) -> dict[str, Any]:
    if "value" in values and "technology" in values:
        values = {**values, "value": normalise_identifier(values["technology"], values["value"])}
    return values


def _normalise_receiver(values: dict[str, Any]) -> dict[str, Any]:
    if "identifier" in values and "technology" in values:
        ident = normalise_identifier(values["technology"], values["identifier"])
        values = {**values, "identifier": ident}
    return values


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
    normalise=_normalise_receiver,
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
    dependents=((IdentifierRow, "asset_id", "identifiers"),),
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
    normalise=_normalise_identifier,
    filters=("asset_id", "technology"),
)

ALL = (SITES, BUILDINGS, FLOORS, ZONES, RECEIVERS, ASSET_CLASSES, ASSETS, IDENTIFIERS)
