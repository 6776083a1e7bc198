"""``floki-core check`` on a database file that is not a database any more - text where
the file was, a zeroed header, a file cut short, a directory in its place - says so in
one line and exits 1, never a traceback, and never reads the schema off such a file.

Each case spoils a copy of one data directory made by ``floki-core init``.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from floki_core.cli import main
from tests.fixtures.processes import floki_core

DB = "floki.db"
ADMIN_PASSWORD = "correct-horse-battery-staple"


@pytest.fixture(scope="module")
def initialised(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data_dir = tmp_path_factory.mktemp("check-damaged") / "var"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("FLOKI_ADMIN_PASSWORD", ADMIN_PASSWORD)
        assert main(["--data-dir", str(data_dir), "init"]) == 0
    # Plain HTTP: the certificate is not what these tests are about.
    config = data_dir / "floki.toml"
    config.write_text(
        config.read_text(encoding="utf-8").replace("\n[server]\n", "\n[server]\ntls = false\n"),
        encoding="utf-8",
    )
    return data_dir


def text_in_place(data_dir: Path) -> str:
    (data_dir / DB).write_text("not a database\n", encoding="utf-8")
    return "is damaged"


def zeroed_header(data_dir: Path) -> str:
    with (data_dir / DB).open("r+b") as raw:
        raw.write(b"\0" * 100)
    return "is damaged"


def cut_in_half(data_dir: Path) -> str:
    path = data_dir / DB
    with path.open("r+b") as raw:
        raw.truncate(path.stat().st_size // 2)
    return "is damaged"


def a_directory(data_dir: Path) -> str:
    (data_dir / DB).unlink()
    (data_dir / DB).mkdir()
    return "is a directory"


@pytest.mark.parametrize("spoil", [text_in_place, zeroed_header, cut_in_half, a_directory])
def test_check_reports_a_spoilt_database_file_in_one_line(
    initialised: Path,
    tmp_path: Path,
    spoil: Callable[[Path], str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    data_dir = tmp_path / "var"
    shutil.copytree(initialised, data_dir)
    said = spoil(data_dir)
    capsys.readouterr()

    code = main(["--data-dir", str(data_dir), "check"])

    out, err = capsys.readouterr()
    assert code == 1
    assert "Traceback" not in out + err
    [line] = err.splitlines()
    assert line.startswith(f"floki-core: problem: database {data_dir / DB} {said}"), line
    assert "restore it from a backup" in line, line
    assert "config: ok" in out
    assert "schema" not in out  # nothing read from a file that is not a database


def test_the_installed_command_reports_a_directory_without_a_traceback(
    initialised: Path, tmp_path: Path
) -> None:
    data_dir = tmp_path / "var"
    shutil.copytree(initialised, data_dir)
    a_directory(data_dir)

    done = subprocess.run(
        [floki_core(), "--data-dir", str(data_dir), "check"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=Path(sys.executable).parent,
    )

    assert done.returncode == 1
    assert "Traceback" not in done.stdout + done.stderr
    [line] = done.stderr.splitlines()
    assert f"{data_dir / DB} is a directory" in line, line
