"""The demo hospital: complete, consistent with its own plans, reproducible, and refused twice."""

from __future__ import annotations

import datetime as dt
import re
import shutil
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from floki_core.demo import DemoSummary, load_demo
from floki_core.demo.community import COMMUNITY_ITEMS
from floki_core.domain import AssetState, ZoneType
from floki_core.errors import Conflict
from floki_core.schemas import gs1_check_digit_ok
from floki_core.storage.database import Database, default_url
from floki_core.storage.models import (
    AssetClassRow,
    AssetRow,
    AuditRow,
    BuildingRow,
    FloorRow,
    IdentifierRow,
    ReceiverRow,
    SiteRow,
    ZoneRow,
)
from tests.fixtures.demo import DEMO_START, DemoRegister, copy_demo_register

NOW = DEMO_START  # when the shared register was loaded
TODAY = NOW.date()
CLASSES = {
    "BD Alaris GP Plus",
    "BD Alaris CC",
    "CME McKinley T34",
    "Verathon BladderScan Prime Plus",
    "Arjo Maxi Move",
    "Days Escape Lite",
    "GE MAC 2000",
    "Philips HeartStart MRx",
    "ZOLL R Series",
    "Masimo Rad-97",
    # The community equipment service's kit, tracked by GPS.
    "Invacare Birdie Evo",
    "Sidhil Bradshaw",
    "Arjo Nimbus 4",
    "Invacare Perfecto2 V",
}
COMMUNITY_NUMBERS = {item.asset_number for item in COMMUNITY_ITEMS}
TABLES = (
    SiteRow,
    BuildingRow,
    FloorRow,
    ZoneRow,
    ReceiverRow,
    AssetClassRow,
    AssetRow,
    IdentifierRow,
    AuditRow,
)
IBEACON = re.compile(r"^[0-9A-F]{8}(-[0-9A-F]{4}){3}-[0-9A-F]{12}:\d{1,5}:\d{1,5}$")
MAC = re.compile(r"^[0-9A-F]{2}(:[0-9A-F]{2}){5}$")
RFID_ANTENNA = re.compile(r"^[a-z0-9][a-z0-9_-]*:\d{1,2}$")
ASSET_NUMBER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,63}$")


def fresh_database(path: Path, template: Path) -> Database:
    """An empty register in ``path``: a copy of ``template``, the test kit's migrated
    database (``floki_migrated_database``)."""
    shutil.copyfile(template, path / "t.db")
    db = Database(f"sqlite:///{path}/t.db")
    db.migrate()  # nothing to do: the copy is at the newest revision already
    return db


@dataclass
class Loaded:
    db: Database
    data_dir: Path
    summary: DemoSummary


@pytest.fixture
def db(tmp_path: Path, floki_migrated_database: Path) -> Iterator[Database]:
    database = fresh_database(tmp_path, floki_migrated_database)
    yield database
    database.close()


@pytest.fixture(scope="module")
def loaded(
    tmp_path_factory: pytest.TempPathFactory, demo_register: DemoRegister
) -> Iterator[Loaded]:
    """One load shared by the read-only checks: a copy of the session's demo register
    (tests/fixtures/demo.py), loaded with the default seed at ``NOW``."""
    data_dir = copy_demo_register(demo_register, tmp_path_factory.mktemp("demo") / "data")
    database = Database(default_url(data_dir))
    yield Loaded(database, data_dir, demo_register.summary)
    database.close()


@pytest.fixture
def session(loaded: Loaded) -> Iterator[Session]:
    with loaded.db.sessions() as s:
        yield s


def rows(session: Session, table: Any) -> list[Any]:
    return list(session.scalars(select(table).order_by(table.id)))


def counts(session: Session) -> dict[str, int]:
    return {
        t.__tablename__: session.scalar(select(func.count()).select_from(t)) or 0 for t in TABLES
    }


def inside(point: tuple[float, float], polygon: list[list[float]]) -> bool:
    """Ray casting; the demo keeps receivers off walls, so edges need no special care."""
    x, y = point
    hit = False
    for (x1, y1), (x2, y2) in zip(polygon, polygon[1:] + polygon[:1], strict=True):
        if (y1 > y) != (y2 > y) and x < x1 + (y - y1) * (x2 - x1) / (y2 - y1):
            hit = not hit
    return hit


def area(polygon: list[list[float]]) -> float:
    pairs = zip(polygon, polygon[1:] + polygon[:1], strict=True)
    return abs(sum(x1 * y2 - x2 * y1 for (x1, y1), (x2, y2) in pairs)) / 2


def test_counts_match_the_register(loaded: Loaded, session: Session) -> None:
    summary, stored = loaded.summary, counts(session)
    assert (summary.sites, summary.buildings, summary.floors, summary.floor_plans) == (1, 2, 3, 3)
    assert 20 <= summary.zones <= 32  # with the ground floor's corridor (RFID portals)
    assert 280 <= summary.assets - len(COMMUNITY_ITEMS) <= 320
    assert summary.asset_classes == len(CLASSES)
    # An iBeacon (or GPS tracker) and a QR code each, but the Equipment Library's and Main
    # Stores' kit: an RFID label (their GIAI) and a QR code.
    rfid_kept = session.scalar(
        select(func.count())
        .select_from(AssetRow)
        .join(ZoneRow, AssetRow.home_zone_id == ZoneRow.id)
        .where(ZoneRow.name.in_(("Equipment Library", "Main Stores")))
    )
    assert rfid_kept and summary.identifiers == 2 * summary.assets - rfid_kept
    assert stored["sites"] == summary.sites
    assert stored["buildings"] == summary.buildings
    assert stored["floors"] == summary.floors
    assert stored["zones"] == summary.zones
    assert stored["receivers"] == summary.receivers
    assert stored["asset_classes"] == summary.asset_classes
    assert stored["assets"] == summary.assets
    assert stored["identifiers"] == summary.identifiers
    assert f"{300 + len(COMMUNITY_ITEMS)} assets" in str(summary) and "1 site," in str(summary)
    assert summary.loans == sum(item.loan is not None for item in COMMUNITY_ITEMS)


def test_every_write_is_audited_as_the_system(session: Session, loaded: Loaded) -> None:
    audit = rows(session, AuditRow)
    s = loaded.summary
    records = (
        (s.sites + s.buildings + s.floors + s.zones + s.receivers + s.asset_classes + s.assets)
        + s.identifiers
        + s.alert_rules
        + s.loans
    )
    assert len(audit) == records
    assert {(a.actor, a.action) for a in audit} == {("system", "create")}
    assert {a.at for a in audit} == {NOW}


def test_site_and_buildings(session: Session) -> None:
    (site,) = rows(session, SiteRow)
    assert site.name == "St Floki General Hospital"
    buildings = {b.name for b in rows(session, BuildingRow)}
    assert buildings == {"Main Block", "Outpatients & Community"}
    floors = {(f.building_id, f.name) for f in rows(session, FloorRow)}
    by_building = Counter(b for b, _ in floors)
    assert sorted(by_building.values()) == [1, 2]


def test_every_listed_class_is_present_with_assets(session: Session) -> None:
    classes = {c.name: c for c in rows(session, AssetClassRow)}
    assert set(classes) == CLASSES
    for c in classes.values():
        assert c.make and c.model and c.category
        assert c.ppm_interval_days and c.ppm_interval_days > 0
        assert c.criticality in {"high", "medium", "low"}
    used = Counter(a.class_id for a in rows(session, AssetRow))
    assert all(used[c.id] > 0 for c in classes.values())
    assert classes["Arjo Maxi Move"].ppm_interval_days == 182


def test_every_asset_has_a_tag_and_a_qr_identifier(session: Session) -> None:
    assets = {a.id: a for a in rows(session, AssetRow)}
    rfid_zones = set(
        session.scalars(
            select(ZoneRow.id).where(ZoneRow.name.in_(("Equipment Library", "Main Stores")))
        )
    )
    by_asset: dict[int, dict[str, str]] = {a: {} for a in assets}
    for ident in rows(session, IdentifierRow):
        by_asset[ident.asset_id][ident.technology] = ident.value
    for asset_id, idents in by_asset.items():
        asset = assets[asset_id]
        # The community service's kit carries a GPS tracker instead of a beacon tag, the
        # Equipment Library's and Main Stores' kit an RFID label (its GIAI) instead
        # (tests/core/test_demo_rfid.py).
        if asset.home_zone_id in rfid_zones:
            assert set(idents) == {"qr"} and asset.giai, asset.asset_number
            continue
        tracker = "gps" if asset.asset_number in COMMUNITY_NUMBERS else "ibeacon"
        if "wifi" in idents:  # Ward 5's Wi-Fi pumps (tests/core/test_demo_wifi.py)
            tracker = "wifi"
        assert set(idents) == {tracker, "qr"}, asset.asset_number
        if tracker == "ibeacon":
            assert IBEACON.match(idents["ibeacon"]), idents["ibeacon"]
        assert idents["qr"] == asset.asset_number


def test_assets_look_like_a_real_register(session: Session) -> None:
    assets = rows(session, AssetRow)
    zones = {z.id: z for z in rows(session, ZoneRow)}
    numbers = [a.asset_number for a in assets]
    assert len(set(numbers)) == len(numbers)
    assert all(ASSET_NUMBER.match(n) and n.startswith("E") for n in numbers)
    assert len({a.serial for a in assets}) == len(assets)
    assert all(a.description and a.department and a.home_zone_id for a in assets)
    # The kit kept where RFID reads (tests/core/test_demo_rfid.py) all carries a GIAI;
    # elsewhere about one asset in twelve does.
    rfid_zones = {z.id for z in zones.values() if z.name in {"Equipment Library", "Main Stores"}}
    elsewhere = [a for a in assets if a.home_zone_id not in rfid_zones]
    giais = [a.giai for a in elsewhere if a.giai]
    assert 0 < len(giais) < len(elsewhere) // 6
    states = Counter(a.state for a in assets)
    assert states[AssetState.AVAILABLE] + states[AssetState.IN_USE] > 0.75 * len(assets)
    for rare in ("dirty", "faulty", "in_maintenance", "on_loan"):
        assert 0 < states[rare] < 0.15 * len(assets), rare
    for asset in assets:
        if asset.state == AssetState.ON_LOAN:
            assert zones[asset.home_zone_id].type == ZoneType.COMMUNITY_HUB


def test_ppm_dates_include_overdue_and_due_soon(session: Session) -> None:
    assets = rows(session, AssetRow)
    assert all(a.last_ppm and a.next_ppm_due and a.last_ppm <= a.next_ppm_due for a in assets)
    soon = TODAY + dt.timedelta(days=30)
    overdue = [a for a in assets if a.next_ppm_due < TODAY]
    due_soon = [a for a in assets if TODAY <= a.next_ppm_due <= soon]
    in_date = [a for a in assets if a.next_ppm_due > soon]
    assert overdue and due_soon
    assert len(in_date) > len(assets) / 2
    assert all(a.last_ppm <= TODAY for a in assets)


def test_zones_form_a_hierarchy_inside_their_floor_plans(session: Session) -> None:
    floors = {f.id: f for f in rows(session, FloorRow)}
    zones = {z.id: z for z in rows(session, ZoneRow)}
    assert len({z.name for z in zones.values()}) == len(zones)
    for zone in zones.values():
        if zone.floor_id is None:  # the community service's areas: drawn on the map only
            assert zone.geo_polygon and len(zone.geo_polygon) >= 3, zone.name
            continue
        floor = floors[zone.floor_id]
        assert zone.polygon and len(zone.polygon) >= 3
        for x, y in zone.polygon:
            assert 0 <= x <= floor.plan_width_px and 0 <= y <= floor.plan_height_px, zone.name
        if zone.parent_id is not None:
            parent = zones[zone.parent_id]
            assert parent.floor_id == zone.floor_id
            assert parent.type in {ZoneType.WARD, ZoneType.DEPARTMENT, ZoneType.EMERGENCY}
            assert all(inside((x, y), parent.polygon) for x, y in zone.polygon), zone.name
    types = Counter(z.type for z in zones.values())
    for kind in ("ward", "bay", "theatre", "emergency", "workshop", "equipment_library"):
        assert types[kind] > 0, kind
    assert types["dirty_utility"] >= 3 and types["store"] >= 1
    for ward in (z for z in zones.values() if z.type == ZoneType.WARD):
        children = [z for z in zones.values() if z.parent_id == ward.id]
        assert 3 <= sum(c.type == ZoneType.BAY for c in children) <= 4
        assert sum(c.type == ZoneType.DIRTY_UTILITY for c in children) == 1


def test_zone_glns_have_correct_check_digits(session: Session) -> None:
    glns = [z.gln for z in rows(session, ZoneRow) if z.gln]
    assert len(glns) >= 3
    assert all(len(g) == 13 and g.isdigit() and gs1_check_digit_ok(g) for g in glns)


def test_receivers_sit_inside_their_zones(session: Session) -> None:
    zones = {z.id: z for z in rows(session, ZoneRow)}
    receivers = rows(session, ReceiverRow)
    for receiver in receivers:
        assert receiver.x is not None and receiver.y is not None
        assert inside((receiver.x, receiver.y), zones[receiver.zone_id].polygon), receiver.name
        if receiver.technology == "rfid":  # a reader's antenna: "<reader>:<port>"
            assert RFID_ANTENNA.match(receiver.identifier), receiver.identifier
        else:
            assert MAC.match(receiver.identifier), receiver.identifier
    technologies = Counter(r.technology for r in receivers)
    assert set(technologies) == {"ble", "wifi", "rfid"}
    assert 2 <= technologies["wifi"] <= 4
    rooms = [z for z in zones.values() if not any(c.parent_id == z.id for c in zones.values())]
    covered = {r.zone_id for r in receivers if r.technology == "ble"}
    assert sum(z.id in covered for z in rooms) > 0.75 * len(rooms)


def test_floor_plans_exist_and_decode_at_the_recorded_size(
    session: Session, loaded: Loaded
) -> None:
    for floor in rows(session, FloorRow):
        assert floor.plan_file and re.fullmatch(r"[0-9a-f]{32}\.png", floor.plan_file)
        assert floor.metres_per_pixel and floor.metres_per_pixel > 0
        path = loaded.data_dir / "plans" / floor.plan_file
        with Image.open(path) as image:
            assert image.format == "PNG"
            assert image.size == (floor.plan_width_px, floor.plan_height_px)
            image.load()
        assert 1200 <= floor.plan_width_px <= 2000 and 800 <= floor.plan_height_px <= 1200


def test_community_hub_has_a_geographic_polygon_in_england(session: Session) -> None:
    (hub,) = session.scalars(select(ZoneRow).where(ZoneRow.type == ZoneType.COMMUNITY_HUB))
    assert hub.name == "Community Equipment Hub"
    assert hub.geo_polygon and len(hub.geo_polygon) >= 3
    for lon, lat in hub.geo_polygon:
        assert -6.0 <= lon <= 2.0 and 49.9 <= lat <= 55.9
    # Not a sliver or a point: between 100 m² and 1 km² (degrees² scaled at this latitude).
    metres2 = area(hub.geo_polygon) * 111_320**2 * 0.6
    assert 100 < metres2 < 1_000_000
    assert hub.gln and gs1_check_digit_ok(hub.gln)


def test_loading_twice_is_refused_and_writes_nothing(
    demo_register: DemoRegister, tmp_path: Path
) -> None:
    # A register the demo was loaded into (a copy of the session's load).
    copy_demo_register(demo_register, tmp_path)
    db = Database(default_url(tmp_path))
    plans = sorted((tmp_path / "plans").iterdir())
    with db.sessions() as session:
        before = counts(session)
    with pytest.raises(Conflict, match="not empty"), db.transaction() as session:
        load_demo(session, tmp_path, now=NOW, seed=8)
    with db.sessions() as session:
        assert counts(session) == before
    db.close()
    assert before["assets"] > 0
    assert sorted((tmp_path / "plans").iterdir()) == plans


def test_a_failed_load_leaves_no_plan_files(
    db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_: object) -> list[object]:
        raise RuntimeError("disk full")

    monkeypatch.setattr("floki_core.demo.load.plan_assets", broken)
    with pytest.raises(RuntimeError), db.transaction() as session:
        load_demo(session, tmp_path, now=NOW)
    assert list((tmp_path / "plans").iterdir()) == []
    with db.sessions() as session:
        assert all(n == 0 for n in counts(session).values())


def _assets_and_identifiers(db: Database) -> tuple[list[dict[str, Any]], list[tuple[Any, ...]]]:
    with db.sessions() as session:
        assets = [
            {c.name: getattr(a, c.name) for c in AssetRow.__table__.columns}
            for a in rows(session, AssetRow)
        ]
        idents = [(i.asset_id, i.technology, i.value) for i in rows(session, IdentifierRow)]
    return assets, idents


def test_the_same_seed_gives_the_same_assets(
    loaded: Loaded, tmp_path: Path, floki_migrated_database: Path
) -> None:
    # The shared register was loaded with the default seed, 7; two more loads.
    loads = [_assets_and_identifiers(loaded.db)]
    for name, seed in (("b", 7), ("c", 8)):
        path = tmp_path / name
        path.mkdir()
        database = fresh_database(path, floki_migrated_database)
        with database.transaction() as session:
            load_demo(session, path, now=NOW, seed=seed)
        loads.append(_assets_and_identifiers(database))
        database.close()
    assert loads[0] == loads[1]
    assert loads[0][0] != loads[2][0]
