"""The configuration file outside the data directory, as the package installs it
(``/etc/floki/floki.toml`` named by ``FLOKI_CONFIG``; ``--config`` does the same): init
keeps a file already there and marks the data directory; every command reads that file;
a backup carries it and a restore puts it back where it is read from.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from floki_core.cli import main
from tests.fixtures.archives import stored

ADMIN_PASSWORD = "correct-horse-battery-staple"
PACKAGE_CONFIG = """\
# the package's configuration
[site]
name = "Ward Block appliance"

[server]
tls = false
"""


@pytest.fixture
def etc(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("FLOKI_ADMIN_PASSWORD", ADMIN_PASSWORD)
    monkeypatch.delenv("FLOKI_CONFIG", raising=False)
    config = tmp_path / "etc" / "floki.toml"
    config.parent.mkdir()
    config.write_text(PACKAGE_CONFIG, encoding="utf-8")
    return config


def test_init_keeps_the_config_in_place_and_commands_read_it(
    tmp_path: Path, etc: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "var"

    assert main(["--config", str(etc), "--data-dir", str(data), "init"]) == 0

    assert etc.read_text(encoding="utf-8") == PACKAGE_CONFIG  # kept, not overwritten
    assert not (data / "floki.toml").exists()
    capsys.readouterr()
    assert main(["--config", str(etc), "--data-dir", str(data), "check"]) == 0
    assert f"config: ok ({etc})" in capsys.readouterr().out
    # Initialised already: a second init refuses, the data directory is marked.
    assert main(["--config", str(etc), "--data-dir", str(data), "init"]) == 1
    assert "already initialised" in capsys.readouterr().err


def test_a_mistake_in_the_named_config_is_reported_against_that_file(
    tmp_path: Path, etc: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "var"
    monkeypatch.setenv("FLOKI_CONFIG", str(etc))
    assert main(["--data-dir", str(data), "init"]) == 0
    etc.write_text(PACKAGE_CONFIG + "\n[server]\nport = 'x'\n", encoding="utf-8")
    capsys.readouterr()

    assert main(["--data-dir", str(data), "check"]) == 1

    assert str(etc) in capsys.readouterr().err


def test_init_writes_a_named_config_that_does_not_exist_yet(tmp_path: Path, etc: Path) -> None:
    data, config = tmp_path / "var", tmp_path / "conf" / "appliance.toml"

    assert main(["--config", str(config), "--data-dir", str(data), "init", "--site", "Hub"]) == 0

    assert 'name = "Hub"' in config.read_text(encoding="utf-8")
    assert not (data / "floki.toml").exists()


def test_backup_carries_the_named_config_and_restore_puts_it_back(
    tmp_path: Path, etc: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data, archive = tmp_path / "var", tmp_path / "backup.tar.gz"
    flags = ["--config", str(etc), "--data-dir", str(data)]
    assert main([*flags, "init"]) == 0
    assert main([*flags, "backup", "--out", str(archive)]) == 0
    assert stored(archive, "floki.toml").decode() == PACKAGE_CONFIG
    edited = PACKAGE_CONFIG.replace("Ward Block appliance", "edited after the backup")
    etc.write_text(edited, encoding="utf-8")
    capsys.readouterr()

    assert main([*flags, "restore", str(archive)]) == 0

    out = capsys.readouterr().out
    assert etc.read_text(encoding="utf-8") == PACKAGE_CONFIG
    kept = [p for p in etc.parent.iterdir() if p.name.startswith("floki.toml.before-restore-")]
    assert [p.read_text(encoding="utf-8") for p in kept] == [edited]
    assert f"configuration restored to {etc}" in out
    assert not (data / "floki.toml").exists()
    assert main([*flags, "check"]) == 0
