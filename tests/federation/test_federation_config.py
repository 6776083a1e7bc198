"""``[federation]`` in the configuration: a mistake is one line naming the key, and the
link's figures are for engineers and admins (and /metrics)."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest

from floki_core.cli import main
from floki_core.config import parse_config
from floki_core.core import Core
from floki_core.errors import FlokiError
from floki_core.initialise import CONFIG_TEMPLATE
from tests.federation.conftest import Sites
from tests.fixtures.nats import Pki

GOOD = {
    "site_id": "north",
    "servers": ["tls://hub.trust.nhs.uk:4222"],
    "ca_file": "/etc/floki/hub-ca.pem",
    "user": "north",
    "password": "s3cret-from-the-hub",
}


def toml(section: dict[str, Any]) -> str:
    def value(v: Any) -> str:
        if isinstance(v, list):
            return "[" + ", ".join(value(x) for x in v) + "]"
        return f'"{v}"' if isinstance(v, str) else str(v)

    return "[federation]\n" + "".join(f"{k} = {value(v)}\n" for k, v in section.items())


@pytest.mark.parametrize(
    ("change", "fragments"),
    [
        ({"site_id": "north wing"}, ["federation", "site_id", "'north wing'"]),
        ({"servers": ["https://hub:4222"]}, ["federation", "servers", "tls://host:4222"]),
        ({"servers": []}, ["federation", "servers", "at least one"]),
        ({"password": None}, ["federation", "password", "without its password"]),
        ({"creds_file": "/etc/floki/north.creds"}, ["credentials", "user, creds_file"]),
        ({"max_backlog_events": 10}, ["federation.max_backlog_events", ">= 100"]),
        ({"hub": "x"}, ["federation", "unknown key", "hub"]),
    ],
)
def test_a_wrong_federation_setting_is_one_line_naming_it(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    change: dict[str, Any],
    fragments: list[str],
) -> None:
    section = {k: v for k, v in (GOOD | change).items() if v is not None}
    (tmp_path / "floki.toml").write_text(toml(section))
    code = main(["--data-dir", str(tmp_path), "check"])
    err = capsys.readouterr().err
    assert code == 1
    [line] = err.splitlines()
    assert line.startswith("floki-core: error: ") and "Traceback" not in err
    for fragment in fragments:
        assert fragment in line, (fragment, line)


@pytest.mark.parametrize(
    ("ca_text", "fragment"),
    [(None, "is not a readable file"), ("not a certificate", "holds no usable CA certificate")],
)
async def test_an_unusable_ca_file_stops_the_start_in_one_line(
    tmp_path: Path, floki_migrated_database: Path, ca_text: str | None, fragment: str
) -> None:
    ca_file = tmp_path / "hub-ca.pem"
    if ca_text is not None:
        ca_file.write_text(ca_text)
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    (data_dir / "floki.db").write_bytes(floki_migrated_database.read_bytes())
    config = parse_config({"federation": GOOD | {"ca_file": str(ca_file)}})
    core = Core(data_dir, config)
    with pytest.raises(FlokiError) as raised:
        await core.start()
    message = str(raised.value)
    assert message.startswith(f"federation.ca_file: {ca_file} {fragment}")
    assert "\n" not in message


async def test_the_link_s_figures_are_for_engineers_and_in_metrics(
    sites: Sites, nats_pki: Pki
) -> None:
    unreachable = GOOD | {"servers": ["tls://127.0.0.1:1"], "ca_file": str(nats_pki.ca_file)}
    async with sites.run("north", unreachable) as floki:
        made = await floki.client.post(
            "/api/v1/sites", json={"name": "North"}, headers=await floki.headers("admin")
        )
        assert made.status == 201
        url = "/api/v1/federation"
        staff = await floki.client.get(url, headers=await floki.headers("staff"))
        engineer = await floki.client.get(url, headers=await floki.headers("engineer"))
        metrics = await (
            await floki.client.get("/metrics", headers=await floki.headers("viewer"))
        ).text()
        body = await engineer.json()
    assert staff.status == 403
    assert engineer.status == 200
    assert body["enabled"] is True and body["site_id"] == "north"
    assert body["connected"] is False
    assert body["backlog_events"] == 1  # site.created, kept for a hub out of reach
    assert "cannot connect to the hub" in body["last_error"]
    assert "floki_federation_up 0" in metrics
    assert "floki_federation_backlog_events 1" in metrics


def test_the_example_init_writes_is_a_valid_federation_section() -> None:
    lines = CONFIG_TEMPLATE.format(site='"North"', database="").splitlines()
    start = lines.index(next(line for line in lines if line.startswith("# [federation]")))
    example = []
    for line in lines[start:]:
        if not line.startswith("# "):
            break
        example.append(line[2:].split("  #")[0])
    section = tomllib.loads("\n".join(example))
    settings = parse_config(section).federation
    assert settings is not None and settings.site_id == "north"
    assert settings.servers == ["tls://hub.trust.example:4222"]
