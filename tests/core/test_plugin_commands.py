"""Plugins add ``floki-core`` subcommands through ``floki_register_commands``."""

from __future__ import annotations

import argparse
import importlib.metadata
import types
from pathlib import Path
from typing import Any

import pytest

from floki_core import cli
from floki_core.errors import FlokiError
from floki_core.initialise import init_data_dir
from floki_core.plugins.registry import CommandContext, CommandRegistry


def _plugin(name: str, module: types.SimpleNamespace) -> Any:
    class EntryPoint:
        def __init__(self) -> None:
            self.name = name
            self.value = f"{name}:module"

        def load(self) -> Any:
            return module

    return EntryPoint()


@pytest.fixture
def installed(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    plugins: list[Any] = []
    monkeypatch.setattr(importlib.metadata, "entry_points", lambda group: plugins)
    return plugins


def _counting_plugin(seen: list[tuple[str, int]]) -> types.SimpleNamespace:
    def configure(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--copies", type=int, default=1)

    def run(args: argparse.Namespace, context: CommandContext) -> int:
        if args.copies < 1:
            raise FlokiError("--copies must be at least 1")
        with context.db.sessions() as session:
            users = session.execute(cli_users_query()).scalar()
        seen.append((context.config.site.name, users))
        return 0

    def floki_register_commands(registry: CommandRegistry) -> None:
        registry.add("stickers", "print stickers", configure=configure, run=run)
        registry.add("version", "tries to take the core's command", configure=configure, run=run)

    return types.SimpleNamespace(floki_register_commands=floki_register_commands)


def cli_users_query() -> Any:
    from sqlalchemy import func, select

    from floki_core.storage.models import UserRow

    return select(func.count()).select_from(UserRow)


def test_a_plugin_command_runs_against_the_data_directory(
    installed: list[Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    seen: list[tuple[str, int]] = []
    installed.append(_plugin("stickers", _counting_plugin(seen)))
    init_data_dir(tmp_path, site_name="Ward 7")

    assert cli.main(["--data-dir", str(tmp_path), "stickers", "--copies", "2"]) == 0
    assert seen == [("Ward 7", 1)]  # the site's name and its one administrator

    # A user's mistake is one line and exit status 1.
    assert cli.main(["--data-dir", str(tmp_path), "stickers", "--copies", "0"]) == 1
    assert capsys.readouterr().err.strip() == "floki-core: error: --copies must be at least 1"
    # The core's own command is not taken over.
    assert cli.main(["version"]) == 0
    assert len(seen) == 1


def test_a_broken_plugin_loses_only_its_commands(installed: list[Any], tmp_path: Path) -> None:
    def broken(registry: CommandRegistry) -> None:
        raise RuntimeError("bad plugin")

    seen: list[tuple[str, int]] = []
    installed.append(_plugin("broken", types.SimpleNamespace(floki_register_commands=broken)))
    installed.append(_plugin("stickers", _counting_plugin(seen)))
    init_data_dir(tmp_path, site_name="Ward 7")
    assert cli.main(["--data-dir", str(tmp_path), "stickers"]) == 0
    with pytest.raises(SystemExit):
        cli.main(["--data-dir", str(tmp_path), "broken"])


def test_a_disabled_plugin_command_says_so(
    installed: list[Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    installed.append(_plugin("stickers", _counting_plugin([])))
    init_data_dir(tmp_path, site_name="Ward 7")
    config = tmp_path / "floki.toml"
    config.write_text(
        config.read_text().replace("[plugins]\n", '[plugins]\ndisabled = ["stickers"]\n')
    )
    assert cli.main(["--data-dir", str(tmp_path), "stickers"]) == 1
    assert "plugin stickers is disabled" in capsys.readouterr().err
