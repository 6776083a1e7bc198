"""The utilisation report as a spreadsheet (CSV) and as a printable PDF with charts."""

from __future__ import annotations

import csv
import io

from floki_core.csv_cells import neutralise_cell as neutralise
from floki_core.workflow.utilisation import (
    UtilisationReport,
    compliance_share,
    other_share,
)
from floki_core.workflow.utilisation_metrics import HEADLINE_STATES

CSV_COLUMNS = (
    "class",
    "department",
    "fleet",
    "asset_hours",
    *(f"share_{s}" for s in HEADLINE_STATES),
    "share_other",
    "peak_in_use",
    "peak_at",
    "never_needed_at_peak",
    "idle_assets",
    "reported_missing",
    "found",
    "still_missing",
    "median_hours_to_find",
    "ppm_scheduled_before",
    "ppm_compliance_before",
    "ppm_scheduled_after",
    "ppm_compliance_after",
    "recommendation",
)


def report_csv(report: UtilisationReport) -> str:
    out = io.StringIO(newline="")
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for g in report.groups:
        cells: list[object] = [
            g.class_name,
            g.department,
            g.fleet,
            g.asset_hours,
            *(g.shares.get(s, 0.0) for s in HEADLINE_STATES),
            other_share(g),
            g.peak_in_use,
            g.peak_at.isoformat() if g.peak_at else "",
            g.never_needed_at_peak,
            g.idle_count,
            g.reported_missing,
            g.found,
            g.still_missing,
            g.median_hours_to_find,
            g.ppm_before.scheduled,
            compliance_share(g.ppm_before),
            g.ppm_after.scheduled if g.ppm_after else None,
            compliance_share(g.ppm_after),
            g.recommendation,
        ]
        writer.writerow([neutralise(c) for c in cells])
    return out.getvalue()


def report_pdf(report: UtilisationReport, *, compress: bool = True) -> bytes:
    """The report as a PDF (``utilisation_pdf``; reportlab is loaded with the first one,
    not with the appliance: ~8 MB a department that never prints one never holds)."""
    from floki_core.workflow.utilisation_pdf import render_pdf

    return render_pdf(report, compress=compress)
