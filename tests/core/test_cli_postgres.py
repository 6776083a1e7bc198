"""An appliance set up on PostgreSQL from the first command."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from floki_core import cli


def test_init_on_postgresql_keeps_everything_there(
    tmp_path: Path, postgres_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "var"
    assert cli.main(["init", "--data-dir", str(data), "--database-url", postgres_url]) == 0
    assert "Password (shown once" in capsys.readouterr().out
    config = tomllib.loads((data / "floki.toml").read_text())
    assert config["database"]["url"] == postgres_url
    assert not (data / "floki.db").exists()  # nothing went to SQLite by mistake
    assert cli.main(["user", "add", "nurse", "--role", "staff", "--data-dir", str(data)]) == 0
    capsys.readouterr()
    assert cli.main(["user", "list", "--data-dir", str(data)]) == 0
    listing = capsys.readouterr().out
    assert "admin" in listing and "nurse" in listing
    assert cli.main(["check", "--data-dir", str(data)]) == 0
    assert "database: postgresql" in capsys.readouterr().out
