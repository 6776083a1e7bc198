"""The asset register CSV over HTTP and from the CLI."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from floki_core import cli
from floki_core.testing import Floki

EQUIP = (
    "Equipment No,Description,Manufacturer,Model,Serial No,Department,Location,"
    "Last PPM Date,Next PPM Due\r\n"
    "E1,Bladder scanner,Verathon,BladderScan Prime,BS1,Ward 7,,01/02/2025,01/02/2026\r\n"
    'E2,=HYPERLINK("x"),BD,Alaris GP,P2,Ward 7,,,\r\n'
)


async def test_import_then_export_round_trip_over_http(floki: Floki) -> None:
    headers = {**await floki.headers("engineer"), "Content-Type": "text/csv"}
    resp = await floki.client.post("/api/v1/assets/import", data=EQUIP, headers=headers)
    assert resp.status == 200, await resp.text()
    report = await resp.json()
    assert (report["created"], report["updated"], report["skipped"]) == (2, 0, 0)

    again = await floki.client.post("/api/v1/assets/import", data=EQUIP, headers=headers)
    assert (await again.json())["unchanged"] == 2

    resp = await floki.client.get("/api/v1/assets/export.csv", headers=headers)
    assert resp.status == 200 and resp.content_type == "text/csv"
    assert "attachment" in resp.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(await resp.text())))
    by_number = {r["asset_number"]: r for r in rows}
    assert by_number["E1"]["make"] == "Verathon"
    assert by_number["E1"]["next_ppm_due"] == "2026-02-01"
    # A spreadsheet must not run a cell as a formula.
    assert by_number["E2"]["description"].startswith("'=")

    audit = await floki.client.get("/api/v1/audit?action=export", headers=await floki.headers())
    assert (await audit.json())["total"] == 1


async def test_a_bad_row_rejects_the_whole_file_with_its_line(floki: Floki) -> None:
    headers = {**await floki.headers("engineer"), "Content-Type": "text/csv"}
    bad = EQUIP + "E3,Pump,BD,Alaris GP,P3,Ward 7,,31/31/2025,\r\n"
    resp = await floki.client.post("/api/v1/assets/import", data=bad, headers=headers)
    assert resp.status == 422
    assert "line 4" in (await resp.json())["error"]
    listing = await floki.client.get("/api/v1/assets", headers=headers)
    assert (await listing.json())["total"] == 0

    resp = await floki.client.post("/api/v1/assets/import?skip_bad=true", data=bad, headers=headers)
    report = await resp.json()
    assert (report["created"], report["skipped"]) == (2, 1)
    assert report["problems"][0]["line"] == 4


async def test_register_files_need_an_engineer_and_csv(floki: Floki) -> None:
    staff = await floki.headers("staff")
    resp = await floki.client.get("/api/v1/assets/export.csv", headers=staff)
    assert resp.status == 403
    engineer = await floki.headers("engineer")
    resp = await floki.client.post("/api/v1/assets/import", json={"a": 1}, headers=engineer)
    assert resp.status == 415


def test_cli_import_and_export(tmp_path: Path, capsys, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("FLOKI_ADMIN_PASSWORD", "a-long-admin-password")
    data = tmp_path / "data"
    assert cli.main(["--data-dir", str(data), "init"]) == 0
    source = tmp_path / "equip.csv"
    source.write_text(EQUIP, encoding="utf-8")
    assert cli.main(["--data-dir", str(data), "import-assets", str(source)]) == 0
    assert "created 2, updated 0, unchanged 0, skipped 0" in capsys.readouterr().out
    target = tmp_path / "out.csv"
    assert cli.main(["--data-dir", str(data), "export-assets", str(target)]) == 0
    assert "E1,Bladder scanner" in target.read_text(encoding="utf-8")
    capsys.readouterr()
    assert cli.main(["--data-dir", str(data), "import-assets", str(tmp_path / "nope.csv")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no such file" in err[0]
