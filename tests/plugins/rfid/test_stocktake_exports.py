"""A stock-take report as files: CSV (one row per asset or tag, cells a spreadsheet would
run as formulas neutralised) and PDF (title, zone, when, who, the four lists with their
counts), each export audited."""

from __future__ import annotations

import base64
import csv
import io
import re
import zlib

import pytest

from floki_core.testing import Floki
from tests.plugins.rfid.test_stocktake_api import (
    API,
    PATH,
    RAW_EPC,
    SGTIN_EPC,
    Store,
    call,
    epc_of,
    floki_clock,
    floki_database,
    post_sweep,
    prepared_store,
    store,
)

pytestmark = pytest.mark.floki_entry_points("rfid")
__all__ = ["floki_clock", "floki_database", "prepared_store", "store"]  # the fixtures


def pdf_text(pdf: bytes) -> str:
    """The text drawn on the pages of a PDF as reportlab writes it (streams ASCII85 and
    Flate encoded, or plain), one line per text run."""
    runs: list[bytes] = []
    for stream in re.findall(rb"stream\r?\n(.*?)\s*endstream", pdf, re.DOTALL):
        try:
            content = zlib.decompress(base64.a85decode(stream.strip(), adobe=True))
        except ValueError:
            content = stream
        runs += re.findall(rb"\((.*?)(?<!\\)\)\s*Tj", content)
    return "\n".join(r.replace(b"\\(", b"(").replace(b"\\)", b")").decode("latin-1") for r in runs)


async def test_the_csv_lists_every_row_with_formulas_neutralised(
    floki: Floki, store: Store
) -> None:
    # A name typed into the register that a spreadsheet would run.
    status, _ = await call(
        floki,
        "PATCH",
        f"{API}/assets/{store.assets['E10002']}",
        json={"description": '=HYPERLINK("http://evil.example","Pump")'},
    )
    assert status == 200
    status, report = await post_sweep(floki, store)
    assert status == 201, report
    resp = await floki.client.get(
        f"{PATH}/{report['id']}.csv", headers=await floki.headers("engineer")
    )
    assert resp.status == 200
    assert resp.content_type == "text/csv"
    assert (
        f'filename="floki-stocktake-{report["id"]}-20260105.csv"'
        in resp.headers["Content-Disposition"]
    )
    rows = list(csv.reader(io.StringIO(await resp.text())))
    assert rows[0] == [
        "list",
        "asset_number",
        "name",
        "class",
        "epc",
        "kind",
        "expected_zone",
        "last_seen_zone",
        "last_seen",
    ]
    shown = [(r[0], r[1] or r[4]) for r in rows[1:]]
    assert shown == [
        ("found", "E10001"),
        ("found", "E10003"),
        ("missing", "E10002"),
        ("missing", "E10004"),
        ("unexpected", "E10005"),
        ("unknown", RAW_EPC),
        ("unknown", "3114257BF4000000000003E8"),
    ]
    by_asset = {r[1]: r for r in rows[1:] if r[1]}
    assert by_asset["E10002"][2] == '\'=HYPERLINK("http://evil.example","Pump")'
    assert by_asset["E10002"][7:] == ["Shelf B", "2026-01-05T09:00:00Z"]
    assert by_asset["E10003"][4] == SGTIN_EPC
    assert by_asset["E10005"][4:] == [
        epc_of("501234510005"),
        "",
        "Ward 7",
        "Ward 7",
        "2026-01-05T09:00:00Z",
    ]
    assert rows[6][5] == "raw"
    status, audit = await call(
        floki, "GET", f"{API}/audit", params={"entity": "rfid_stocktakes", "action": "export"}
    )
    (entry,) = audit["items"]
    assert (entry["actor"], entry["entity_id"], entry["after"]["format"]) == (
        "test-engineer",
        str(report["id"]),
        "csv",
    )


async def test_the_pdf_shows_the_zone_when_who_and_the_four_lists(
    floki: Floki, store: Store
) -> None:
    status, report = await post_sweep(floki, store)
    assert status == 201, report
    resp = await floki.client.get(
        f"{PATH}/{report['id']}.pdf", headers=await floki.headers("admin")
    )
    assert resp.status == 200
    assert resp.content_type == "application/pdf"
    assert f"floki-stocktake-{report['id']}-20260105.pdf" in resp.headers["Content-Disposition"]
    pdf = await resp.read()
    assert pdf.startswith(b"%PDF")
    text = pdf_text(pdf)
    for expected in (
        f"RFID stock-take {report['id']}: Main Stores",
        "Zone: Main Stores (and the zones inside it)",
        "Taken: 05 Jan 2026 09:10 UTC",
        "By: test-engineer",
        "Device: TC52 store handheld",
        "Note: January count",
        "4 expected: 2 found, 2 missing; 1 unexpected; 2 unknown tags.",
        "Found: expected here and read (2)",
        "Missing: expected here, not read (2)",
        "Unexpected: read here, expected elsewhere (1)",
        "Unknown tags: no asset has these EPCs (2)",
        "E10001",
        "E10002",
        "Shelf B",
        "05 Jan 2026 09:00 UTC",
        "E10004",
        "E10005",
        "Ward 7",
        RAW_EPC,
    ):
        assert expected in text, (expected, text)
    status, audit = await call(
        floki, "GET", f"{API}/audit", params={"entity": "rfid_stocktakes", "action": "export"}
    )
    assert [(a["actor"], a["after"]["format"]) for a in audit["items"]] == [("test-admin", "pdf")]
