"""Alerts and the PPM queue against a real appliance: an alert arrives live, is
acknowledged (and the appliance's audit trail says who), resolved, and shown on the map;
the PPM queue lists overdue, due and can't-find assets with their last known locations,
raises a work order, exports CSV and prints."""

from __future__ import annotations

from pathlib import Path

import qasync
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from floki_console.context import ConsoleContext
from floki_console.widgets.main_window import MainWindow
from tests.console.appliance import Register, ThreadedAppliance
from tests.console.flow import WAIT_MS, connect_and_log_in
from tests.console.test_views import inside


def texts(model, row: int) -> list[str]:  # type: ignore[no-untyped-def]
    return [model.data(model.index(row, c)) for c in range(model.columnCount())]


def watch_scanner_leaving_ward(appliance: ThreadedAppliance, register: Register) -> None:
    appliance.admin(
        "PATCH", f"/assets/{register.assets['SCAN-001']}", {"home_zone_id": register.zones["ward7"]}
    )
    appliance.admin(
        "POST",
        "/alert-rules",
        {
            "name": "Scanners stay on Ward 7",
            "type": "geofence_exit",
            "severity": "critical",
            "params": {"dwell_seconds": 0},
        },
    )


def open_alert_row(qtbot: QtBot, window: MainWindow) -> int:
    """Wait for the one alert to be listed; its row."""
    view = window.alerts_view
    qtbot.waitUntil(lambda: view.model.rowCount() == 1, timeout=WAIT_MS)
    return 0


def test_an_alert_arrives_live_is_acknowledged_audited_and_resolved(
    qtbot: QtBot,
    qloop: qasync.QEventLoop,
    context: ConsoleContext,
    register: Register,
    appliance: ThreadedAppliance,
) -> None:
    watch_scanner_leaving_ward(appliance, register)
    appliance.scan("SCAN-001", "QR-READER-7A")
    window = connect_and_log_in(qtbot, context, appliance)
    view = window.alerts_view
    window.tabs.setCurrentWidget(view)
    qtbot.waitUntil(lambda: view.summary.text() == "No open alerts.", timeout=WAIT_MS)

    appliance.scan("SCAN-001", "QR-READER-STORE")

    row = open_alert_row(qtbot, window)
    severity, title, status, *_ = texts(view.model, row)
    assert (severity, status) == ("critical", "raised")
    assert "SCAN-001" in title and "Ward 7" in title and "Equipment store" in title
    assert window.tabs.tabText(window.tabs.indexOf(view)) == "Alerts (1)"
    alert_id = view.model.record(row)["id"]

    view.select(alert_id)
    view.note_edit.setText("porter sent to fetch it")
    qtbot.mouseClick(view.ack_button, Qt.MouseButton.LeftButton)

    qtbot.waitUntil(lambda: texts(view.model, 0)[2] == "acknowledged by ce-lead", timeout=WAIT_MS)
    status_code, audit = appliance.get(f"/audit?entity=alerts&entity_id={alert_id}")
    assert status_code == 200
    entry = audit["items"][0]
    assert (entry["action"], entry["actor"]) == ("acknowledge", "ce-lead")
    assert entry["after"]["status"] == "acknowledged"

    qtbot.mouseClick(view.map_button, Qt.MouseButton.LeftButton)
    assert window.tabs.currentWidget() is window.map_view
    scanner = register.assets["SCAN-001"]
    qtbot.waitUntil(
        lambda: inside(window.map_view.marker_position(scanner), register.zone_rect("store")),
        timeout=WAIT_MS,
    )
    assert window.map_view.scene.highlighted == scanner

    window.tabs.setCurrentWidget(view)
    qtbot.mouseClick(view.resolve_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: view.model.rowCount() == 0, timeout=WAIT_MS)
    assert window.tabs.tabText(window.tabs.indexOf(view)) == "Alerts"


def test_a_viewer_is_told_they_cannot_acknowledge(
    qtbot: QtBot,
    qloop: qasync.QEventLoop,
    context: ConsoleContext,
    register: Register,
    appliance: ThreadedAppliance,
) -> None:
    watch_scanner_leaving_ward(appliance, register)
    appliance.scan("SCAN-001", "QR-READER-7A")
    appliance.scan("SCAN-001", "QR-READER-STORE")
    window = connect_and_log_in(qtbot, context, appliance, username="viewer")
    view = window.alerts_view
    row = open_alert_row(qtbot, window)
    view.select(view.model.record(row)["id"])

    qtbot.mouseClick(view.ack_button, Qt.MouseButton.LeftButton)

    qtbot.waitUntil(lambda: "Your role cannot" in view.summary.text(), timeout=WAIT_MS)
    assert texts(view.model, row)[2] == "raised"


def test_the_ppm_queue_work_order_export_and_print(
    qtbot: QtBot,
    qloop: qasync.QEventLoop,
    context: ConsoleContext,
    register: Register,
    appliance: ThreadedAppliance,
    tmp_path: Path,
) -> None:
    assets = register.assets
    appliance.admin("PATCH", f"/assets/{assets['PUMP-001']}", {"next_ppm_due": "2025-12-01"})
    appliance.admin("PATCH", f"/assets/{assets['PUMP-002']}", {"next_ppm_due": "2026-01-20"})
    appliance.admin("PATCH", f"/assets/{assets['HOIST-001']}", {"next_ppm_due": "2025-12-10"})
    appliance.scan("PUMP-001", "QR-READER-STORE")
    appliance.scan("PUMP-002", "QR-READER-9")
    window = connect_and_log_in(qtbot, context, appliance)
    view = window.ppm_view
    window.tabs.setCurrentWidget(view)
    qtbot.waitUntil(lambda: "overdue" in view.summary.text(), timeout=WAIT_MS)

    overdue = [texts(view.models["overdue"], r) for r in range(view.models["overdue"].rowCount())]
    due = [texts(view.models["due"], r) for r in range(view.models["due"].rowCount())]
    cant_find = view.models["cant_find"].records()
    assert [r[0] for r in overdue] == ["PUMP-001"]
    assert "Equipment store" in overdue[0][4]
    assert "overdue" in overdue[0][3]
    assert [r[0] for r in due] == ["PUMP-002"]
    assert "Ward 9" in due[0][4]
    assert [i["asset_number"] for i in cant_find] == ["HOIST-001"]

    view.tables["overdue"].selectRow(0)
    qtbot.mouseClick(view.work_order_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: texts(view.models["overdue"], 0)[7].startswith("#"), timeout=WAIT_MS)

    exported = tmp_path / "queue.csv"
    done = qloop.create_task(view.export_csv(exported))
    qtbot.waitUntil(done.done, timeout=WAIT_MS)
    assert done.result() is True
    assert "PUMP-001" in exported.read_text(encoding="utf-8")
    _, audit = appliance.get("/audit?action=export")
    assert audit["items"], "the export is in the appliance's audit trail"

    printed = tmp_path / "round.pdf"
    view.print_to_pdf(printed)
    assert printed.read_bytes().startswith(b"%PDF")
    sheet = view.document().toPlainText()
    assert "PUMP-001" in sheet and "Can't find (1)" in sheet
