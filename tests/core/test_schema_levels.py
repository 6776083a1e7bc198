"""A database's schema level against the code's: ``floki-core migrate`` upgrades an older
one and says what it applied; a database written by a newer release (its level unknown to
this code, as after a package downgrade) is refused by every command in one line that
says what to do, never a traceback, and is left untouched.
"""

from __future__ import annotations

import sqlite3
import subprocess
from pathlib import Path

import pytest
from alembic import command

from floki_core.cli import main
from floki_core.storage.database import Database, _alembic_config
from tests.fixtures.processes import floki_core, free_port, serve_command

ADMIN_PASSWORD = "correct-horse-battery-staple"


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("FLOKI_ADMIN_PASSWORD", ADMIN_PASSWORD)
    path = tmp_path / "var"
    assert main(["--data-dir", str(path), "init"]) == 0
    return path


def level(data_dir: Path) -> str:
    with sqlite3.connect(data_dir / "floki.db") as conn:
        return str(conn.execute("SELECT version_num FROM alembic_version").fetchone()[0])


def test_migrate_upgrades_an_older_database_and_names_what_it_applied(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = Database(f"sqlite:///{data_dir / 'floki.db'}")
    try:
        head = db.head_revision()
        command.downgrade(_alembic_config(db.engine), "-1")
        older = db.current_revision()
    finally:
        db.close()
    assert older != head
    capsys.readouterr()

    assert main(["--data-dir", str(data_dir), "migrate"]) == 0

    out = capsys.readouterr().out
    assert f"database migrated from {older} to {head}" in out
    assert level(data_dir) == head
    assert main(["--data-dir", str(data_dir), "migrate"]) == 0
    assert f"database already at {head}" in capsys.readouterr().out


@pytest.mark.parametrize(
    "args",
    [["migrate"], ["export-assets", "-"], ["serve", "--port", "0"]],
    ids=["migrate", "export-assets", "serve"],
)
def test_a_database_newer_than_the_code_is_refused_in_one_line(
    data_dir: Path, args: list[str]
) -> None:
    with sqlite3.connect(data_dir / "floki.db") as conn:
        conn.execute("UPDATE alembic_version SET version_num = '0099_from_the_future'")
    command_line = [floki_core(), "--data-dir", str(data_dir), *args]
    if args[0] == "serve":
        command_line = [*serve_command(data_dir, free_port())]

    done = subprocess.run(command_line, capture_output=True, text=True, timeout=60)

    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "0099_from_the_future" in lines[0]
    assert "newer release" in lines[0]
    assert level(data_dir) == "0099_from_the_future"


def test_a_migration_that_fails_is_one_line_naming_the_levels_and_the_error(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def broken(self: Database) -> list[str]:
        raise RuntimeError("this release's migration is broken")

    monkeypatch.setattr(Database, "migrate", broken)
    capsys.readouterr()

    assert main(["--data-dir", str(data_dir), "migrate"]) == 1

    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert "failed: RuntimeError: this release's migration is broken" in err[0]
    assert f"from {level(data_dir)} to" in err[0]
