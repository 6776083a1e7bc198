"""A missing, empty or damaged database stops ``serve`` and fails ``check`` with one clear
line saying what to do - never an appliance that starts empty, never a traceback.

Each case is a copy of one data directory made by a real ``floki-core init``, then
spoilt as a disk, a botched restore or a careless ``rm`` would spoil it. The commands
run in this process (as ``floki-core`` runs them, with their exit code and output), and
once as the installed command, to see what a shell sees.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from floki_core import cli
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
