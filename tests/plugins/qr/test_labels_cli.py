"""``floki-core labels``: the same labels as the API, from the command line, with no
appliance running."""

from __future__ import annotations

import datetime as dt
import getpass
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from floki_core import cli
from floki_core.domain import SYSTEM
from floki_core.initialise import init_data_dir
from floki_core.sdk import RegisterReading
from floki_core.storage import register as reg
from floki_core.storage.database import Database, default_url
from floki_core.storage.models import AuditRow
from floki_core.storage.resources import create_record
from floki_qr.label_sheets import LAYOUTS, single_label
from floki_qr.resolve import Resolved, resolve_code_sync
from tests.plugins.qr.label_decoding import decode_labels
from tests.plugins.qr.qr_register import GIAI_E1001, GLN_ROOM_A

BASE_URL = "https://floki.cli.example.nhs.uk"
NOW = dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC)


@dataclass
class Appliance:
    data_dir: Path
    db: Database

    def labels(self, *args: str) -> int:
        return cli.main(["--data-dir", str(self.data_dir), "labels", *args])

    def resolve(self, text: str) -> Resolved:
        with self.db.sessions() as session:
            return resolve_code_sync(RegisterReading(session), text)

    def audit(self, entity: str) -> list[AuditRow]:
        with self.db.sessions() as session:
            query = select(AuditRow).where(AuditRow.entity == entity).order_by(AuditRow.id)
            return list(session.scalars(query))


def _register(db: Database) -> None:
    with db.transaction() as s:

        def make(resource: Any, **values: Any) -> int:
            record = create_record(s, resource, values, actor=SYSTEM, now=NOW)
            return int(record.id)

        site = make(reg.SITES, name="St Elsewhere")
        ward = make(reg.ZONES, site_id=site, name="Ward 7", type="ward")
        room = make(reg.ZONES, site_id=site, name="Room 7A", parent_id=ward, gln=GLN_ROOM_A)
        make(reg.ZONES, site_id=site, name="Bay 7C", type="bay", parent_id=ward)
        pump = make(reg.ASSET_CLASSES, name="Infusion pump")
        e1001 = make(
            reg.ASSETS, asset_number="E1001", class_id=pump, home_zone_id=ward, giai=GIAI_E1001
        )
        make(reg.IDENTIFIERS, asset_id=e1001, technology="qr", value="E1001")
        make(reg.ASSETS, asset_number="E1002", class_id=pump, home_zone_id=room)


@pytest.fixture(scope="module")
def initialised(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``floki-core init``'s data directory with the labels' base URL configured and
    ``_register``'s records, made once for the module: each test works on a copy."""
    data_dir = tmp_path_factory.mktemp("labels-cli") / "var"
    init_data_dir(data_dir, site_name="St Elsewhere")
    config = data_dir / "floki.toml"
    config.write_text(config.read_text() + f'\n[plugin.qr.labels]\nbase_url = "{BASE_URL}"\n')
    db = Database(default_url(data_dir))
    try:
        db.migrate()
        _register(db)
    finally:
        db.close()  # the last connection out checkpoints the WAL into the file
    return data_dir


@pytest.fixture
def appliance(tmp_path: Path, initialised: Path) -> Iterator[Appliance]:
    data_dir = Path(shutil.copytree(initialised, tmp_path / "var"))
    db = Database(default_url(data_dir))
    db.migrate()  # nothing to do: the copy is at the newest revision already
    try:
        yield Appliance(data_dir, db)
    finally:
        db.close()


def test_asset_labels_from_the_command_line(
    appliance: Appliance, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "labels.pdf"
    assert appliance.labels("--assets", "E1001,E1002", "--layout", "21", "--out", str(out)) == 0
    said = capsys.readouterr().out.strip()
    assert said == (f"Wrote 2 labels (2 assets, 0 locations; 1 new codes) on 1 page(s) to {out}")
    urls = decode_labels(out.read_bytes(), LAYOUTS["21"], 2)
    assert urls[0] == f"{BASE_URL}/q/E1001"
    assert [appliance.resolve(u).asset_number for u in urls] == ["E1001", "E1002"]

    # A reprint on a partly used 65-up sheet: the same codes, nothing new.
    again = tmp_path / "again.pdf"
    assert (
        appliance.labels(
            "--assets", "E1001,E1002", "--layout", "L7651", "--skip", "7", "--out", str(again)
        )
        == 0
    )
    assert "0 new codes" in capsys.readouterr().out
    assert decode_labels(again.read_bytes(), LAYOUTS["65"], 2, skip=7) == urls

    # Audited as the person at the command line.
    made = appliance.audit("identifiers")
    assert [(e.action, e.actor) for e in made[-1:]] == [("create", f"cli:{getpass.getuser()}")]
    printed = appliance.audit("labels")
    assert [e.detail for e in printed] == [
        "2 QR labels printed, 1 new codes",
        "2 QR labels printed, 0 new codes",
    ]


def test_location_labels_and_gs1_links(
    appliance: Appliance, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "rooms.pdf"
    assert appliance.labels("--zones-in", "Ward 7", "--layout", "single", "--out", str(out)) == 0
    assert "3 labels (0 assets, 3 locations; 3 new codes) on 3 page(s)" in capsys.readouterr().out
    urls = decode_labels(out.read_bytes(), single_label(), 3)
    assert sorted(str(appliance.resolve(u).zone_name) for u in urls) == [
        "Bay 7C",
        "Room 7A",
        "Ward 7",
    ]

    gs1 = tmp_path / "gs1.pdf"
    assert (
        appliance.labels(
            "--zones", "Room 7A,Bay 7C", "--class", "Infusion pump", "--gs1", "--out", str(gs1)
        )
        == 0
    )
    said = capsys.readouterr().out
    assert "; 2 without a GIAI or GLN carry the short-code URL" in said
    urls = decode_labels(gs1.read_bytes(), LAYOUTS["21"], 4)
    assert urls[0] == f"{BASE_URL}/8004/{GIAI_E1001}"
    assert urls[1].startswith(f"{BASE_URL}/q/")  # E1002 has no GIAI
    assert urls[2] == f"{BASE_URL}/414/{GLN_ROOM_A}"
    assert [appliance.resolve(u).zone_name for u in urls[2:]] == ["Room 7A", "Bay 7C"]

    homes = tmp_path / "ward-kit.pdf"
    assert appliance.labels("--in-zone", "Ward 7", "--out", str(homes)) == 0
    assert "2 labels (2 assets, 0 locations; 0 new codes)" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        (["--assets", "E1001,E9999"], "--assets: no asset numbered E9999"),
        (["--zones", "Nowhere"], "--zones: no zone named 'Nowhere'"),
        (["--zones-in", "\u00b2"], "--zones-in: no zone named '\u00b2'"),
        (["--class", "Hoist"], "--class: no asset class named 'Hoist'"),
        (["--in-zone", "Ward 9"], "--in-zone: no zone named 'Ward 9'"),
        ([], "say which labels: --assets, --zones, --class, --in-zone, --zones-in or --all"),
        (["--all", "--layout", "24"], "layout must be 21, 65 or single, got '24'"),
        (["--all", "--skip", "21"], "skip must be between 0 and 20 for layout 21"),
        (
            ["--all", "--layout", "single", "--skip", "2"],
            "skip applies to sheets of labels, not to single labels",
        ),
        (
            ["--all", "--base-url", "floki.local"],
            "--base-url must look like https://floki.example.org, got 'floki.local'",
        ),
    ],
)
def test_mistakes_are_one_line_with_the_reason(
    appliance: Appliance,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    reason: str,
) -> None:
    out = tmp_path / "labels.pdf"
    assert appliance.labels(*args, "--out", str(out)) == 1
    assert capsys.readouterr().err.strip() == f"floki-core: error: {reason}"
    assert not out.exists()
    assert appliance.audit("labels") == []


def test_an_unwritable_output_is_reported(
    appliance: Appliance, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert appliance.labels("--all", "--out", str(tmp_path)) == 1
    assert capsys.readouterr().err.strip() == (
        f"floki-core: error: --out {tmp_path} is a directory; give a file name"
    )
    missing = tmp_path / "no-such-folder" / "labels.pdf"
    assert appliance.labels("--all", "--out", str(missing)) == 1
    assert "cannot write" in capsys.readouterr().err


def test_the_address_defaults_to_the_servers_public_url(
    appliance: Appliance, tmp_path: Path
) -> None:
    config = appliance.data_dir / "floki.toml"
    text = config.read_text().replace(f'\n[plugin.qr.labels]\nbase_url = "{BASE_URL}"\n', "")
    config.write_text(
        text.replace("[server]\n", '[server]\npublic_url = "https://floki.trust.example/"\n')
    )
    out = tmp_path / "labels.pdf"
    assert appliance.labels("--assets", "E1001", "--out", str(out)) == 0
    assert decode_labels(out.read_bytes(), LAYOUTS["21"], 1) == [
        "https://floki.trust.example/q/E1001"
    ]
    assert (
        appliance.labels(
            "--assets", "E1001", "--base-url", "http://10.1.2.3:8443", "--out", str(out)
        )
        == 0
    )
    assert decode_labels(out.read_bytes(), LAYOUTS["21"], 1) == ["http://10.1.2.3:8443/q/E1001"]
