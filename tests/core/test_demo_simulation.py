"""``floki-core demo`` moves its assets (issue 4, §4): the demo switches on the BLE
plugin's simulated gateways in the config it serves, and kit is seen moving within the
first minute. Without the plugin the demo stays static and says so."""

from __future__ import annotations

import tomllib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import msgspec
import pytest
import pytest_asyncio
from aiohttp.test_utils import TestClient, TestServer

from floki_core import cli
from floki_core.api.app import create_app
from floki_core.clock import ManualClock
from floki_core.config import CONFIG_FILE, load_config
from floki_core.core import Core
from floki_core.demo import enable_simulation
from floki_core.initialise import CONFIG_TEMPLATE
from floki_core.storage.database import Database, default_url
from floki_core.storage.models import SiteRow
from floki_core.testing import Floki
from tests.fixtures.demo import DEMO_START, DemoRegister, copy_demo_register

START = DEMO_START  # when the shared demo register was loaded
SIMULATOR = "ble-simulator"


def new_config(data_dir: Path, extra: str = "") -> Path:
    """A data directory's config as ``floki-core init`` writes it, plus ``extra``."""
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / CONFIG_FILE
    text = CONFIG_TEMPLATE.format(site='"St Floki General Hospital"', database="")
    path.write_text(text + extra, encoding="utf-8")
    return path


@pytest_asyncio.fixture
async def demo(tmp_path: Path, demo_register: DemoRegister) -> AsyncIterator[Floki]:
    """What ``floki-core demo`` serves: the demo register (a copy of the session's load,
    tests/fixtures/demo.py) and the config it wrote."""
    data_dir = tmp_path / "data"
    new_config(data_dir)
    assert enable_simulation(data_dir).moving
    copy_demo_register(demo_register, data_dir)
    config = load_config(data_dir)
    # Never announce a test appliance on the LAN, and serve plain HTTP to the test client.
    config = msgspec.structs.replace(
        config,
        discovery=msgspec.structs.replace(config.discovery, enabled=False),
        server=msgspec.structs.replace(config.server, tls=False),
    )
    clock = ManualClock(START)
    core = Core(data_dir, config, clock=clock)
    await core.start()
    try:
        async with TestClient(TestServer(create_app(core))) as client:
            yield Floki(core, client, clock)
    finally:
        await core.stop()


async def test_the_demo_shows_assets_moving_within_a_minute(demo: Floki) -> None:
    registration = demo.core.plugins.registries.sources.get(SIMULATOR)
    assert registration is not None
    source: Any = registration.item
    headers = await demo.headers("viewer")
    ws = await demo.client.ws_connect("/api/v1/events", headers=headers)
    moved: dict[int, int] = {}  # asset -> the zone it moved to last
    try:
        await source.catch_up()  # the simulation starts now, if the source has not started it
        for _ in range(12):  # a minute, the gateways reporting every second
            demo.advance(5)
            await source.catch_up()
            await demo.settle()
        while True:
            try:
                msg = await ws.receive(timeout=0.5)
            except TimeoutError:
                break
            assert msg.type == aiohttp.WSMsgType.TEXT
            for event in msgspec.json.decode(msg.data):
                data = event["data"]
                if event["type"] == "location.changed" and not data["first_fix"]:
                    moved[event["entity_id"]] = data["to_zone_id"]
    finally:
        await ws.close()
    assert len(moved) >= 5
    for asset_id, zone_id in list(moved.items())[:5]:
        resp = await demo.client.get(f"/api/v1/assets/{asset_id}/location", headers=headers)
        where = await resp.json()
        assert where["located"] is True
        assert where["zone"]["id"] == zone_id


def test_the_demo_switches_the_simulator_on_in_the_config(tmp_path: Path) -> None:
    path = new_config(tmp_path)
    result = enable_simulation(tmp_path, installed=True)
    assert result.moving
    assert str(path) in result.message
    section = load_config(tmp_path).plugin["ble"]
    assert section["simulate"] is True
    assert section["simulate_speedup"] > 1
    # A second start changes nothing.
    before = path.read_text(encoding="utf-8")
    assert enable_simulation(tmp_path, installed=True).moving
    assert path.read_text(encoding="utf-8") == before


def test_settings_already_in_the_ble_section_are_kept(tmp_path: Path) -> None:
    new_config(tmp_path, '\n[plugin.ble]\nespresense_host = "mqtt.local"\n')
    assert enable_simulation(tmp_path, installed=True).moving
    section = load_config(tmp_path).plugin["ble"]
    assert section["espresense_host"] == "mqtt.local"
    assert section["simulate"] is True


def test_a_user_who_switched_the_simulator_off_is_obeyed(tmp_path: Path) -> None:
    path = new_config(tmp_path, "\n[plugin.ble]\nsimulate = false\n")
    before = path.read_text(encoding="utf-8")
    result = enable_simulation(tmp_path, installed=True)
    assert not result.moving
    assert "stay where they are" in result.message
    assert path.read_text(encoding="utf-8") == before


@pytest.mark.parametrize(
    ("installed", "extra", "said"),
    [
        (False, "", "floki-ble is not installed"),
        (True, '\n[plugins]\ndisabled = ["ble"]\n', "disabled"),
    ],
)
def test_without_the_plugin_the_demo_is_static_and_says_so(
    tmp_path: Path, installed: bool, extra: str, said: str
) -> None:
    path = new_config(tmp_path)
    if extra:
        # The template already has a [plugins] table; replace it rather than repeat it.
        text = path.read_text(encoding="utf-8").replace("[plugins]\n", extra.strip() + "\n", 1)
        path.write_text(text, encoding="utf-8")
    before = path.read_text(encoding="utf-8")
    result = enable_simulation(tmp_path, installed=installed)
    assert not result.moving
    assert said in result.message
    assert path.read_text(encoding="utf-8") == before
    assert "ble" not in tomllib.loads(before).get("plugin", {})


# --- the demo command ------------------------------------------------------------------


def demo_command(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> str:
    """``floki-core demo`` up to the point where it would start serving."""
    served: list[Path] = []
    monkeypatch.setattr(cli, "_serve", lambda args: served.append(args.data_dir) or 0)
    monkeypatch.setenv("FLOKI_ADMIN_PASSWORD", "correct-horse-battery-staple")
    capsys.readouterr()
    assert cli.main(["--data-dir", str(data_dir), "demo"]) == 0
    assert served == [data_dir]
    return capsys.readouterr().out


def test_the_demo_command_loads_the_hospital_and_switches_movement_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    data_dir = tmp_path / "var"
    out = demo_command(data_dir, monkeypatch, capsys)
    assert "Loaded the demo site" in out
    assert "Simulated BLE gateways move the demo's tags" in out
    assert load_config(data_dir).plugin["ble"]["simulate"] is True
    assert "Simulated GPS trackers move the demo's community equipment" in out
    assert load_config(data_dir).plugin["gps"] == {
        "listen_host": "127.0.0.1",
        "simulate": True,
        "simulate_speedup": 10.0,
    }
    # Started again, it serves the same hospital, still moving, config untouched.
    before = (data_dir / CONFIG_FILE).read_text(encoding="utf-8")
    out = demo_command(data_dir, monkeypatch, capsys)
    assert "already holds data" in out
    assert "Simulated BLE gateways" in out
    assert (data_dir / CONFIG_FILE).read_text(encoding="utf-8") == before


def test_the_demo_command_never_simulates_a_real_register(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    data_dir = tmp_path / "var"
    monkeypatch.setenv("FLOKI_ADMIN_PASSWORD", "correct-horse-battery-staple")
    assert cli.main(["--data-dir", str(data_dir), "init", "--site", "St Elsewhere"]) == 0
    db = Database(default_url(data_dir))
    with db.transaction() as session:
        session.add(SiteRow(name="St Elsewhere", code="SE"))
    db.close()
    before = (data_dir / CONFIG_FILE).read_text(encoding="utf-8")
    out = demo_command(data_dir, monkeypatch, capsys)
    assert "already holds data" in out
    assert "Simulated" not in out
    assert (data_dir / CONFIG_FILE).read_text(encoding="utf-8") == before
