"""``floki-core rfid encode``: the GIAI-96 EPC of each asset's GIAI, or ZPL to print and
encode RFID labels, from the command line with no appliance running."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from floki_rfid.epc import decode_epc_hex

from floki_core import cli
from floki_core.domain import SYSTEM
from floki_core.initialise import init_data_dir
from floki_core.storage import register as reg
from floki_core.storage.database import Database, default_url
from floki_core.storage.resources import create_record

BASE_URL = "https://floki.rfid.example.nhs.uk"
NOW = dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC)
PREFIX = "5012345"


def _register(db: Database) -> None:
    with db.transaction() as s:

        def make(resource: Any, **values: Any) -> int:
            return int(create_record(s, resource, values, actor=SYSTEM, now=NOW).id)

        e10001 = make(reg.ASSETS, asset_number="E10001", giai="501234510001")
        make(reg.IDENTIFIERS, asset_id=e10001, technology="qr", value="K7M2Q9XA")
        make(reg.ASSETS, asset_number="E10002", giai="501234510002")
        make(reg.ASSETS, asset_number="E10003")  # no GIAI
        make(reg.ASSETS, asset_number="E10004", giai="5012345PUMP7")  # not numeric
        e10005 = make(reg.ASSETS, asset_number="E10005")
        # A GIAI held as an identifier rather than the asset's own field.
        make(reg.IDENTIFIERS, asset_id=e10005, technology="giai", value="501234510005")


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One appliance's data directory for the module: encoding reads the register and
    changes nothing in it."""
    folder = tmp_path_factory.mktemp("rfid-cli") / "var"
    init_data_dir(folder, site_name="St Elsewhere")
    config = folder / "floki.toml"
    config.write_text(config.read_text() + f'\n[plugin.qr.labels]\nbase_url = "{BASE_URL}"\n')
    db = Database(default_url(folder))
    db.migrate()
    _register(db)
    db.close()
    yield folder


def rfid(data_dir: Path, *args: str) -> int:
    return cli.main(["--data-dir", str(data_dir), "rfid", *args])


def test_encode_prints_each_assets_giai_96_epc(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status = rfid(
        data_dir, "encode", "--assets", "E10001,E10002,E10005", "--company-prefix", PREFIX
    )
    out = capsys.readouterr()
    assert status == 0, out.err
    lines = out.out.splitlines()
    assert [line.split()[0] for line in lines] == ["E10001", "E10002", "E10005"]
    epcs = [line.split()[1] for line in lines]
    # What a reader then reads from each label is the asset's GIAI again.
    assert [decode_epc_hex(epc).giai for epc in epcs] == [
        "501234510001",
        "501234510002",
        "501234510005",
    ]
    assert all(len(epc) == 24 and epc.startswith("34") for epc in epcs)


def test_an_asset_without_a_giai_is_one_line_and_nothing_printed(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status = rfid(
        data_dir, "encode", "--assets", "E10001,E10003,E10004", "--company-prefix", PREFIX
    )
    out = capsys.readouterr()
    assert status == 1
    assert out.out == ""
    assert out.err == (
        "floki-core: error: 2 of 3 assets cannot be encoded: E10003 has no GIAI; "
        "E10004: GIAI 5012345PUMP7 does not fit GIAI-96: its asset reference 'PUMP7' is "
        "not all digits\n"
    )


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (
            ("--assets", "E10001,E99999", "--company-prefix", PREFIX),
            "--assets: no asset numbered E99999",
        ),
        (
            ("--assets", " , ", "--company-prefix", PREFIX),
            "say which assets: --assets E10001,E10002",
        ),
        (
            ("--assets", "E10001", "--company-prefix", "50123"),
            "--company-prefix must be the GS1 Company Prefix, 6 to 12 digits; got '50123'",
        ),
        (
            ("--assets", "E10001", "--company-prefix", "4000001"),
            "1 of 1 assets cannot be encoded: E10001: GIAI 501234510001 does not start with "
            "the company prefix 4000001",
        ),
        (
            ("--assets", "E10001", "--company-prefix", PREFIX, "--zpl", "--base-url", "floki"),
            "--base-url must look like https://floki.example.org, got 'floki'",
        ),
    ],
)
def test_refusals_are_one_line(
    data_dir: Path, capsys: pytest.CaptureFixture[str], args: tuple[str, ...], error: str
) -> None:
    status = rfid(data_dir, "encode", *args)
    out = capsys.readouterr()
    assert status == 1
    assert out.out == ""
    assert out.err == f"floki-core: error: {error}\n"


def test_the_company_prefix_decides_the_partition_not_the_giai(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The same GIAI under a 6- and a 7-digit prefix: two EPCs, one GIAI."""
    assert rfid(data_dir, "encode", "--assets", "E10001", "--company-prefix", "501234") == 0
    six = capsys.readouterr().out.split()[1]
    assert rfid(data_dir, "encode", "--assets", "E10001", "--company-prefix", PREFIX) == 0
    seven = capsys.readouterr().out.split()[1]
    assert six != seven
    assert decode_epc_hex(six).giai == decode_epc_hex(seven).giai == "501234510001"


def test_the_company_prefix_is_required(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        rfid(data_dir, "encode", "--assets", "E10001")
    assert exited.value.code == 2
    assert "--company-prefix" in capsys.readouterr().err


def test_zpl_for_an_rfid_label_printer(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status = rfid(
        data_dir, "encode", "--assets", "E10001,E10002", "--company-prefix", PREFIX, "--zpl"
    )
    out = capsys.readouterr()
    assert status == 0, out.err
    formats = out.out.split("^XZ")[:-1]
    assert len(formats) == 2
    first, second = formats
    epc_1 = first.split("^RFW,H,,,A^FD")[1].split("^FS")[0]
    assert decode_epc_hex(epc_1).giai == "501234510001"
    assert "^FDE10001^FS" in first
    # E10001 has a QR label code: the RFID label's QR code is the same as its QR label's.
    assert f"^FDMA,{BASE_URL}/q/K7M2Q9XA^FS" in first
    # E10002 has none: the GS1 Digital Link of its GIAI, which the QR pages open too.
    assert f"^FDMA,{BASE_URL}/8004/501234510002^FS" in second
    assert "^FDE10002^FS" in second


def test_zpl_with_another_base_url(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ("--assets", "E10002", "--company-prefix", PREFIX, "--zpl")
    assert rfid(data_dir, "encode", *args, "--base-url", "https://assets.example.org/") == 0
    assert "^FDMA,https://assets.example.org/8004/501234510002^FS" in capsys.readouterr().out
