"""A missing, empty or damaged database stops ``serve`` and fails ``check`` with one clear
line saying what to do - never an appliance that starts empty, never a traceback.

Each case is a copy of one data directory made by a real ``floki-core init``, then
spoilt as a disk, a botched restore or a careless ``rm`` would spoil it. The commands
run in this process (as ``floki-core`` runs them, with their exit code and output), and
once as the installed command, to see what a shell sees.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from floki_core import cli
from tests.fixtures.requirements import require_binary
from tests.reliability.appliance import cli as floki_core
from tests.reliability.appliance import copy_data_dir

DB = "floki.db"


def emptied(data_dir: Path) -> str:
    (data_dir / DB).write_bytes(b"")
    return "empty"


def removed(data_dir: Path) -> str:
    (data_dir / DB).unlink()
    return "missing"


def damaged(data_dir: Path) -> str:
    """Overwrite the start of the page the users are kept in, as a bad disk block would."""
    path = data_dir / DB
    db = sqlite3.connect(path)
    try:
        page_size = db.execute("PRAGMA page_size").fetchone()[0]
        [root] = db.execute("SELECT rootpage FROM sqlite_master WHERE name = 'users'").fetchone()
    finally:
        db.close()
    assert not Path(f"{path}-wal").exists()  # everything is in the main file
    with path.open("r+b") as raw:
        raw.seek((root - 1) * page_size)
        raw.write(b"\xa5" * 64)
    return "damaged"


def one_clear_line(err: str, out: str = "") -> str:
    assert "Traceback" not in out + err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    return lines[0]


def run(capsys: pytest.CaptureFixture[str], *args: str | Path) -> tuple[int, str]:
    code = cli.main([str(a) for a in args])
    captured = capsys.readouterr()
    return code, one_clear_line(captured.err, captured.out)


@pytest.mark.parametrize("spoil", [emptied, removed, damaged])
def test_serve_and_check_refuse_a_spoilt_database_in_one_line(
    initialised: Path,
    tmp_path: Path,
    spoil: Callable[[Path], str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    data_dir = copy_data_dir(initialised, tmp_path / "var")
    what = spoil(data_dir)
    size_before = (data_dir / DB).stat().st_size if (data_dir / DB).exists() else None

    served, refused = run(capsys, "--data-dir", data_dir, "serve", "--port", "0")
    checked, problem = run(capsys, "--data-dir", data_dir, "check")

    assert served == 1 and checked == 1
    assert refused.startswith("floki-core: error: "), refused
    assert problem.startswith("floki-core: problem: "), problem
    for line in (refused, problem):
        assert f"is {what}" in line, line
        assert "restore it from a backup" in line, line
    # Nothing was made in its place: only init creates a database.
    after = (data_dir / DB).stat().st_size if (data_dir / DB).exists() else None
    assert after == size_before


async def test_the_command_refuses_a_damaged_database_without_a_traceback(
    initialised: Path, tmp_path: Path
) -> None:
    data_dir = copy_data_dir(initialised, tmp_path / "var")
    damaged(data_dir)

    serve, check = await asyncio.gather(
        floki_core("serve", "--data-dir", data_dir, "--host", "127.0.0.1", "--port", "0"),
        floki_core("check", "--data-dir", data_dir),
    )

    assert serve.code == 1 and check.code == 1
    assert "is damaged" in one_clear_line(serve.err, serve.out)
    assert "is damaged" in one_clear_line(check.err, check.out)


def test_the_untouched_copy_checks_clean(
    initialised: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data_dir = copy_data_dir(initialised, tmp_path / "var")

    assert cli.main(["--data-dir", str(data_dir), "check"]) == 0
    assert "database: sqlite" in capsys.readouterr().out


def test_other_commands_refuse_a_missing_database_and_make_none(
    initialised: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data_dir = copy_data_dir(initialised, tmp_path / "var")
    removed(data_dir)

    code, line = run(capsys, "--data-dir", data_dir, "user", "list")

    assert code == 1 and "is missing" in line
    assert not (data_dir / DB).exists()


# --- a database that is no Floki register, or that cannot be written -----------------


def foreign(data_dir: Path) -> None:
    """A valid SQLite file without Floki's schema: an empty ``.backup``, or a database
    made by hand in the wrong ``sqlite3`` session."""
    path = data_dir / DB
    path.unlink()
    db = sqlite3.connect(path)
    try:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("CREATE TABLE t (x)")
        db.execute("DROP TABLE t")
    finally:
        db.close()


def tables(path: Path) -> list[str]:
    db = sqlite3.connect(path)
    try:
        return [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    finally:
        db.close()


def test_a_database_without_floki_schema_is_refused_not_migrated_into_an_empty_register(
    initialised: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data_dir = copy_data_dir(initialised, tmp_path / "var")
    foreign(data_dir)

    listed, not_listed = run(capsys, "--data-dir", data_dir, "user", "list")
    checked, problem = run(capsys, "--data-dir", data_dir, "check")
    assert (listed, checked) == (1, 1)  # before serve, which would otherwise serve it
    served, refused = run(capsys, "--data-dir", data_dir, "serve", "--port", "0")

    assert served == 1
    for line in (refused, not_listed, problem):
        assert f"database {data_dir / DB} holds no Floki register" in line, line
        assert "only 'floki-core init' makes one" in line, line
        assert "restore it from a backup" in line, line
    assert tables(data_dir / DB) == []  # nothing was migrated into it


def test_an_older_floki_schema_is_still_upgraded_at_start(
    initialised: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from alembic import command

    from floki_core.storage.database import Database, _alembic_config, default_url

    data_dir = copy_data_dir(initialised, tmp_path / "var")
    (data_dir / DB).unlink()
    old = Database(default_url(data_dir))
    try:
        command.upgrade(_alembic_config(old.engine), "0007")
    finally:
        old.close()

    assert cli.main(["--data-dir", str(data_dir), "user", "list"]) == 0
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    head = Database(default_url(data_dir))
    try:
        assert head.current_revision() == head.head_revision() != "0007"
    finally:
        head.close()


@contextlib.contextmanager
def unwritable_file(path: Path) -> Iterator[str]:
    """Make ``path`` a file this process may read but not write: immutable as root (as a
    backup restored as root:root is to the service's user), read-only otherwise. Yields
    the cause a user should be told."""
    if os.geteuid() != 0:
        path.chmod(0o444)
        try:
            yield "may not write it"
        finally:
            path.chmod(0o644)
        return
    chattr = require_binary("chattr")
    done = subprocess.run([chattr, "+i", str(path)], capture_output=True, check=False)
    if done.returncode != 0:
        pytest.skip(f"cannot mark a file immutable here: {done.stderr.decode().strip()}")
    try:
        yield "immutable"
    finally:
        subprocess.run([chattr, "-i", str(path)], check=True)


@contextlib.contextmanager
def read_only_filesystem(source: Path, mount: Path) -> Iterator[Path]:
    """A copy of the data directory ``source`` on a small tmpfs remounted read-only."""
    mount.mkdir()
    made = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(mount)],
        capture_output=True,
        check=False,
    )
    if made.returncode != 0:  # an unprivileged container: no mounts
        pytest.skip(f"cannot mount a tmpfs here: {made.stderr.decode().strip()}")
    try:
        data_dir = copy_data_dir(source, mount / "var")
        subprocess.run(["mount", "-o", "remount,ro", str(mount)], check=True)
        yield data_dir
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def assert_refused_for_writing(
    capsys: pytest.CaptureFixture[str], data_dir: Path, cause: str
) -> None:
    served, refused = run(capsys, "--data-dir", data_dir, "serve", "--port", "0")
    listed, not_listed = run(capsys, "--data-dir", data_dir, "user", "list")
    checked, problem = run(capsys, "--data-dir", data_dir, "check")

    assert (served, listed, checked) == (1, 1, 1)
    assert refused.startswith("floki-core: error: "), refused
    assert problem.startswith("floki-core: problem: "), problem
    for line in (refused, not_listed, problem):
        assert f"database {data_dir / DB} cannot be written" in line, line
        assert cause in line, line
        assert "damaged" not in line, line


def test_a_database_the_service_cannot_write_is_refused_at_start_naming_why(
    initialised: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data_dir = copy_data_dir(initialised, tmp_path / "var")
    with unwritable_file(data_dir / DB) as cause:
        assert_refused_for_writing(capsys, data_dir, cause)


def test_a_database_on_a_read_only_filesystem_is_refused_at_start_naming_why(
    initialised: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with read_only_filesystem(initialised, tmp_path / "ro") as data_dir:
        assert_refused_for_writing(capsys, data_dir, "read-only")


def test_a_database_owned_by_another_user_is_refused_naming_owner_and_mode(
    initialised: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A backup restored as root:root 0644 under the service's own user. Tests may run as
    root, who may write anything: the refusal of the operating system is simulated."""
    from floki_core.storage import database

    data_dir = copy_data_dir(initialised, tmp_path / "var")
    real_open = os.open

    def refuse(path: str | os.PathLike[str], flags: int, *args: int) -> int:
        if Path(path) == data_dir / DB and flags & os.O_RDWR:
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, flags, *args)

    monkeypatch.setattr(database.os, "open", refuse)

    code, line = run(capsys, "--data-dir", data_dir, "user", "list")

    assert code == 1
    assert f"database {data_dir / DB} cannot be written: user " in line, line
    assert "may not write it (owner " in line and ", mode 0" in line, line
    assert "chown " in line, line
