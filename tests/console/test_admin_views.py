"""The administrator's register import (progress, the row-by-row report, all or nothing
unless the good rows are asked for) and the plan editor (a plan uploaded, a zone drawn by
clicking, a receiver placed), each checked in what the appliance then holds."""

from __future__ import annotations

from pathlib import Path

import qasync
from PySide6.QtCore import QPointF, Qt
from PySide6.QtTest import QTest
from pytestqt.qtbot import QtBot

from floki_console.context import ConsoleContext
from floki_console.widgets.import_view import problems_from_refusal
from floki_console.widgets.main_window import MainWindow
from floki_console.widgets.plan_canvas import DRAW_ZONE, PLACE_RECEIVER
from floki_console.widgets.plans_view import PlansView
from tests.console.appliance import Register, ThreadedAppliance, plan_png
from tests.console.flow import WAIT_MS, connect_and_log_in
from tests.console.test_workflow_views import texts

GOOD_AND_BAD = (
    "Equipment No,Description,Next PPM Due\r\n"
    "IMP-001,Imported defibrillator,2030-01-31\r\n"
    "IMP-002,Imported suction unit,not a date\r\n"
    "IMP-003,Imported ECG,31/03/2030\r\n"
)


def asset_numbers(appliance: ThreadedAppliance) -> set[str]:
    status, page = appliance.get("/assets?limit=500")
    assert status == 200
    return {a["asset_number"] for a in page["items"]}


def open_import(qtbot: QtBot, window: MainWindow, csv_file: Path, skip_bad: bool) -> None:
    view = window.import_view
    window.tabs.setCurrentWidget(view)
    view.file_edit.setText(str(csv_file))
    view.skip_bad_check.setChecked(skip_bad)
    qtbot.mouseClick(view.import_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: view.outcome is not None, timeout=WAIT_MS)


def test_a_bad_row_is_reported_and_nothing_is_imported(
    qtbot: QtBot,
    qloop: qasync.QEventLoop,
    context: ConsoleContext,
    register: Register,
    appliance: ThreadedAppliance,
    tmp_path: Path,
) -> None:
    csv_file = tmp_path / "register.csv"
    csv_file.write_bytes(GOOD_AND_BAD.encode())
    window = connect_and_log_in(qtbot, context, appliance)
    view = window.import_view
    assert window.tabs.indexOf(view) >= 0

    open_import(qtbot, window, csv_file, skip_bad=False)

    outcome = view.outcome
    assert outcome is not None and not outcome.imported
    assert "Nothing was imported" in view.status.text()
    assert view.progress.maximum() == csv_file.stat().st_size
    assert view.progress.value() == view.progress.maximum()
    assert view.model.rowCount() == 1
    row = texts(view.model, 0)
    assert row[:2] == ["3", "Next PPM Due"]
    assert row[2] and row[3] == "error"
    assert not asset_numbers(appliance) & {"IMP-001", "IMP-002", "IMP-003"}


def test_skipping_bad_rows_imports_the_good_ones(
    qtbot: QtBot,
    qloop: qasync.QEventLoop,
    context: ConsoleContext,
    register: Register,
    appliance: ThreadedAppliance,
    tmp_path: Path,
) -> None:
    csv_file = tmp_path / "register.csv"
    csv_file.write_bytes(GOOD_AND_BAD.encode())
    window = connect_and_log_in(qtbot, context, appliance)
    view = window.import_view

    open_import(qtbot, window, csv_file, skip_bad=True)

    outcome = view.outcome
    assert outcome is not None and outcome.imported
    assert outcome.counts["created"] == 2 and outcome.counts["skipped"] == 1
    assert "2 created" in view.status.text() and "1 bad row skipped" in view.status.text()
    errors = [texts(view.model, r) for r in range(view.model.rowCount())]
    assert [e[:2] for e in errors if e[3] == "error"] == [["3", "Next PPM Due"]]
    numbers = asset_numbers(appliance)
    assert {"IMP-001", "IMP-003"} <= numbers and "IMP-002" not in numbers

    # Logged out, the report goes with the session.
    with qtbot.waitSignal(window.signed_out, timeout=WAIT_MS):
        window.logout_action.trigger()
    assert window.tabs.indexOf(view) < 0 and view.model.rowCount() == 0


def test_the_refusal_is_read_row_by_row() -> None:
    reason = (
        "<upload>: 2 problems, nothing was imported:\n"
        "line 4: Next PPM Due: not a date: 'x'\n"
        "line 7: asset number IMP-9 appears twice\n"
        "... and 3 more"
    )
    problems, rest = problems_from_refusal(reason, ["Equipment No", "Next PPM Due"])
    assert [(p.line, p.column, p.reason) for p in problems] == [
        (4, "Next PPM Due", "not a date: 'x'"),
        (7, "", "asset number IMP-9 appears twice"),
    ]
    assert rest.endswith("... and 3 more")


def _click(qtbot: QtBot, view: PlansView, x: float, y: float) -> None:
    at = view.canvas.mapFromScene(QPointF(x, y))
    QTest.mouseClick(view.canvas.viewport(), Qt.MouseButton.LeftButton, pos=at)


def _tolerance(view: PlansView) -> float:
    return 1.5 / min(view.canvas.transform().m11(), 1.0)


def open_plans(qtbot: QtBot, window: MainWindow, register: Register) -> PlansView:
    view = window.plans_view
    assert window.tabs.indexOf(view) >= 0
    window.tabs.setCurrentWidget(view)
    qtbot.waitUntil(lambda: view.floor_combo.count() == 2, timeout=WAIT_MS)
    view.floor_combo.setCurrentIndex(view.floor_combo.findData(register.floors["level3"]))
    qtbot.waitUntil(lambda: view.has_plan, timeout=WAIT_MS)
    return view


def test_a_plan_is_uploaded_and_a_zone_drawn_on_it(
    qtbot: QtBot,
    qloop: qasync.QEventLoop,
    context: ConsoleContext,
    register: Register,
    appliance: ThreadedAppliance,
    tmp_path: Path,
) -> None:
    window = connect_and_log_in(qtbot, context, appliance)
    view = open_plans(qtbot, window, register)
    floor_id = register.floors["level3"]

    plan = tmp_path / "level3.png"
    plan.write_bytes(plan_png("Level 3 redrawn"))
    upload = qloop.create_task(view.upload_plan(plan))
    qtbot.waitUntil(upload.done, timeout=WAIT_MS)
    assert upload.result() is not None and upload.result()["id"] == floor_id
    assert view.upload_progress.value() == plan.stat().st_size
    qtbot.waitUntil(lambda: view.has_plan, timeout=WAIT_MS)

    view.set_mode(DRAW_ZONE)
    assert not view.save_zone_button.isEnabled()
    corners = [(100.0, 100.0), (300.0, 120.0), (180.0, 300.0)]
    for x, y in corners:
        _click(qtbot, view, x, y)
    assert len(view.canvas.points) == 3
    qtbot.mouseClick(view.finish_button, Qt.MouseButton.LeftButton)
    assert view.canvas.closed and view.save_zone_button.isEnabled()

    view.zone_name_edit.setText("Triage bay")
    view.zone_type_combo.setCurrentIndex(view.zone_type_combo.findData("bay"))
    view.parent_combo.setCurrentIndex(view.parent_combo.findData(register.zones["ward9"]))
    qtbot.mouseClick(view.save_zone_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: view.status.text().startswith("Saved zone"), timeout=WAIT_MS)

    _, zones = appliance.get("/zones?limit=500")
    zone = next(z for z in zones["items"] if z["name"] == "Triage bay")
    assert zone["type"] == "bay" and zone["floor_id"] == floor_id
    assert zone["parent_id"] == register.zones["ward9"]
    tolerance = _tolerance(view)
    assert len(zone["polygon"]) == 3
    for (x, y), (sx, sy) in zip(zone["polygon"], corners, strict=True):
        assert abs(x - sx) <= tolerance and abs(y - sy) <= tolerance
    assert zone["id"] in view.scene.zone_items  # drawn with the floor's other zones
    # The map picks it up at once.
    qtbot.waitUntil(lambda: zone["id"] in window.map_view.data.zones, timeout=WAIT_MS)


def test_a_zone_closed_by_double_click_and_a_refusal_shown(
    qtbot: QtBot,
    qloop: qasync.QEventLoop,
    context: ConsoleContext,
    register: Register,
    appliance: ThreadedAppliance,
) -> None:
    window = connect_and_log_in(qtbot, context, appliance)
    view = open_plans(qtbot, window, register)
    view.set_mode(DRAW_ZONE)
    for x, y in [(400.0, 100.0), (600.0, 100.0)]:
        _click(qtbot, view, x, y)
    last = view.canvas.mapFromScene(QPointF(500.0, 300.0))
    QTest.mouseClick(view.canvas.viewport(), Qt.MouseButton.LeftButton, pos=last)
    QTest.mouseDClick(view.canvas.viewport(), Qt.MouseButton.LeftButton, pos=last)
    assert view.canvas.closed and len(view.canvas.points) == 3

    view.zone_name_edit.setMaxLength(400)
    view.zone_name_edit.setText("x" * 201)  # longer than the appliance accepts
    qtbot.mouseClick(view.save_zone_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: view.status.text().startswith("Zone not saved"), timeout=WAIT_MS)
    assert view.canvas.closed and view.save_zone_button.isEnabled()


def test_a_receiver_is_placed_by_clicking(
    qtbot: QtBot,
    qloop: qasync.QEventLoop,
    context: ConsoleContext,
    register: Register,
    appliance: ThreadedAppliance,
) -> None:
    window = connect_and_log_in(qtbot, context, appliance)
    view = open_plans(qtbot, window, register)
    before = view.canvas.receiver_count
    assert before == 1  # QR-READER-9 on Level 3

    view.set_mode(PLACE_RECEIVER)
    assert not view.save_receiver_button.isEnabled()
    _click(qtbot, view, 250.0, 200.0)
    assert view.save_receiver_button.isEnabled()
    # The zone under the click is chosen for it.
    assert view.receiver_zone_combo.currentData() == register.zones["ward9"]
    view.receiver_name_edit.setText("Ward 9 gateway")
    view.identifier_edit.setText("AA:BB:CC:DD:EE:09")
    view.technology_combo.setCurrentText("ble")
    qtbot.mouseClick(view.save_receiver_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: view.status.text().startswith("Saved receiver"), timeout=WAIT_MS)

    _, receivers = appliance.get("/receivers?limit=500")
    made = next(r for r in receivers["items"] if r["name"] == "Ward 9 gateway")
    assert made["technology"] == "ble" and made["zone_id"] == register.zones["ward9"]
    tolerance = _tolerance(view)
    assert abs(made["x"] - 250.0) <= tolerance and abs(made["y"] - 200.0) <= tolerance
    assert view.canvas.receiver_count == before + 1

    # A second receiver with the same identifier is refused with the appliance's reason.
    view.set_mode(PLACE_RECEIVER)
    _click(qtbot, view, 300.0, 220.0)
    view.identifier_edit.setText("AA:BB:CC:DD:EE:09")
    view.technology_combo.setCurrentText("ble")
    qtbot.mouseClick(view.save_receiver_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: view.status.text().startswith("Receiver not saved"), timeout=WAIT_MS)


def test_a_viewer_has_no_admin_tabs(
    qtbot: QtBot,
    qloop: qasync.QEventLoop,
    context: ConsoleContext,
    register: Register,
    appliance: ThreadedAppliance,
) -> None:
    window = connect_and_log_in(qtbot, context, appliance, username="viewer")
    for view in (window.import_view, window.plans_view):
        assert window.tabs.indexOf(view) < 0 and view.session is None
