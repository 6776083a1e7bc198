"""The demo's RFID (issue 14, §4): the Equipment Library's and Main Stores' reader
antennas are rfid receivers — a door portal each (inside the room, and outside in the
corridor) and shelf antennas — the kit kept there carries a GIAI its GIAI-96 label
encodes, and ``floki-core demo`` switches on floki-rfid's simulated readers in the config
it serves, loopback only."""

from __future__ import annotations

import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from floki_core import cli
from floki_core.config import CONFIG_FILE, load_config
from floki_core.demo import RFID_SIMULATOR_SETTINGS, enable_rfid_simulation
from floki_core.initialise import CONFIG_TEMPLATE
from floki_core.storage.database import Database, default_url
from floki_core.storage.models import AssetRow, ReceiverRow, ZoneRow
from tests.fixtures.demo import DemoRegister, copy_demo_register


@pytest.fixture(scope="module")
def session(
    tmp_path_factory: pytest.TempPathFactory, demo_register: DemoRegister
) -> Iterator[Session]:
    data_dir = copy_demo_register(demo_register, tmp_path_factory.mktemp("demo") / "data")
    db = Database(default_url(data_dir))
    with db.sessions() as s:
        yield s
    db.close()


def rfid_receivers(session: Session) -> dict[str, tuple[str, str]]:
    """identifier -> (zone name, receiver name) of every rfid receiver."""
    zones = {z.id: z.name for z in session.scalars(select(ZoneRow))}
    return {
        r.identifier: (zones[r.zone_id], r.name)
        for r in session.scalars(select(ReceiverRow).where(ReceiverRow.technology == "rfid"))
    }


def test_the_library_and_stores_each_have_a_door_portal_and_shelf_antennas(
    session: Session,
) -> None:
    receivers = rfid_receivers(session)
    zones = {identifier: zone for identifier, (zone, _name) in receivers.items()}
    assert zones == {
        "library:1": "Equipment Library",  # the door, inside
        "library:2": "Ground Floor Corridor",  # the door, outside
        "library:3": "Equipment Library",
        "library:4": "Equipment Library",
        "stores:1": "Main Stores",
        "stores:2": "Ground Floor Corridor",
        "stores:3": "Main Stores",
        "stores:4": "Main Stores",
    }
    assert "door, inside" in receivers["library:1"][1]
    assert "shelves" in receivers["stores:3"][1]


def test_the_kit_kept_in_the_library_and_stores_carries_a_giai(session: Session) -> None:
    zones = {z.name: z.id for z in session.scalars(select(ZoneRow))}
    for room in ("Equipment Library", "Main Stores"):
        kept = list(session.scalars(select(AssetRow).where(AssetRow.home_zone_id == zones[room])))
        assert len(kept) >= 5, room
        assert all(a.giai and a.giai == f"5012345{a.asset_number[1:]}" for a in kept), room


def test_the_demo_switches_on_the_simulated_readers_on_loopback(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    path = data_dir / CONFIG_FILE
    path.write_text(CONFIG_TEMPLATE.format(site='"demo"', database=""), encoding="utf-8")

    movement = enable_rfid_simulation(data_dir, installed=True)

    assert movement.moving
    assert "[plugin.rfid] simulate = true" in movement.message
    section = tomllib.loads(path.read_text(encoding="utf-8"))["plugin"]["rfid"]
    assert section == RFID_SIMULATOR_SETTINGS
    assert section["simulate"] is True
    # Said again, the user's choice (here: off) is kept.
    path.write_text(path.read_text(encoding="utf-8").replace("simulate = true", "simulate = false"))
    again = enable_rfid_simulation(data_dir, installed=True)
    assert not again.moving and "simulate is off" in again.message


def test_without_floki_rfid_the_demo_says_its_readers_stay_quiet(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    (data_dir / CONFIG_FILE).write_text(
        CONFIG_TEMPLATE.format(site='"demo"', database=""), encoding="utf-8"
    )
    movement = enable_rfid_simulation(data_dir, installed=False)
    assert not movement.moving
    assert movement.message.startswith("floki-rfid is not installed")


def test_the_demo_command_switches_the_simulated_readers_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    data_dir = tmp_path / "var"
    monkeypatch.setattr(cli, "_serve", lambda args: 0)
    monkeypatch.setenv("FLOKI_ADMIN_PASSWORD", "correct-horse-battery-staple")
    assert cli.main(["--data-dir", str(data_dir), "demo"]) == 0
    out = capsys.readouterr().out
    assert "Emulated RFID readers (LLRP on loopback)" in out
    assert load_config(data_dir).plugin["rfid"] == RFID_SIMULATOR_SETTINGS
