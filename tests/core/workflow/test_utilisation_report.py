"""The utilisation report as CSV and PDF (workflow issue §5): the evidence a CE lead
takes to a budget meeting, with the same numbers as the JSON."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from typing import Any

import pytest

from floki_core.config import AppConfig, parse_config
from floki_core.storage.audit import list_audit
from floki_core.testing import Floki
from floki_core.workflow.utilisation_report import report_pdf
from tests.core.workflow.loans_builder import API, build_fleet, post

HOUR = 3600


@pytest.fixture
def floki_config() -> AppConfig:
    return parse_config(
        {
            "discovery": {"enabled": False},
            "server": {"tls": False},
            "site": {"name": "Configured Name"},
            "workflow": {"utilisation": {"go_live": "2026-01-05"}},
        }
    )


async def _history(floki: Floki) -> None:
    """Twenty pumps in ICU, at most three in use at once over two days; one missing for
    four hours. Two of them from a class whose name a spreadsheet would run."""
    fleet = await build_fleet(floki, 20)
    evil = await post(floki, "/asset-classes", {"name": '=HYPERLINK("http://x")'})
    for n in (1, 2):
        await post(floki, "/assets", {"asset_number": f"X-{n}", "class_id": evil["id"]})
    ids = list(fleet.assets.values())
    change = floki.core.workflow.states.change
    floki.advance(6 * HOUR)
    for asset_id in ids[:3]:
        await change(asset_id, "in_use", actor=None, source="test")
    floki.advance(6 * HOUR)
    await change(ids[0], "dirty", actor=None, source="test")
    await change(ids[10], "missing", actor=None, source="test")
    floki.advance(4 * HOUR)
    await change(ids[10], "available", actor=None, source="test")
    floki.advance(32 * HOUR)


def _pdf_text(pdf: bytes) -> str:
    """The text shown on the pages of an uncompressed PDF, one string per text run."""
    runs = re.findall(rb"\((.*?)(?<!\\)\)\s*Tj", pdf)
    return "\n".join(r.replace(b"\\(", b"(").replace(b"\\)", b")").decode("latin-1") for r in runs)


async def _get(floki: Floki, path: str, role: str = "engineer", **params: Any) -> Any:
    return await floki.client.get(API + path, params=params, headers=await floki.headers(role))


async def test_csv_has_one_row_per_group_with_formulas_neutralised(floki: Floki) -> None:
    await _history(floki)
    resp = await _get(floki, "/reports/utilisation.csv", **{"from": "2026-01-05"})
    assert resp.status == 200
    assert resp.content_type == "text/csv"
    assert "floki-utilisation-20260105-20260107.csv" in resp.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(await resp.text())))
    by_class = {r["class"]: r for r in rows}
    assert set(by_class) == {'\'=HYPERLINK("http://x")', "Infusion pump"}
    pumps = by_class["Infusion pump"]
    assert pumps["department"] == "ICU"
    assert pumps["fleet"] == "20"
    assert pumps["peak_in_use"] == "3"
    assert pumps["never_needed_at_peak"] == "17"
    assert pumps["reported_missing"] == "1"
    assert pumps["median_hours_to_find"] == "4.0"
    assert pumps["ppm_compliance_before"] == "1.0"
    assert pumps["recommendation"] == (
        "17 of 20 Infusion pumps in ICU were never needed at peak in the last 2 days "
        "(at most 3 in use at once)"
    )
    # 6 + 42 + 42 hours in use of 20 pumps x 48 hours since they were registered
    assert float(pumps["share_in_use"]) == pytest.approx((6 + 42 + 42) / (20 * 48), abs=1e-4)

    entries, _ = await floki.core.read(list_audit, entity="reports", action="export")
    assert len(entries) == 1
    assert entries[0].actor == "test-engineer"
    assert entries[0].after is not None and entries[0].after["format"] == "csv"


async def test_pdf_renders_with_the_real_numbers(floki: Floki) -> None:
    await _history(floki)
    resp = await _get(floki, "/reports/utilisation.pdf", **{"from": "2026-01-05"})
    assert resp.status == 200
    assert resp.content_type == "application/pdf"
    body = await resp.read()
    assert body.startswith(b"%PDF-") and body.rstrip().endswith(b"%%EOF")
    entries, _ = await floki.core.read(list_audit, entity="reports", action="export")
    assert entries[0].after is not None and entries[0].after["format"] == "pdf"

    report = await floki.core.workflow.utilisation.report(
        floki.clock.now() - dt.timedelta(hours=48)
    )
    text = _pdf_text(report_pdf(report, compress=False))
    assert "Equipment utilisation: St Elsewhere" in text
    assert "Period: 05 Jan 2026 09:00 to 07 Jan 2026 09:00 UTC (2 days)" in text
    assert "Generated: 07 Jan 2026 09:00 UTC" in text
    assert "Fleet 22 assets; 19 never needed at peak; 1 reported missing" in text
    assert "17 of 20 Infusion pumps in ICU were never needed at peak" in text.replace("\n", " ")
    # The charts' titles and axis labels, and the table's figures.
    for expected in (
        "Share of time in each state",
        "Peak concurrent use against fleet size",
        "PPM compliance before and after go-live",
        "Infusion pump / ICU",
        "9.4%",  # 90 of 960 pump-hours in use
        "100.0%",
    ):
        assert expected in text, expected
    # Same bytes for the same report: no timestamps of its own beyond the generation time.
    assert report_pdf(report, compress=False) == report_pdf(report, compress=False)


async def test_pdf_of_an_empty_register_still_renders(floki: Floki) -> None:
    resp = await _get(floki, "/reports/utilisation.pdf")
    assert resp.status == 200
    report = await floki.core.workflow.utilisation.report()
    text = _pdf_text(report_pdf(report, compress=False))
    assert "No assets in scope for this period." in text
    assert "Equipment utilisation: Configured Name" in text


async def test_exports_need_an_engineer(floki: Floki) -> None:
    for path in ("/reports/utilisation.csv", "/reports/utilisation.pdf"):
        assert (await _get(floki, path, role="staff")).status == 403
        assert (await _get(floki, path, role="admin")).status == 200
    assert (await _get(floki, "/reports/utilisation", role="viewer")).status == 200
