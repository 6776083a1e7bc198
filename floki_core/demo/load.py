"""Filling a new appliance's register with the demo hospital, audited like any other write."""

from __future__ import annotations

import datetime as dt
import random
import uuid
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import msgspec
from sqlalchemy import select
from sqlalchemy.orm import Session

from floki_core import schemas
from floki_core.api.routes.floors import plans_dir
from floki_core.demo.community import COMMUNITY_DEPARTMENT, COMMUNITY_ITEMS, CommunityItem
from floki_core.demo.equipment import CLASSES, plan_assets
from floki_core.demo.plans import draw_floor_plan, save_floor_plan
from floki_core.demo.rules import load_demo_rules
from floki_core.demo.site import (
    COMMUNITY_AREAS,
    COMMUNITY_HUB,
    DEMO_SITE,
    METRES_PER_PIXEL,
    PLAN_HEIGHT,
    PLAN_WIDTH,
    RFID_ANTENNAS,
    RFID_ONLY_ZONES,
    SITE_CODE,
    SITE_NAME,
    FloorLayout,
    SiteLayout,
    gln,
    plan_to_lon_lat,
)
from floki_core.demo.wifi import wifi_mac, wifi_pumps
from floki_core.domain import SYSTEM, AssetState, to_plain
from floki_core.errors import Conflict
from floki_core.storage import register as reg
from floki_core.storage.audit import write_audit
from floki_core.storage.models import SiteRow
from floki_core.storage.models_loans import LoanRow
from floki_core.storage.resources import Resource, create_record
from floki_core.workflow import loan_records

RECEIVER_NOTES = {
    "ble": "Minew G1 BLE gateway, ceiling mounted",
    "wifi": "Cisco Catalyst 9120 access point",
    "rfid": "Impinj R700 UHF reader, antenna port {port}",
}


@dataclass(frozen=True)
class DemoSummary:
    sites: int = 0
    buildings: int = 0
    floors: int = 0
    floor_plans: int = 0
    zones: int = 0
    receivers: int = 0
    asset_classes: int = 0
    assets: int = 0
    identifiers: int = 0
    alert_rules: int = 0
    loans: int = 0

    def __str__(self) -> str:
        parts = []
        for f in fields(self):
            count, label = getattr(self, f.name), f.name.replace("_", " ")
            if count == 1:
                label = label.removesuffix("es") if label.endswith("sses") else label[:-1]
            parts.append(f"{count} {label}")
        return ", ".join(parts)


class _Loader:
    def __init__(self, session: Session, now: dt.datetime) -> None:
        self.session = session
        self.now = now
        self.counts: dict[str, int] = {}
        self.zone_ids: dict[str, int] = {}  # names are unique within the one demo site
        self.class_ids: dict[str, int] = {}

    def create(
        self, resource: Resource, schema: type[schemas.Input], values: dict[str, Any]
    ) -> Any:
        # The same field rules as the API and import-site, so the demo cannot hold a record
        # that a user could not have typed in.
        checked = msgspec.convert(values, schema).given()
        record = create_record(self.session, resource, checked, actor=SYSTEM, now=self.now)
        key = resource.name.replace("-", "_")
        self.counts[key] = self.counts.get(key, 0) + 1
        return record


def load_demo(session: Session, data_dir: Path, *, now: dt.datetime, seed: int = 7) -> DemoSummary:
    """Load St Floki General Hospital into an empty register, in the caller's transaction.

    The same seed gives the same register. Floor plans are written under the data
    directory first and removed again if anything here fails.
    """
    if session.scalar(select(SiteRow.id).limit(1)) is not None:
        raise Conflict("the register is not empty; the demo loads only into a new appliance")
    rng = random.Random(seed)
    written: list[Path] = []
    try:
        loader = _Loader(session, now)
        _load_places(loader, DEMO_SITE, data_dir, rng, written)
        _load_equipment(loader, DEMO_SITE, rng, now.date())
        _load_community(loader)
        loader.counts["alert_rules"] = load_demo_rules(session, now)
    except BaseException:
        for path in written:
            path.unlink(missing_ok=True)
        raise
    return DemoSummary(floor_plans=len(written), **loader.counts)


def holds_demo_site(session: Session) -> bool:
    """Whether the register holds the demo hospital (so simulated traffic is harmless)."""
    return session.scalar(select(SiteRow.id).where(SiteRow.code == SITE_CODE).limit(1)) is not None


def _load_places(
    loader: _Loader, layout: SiteLayout, data_dir: Path, rng: random.Random, written: list[Path]
) -> None:
    site = loader.create(reg.SITES, schemas.SiteCreate, {"name": SITE_NAME, "code": SITE_CODE})
    buildings = {
        name: loader.create(
            reg.BUILDINGS, schemas.BuildingCreate, {"site_id": site.id, "name": name}
        ).id
        for name in layout.buildings
    }
    directory = plans_dir(data_dir)
    for floor in layout.floors:
        # Named like uploaded plans, but from the seeded RNG so a reload is reproducible.
        plan_file = f"{uuid.UUID(int=rng.getrandbits(128), version=4).hex}.png"
        written.append(save_floor_plan(draw_floor_plan(floor), directory, plan_file))
        floor_id = _create_floor(loader, floor, buildings[floor.building], plan_file)
        _load_zones(loader, floor, site.id, floor_id)
    # The depot and the home areas the community service lends to: drawn on the map only.
    for area in COMMUNITY_AREAS:
        values = {
            "site_id": site.id,
            "name": area.name,
            "type": area.type,
            "geo_polygon": area.geo_polygon,
        }
        loader.zone_ids[area.name] = loader.create(reg.ZONES, schemas.ZoneCreate, values).id
    _load_rfid_antennas(loader)


def _load_rfid_antennas(loader: _Loader) -> None:
    """The Equipment Library's and Main Stores' reader antennas, as rfid receivers
    ``<reader>:<port>``: what floki-rfid's read zones and portals are drawn with."""
    for antenna in RFID_ANTENNAS:
        x, y = antenna.at
        receiver = {
            "name": f"RFID {antenna.reader} reader {antenna.what}",
            "technology": "rfid",
            "identifier": antenna.identifier,
            "zone_id": loader.zone_ids[antenna.zone],
            "x": x,
            "y": y,
            "notes": RECEIVER_NOTES["rfid"].format(port=antenna.port),
        }
        loader.create(reg.RECEIVERS, schemas.ReceiverCreate, receiver)


def _create_floor(loader: _Loader, floor: FloorLayout, building_id: int, plan_file: str) -> int:
    values = {
        "building_id": building_id,
        "name": floor.name,
        "level": floor.level,
        "metres_per_pixel": METRES_PER_PIXEL,
    }
    checked = msgspec.convert(values, schemas.FloorCreate).given()
    plan = {"plan_file": plan_file, "plan_width_px": PLAN_WIDTH, "plan_height_px": PLAN_HEIGHT}
    record = create_record(
        loader.session, reg.FLOORS, {**checked, **plan}, actor=SYSTEM, now=loader.now
    )
    loader.counts["floors"] = loader.counts.get("floors", 0) + 1
    return int(record.id)


def _load_zones(loader: _Loader, floor: FloorLayout, site_id: int, floor_id: int) -> None:
    ids = loader.zone_ids
    # Parents come before their rooms in each floor's layout, so a parent id is always known.
    for zone in floor.zones:
        values: dict[str, Any] = {
            "site_id": site_id,
            "floor_id": floor_id,
            "name": zone.name,
            "type": zone.type,
            "parent_id": ids[zone.parent] if zone.parent else None,
            "polygon": zone.polygon,
            "gln": gln(zone.gln_location) if zone.gln_location is not None else None,
        }
        if zone.geo:
            values["geo_polygon"] = [plan_to_lon_lat(x, y) for x, y in zone.polygon]
        record = loader.create(reg.ZONES, schemas.ZoneCreate, values)
        ids[zone.name] = record.id
        for technology, points in (("ble", zone.ble_at), ("wifi", zone.wifi_at)):
            for n, (x, y) in enumerate(points, start=1):
                suffix = f" {n}" if len(points) > 1 else ""
                label = "BLE gateway" if technology == "ble" else "Wi-Fi AP"
                receiver = {
                    "name": f"{label} {zone.name}{suffix}",
                    "technology": technology,
                    "identifier": _mac(technology, loader.counts.get("receivers", 0) + 1),
                    "zone_id": record.id,
                    "x": round(x, 1),
                    "y": round(y, 1),
                    "notes": RECEIVER_NOTES[technology],
                }
                loader.create(reg.RECEIVERS, schemas.ReceiverCreate, receiver)


def _mac(technology: str, n: int) -> str:
    # Minew's and Cisco's OUIs, so the addresses look like the kit named in the notes.
    oui = "AC:23:3F" if technology == "ble" else "00:00:0C"
    return f"{oui}:A0:{n >> 8:02X}:{n & 0xFF:02X}"


def _load_equipment(
    loader: _Loader, layout: SiteLayout, rng: random.Random, today: dt.date
) -> None:
    class_ids = loader.class_ids
    class_ids |= {
        spec.name: loader.create(
            reg.ASSET_CLASSES,
            schemas.AssetClassCreate,
            {
                "name": spec.name,
                "category": spec.category,
                "make": spec.make,
                "model": spec.model,
                "ppm_interval_days": spec.ppm_interval_days,
                "criticality": spec.criticality,
            },
        ).id
        for spec in CLASSES
    }
    plans = plan_assets(rng, layout.departments(), today)
    parents = {zone.name: zone.parent for _, zone in layout.zones()}
    on_wifi = wifi_pumps(((p.asset_number, p.class_name, p.home_zone) for p in plans), parents)
    for plan in plans:
        asset = loader.create(
            reg.ASSETS,
            schemas.AssetCreate,
            {
                "asset_number": plan.asset_number,
                "description": plan.description,
                "serial": plan.serial,
                "giai": plan.giai,
                "class_id": class_ids[plan.class_name],
                "home_zone_id": loader.zone_ids[plan.home_zone],
                "department": plan.department,
                "state": plan.state,
                "last_ppm": plan.last_ppm,
                "next_ppm_due": plan.next_ppm_due,
            },
        )
        tags = [("ibeacon", plan.ibeacon), ("qr", plan.asset_number)]
        if plan.home_zone in RFID_ONLY_ZONES:
            tags = tags[1:]  # the RFID label (its GIAI) and the QR code only
        elif plan.asset_number in on_wifi:
            # On the Wi-Fi by its own MAC, so no BLE tag (one technology per item).
            tags = [("wifi", wifi_mac(plan.asset_number)), tags[1]]
        for technology, value in tags:
            loader.create(
                reg.IDENTIFIERS,
                schemas.IdentifierCreate,
                {"asset_id": asset.id, "technology": technology, "value": value},
            )


def _load_community(loader: _Loader) -> None:
    """The community service's tracked kit, and the loans it is out on."""
    today = loader.now.date()
    by_name = {spec.name: spec for spec in CLASSES}
    for item in COMMUNITY_ITEMS:
        spec = by_name[item.class_name]
        asset = loader.create(
            reg.ASSETS,
            schemas.AssetCreate,
            {
                "asset_number": item.asset_number,
                "description": f"{spec.category}, {spec.make} {spec.model}",
                "serial": item.serial,
                "class_id": loader.class_ids[item.class_name],
                "home_zone_id": loader.zone_ids[COMMUNITY_HUB],
                "department": COMMUNITY_DEPARTMENT,
                "state": AssetState.ON_LOAN if item.loan else AssetState.AVAILABLE,
                "last_ppm": today - dt.timedelta(days=60),
                "next_ppm_due": today + dt.timedelta(days=spec.ppm_interval_days - 60),
            },
        )
        for technology, value in (("gps", item.device), ("qr", item.asset_number)):
            loader.create(
                reg.IDENTIFIERS,
                schemas.IdentifierCreate,
                {"asset_id": asset.id, "technology": technology, "value": value},
            )
        if item.loan is not None:
            _create_loan(loader, item, asset.id)


def _create_loan(loader: _Loader, item: CommunityItem, asset_id: int) -> None:
    # Written as it stood when the demo begins (lent days ago, one already past its due
    # date), which the API's check-out, dated now, could not do.
    loan = item.loan
    assert loan is not None
    checked = msgspec.convert(
        {
            "asset_id": asset_id,
            "reference": loan.reference,
            "destination_type": loan.destination_type,
            "due_back": loan.due_back(loader.now.date()).isoformat(),
        },
        loan_records.LoanCreate,
    )
    row = LoanRow(
        asset_id=asset_id,
        reference=checked.reference,
        destination_type=checked.destination_type,
        destination_zone_id=None,
        loaned_at=loan.loaned_at(loader.now),
        due_back=checked.due_back,
        created_by=SYSTEM.label,
        notes="",
    )
    loader.session.add(row)
    loader.session.flush()
    record = loan_records.get_loan(loader.session, row.id, loader.now.date())
    write_audit(
        loader.session,
        at=loader.now,
        actor=SYSTEM.label,
        action="create",
        entity="loans",
        entity_id=row.id,
        after=to_plain(record),
        detail=f"asset {item.asset_number} loaned to {loan.destination_type} ({loan.reference})",
    )
    loader.counts["loans"] = loader.counts.get("loans", 0) + 1
