"""The audit trail is hash-chained: every entry carries the hash of the one before, so an
entry edited, deleted or moved afterwards is found, and named, by ``audit_chain_problems``.
Writers running at once still make one unbroken chain, on SQLite and on PostgreSQL.

A database cannot prove where its own trail ends: entries cut from the end, with the
head row set back by hand, leave a shorter chain that checks clean. A head recorded
outside the database (``floki-core check`` prints it, the appliance logs it) finds
them: ``recorded_head_problems``."""

from __future__ import annotations

import datetime as dt
import logging
import threading
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import text

from floki_core.storage.audit import (
    GENESIS,
    AuditHead,
    append_audit_rows,
    audit_chain_problems,
    chain_hash,
    content_digest,
    log_audit_head,
    parse_audit_head,
    read_audit_head,
    recorded_head_problems,
    write_audit,
)
from floki_core.storage.database import MIGRATIONS, Database
from floki_core.storage.models import AuditRow

AT = dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC)


def _write(db: Database, count: int, actor: str = "eng.patel") -> None:
    for n in range(count):
        with db.transaction() as session:
            write_audit(
                session,
                at=AT + dt.timedelta(seconds=n),
                actor=actor,
                action="update",
                entity="assets",
                entity_id=n + 1,
                before={"state": "available", "n": n},
                after={"state": "dirty", "n": n, "note": "Ünïcode ✓", "ratio": 0.1},
                detail=f"change {n}",
            )


def _problems(db: Database) -> list[str]:
    with db.sessions() as session:
        return audit_chain_problems(session)


def _sql(db: Database, statement: str, **params: object) -> None:
    with db.engine.begin() as conn:
        conn.execute(text(statement), params)


def _ids(db: Database) -> list[int]:
    with db.engine.connect() as conn:
        return [r[0] for r in conn.execute(text("SELECT id FROM audit_entries ORDER BY id"))]


def test_an_untouched_trail_has_no_problems_and_starts_at_genesis(database: Database) -> None:
    assert _problems(database) == []
    _write(database, 5)
    assert _problems(database) == []
    with database.engine.connect() as conn:
        first = conn.execute(
            text("SELECT seq, prev_hash FROM audit_entries ORDER BY id LIMIT 1")
        ).one()
    assert tuple(first) == (1, GENESIS)


def test_concurrent_writers_make_one_unbroken_chain(database: Database) -> None:
    workers, each = 4, 15
    errors: list[BaseException] = []

    def work(name: str) -> None:
        try:
            for n in range(each):
                with database.transaction() as session:
                    for part in range(2):  # two entries in one transaction
                        write_audit(
                            session,
                            at=AT,
                            actor=name,
                            action="update",
                            entity="assets",
                            entity_id=n,
                            after={"part": part},
                        )
        except BaseException as exc:  # pragma: no cover - shown by the assert below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(f"writer-{i}",)) for i in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert _problems(database) == []
    with database.engine.connect() as conn:
        seqs = [r[0] for r in conn.execute(text("SELECT seq FROM audit_entries ORDER BY id"))]
    assert seqs == list(range(1, workers * each * 2 + 1))


def test_a_batch_of_entries_continues_the_chain(database: Database) -> None:
    _write(database, 2)
    batch = [
        {"at": AT, "actor": "import", "action": "create", "entity": "assets", "entity_id": n}
        for n in range(50)
    ]
    with database.engine.begin() as conn:
        append_audit_rows(conn, batch)
    _write(database, 1)
    assert _problems(database) == []
    assert len(_ids(database)) == 53


def test_an_edited_entry_is_named(database: Database) -> None:
    _write(database, 5)
    third = _ids(database)[2]
    _sql(database, "UPDATE audit_entries SET detail = 'nothing to see' WHERE id = :i", i=third)
    (problem,) = _problems(database)
    assert f"audit entry {third} was edited" in problem


def test_an_edit_with_its_hash_recomputed_is_found_at_the_next_entry(database: Database) -> None:
    _write(database, 5)
    ids = _ids(database)
    with database.transaction() as session:
        row = session.get(AuditRow, ids[1])
        assert row is not None and row.seq is not None and row.prev_hash is not None
        row.detail = "nothing to see"
        row.entry_hash = chain_hash(row.seq, row.prev_hash, content_digest(row))
    (problem,) = _problems(database)
    assert f"audit entry {ids[2]} does not follow audit entry {ids[1]}" in problem
    assert "rewritten" in problem


def test_a_deleted_entry_is_named(database: Database) -> None:
    _write(database, 5)
    ids = _ids(database)
    _sql(database, "DELETE FROM audit_entries WHERE id = :i", i=ids[2])
    (problem,) = _problems(database)
    assert "deleted" in problem and f"before audit entry {ids[3]}" in problem


def test_deleting_the_newest_entries_is_found(database: Database) -> None:
    _write(database, 5)
    ids = _ids(database)
    _sql(database, "DELETE FROM audit_entries WHERE id >= :i", i=ids[3])
    (problem,) = _problems(database)
    assert "2 newest audit entries" in problem and "deleted" in problem
    assert f"after audit entry {ids[2]}" in problem


def test_reordered_entries_are_named(database: Database) -> None:
    _write(database, 5)
    ids = _ids(database)
    # Swap the second and third entries' places in the trail.
    _sql(database, "UPDATE audit_entries SET id = -1 WHERE id = :i", i=ids[1])
    _sql(database, "UPDATE audit_entries SET id = :a WHERE id = :b", a=ids[1], b=ids[2])
    _sql(database, "UPDATE audit_entries SET id = :b WHERE id = -1", b=ids[2])
    (problem,) = _problems(database)
    assert "out of order" in problem and "reordered" in problem
    assert f"audit entry {ids[2]}" in problem


def test_an_entry_slipped_in_outside_the_trail_is_named(database: Database) -> None:
    _write(database, 2)
    _sql(
        database,
        "INSERT INTO audit_entries (at, actor, action, entity, detail) "
        "VALUES (:at, 'intruder', 'update', 'assets', '')",
        at=AT.replace(tzinfo=None),
    )
    (problem,) = _problems(database)
    assert "carries no chain hash" in problem


def test_the_migration_chains_existing_entries(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path}/floki.db")
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = db.engine
    command.upgrade(cfg, "0007")
    with db.engine.begin() as conn:
        for n in range(3):
            conn.execute(
                text(
                    "INSERT INTO audit_entries (at, actor, action, entity, entity_id, "
                    "before, after, detail) VALUES (:at, 'admin', 'create', 'sites', :i, "
                    "NULL, :after, '')"
                ),
                {"at": AT.replace(tzinfo=None), "i": str(n), "after": f'{{"name": "S{n}"}}'},
            )
    db.migrate()
    try:
        assert _problems(db) == []
        _write(db, 1)  # new entries follow on from the migrated ones
        assert _problems(db) == []
        with db.engine.connect() as conn:
            seqs = [r[0] for r in conn.execute(text("SELECT seq FROM audit_entries ORDER BY id"))]
        assert seqs == [1, 2, 3, 4]
    finally:
        db.close()


# --- where the trail ends ------------------------------------------------------------


def _head(db: Database) -> AuditHead:
    with db.sessions() as session:
        head = read_audit_head(session)
    assert head is not None
    return head


def _against(db: Database, recorded: AuditHead) -> list[str]:
    with db.sessions() as session:
        return recorded_head_problems(session, recorded)


def _cut_to(db: Database, seq: int) -> None:
    """Delete the entries after ``seq`` and set the head row back, with plain SQL."""
    _sql(db, "DELETE FROM audit_entries WHERE seq > :s", s=seq)
    _sql(
        db,
        "UPDATE audit_chain SET seq = :s, "
        "entry_hash = (SELECT entry_hash FROM audit_entries WHERE seq = :s) WHERE id = 1",
        s=seq,
    )


def _initialised_problems(db: Database) -> list[str]:
    with db.sessions() as session:
        return audit_chain_problems(session, initialised=True)


def test_an_empty_trail_is_a_problem_where_init_wrote_entries(database: Database) -> None:
    assert _problems(database) == []  # a database no init has written to yet
    (problem,) = _initialised_problems(database)
    assert "the audit trail is empty" in problem and "init" in problem


def test_deleting_every_entry_and_the_head_row_is_found(database: Database) -> None:
    _write(database, 3)
    _sql(database, "DELETE FROM audit_entries")
    _sql(database, "DELETE FROM audit_chain")

    (problem,) = _initialised_problems(database)

    assert "the audit trail is empty" in problem
    assert "record of its newest entry is missing" in problem


def test_cutting_the_end_and_setting_the_head_back_is_found_against_a_recorded_head(
    database: Database,
) -> None:
    _write(database, 5)
    recorded = _head(database)
    assert (recorded.seq, len(recorded.entry_hash)) == (5, 64)
    _write(database, 2)
    _cut_to(database, 3)

    assert _problems(database) == []  # the database alone cannot tell: see the module doc
    (problem,) = _against(database, recorded)
    assert f"head recorded as 5:{recorded.entry_hash[:12]}" in problem
    assert "ends at number 3" in problem and "removed" in problem


def test_a_trail_deleted_and_written_again_is_found_against_a_recorded_head(
    database: Database,
) -> None:
    _write(database, 3)
    recorded = _head(database)
    _sql(database, "DELETE FROM audit_entries")
    _sql(database, "DELETE FROM audit_chain")
    _write(database, 4, actor="someone-else")  # a fresh chain, from genesis

    assert _problems(database) == []
    (problem,) = _against(database, recorded)
    assert "audit entry number 3 is not the one recorded" in problem
    assert "rewritten" in problem


def test_a_head_still_in_the_trail_has_no_problems(database: Database) -> None:
    _write(database, 3)
    recorded = _head(database)
    _write(database, 2)

    assert _against(database, recorded) == []
    assert _against(database, _head(database)) == []


def test_a_recorded_head_reads_back_from_its_printed_form() -> None:
    head = AuditHead(42, "ab" * 32)
    assert parse_audit_head(str(head)) == head
    assert parse_audit_head(f" 42:{'AB' * 32} ") == head
    for wrong in ("", "42", "x:" + "ab" * 32, "0:" + "ab" * 32, "42:abc", "42:" + "zz" * 32):
        with pytest.raises(ValueError, match="SEQ:HASH"):
            parse_audit_head(wrong)


def test_the_head_is_logged_as_it_is_recorded(
    database: Database, caplog: pytest.LogCaptureFixture
) -> None:
    _write(database, 2)
    with caplog.at_level(logging.INFO), database.sessions() as session:
        log_audit_head(session)

    [record] = [r for r in caplog.records if "audit head" in r.getMessage()]
    assert record.levelno == logging.INFO
    assert f"audit head: {_head(database)}" in record.getMessage()


def test_a_write_after_the_head_row_was_deleted_says_so_in_the_log(
    database: Database, caplog: pytest.LogCaptureFixture
) -> None:
    _write(database, 2)
    _sql(database, "DELETE FROM audit_entries")
    _sql(database, "DELETE FROM audit_chain")

    with caplog.at_level(logging.WARNING):
        _write(database, 1)  # the chain starts again; the log, off the box, keeps why

    [record] = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert "audit chain's record of its newest entry was missing" in record.getMessage()
    assert "starts again" in record.getMessage()
