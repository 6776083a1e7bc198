"""SQLite engines in one process share their compiled statements: an appliance started
after another (each test, ``demo`` then ``serve``) compiles nothing the first did, and each
still reads and writes only its own file."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import inspect, select

from floki_core.storage.database import Database, default_url
from floki_core.storage.models import SiteRow


def site_names(db: Database) -> list[str]:
    with db.sessions() as session:
        return list(session.scalars(select(SiteRow.name).order_by(SiteRow.name)))


def test_a_second_database_reuses_the_statements_and_keeps_its_own_rows(tmp_path: Path) -> None:
    databases = []
    try:
        for name in ("North", "South"):
            (tmp_path / name).mkdir()
            db = Database(default_url(tmp_path / name))
            databases.append(db)
            db.migrate()
            with db.transaction() as session:
                session.add(SiteRow(name=name, code=name[:3].upper()))
            assert site_names(db) == [name]
        first, second = databases
        compiled = len(first.engine._compiled_cache)
        assert site_names(second) == ["South"]
        # The same query on the second file compiled nothing new.
        assert second.engine._compiled_cache is first.engine._compiled_cache
        assert len(second.engine._compiled_cache) == compiled
    finally:
        for db in databases:
            db.close()


def test_a_database_never_connected_to_does_not_spoil_the_next(tmp_path: Path) -> None:
    # An engine's first connection sets its dialect up; one closed unused never is.
    Database(default_url(tmp_path)).close()
    (tmp_path / "good").mkdir()
    good = Database(default_url(tmp_path / "good"))
    try:
        good.migrate()
        assert site_names(good) == []
        # Reading the schema back needs a dialect that a connection set up.
        columns = inspect(good.engine).get_columns("sites")
        assert "name" in {c["name"] for c in columns}
    finally:
        good.close()
