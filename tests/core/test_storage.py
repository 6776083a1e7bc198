"""Storage on SQLite and on a real PostgreSQL server."""

from __future__ import annotations

import datetime as dt

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text

from floki_core.domain import SYSTEM, AuditEntry, Site
from floki_core.errors import Conflict, Invalid, NotFound
from floki_core.storage import resources
from floki_core.storage.assets import search_assets
from floki_core.storage.audit import list_audit
from floki_core.storage.database import Database
from floki_core.storage.models import Base
from floki_core.storage.register import ASSET_CLASSES, ASSETS, IDENTIFIERS, SITES, ZONES

NOW = dt.datetime(2026, 3, 2, 10, 30, tzinfo=dt.UTC)


def create(db: Database, resource, values):  # type: ignore[no-untyped-def]
    with db.transaction() as s:
        return resources.create_record(s, resource, values, actor=SYSTEM, now=NOW)


def test_migrations_match_models(database: Database) -> None:
    assert database.current_revision() == database.head_revision()
    with database.engine.connect() as conn:
        diff = compare_metadata(
            MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata
        )
    assert diff == []
    assert database.integrity_problems() == []


def test_sqlite_runs_in_wal_mode(tmp_path) -> None:  # type: ignore[no-untyped-def]
    db = Database(f"sqlite:///{tmp_path}/wal.db")
    db.migrate()
    with db.engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
    db.close()


def test_records_round_trip_as_plain_objects_with_aware_times(database: Database) -> None:
    site = create(database, SITES, {"name": "General"})
    assert isinstance(site, Site)
    cls = create(database, ASSET_CLASSES, {"name": "Bladder scanner", "make": "Verathon"})
    asset = create(
        database,
        ASSETS,
        {"asset_number": "E1", "class_id": cls.id, "next_ppm_due": dt.date(2026, 4, 1)},
    )
    assert asset.created_at == NOW and asset.created_at.tzinfo is not None
    with database.sessions() as s:
        fetched = resources.get_record(s, ASSETS, asset.id)
    assert fetched == asset
    assert fetched.next_ppm_due == dt.date(2026, 4, 1)


def test_every_write_is_audited_with_before_and_after(database: Database) -> None:
    site = create(database, SITES, {"name": "General"})
    with database.transaction() as s:
        resources.update_record(
            s, SITES, site.id, {"name": "General Hospital"}, actor=SYSTEM, now=NOW
        )
        resources.delete_record(s, SITES, site.id, actor=SYSTEM, now=NOW)
    with database.sessions() as s:
        entries, total = list_audit(s, entity="sites")
    assert total == 3
    delete, update, create_ = entries
    assert isinstance(update, AuditEntry)
    assert (create_.action, update.action, delete.action) == ("create", "update", "delete")
    assert update.before is not None and update.before["name"] == "General"
    assert update.after is not None and update.after["name"] == "General Hospital"
    assert delete.before is not None and delete.after is None


def test_refused_write_leaves_nothing_behind(database: Database) -> None:
    site = create(database, SITES, {"name": "General"})
    with pytest.raises(Invalid, match="parent_id"), database.transaction() as s:
        resources.create_record(
            s, ZONES, {"site_id": site.id, "name": "Ward 1"}, actor=SYSTEM, now=NOW
        )
        resources.create_record(
            s,
            ZONES,
            {"site_id": site.id, "name": "Bay 1", "parent_id": 999},
            actor=SYSTEM,
            now=NOW,
        )
    with database.sessions() as s:
        assert resources.list_records(s, ZONES)[1] == 0
        assert list_audit(s, entity="zones")[1] == 0


def test_uniqueness_and_references_give_clear_errors(database: Database) -> None:
    site = create(database, SITES, {"name": "General"})
    create(database, ASSETS, {"asset_number": "E1"})
    with pytest.raises(Conflict, match="asset_number='E1' already exists"):
        create(database, ASSETS, {"asset_number": "E1"})
    with pytest.raises(Invalid, match="class_id: asset class 42 does not exist"):
        create(database, ASSETS, {"asset_number": "E2", "class_id": 42})
    with pytest.raises(NotFound), database.sessions() as s:
        resources.get_record(s, ASSETS, 999)
    zone = create(database, ZONES, {"site_id": site.id, "name": "Ward 1"})
    create(database, ZONES, {"site_id": site.id, "name": "Bay 1", "parent_id": zone.id})
    with (
        pytest.raises(Conflict, match="1 child zones still refer to it"),
        database.transaction() as s,
    ):
        resources.delete_record(s, ZONES, zone.id, actor=SYSTEM, now=NOW)


def test_zone_cannot_become_its_own_ancestor(database: Database) -> None:
    site = create(database, SITES, {"name": "General"})
    ward = create(database, ZONES, {"site_id": site.id, "name": "Ward 1"})
    bay = create(database, ZONES, {"site_id": site.id, "name": "Bay 1", "parent_id": ward.id})
    with pytest.raises(Invalid, match="inside itself"), database.transaction() as s:
        resources.update_record(s, ZONES, ward.id, {"parent_id": bay.id}, actor=SYSTEM, now=NOW)


def test_identifiers_are_unique_per_technology_after_normalising(database: Database) -> None:
    asset = create(database, ASSETS, {"asset_number": "E1"})
    other = create(database, ASSETS, {"asset_number": "E2"})
    ident = create(
        database,
        IDENTIFIERS,
        {"asset_id": asset.id, "technology": "ble_mac", "value": "aa-bb-cc-dd-ee-ff"},
    )
    assert ident.value == "AA:BB:CC:DD:EE:FF"
    with pytest.raises(Conflict):
        create(
            database,
            IDENTIFIERS,
            {"asset_id": other.id, "technology": "ble_mac", "value": "AABBCCDDEEFF"},
        )
    # The same value under another technology is a different tag.
    create(
        database,
        IDENTIFIERS,
        {"asset_id": other.id, "technology": "wifi_mac", "value": "AABBCCDDEEFF"},
    )


def test_search_matches_every_word_across_class_and_asset(database: Database) -> None:
    scanner = create(
        database,
        ASSET_CLASSES,
        {"name": "Bladder scanner", "make": "Verathon", "model": "BladderScan Prime"},
    )
    pump = create(database, ASSET_CLASSES, {"name": "Volumetric infusion pump", "make": "BD"})
    create(database, ASSETS, {"asset_number": "E1", "class_id": scanner.id})
    create(
        database,
        ASSETS,
        {"asset_number": "E2", "class_id": pump.id, "description": "Pump for ward 7"},
    )
    create(database, ASSETS, {"asset_number": "E3", "description": "bladder scanner (loan)"})
    with database.sessions() as s:
        found, total = search_assets(s, q="bladder scanner")
        assert [a.asset_number for a in found] == ["E1", "E3"] and total == 2
        assert found[0].class_name == "Bladder scanner"
        assert [a.asset_number for a in search_assets(s, q="VERATHON prime")[0]] == ["E1"]
        assert [a.asset_number for a in search_assets(s, q="e2")[0]] == ["E2"]
        assert search_assets(s, q="100%")[1] == 0  # wildcards are literal
        page, total = search_assets(s, q="", limit=2, offset=2)
        assert total == 3 and [a.asset_number for a in page] == ["E3"]


def test_start_check_passes_a_sound_database_on_each_backend(database: Database) -> None:
    assert database.start_problem(initialised=True, budget_seconds=5) is None


def test_an_unreachable_postgresql_database_is_one_line(postgres_url: str) -> None:
    missing = Database(postgres_url.rsplit("/", 1)[0] + "/no_such_database")
    try:
        problem = missing.start_problem(initialised=True, budget_seconds=5)
    finally:
        missing.close()
    assert problem is not None
    assert problem.startswith("cannot open the database: ")
    assert "no_such_database" in problem and "\n" not in problem


def test_commits_are_synced_except_the_location_writers_batches(tmp_path) -> None:  # type: ignore[no-untyped-def]
    # FULL (2) syncs the log at every commit: kept through an OS crash or a power cut.
    # NORMAL (1) syncs at checkpoints: kept through a crash of the process only.
    db = Database(f"sqlite:///{tmp_path}/sync.db")
    db.migrate()

    def level(session) -> int:  # type: ignore[no-untyped-def]
        return int(session.connection().exec_driver_sql("PRAGMA synchronous").scalar())

    try:
        with db.transaction() as session:
            assert level(session) == 2
        with db.transaction(durable=False) as session:
            assert level(session) == 1
        # The same pooled connection, back in the pool: synced again for the next writer.
        with db.transaction() as session:
            assert level(session) == 2
        with db.sessions() as session:
            assert level(session) == 2
    finally:
        db.close()
