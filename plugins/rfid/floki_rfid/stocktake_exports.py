"""A stock-take report as a file: CSV (one row per asset or tag, its list named in the
first column) and PDF (for the store's records: title, zone, when, who, and the four
lists with their counts).

A CSV cell a spreadsheet would run as a formula starts with a quote instead, as in
every CSV the appliance writes (an asset's name is typed by people).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any, Final
from xml.sax.saxutils import escape

from reportlab.lib import colors  # type: ignore[import-untyped, unused-ignore]
from reportlab.lib.pagesizes import A4  # type: ignore[import-untyped, unused-ignore]
from reportlab.lib.styles import getSampleStyleSheet  # type: ignore[import-untyped, unused-ignore]
from reportlab.lib.units import mm  # type: ignore[import-untyped, unused-ignore]
from reportlab.pdfbase.pdfmetrics import stringWidth  # type: ignore[import-untyped, unused-ignore]
from reportlab.platypus import (  # type: ignore[import-untyped, unused-ignore]
    Flowable,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

__all__ = ["CSV_HEADERS", "filename", "neutralise_cell", "report_csv", "report_pdf"]

CSV_HEADERS: Final = (
    "list",
    "asset_number",
    "name",
    "class",
    "epc",
    "kind",
    "expected_zone",
    "last_seen_zone",
    "last_seen",
)
# The characters a spreadsheet takes as the start of a formula.
FORMULA_START: Final = ("=", "+", "-", "@", "\t", "\r")
_FONT, _SIZE, _PADDING = "Helvetica", 8, 3  # table cells: font, points, padding in points
_ROWS_PER_TABLE: Final = 40  # rows of 8 pt text: less than an A4 page
_TITLES: Final = {
    "found": "Found: expected here and read",
    "missing": "Missing: expected here, not read",
    "unexpected": "Unexpected: read here, expected elsewhere",
    "unknown": "Unknown tags: no asset has these EPCs",
}
# Columns of each list in the PDF: (heading, key, width in mm), 178 mm at most (A4 less
# the margins); a time and a 96-bit EPC each fit on one line.
_COLUMNS: Final[dict[str, tuple[tuple[str, str, float], ...]]] = {
    "found": (
        ("Asset", "asset_number", 28),
        ("Name", "name", 56),
        ("Class", "class", 40),
        ("EPC", "epc", 50),
    ),
    "missing": (
        ("Asset", "asset_number", 24),
        ("Name", "name", 46),
        ("Class", "class", 34),
        ("Last seen in", "last_seen_zone", 36),
        ("Last seen", "last_seen", 38),
    ),
    "unexpected": (
        ("Asset", "asset_number", 20),
        ("Name", "name", 28),
        ("Expected in", "expected_zone", 24),
        ("Last seen in", "last_seen_zone", 24),
        ("Last seen", "last_seen", 37),
        ("EPC", "epc", 45),
    ),
    "unknown": (("EPC", "epc", 110), ("Kind", "kind", 30)),
}


def neutralise_cell(value: object) -> str:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)  # a number carries no formula, and "-52" must stay one
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def filename(report: dict[str, Any], extension: str) -> str:
    """``floki-stocktake-<id>-<yyyymmdd>.<ext>``: no zone name (people type those)."""
    day = str(report["taken_at"])[:10].replace("-", "")
    return f"floki-stocktake-{int(report['id'])}-{day}.{extension}"


def report_csv(report: dict[str, Any]) -> str:
    out = io.StringIO(newline="")
    writer = csv.writer(out)
    writer.writerow(CSV_HEADERS)
    for name in ("found", "missing", "unexpected", "unknown"):
        for item in report[name]:
            row = [name, *(item.get(key) for key in CSV_HEADERS[1:])]
            writer.writerow([neutralise_cell(cell) for cell in row])
    return out.getvalue()


def _when(value: Any) -> str:
    """An ISO time as ``05 Jan 2026 09:10 UTC``; anything else as it is."""
    if not value:
        return ""
    try:
        moment = dt.datetime.fromisoformat(str(value))
    except ValueError:
        return str(value)
    return f"{moment.astimezone(dt.UTC):%d %b %Y %H:%M} UTC"


def _fitted(text: str, width_mm: float) -> str:
    """``text`` cut to the column's width (with an ellipsis): plain cells, not wrapped
    paragraphs, keep a 10,000-row report to seconds."""
    room = width_mm * mm - 2 * _PADDING
    if stringWidth(text, _FONT, _SIZE) <= room:
        return text
    while text and stringWidth(text + "...", _FONT, _SIZE) > room:
        text = text[:-1]
    return text + "..."


def _tables(name: str, items: list[dict[str, Any]]) -> list[Flowable]:
    """The list as tables of a page or less each, every one with the headings: a table
    split across pages costs time that grows with its length, so a 10,000-row list as
    one table takes minutes."""
    columns = _COLUMNS[name]
    headings = [heading for heading, _, _ in columns]
    rows: list[list[str]] = []
    for item in items:
        cells = []
        for _, key, width in columns:
            value = item.get(key)
            text = _when(value) if key == "last_seen" else "" if value is None else str(value)
            cells.append(_fitted(text, width))
        rows.append(cells)
    style = TableStyle(
        [
            ("FONT", (0, 0), (-1, 0), "Helvetica-Bold", _SIZE),
            ("FONT", (0, 1), (-1, -1), _FONT, _SIZE),
            ("LEFTPADDING", (0, 0), (-1, -1), _PADDING),
            ("RIGHTPADDING", (0, 0), (-1, -1), _PADDING),
            ("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
            ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eeeeee")),
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ]
    )
    widths = [w * mm for _, _, w in columns]
    tables: list[Flowable] = []
    for start in range(0, len(rows), _ROWS_PER_TABLE):
        table = Table([headings, *rows[start : start + _ROWS_PER_TABLE]], colWidths=widths)
        table.setStyle(style)
        tables.append(table)
    return tables


def report_pdf(report: dict[str, Any], *, compress: bool = True) -> bytes:
    styles = getSampleStyleSheet()
    body = styles["BodyText"]
    out = io.BytesIO()
    title = f"RFID stock-take {report['id']}: {report['zone']}"
    doc = SimpleDocTemplate(
        out,
        pagesize=A4,
        leftMargin=16 * mm,
        rightMargin=16 * mm,
        topMargin=16 * mm,
        bottomMargin=16 * mm,
        title=title,
        author="Floki",
        pageCompression=1 if compress else 0,
        invariant=0 if compress else 1,
    )
    counts = report["counts"]
    summary = (
        f"{counts['expected']} expected: {counts['found']} found, {counts['missing']} missing; "
        f"{counts['unexpected']} unexpected; {counts['unknown']} unknown tags."
    )
    story: list[Flowable] = [
        Paragraph(escape(title), styles["Title"]),
        Paragraph(escape(f"Zone: {report['zone']} (and the zones inside it)"), body),
        Paragraph(escape(f"Taken: {_when(report['taken_at'])}"), body),
        Paragraph(escape(f"By: {report['by']}"), body),
    ]
    if report.get("device"):
        story.append(Paragraph(escape(f"Device: {report['device']}"), body))
    if report.get("note"):
        story.append(Paragraph(escape(f"Note: {report['note']}"), body))
    story += [Paragraph(escape(summary), body), Spacer(1, 4 * mm)]
    for name, heading in _TITLES.items():
        items = report[name]
        story.append(Paragraph(escape(f"{heading} ({len(items)})"), styles["Heading2"]))
        if items:
            story += _tables(name, items)
        else:
            story.append(Paragraph("None.", body))
    doc.build(story)
    return out.getvalue()
