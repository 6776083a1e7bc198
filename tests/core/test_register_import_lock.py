"""A register import beside other writers: all or nothing, without locking them out.

The file is planned and staged with no lock held; only its last step, a short
transaction, keeps other writers waiting. What changed in the register meanwhile is
respected, as if it had happened before the import began.
"""

from __future__ import annotations

import datetime as dt
import shutil
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from floki_core import register_stage
from floki_core.config import ImportConfig
from floki_core.domain import SYSTEM, Principal, Role
from floki_core.errors import Invalid
from floki_core.register_csv import ImportReport, RowProblem, import_register, read_register
from floki_core.storage.audit import list_audit
from floki_core.storage.database import Database
from floki_core.storage.models import AssetClassRow, AssetRow
from floki_core.storage.register import ASSETS
from floki_core.storage.resources import create_record, update_record

NOW = dt.datetime(2025, 4, 1, 9, 30, tzinfo=dt.UTC)
ALICE = Principal(user_id=1, username="alice", role=Role.ENGINEER)
HEADER = "Asset No,Description,Make,Model,GIAI"


@pytest.fixture
def db(tmp_path: Path, floki_migrated_database: Path) -> Iterator[Database]:
    """A migrated, empty register: a copy of the kit's, migrated once per run."""
    shutil.copyfile(floki_migrated_database, tmp_path / "t.db")
    database = Database(f"sqlite:///{tmp_path}/t.db")
    database.migrate()  # nothing to do: the copy is at the newest revision already
    yield database
    database.close()


def register_file(
    count: int, *, giai_of: Callable[[int], str] = lambda n: f"5012345G{n:05d}"
) -> str:
    rows = [f"N{n:05d},Pump {n},BD,Model {n % 5},{giai_of(n)}" for n in range(1, count + 1)]
    return "\r\n".join([HEADER, *rows]) + "\r\n"


def run_import(
    db: Database, text: str, *, skip_bad: bool = False, progress: Any = None
) -> ImportReport:
    parsed = read_register(text, ImportConfig())
    return import_register(db, parsed, actor=ALICE, now=NOW, skip_bad=skip_bad, progress=progress)


def add_asset(db: Database, number: str, **values: Any) -> int:
    with db.transaction() as session:
        values = {"asset_number": number, **values}
        return int(create_record(session, ASSETS, values, actor=SYSTEM, now=NOW).id)


def other_writer_can_write(db: Database, name: str) -> bool:
    """A second connection that does not wait: does it get the write lock right now?"""
    path = db.engine.url.database
    assert path is not None
    other = sqlite3.connect(path, timeout=0)
    try:
        other.execute("INSERT INTO sites (name, timezone) VALUES (?, 'Europe/London')", (name,))
        other.commit()
    except sqlite3.OperationalError as exc:
        assert "locked" in str(exc)
        return False
    finally:
        other.close()
    return True


def assets(db: Database) -> dict[str, AssetRow]:
    with db.sessions() as session:
        return {a.asset_number: a for a in session.scalars(select(AssetRow))}


def test_other_writers_get_in_while_the_file_is_planned_and_staged(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_asset(db, "KEEP-1")
    while_planning: list[bool] = []
    while_staged: list[bool] = []

    def progress(done: int) -> None:
        if done == 2500:
            while_planning.append(other_writer_can_write(db, "written while planning"))

    stage = register_stage._stage

    def stage_then_write(*args: Any, **kwargs: Any) -> Any:
        staged = stage(*args, **kwargs)
        while_staged.append(other_writer_can_write(db, "written while staged"))
        return staged

    monkeypatch.setattr(register_stage, "_stage", stage_then_write)

    report = run_import(db, register_file(5000), progress=progress)

    assert while_planning == [True] and while_staged == [True]
    assert report.created == 5000
    assert len(assets(db)) == 5001


def test_a_giai_taken_meanwhile_refuses_the_file_and_nothing_is_written(db: Database) -> None:
    keep = add_asset(db, "KEEP-1", giai="5012345OLD")
    audit_before = audit_count(db)

    def progress(done: int) -> None:
        if done == 10:  # someone gives KEEP-1 the GIAI the file has for N00007
            with db.transaction() as session:
                changes = {"giai": "5012345G00007"}
                update_record(session, ASSETS, keep, changes, actor=SYSTEM, now=NOW)

    with pytest.raises(Invalid) as caught:
        run_import(db, register_file(20), progress=progress)

    assert "line 8: GIAI: GIAI '5012345G00007' belongs to asset KEEP-1" in str(caught.value)
    assert list(assets(db)) == ["KEEP-1"]
    assert audit_count(db) == audit_before + 1  # only the change made meanwhile


def test_with_skip_bad_a_row_made_bad_meanwhile_is_skipped_and_the_rest_imported(
    db: Database,
) -> None:
    keep = add_asset(db, "KEEP-1")

    def progress(done: int) -> None:
        if done == 10:
            with db.transaction() as session:
                changes = {"giai": "5012345G00007"}
                update_record(session, ASSETS, keep, changes, actor=SYSTEM, now=NOW)

    report = run_import(db, register_file(20), skip_bad=True, progress=progress)

    assert (report.created, report.skipped) == (19, 1)
    assert report.problems == [
        RowProblem(8, "GIAI", "GIAI '5012345G00007' belongs to asset KEEP-1")
    ]
    assert assets(db)["KEEP-1"].giai == "5012345G00007"
    assert "N00007" not in assets(db)


def test_an_asset_changed_meanwhile_is_audited_as_it_was_when_the_import_changed_it(
    db: Database,
) -> None:
    run_import(db, register_file(3))
    pump = assets(db)["N00002"]

    def progress(done: int) -> None:
        if done == 1:
            with db.transaction() as session:
                changes = {"state": "in_use"}
                update_record(session, ASSETS, pump.id, changes, actor=SYSTEM, now=NOW)

    changed = register_file(3).replace("Pump 2,", "Pump two,")
    report = run_import(db, changed, progress=progress)

    assert (report.updated, report.unchanged) == (1, 2)
    stored = assets(db)["N00002"]
    assert (stored.description, stored.state) == ("Pump two", "in_use")
    with db.sessions() as session:
        [entry, *_] = list_audit(session, entity="assets", entity_id=str(pump.id))[0]
    assert entry.action == "update" and entry.actor == "alice"
    assert entry.before is not None and entry.after is not None
    assert (entry.before["state"], entry.before["description"]) == ("in_use", "Pump 2")
    assert (entry.after["state"], entry.after["description"]) == ("in_use", "Pump two")


def test_a_giai_may_pass_from_one_asset_to_another_in_one_file(db: Database) -> None:
    run_import(db, "Asset No,GIAI\r\nA1,5012345G-ONE\r\nA2,5012345G-TWO\r\n")

    report = run_import(
        db, "Asset No,GIAI\r\nA1,5012345G-THREE\r\nA2,5012345G-ONE\r\nA3,5012345G-TWO\r\n"
    )

    assert (report.created, report.updated) == (1, 2)
    assert {n: a.giai for n, a in assets(db).items()} == {
        "A1": "5012345G-THREE",
        "A2": "5012345G-ONE",
        "A3": "5012345G-TWO",
    }


def test_created_and_updated_records_on_each_backend(database: Database) -> None:
    first = run_import(database, register_file(30))
    changed = register_file(30).replace("Pump 3,", "Pump three,") + "X1,Hoist,Arjo,Maxi,\r\n"

    second = run_import(database, changed)
    # The register's own create carries on after the ids the import gave.
    later = add_asset(database, "AFTER-1")

    assert (first.created, second.created, second.updated, second.unchanged) == (30, 1, 1, 29)
    found = assets(database)
    assert later > max(a.id for n, a in found.items() if n != "AFTER-1")
    with database.sessions() as session:
        classes = {c.name: c for c in session.scalars(select(AssetClassRow))}
        entries, total = list_audit(session, entity="assets", limit=1000)
    assert found["X1"].class_id == classes["Hoist Arjo Maxi"].id
    assert found["N00003"].description == "Pump three"
    creates = {e.entity_id: e for e in entries if e.action == "create"}
    x1 = creates[str(found["X1"].id)]
    assert x1.after is not None
    assert (x1.after["id"], x1.after["asset_number"], x1.after["state"]) == (
        found["X1"].id,
        "X1",
        "available",
    )
    assert [e.action for e in entries[:2]] == ["create", "import"]  # newest first
    assert total == 30 + 1 + 1 + 2 + 1  # creates, update, create, two imports, AFTER-1


def audit_count(db: Database) -> int:
    with db.sessions() as session:
        return list_audit(session, limit=1)[1]


def test_imported_audit_entries_extend_the_hash_chain(database: Database) -> None:
    from floki_core.storage.audit import audit_chain_problems

    add_asset(database, "BEFORE-1")
    run_import(database, register_file(40))
    run_import(database, register_file(40).replace("Pump 7,", "Pump seven,"))
    add_asset(database, "AFTER-1")

    with database.sessions() as session:
        assert audit_chain_problems(session) == []
        entries, total = list_audit(session, limit=1)
    assert total == 1 + 40 + 5 + 1 + 1 + 1 + 1  # before, creates, classes, import, update,
    assert entries[0].entity_id == str(assets(database)["AFTER-1"].id)  # import, after


def test_a_change_while_staging_plans_again_without_holding_the_lock(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    stage = register_stage._stage
    staged: list[bool] = []  # per staging outside the lock: could another writer write?

    def stage_beside_a_change(*args: Any, **kwargs: Any) -> Any:
        digests = stage(*args, **kwargs)
        if kwargs.get("chunk"):
            staged.append(other_writer_can_write(db, f"written while staged {len(staged)}"))
            if len(staged) == 1:
                add_asset(db, "ADDED-MEANWHILE")  # the register changes under the import
        return digests

    monkeypatch.setattr(register_stage, "_stage", stage_beside_a_change)

    report = run_import(db, register_file(300))

    assert staged == [True, True]  # planned and staged again, still with no lock held
    assert report.created == 300
    assert len(assets(db)) == 301


def test_a_register_that_keeps_changing_is_planned_under_the_lock_in_the_end(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    stage = register_stage._stage
    changes = 0

    def stage_beside_changes(*args: Any, **kwargs: Any) -> Any:
        nonlocal changes
        digests = stage(*args, **kwargs)
        if kwargs.get("chunk"):
            changes += 1
            add_asset(db, f"ADDED-{changes}")
        return digests

    monkeypatch.setattr(register_stage, "_stage", stage_beside_changes)

    report = run_import(db, register_file(300))

    assert changes == register_stage.ATTEMPTS
    assert report.created == 300
    assert sorted(n for n in assets(db) if n.startswith("ADDED")) == [
        "ADDED-1",
        "ADDED-2",
        "ADDED-3",
    ]


def test_a_failure_in_the_last_step_leaves_nothing_and_the_next_import_runs(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_asset(db, "KEEP-1")
    audit_before = audit_count(db)
    merge = register_stage._merge

    def merge_then_fail(*args: Any) -> None:
        merge(*args)  # everything copied in, then the disk (say) gives out
        raise OSError("disk I/O error")

    monkeypatch.setattr(register_stage, "_merge", merge_then_fail)
    with pytest.raises(OSError):
        run_import(db, register_file(500))

    assert list(assets(db)) == ["KEEP-1"]
    assert audit_count(db) == audit_before
    monkeypatch.setattr(register_stage, "_merge", merge)
    assert run_import(db, register_file(500)).created == 500
