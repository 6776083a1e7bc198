"""The demo's Wi-Fi (issue 15, §4): Ward 5 has a Wi-Fi access point, a handful of its
volumetric pumps are on the Wi-Fi by their burnt-in MACs instead of a BLE tag, and
``floki-core demo`` switches on floki-wifi's simulated access points in the config it
serves, its syslog listener on loopback."""

from __future__ import annotations

import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select
from sqlalchemy.orm import Session

from floki_core import cli
from floki_core.api.app import create_app
from floki_core.clock import ManualClock
from floki_core.config import CONFIG_FILE, load_config, parse_config
from floki_core.core import Core
from floki_core.demo import WIFI_SIMULATOR_SETTINGS, enable_wifi_simulation
from floki_core.demo.wifi import WIFI_PUMPS
from floki_core.initialise import CONFIG_TEMPLATE
from floki_core.storage.database import Database, default_url
from floki_core.storage.models import (
    AssetClassRow,
    AssetRow,
    IdentifierRow,
    ReceiverRow,
    ZoneRow,
)
from floki_core.testing import Floki
from tests.fixtures.demo import DEMO_START, DemoRegister, copy_demo_register
from tests.fixtures.processes import free_port


@pytest.fixture(scope="module")
def session(
    tmp_path_factory: pytest.TempPathFactory, demo_register: DemoRegister
) -> Iterator[Session]:
    data_dir = copy_demo_register(demo_register, tmp_path_factory.mktemp("demo") / "data")
    db = Database(default_url(data_dir))
    with db.sessions() as s:
        yield s
    db.close()


def test_ward_5_has_a_wifi_access_point(session: Session) -> None:
    zones = {z.id: z.name for z in session.scalars(select(ZoneRow))}
    access_points = {
        zones[r.zone_id]: r
        for r in session.scalars(select(ReceiverRow).where(ReceiverRow.technology == "wifi"))
    }
    assert "Ward 5" in access_points
    assert access_points["Ward 5"].name == "Wi-Fi AP Ward 5"
    assert "Cisco Catalyst 9120" in access_points["Ward 5"].notes


def test_ward_5_pumps_are_on_the_wifi_by_their_burnt_in_macs(session: Session) -> None:
    zones = {z.id: z for z in session.scalars(select(ZoneRow))}
    classes = {c.id: c.name for c in session.scalars(select(AssetClassRow))}
    wifi = list(session.scalars(select(IdentifierRow).where(IdentifierRow.technology == "wifi")))
    assert len(wifi) == WIFI_PUMPS
    macs = [i.value for i in wifi]
    assert len(set(macs)) == WIFI_PUMPS
    for identifier in wifi:
        # Burnt in: the locally administered bit clear (the second hex digit not 2/6/A/E).
        assert identifier.value[1] not in "26AE", identifier.value
        asset = session.get(AssetRow, identifier.asset_id)
        assert asset is not None
        assert classes[asset.class_id] == "BD Alaris GP Plus"
        home = zones[asset.home_zone_id]
        parent = zones[home.parent_id].name if home.parent_id else None
        assert "Ward 5" in (home.name, parent), home.name
        # On the Wi-Fi instead of a BLE tag; its QR code as every asset has.
        carried = {
            i.technology
            for i in session.scalars(
                select(IdentifierRow).where(IdentifierRow.asset_id == identifier.asset_id)
            )
        }
        assert carried == {"wifi", "qr"}


def demo_data_dir(tmp_path: Path) -> Path:
    """A data directory holding the demo's config as ``floki-core demo`` first writes it."""
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    (data_dir / CONFIG_FILE).write_text(
        CONFIG_TEMPLATE.format(site='"demo"', database=""), encoding="utf-8"
    )
    return data_dir


def test_the_demo_switches_on_the_simulated_access_points_on_loopback(tmp_path: Path) -> None:
    data_dir = demo_data_dir(tmp_path)
    path = data_dir / CONFIG_FILE

    movement = enable_wifi_simulation(data_dir, installed=True)

    assert movement.moving
    assert "[plugin.wifi] simulate = true" in movement.message
    section = tomllib.loads(path.read_text(encoding="utf-8"))["plugin"]["wifi"]
    assert section == WIFI_SIMULATOR_SETTINGS
    assert section["listen_host"] == "127.0.0.1"
    # Said again, the user's choice (here: off) is kept.
    path.write_text(path.read_text(encoding="utf-8").replace("simulate = true", "simulate = false"))
    again = enable_wifi_simulation(data_dir, installed=True)
    assert not again.moving and "simulate is off" in again.message


def test_without_floki_wifi_the_demo_says_its_pumps_stay_put(tmp_path: Path) -> None:
    movement = enable_wifi_simulation(demo_data_dir(tmp_path), installed=False)
    assert not movement.moving
    assert movement.message.startswith("floki-wifi is not installed")


@pytest.mark.product
async def test_the_wifi_pumps_are_located_on_ward_5_through_the_syslog_listener(
    tmp_path: Path, demo_register: DemoRegister
) -> None:
    data_dir = copy_demo_register(demo_register, tmp_path / "data")
    clock = ManualClock(DEMO_START)
    wifi = {**WIFI_SIMULATOR_SETTINGS, "syslog": {"udp_port": free_port(), "tcp_port": 0}}
    config = parse_config(
        {"discovery": {"enabled": False}, "server": {"tls": False}, "plugin": {"wifi": wifi}}
    )
    core = Core(data_dir, config, clock=clock)
    await core.start()
    try:
        async with TestClient(TestServer(create_app(core))) as client:
            floki = Floki(core, client, clock)
            registration = core.plugins.registries.sources.get("wifi-simulator")
            assert registration is not None, "simulate = true adds the simulator"
            source = registration.item
            admin = await floki.headers("admin")

            async def listening() -> bool:
                resp = await client.get("/api/v1/plugins", headers=admin)
                found = [s for p in (await resp.json())["items"] for s in p["sources"]]
                return any(s["name"] == "wifi-syslog" and s["status"] == "running" for s in found)

            await Floki.eventually(listening, "the syslog listener running")
            await source.catch_up()  # the simulation starts
            floki.advance(2.0)  # twenty simulated seconds: every pump has joined
            await source.catch_up()
            pumps = [p.asset_id for p in source.scene.pumps]
            headers = await floki.headers("viewer")

            async def on_ward_5() -> bool:
                await floki.settle()
                for asset_id in pumps:
                    resp = await client.get(f"/api/v1/assets/{asset_id}/location", headers=headers)
                    where = await resp.json()
                    if (where.get("zone") or {}).get("name") != "Ward 5":
                        return False
                return True

            await Floki.eventually(on_ward_5, "every Wi-Fi pump located on Ward 5")
            # The listener counted the phones and devices nobody tracks, and dropped them.
            resp = await client.get("/api/v1/plugins", headers=await floki.headers("admin"))
            body = await resp.json()
            sources = {s["name"]: s for p in body["items"] for s in p.get("sources", [])}
            said = repr(sources.get("wifi-syslog"))
            assert "randomised" in said and "unknown" in said, said
    finally:
        await core.stop()


def test_the_demo_command_switches_the_simulated_access_points_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    data_dir = tmp_path / "var"
    monkeypatch.setattr(cli, "_serve", lambda args: 0)
    monkeypatch.setenv("FLOKI_ADMIN_PASSWORD", "correct-horse-battery-staple")
    assert cli.main(["--data-dir", str(data_dir), "demo"]) == 0
    assert "Simulated access points report the demo's Wi-Fi pumps" in capsys.readouterr().out
    assert load_config(data_dir).plugin["wifi"] == WIFI_SIMULATOR_SETTINGS
