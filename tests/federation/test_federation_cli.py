"""``floki-core federation status``: the site's figures, one a line."""

from __future__ import annotations

import pytest

from floki_core.cli import main
from tests.core.workflow.workflow_builder import ok
from tests.federation.conftest import NatsHub, Sites, drained
from tests.federation.test_register_import import toml


def status(capsys: pytest.CaptureFixture[str], data_dir: object) -> tuple[int, list[str]]:
    capsys.readouterr()
    code = main(["--data-dir", str(data_dir), "federation", "status"])
    return code, capsys.readouterr().out.splitlines()


async def test_status_shows_what_was_sent_and_what_waits(
    nats_hub: NatsHub, sites: Sites, capsys: pytest.CaptureFixture[str]
) -> None:
    await nats_hub.make_stream()
    settings = nats_hub.federation("north")
    settings["servers"] = [nats_hub.url.replace("tls://", "tls://north:hunter2@")]
    async with sites.run("north", settings) as floki:
        await ok(floki, "POST", "/sites", json={"name": "North"})
        await drained(floki)
        nats_hub.stop()
        await ok(floki, "POST", "/sites", json={"name": "North Annexe"})
        await ok(floki, "POST", "/sites", json={"name": "North Clinic"})
    data_dir = sites.root / "north"
    (data_dir / "floki.toml").write_text(toml(settings))
    code, lines = status(capsys, data_dir)
    assert code == 0
    assert lines[:8] == [
        "federation: on",
        "site: north",
        f"servers: {nats_hub.url}",  # the password in the URL is not shown
        "events kept for the hub: 3",
        "sent through seq: 1",
        "backlog events: 2",
        "backlog bound: 2000000",
        "oldest waiting seq: 2",
    ]


async def test_status_without_federation_says_it_is_off(
    sites: Sites, capsys: pytest.CaptureFixture[str]
) -> None:
    async with sites.run("alone", None):
        pass
    data_dir = sites.root / "alone"
    (data_dir / "floki.toml").write_text("[site]\nname = 'Cottage'\n")
    code, lines = status(capsys, data_dir)
    assert code == 0
    assert lines == [f"federation: off (no [federation] section in {data_dir / 'floki.toml'})"]
