"""Loans and reports against a real appliance: an asset checked out, listed as open, a
second check-out refused with the appliance's reason, another loan arriving live, the
return; compliance, its trend and utilisation charted with the appliance's numbers, and
the PDF report saved."""

from __future__ import annotations

from pathlib import Path

import pytest
import qasync
from PySide6.QtCore import QDate, Qt
from PySide6.QtGui import QBrush
from pytestqt.qtbot import QtBot

from floki_console.context import ConsoleContext
from floki_console.widgets.loans_view import loan_table
from tests.console.appliance import Register, ThreadedAppliance
from tests.console.flow import WAIT_MS, connect_and_log_in
from tests.console.test_workflow_views import texts


def test_a_loan_is_checked_out_refused_twice_and_returned(
    qtbot: QtBot,
    qloop: qasync.QEventLoop,
    context: ConsoleContext,
    register: Register,
    appliance: ThreadedAppliance,
) -> None:
    pump = register.assets["PUMP-001"]
    window = connect_and_log_in(qtbot, context, appliance)
    view = window.loans_view
    window.tabs.setCurrentWidget(view)
    qtbot.waitUntil(lambda: view.counts.text() == "0 loan(s).", timeout=WAIT_MS)

    view.asset_edit.setText("pump-001")
    view.reference_edit.setText("L-1001")
    view.destination_combo.setCurrentIndex(view.destination_combo.findData("hospice"))
    view.due_edit.setDate(QDate(2026, 1, 19))
    qtbot.mouseClick(view.checkout_button, Qt.MouseButton.LeftButton)

    qtbot.waitUntil(lambda: view.model.rowCount() == 1, timeout=WAIT_MS)
    asset, reference, destination, loaned, due, status, _ = texts(view.model, 0)
    assert (asset, reference, destination, due, status) == (
        "PUMP-001",
        "L-1001",
        "hospice",
        "2026-01-19",
        "open",
    )
    assert loaned
    assert view.summary.text() == "PUMP-001 is on loan (L-1001) until 2026-01-19."
    _, on_appliance = appliance.get(f"/assets/{pump}")
    assert on_appliance["state"] == "on_loan"

    view.asset_edit.setText("PUMP-001")
    view.reference_edit.setText("L-1002")
    qtbot.mouseClick(view.checkout_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: view.summary.text().startswith("Not done:"), timeout=WAIT_MS)
    assert view.summary.text() == "Not done: asset PUMP-001 is already on loan (L-1001)"
    assert view.model.rowCount() == 1

    # A loan made elsewhere arrives through the event stream.
    appliance.admin(
        "POST",
        "/loans",
        {
            "asset_id": register.assets["PUMP-002"],
            "reference": "L-2001",
            "destination_type": "home",
            "due_back": "2026-01-12",
        },
    )
    qtbot.waitUntil(lambda: view.model.rowCount() == 2, timeout=WAIT_MS)

    loan_id = next(r["id"] for r in view.model.records() if r["reference"] == "L-1001")
    view.select(loan_id)
    assert view.return_button.isEnabled()
    qtbot.mouseClick(view.return_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: view.model.row_of(loan_id) is None, timeout=WAIT_MS)
    assert view.summary.text() == "PUMP-001 is back (dirty)."
    _, on_appliance = appliance.get(f"/assets/{pump}")
    assert on_appliance["state"] == "dirty"

    view.show_scope("returned")
    qtbot.waitUntil(lambda: view.counts.text() == "1 loan(s).", timeout=WAIT_MS)
    assert texts(view.model, 0)[1] == "L-1001"
    assert texts(view.model, 0)[5] == "returned by ce-lead"
    view.select(loan_id)
    assert not view.return_button.isEnabled()


def test_an_overdue_loan_is_highlighted() -> None:
    model = loan_table()
    model.set_records(
        [
            {"id": 1, "asset_number": "A", "status": "open", "due_back": "2026-02-01"},
            {"id": 2, "asset_number": "B", "status": "overdue", "due_back": "2026-01-01"},
        ]
    )
    due, status = 4, 5

    def colour(row: int, column: int) -> str | None:
        brush = model.data(model.index(row, column), Qt.ItemDataRole.ForegroundRole)
        return brush.color().name() if isinstance(brush, QBrush) else None

    assert colour(1, due) == colour(1, status) == "#b00020"
    assert colour(0, due) is None


def test_reports_chart_the_appliances_numbers_and_save_the_pdf(
    qtbot: QtBot,
    qloop: qasync.QEventLoop,
    context: ConsoleContext,
    register: Register,
    appliance: ThreadedAppliance,
    tmp_path: Path,
) -> None:
    assets = register.assets
    appliance.admin("PATCH", f"/assets/{assets['PUMP-001']}", {"next_ppm_due": "2025-12-01"})
    appliance.admin("PATCH", f"/assets/{assets['PUMP-002']}", {"next_ppm_due": "2026-03-01"})
    appliance.admin("PATCH", f"/assets/{assets['HOIST-001']}", {"next_ppm_due": "2026-02-10"})
    appliance.run(lambda core: core.workflow.ppm.snapshot())
    appliance.admin(
        "POST",
        "/loans",
        {
            "asset_id": assets["PUMP-002"],
            "reference": "L-3001",
            "destination_type": "home",
            "due_back": "2026-01-20",
        },
    )
    appliance.advance(6 * 3600)
    window = connect_and_log_in(qtbot, context, appliance)
    view = window.reports_view
    window.tabs.setCurrentWidget(view)
    qtbot.waitUntil(lambda: view.summary.text().startswith("PPM compliance"), timeout=WAIT_MS)

    _, compliance = appliance.get("/ppm/compliance?by=class")
    groups = compliance["groups"]
    chart = view.compliance_chart
    (series,) = chart.series()
    (bars,) = series.barSets()
    (categories,) = chart.axes(Qt.Orientation.Horizontal)
    assert categories.categories() == [g["key"] for g in groups]
    assert [bars.at(i) for i in range(bars.count())] == [g["percent"] or 0.0 for g in groups]
    by_class = {g["key"]: g["percent"] for g in groups}
    assert by_class["Infusion pump"] == 50.0 and by_class["Hoist"] == 100.0
    assert view.compliance_model.rowCount() == len(groups)
    pumps = view.compliance_model.row_of("Infusion pump")
    assert pumps is not None
    assert texts(view.compliance_model, pumps)[1:] == ["2", "1", "1", "50.0 %"]

    _, trend = appliance.get("/ppm/compliance/trend?days=90")
    lines = view.trend_chart.series()
    assert len(lines) == len(trend["series"]) >= 1
    expected = [p["percent"] for p in trend["series"][0]["points"] if p["percent"] is not None]
    assert expected, "the snapshot taken above is in the trend"
    assert [p.y() for p in lines[0].points()] == expected

    _, report = appliance.get("/reports/utilisation")
    (stacked,) = view.utilisation_chart.series()
    (classes,) = view.utilisation_chart.axes(Qt.Orientation.Horizontal)
    names = classes.categories()
    assert set(names) == {g["class_name"] for g in report["groups"]}
    shown = {
        bar_set.label(): {names[i]: bar_set.at(i) for i in range(bar_set.count())}
        for bar_set in stacked.barSets()
    }
    for group in report["groups"]:  # one department here, so one group per class
        for state, share in group["shares"].items():
            assert shown[state.replace("_", " ")][group["class_name"]] == pytest.approx(
                100 * share, abs=0.01
            )
    assert shown["on loan"]["Infusion pump"] > 0

    saved = tmp_path / "utilisation.pdf"
    done = qloop.create_task(view.save_pdf(saved))
    qtbot.waitUntil(done.done, timeout=WAIT_MS)
    assert done.result() is True
    assert saved.read_bytes().startswith(b"%PDF")
    assert view.summary.text() == f"Saved the utilisation report to {saved}."
