"""``[hub]`` in the configuration: off when absent, PostgreSQL only, and a mistake is one
line naming the key."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from floki_core.cli import main
from floki_core.config import parse_config
from floki_core.core import Core
from floki_core.errors import FlokiError

POSTGRES = 'url = "postgresql+psycopg://floki@127.0.0.1:5432/hub"'
GOOD: dict[str, Any] = {
    "servers": ["tls://hub1.trust.nhs.uk:4222"],
    "ca_file": "/etc/floki/hub-ca.pem",
    "user": "hub",
    "password": "s3cret",
}


def toml(section: dict[str, Any], database: str = POSTGRES) -> str:
    def value(v: Any) -> str:
        if isinstance(v, list):
            return "[" + ", ".join(value(x) for x in v) + "]"
        return f'"{v}"' if isinstance(v, str) else str(v)

    body = "[hub]\n" + "".join(f"{k} = {value(v)}\n" for k, v in section.items())
    return (f"[database]\n{database}\n" if database else "") + body


def check_line(tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str) -> str:
    (tmp_path / "floki.toml").write_text(text)
    code = main(["--data-dir", str(tmp_path), "check"])
    err = capsys.readouterr().err
    assert code == 1, err
    [line] = err.splitlines()
    assert line.startswith("floki-core: error: ") and "Traceback" not in err
    return line


def test_without_a_hub_section_the_appliance_is_not_a_hub() -> None:
    assert parse_config({}).hub is None


def test_a_hub_on_sqlite_is_refused_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    line = check_line(tmp_path, capsys, toml(GOOD, database=""))
    assert "hub" in line and "PostgreSQL" in line and "database.url" in line
    assert "SQLite" in line


@pytest.mark.parametrize(
    ("change", "fragments"),
    [
        ({"servers": []}, ["hub", "servers", "at least one"]),
        ({"servers": ["http://hub:4222"]}, ["hub", "servers", "tls://host:4222"]),
        ({"password": None}, ["hub", "password", "without its password"]),
        ({"creds_file": "/etc/floki/hub.creds"}, ["hub", "credentials", "user, creds_file"]),
        ({"stream": "FLOKI SITES"}, ["hub", "stream", "'FLOKI SITES'"]),
        ({"history_days": 0}, ["hub.history_days", ">= 1"]),
        ({"duplicate_window_seconds": 30}, ["hub.duplicate_window_seconds", ">= 120"]),
        ({"site": "x"}, ["hub", "unknown key", "site"]),
    ],
)
def test_a_wrong_hub_setting_is_one_line_naming_it(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    change: dict[str, Any],
    fragments: list[str],
) -> None:
    section = {k: v for k, v in (GOOD | change).items() if v is not None}
    line = check_line(tmp_path, capsys, toml(section))
    for fragment in fragments:
        assert fragment in line, (fragment, line)


def test_a_good_hub_section_has_its_defaults() -> None:
    config = parse_config({"database": {"url": "postgresql+psycopg://floki@db/hub"}, "hub": GOOD})
    assert config.hub is not None
    assert config.hub.stream == "FLOKI_SITES"
    assert config.hub.history_days == 400
    assert config.hub.duplicate_window_seconds == 120


async def test_an_unreadable_hub_ca_file_stops_the_start_in_one_line(
    tmp_path: Path, postgres_migrated_url: str
) -> None:
    ca_file = tmp_path / "missing-ca.pem"
    config = parse_config(
        {"database": {"url": postgres_migrated_url}, "hub": GOOD | {"ca_file": str(ca_file)}}
    )
    core = Core(tmp_path / "data", config)
    with pytest.raises(FlokiError) as raised:
        await core.start()
    assert str(raised.value) == f"hub.ca_file: {ca_file} is not a readable file"
