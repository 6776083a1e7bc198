"""The utilisation report as a PDF: charts and tables with reportlab. Loaded when a
report is first printed (``utilisation_report.report_pdf``)."""

from __future__ import annotations

import io
from collections.abc import Sequence
from xml.sax.saxutils import escape

from reportlab.graphics.charts.barcharts import VerticalBarChart  # type: ignore[import-untyped, unused-ignore]
from reportlab.graphics.charts.legends import Legend  # type: ignore[import-untyped, unused-ignore]
from reportlab.graphics.shapes import Drawing, String  # type: ignore[import-untyped, unused-ignore]
from reportlab.lib import colors  # type: ignore[import-untyped, unused-ignore]
from reportlab.lib.pagesizes import A4  # type: ignore[import-untyped, unused-ignore]
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet  # type: ignore[import-untyped, unused-ignore]
from reportlab.lib.units import mm  # type: ignore[import-untyped, unused-ignore]
from reportlab.platypus import (  # type: ignore[import-untyped, unused-ignore]
    Flowable,
    KeepTogether,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from floki_core.workflow.utilisation import (
    GroupReport,
    UtilisationReport,
    compliance_share,
    other_share,
)
from floki_core.workflow.utilisation_metrics import HEADLINE_STATES

__all__ = ["render_pdf"]

CHART_GROUPS = 12  # the largest groups; more bars than this cannot be read on A4
STATE_COLOURS = {
    "in_use": colors.HexColor("#1f77b4"),
    "available": colors.HexColor("#2ca02c"),
    "dirty": colors.HexColor("#ff7f0e"),
    "in_maintenance": colors.HexColor("#9467bd"),
    "missing": colors.HexColor("#d62728"),
    "other": colors.HexColor("#7f7f7f"),
}
WIDTH = A4[0] - 36 * mm


# --- PDF -------------------------------------------------------------------------


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value * 100:.1f}%"


def _label(group: GroupReport) -> str:
    return f"{group.class_name} / {group.department}" if group.department else group.class_name


def _short(text: str, size: int = 24) -> str:
    # ASCII dots: the PDF's built-in fonts have no ellipsis glyph.
    return text if len(text) <= size else text[: size - 3] + "..."


def _charted(report: UtilisationReport) -> list[GroupReport]:
    biggest = sorted(report.groups, key=lambda g: -g.fleet)[:CHART_GROUPS]
    return [g for g in report.groups if g in biggest]


def _bar_chart(
    title: str,
    groups: Sequence[GroupReport],
    series: Sequence[tuple[str, colors.Color, list[float]]],
    *,
    stacked: bool = False,
    value_max: float | None = None,
    percent: bool = False,
) -> Drawing:
    drawing = Drawing(WIDTH, 230)
    drawing.add(String(0, 215, title, fontName="Helvetica-Bold", fontSize=11))
    chart = VerticalBarChart()
    chart.x, chart.y, chart.width, chart.height = 40, 70, WIDTH - 150, 130
    chart.data = [values for _, _, values in series]
    for i, (_, colour, _) in enumerate(series):
        chart.bars[i].fillColor = colour
    chart.categoryAxis.categoryNames = [_short(_label(g)) for g in groups]
    chart.categoryAxis.labels.angle = 30
    chart.categoryAxis.labels.boxAnchor = "ne"
    chart.categoryAxis.labels.fontSize = 7
    if stacked:
        chart.categoryAxis.style = "stacked"
    chart.valueAxis.valueMin = 0
    if value_max is not None:
        chart.valueAxis.valueMax = value_max
    if percent:
        chart.valueAxis.labelTextFormat = "%d%%"
    chart.valueAxis.labels.fontSize = 7
    drawing.add(chart)
    legend = Legend()
    legend.x, legend.y = WIDTH - 100, 190
    legend.fontSize = 7
    legend.alignment = "right"
    legend.colorNamePairs = [(colour, name) for name, colour, _ in series]
    drawing.add(legend)
    return drawing


def _state_chart(groups: Sequence[GroupReport]) -> Drawing:
    states = [*HEADLINE_STATES, "other"]
    series = [
        (
            s.replace("_", " "),
            STATE_COLOURS[s],
            [
                round((other_share(g) if s == "other" else g.shares.get(s, 0.0)) * 100, 1)
                for g in groups
            ],
        )
        for s in states
    ]
    return _bar_chart(
        "Share of time in each state", groups, series, stacked=True, value_max=100, percent=True
    )


def _peak_chart(groups: Sequence[GroupReport]) -> Drawing:
    series = [
        ("fleet", colors.HexColor("#aec7e8"), [float(g.fleet) for g in groups]),
        ("peak in use", colors.HexColor("#1f77b4"), [float(g.peak_in_use) for g in groups]),
    ]
    return _bar_chart("Peak concurrent use against fleet size", groups, series)


def _ppm_chart(groups: Sequence[GroupReport], report: UtilisationReport) -> Drawing:
    series = [
        (
            f"at go-live ({report.go_live.isoformat()})",
            colors.HexColor("#c7c7c7"),
            [round((g.ppm_before.share or 0.0) * 100, 1) for g in groups],
        ),
        (
            "at period end",
            colors.HexColor("#2ca02c"),
            [round((compliance_share(g.ppm_after) or 0.0) * 100, 1) for g in groups],
        ),
    ]
    return _bar_chart(
        "PPM compliance before and after go-live", groups, series, value_max=100, percent=True
    )


def _table(rows: list[list[object]], widths: list[float]) -> Table:
    table = Table(rows, colWidths=widths, repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("FONT", (0, 0), (-1, 0), "Helvetica-Bold", 7),
                ("FONT", (0, 1), (-1, -1), "Helvetica", 7),
                ("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eeeeee")),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]
        )
    )
    return table


def _cell(text: str, style: ParagraphStyle) -> Paragraph:
    return Paragraph(escape(text), style)


def render_pdf(report: UtilisationReport, *, compress: bool = True) -> bytes:
    styles = getSampleStyleSheet()
    body, small = styles["BodyText"], ParagraphStyle("small", fontSize=7, leading=8.5)
    out = io.BytesIO()
    doc = SimpleDocTemplate(
        out,
        pagesize=A4,
        leftMargin=18 * mm,
        rightMargin=18 * mm,
        topMargin=16 * mm,
        bottomMargin=16 * mm,
        title=f"Equipment utilisation - {report.site}",
        author="Floki",
        pageCompression=1 if compress else 0,
        invariant=0 if compress else 1,
    )
    period = (
        f"{report.period_from:%d %b %Y %H:%M} to {report.period_to:%d %b %Y %H:%M} UTC "
        f"({report.period_days:g} days)"
    )
    story: list[Flowable] = [
        Paragraph(escape(f"Equipment utilisation: {report.site}"), styles["Title"]),
        Paragraph(escape(f"Period: {period}"), body),
        Paragraph(escape(f"Generated: {report.generated_at:%d %b %Y %H:%M} UTC"), body),
        Paragraph(
            escape(
                f"Fleet {report.fleet} assets; {report.never_needed_at_peak} never needed at "
                f"peak; {report.reported_missing} reported missing; PPM compliance "
                f"{_pct(report.ppm_before.share)} at go-live ({report.go_live.isoformat()}), "
                f"{_pct(compliance_share(report.ppm_after))} at period end."
            ),
            body,
        ),
        Spacer(1, 4 * mm),
    ]
    recommendations = [g.recommendation for g in report.groups if g.recommendation]
    if recommendations:
        story.append(Paragraph("Findings", styles["Heading2"]))
        story += [Paragraph("&bull; " + escape(r), body) for r in recommendations]
        story.append(Spacer(1, 4 * mm))
    if not report.groups:
        story.append(Paragraph("No assets in scope for this period.", body))
    else:
        charted = _charted(report)
        if len(charted) < len(report.groups):
            story.append(
                Paragraph(
                    f"Charts show the {len(charted)} largest groups of {len(report.groups)}.", body
                )
            )
        story += [
            KeepTogether([_state_chart(charted)]),
            KeepTogether([_peak_chart(charted)]),
            KeepTogether([_ppm_chart(charted, report)]),
        ]
        story += _group_tables(report, small)
    story.append(Paragraph("Method", styles["Heading2"]))
    story += [Paragraph(escape(line), small) for line in report.method]
    doc.build(story)
    return out.getvalue()


def _group_tables(report: UtilisationReport, small: ParagraphStyle) -> list[Flowable]:
    heading = getSampleStyleSheet()["Heading2"]
    states = [*HEADLINE_STATES, "other"]
    shares: list[list[object]] = [
        [
            _cell(h, small)
            for h in ("Class / department", "Fleet", *(s.replace("_", " ") for s in states))
        ]
    ]
    figures: list[list[object]] = [
        [
            _cell(h, small)
            for h in (
                "Class / department",
                "Fleet",
                "Peak in use",
                "Never needed at peak",
                "Idle",
                "Reported missing",
                "Median hours to find",
                "PPM at go-live",
                "PPM at end",
            )
        ]
    ]
    for g in report.groups:
        values = [other_share(g) if s == "other" else g.shares.get(s, 0.0) for s in states]
        shares.append([_cell(_label(g), small), g.fleet, *(_pct(v) for v in values)])
        figures.append(
            [
                _cell(_label(g), small),
                g.fleet,
                g.peak_in_use,
                g.never_needed_at_peak,
                g.idle_count,
                g.reported_missing,
                "n/a" if g.median_hours_to_find is None else f"{g.median_hours_to_find:g}",
                _pct(g.ppm_before.share),
                _pct(compliance_share(g.ppm_after)),
            ]
        )
    flow: list[Flowable] = [
        Paragraph("Share of time by class and department", heading),
        _table(shares, [WIDTH - 7 * 45.0] + [45.0] * 7),
        Paragraph("Peak use, idle assets, search effort and PPM", heading),
        _table(figures, [WIDTH - 8 * 42.0] + [42.0] * 8),
    ]
    idle_rows: list[list[object]] = [["Asset", "Class / department", "State", "Last moved", "Zone"]]
    for g in report.groups:
        for a in g.idle:
            moved = a.last_moved.strftime("%d %b %Y") if a.last_moved else "never"
            idle_rows.append(
                [
                    a.asset_number,
                    _cell(_label(g), small),
                    a.state,
                    moved,
                    _cell(a.zone or "", small),
                ]
            )
    if len(idle_rows) > 1:
        flow += [
            Paragraph(
                escape(f"Idle assets (not moved for {report.idle_days} days or more)"), heading
            ),
            _table(idle_rows, [70.0, WIDTH - 330, 70.0, 70.0, 120.0]),
        ]
    return flow
