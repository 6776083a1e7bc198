"""Find and Map against a real appliance: search, why it is there, the marker on the plan,
live movement, stale locations, filters, counts and the floor switcher."""

from __future__ import annotations

import qasync
from PySide6.QtCore import QPointF, Qt
from pytestqt.qtbot import QtBot

from floki_console.context import ConsoleContext
from floki_console.widgets.main_window import MainWindow
from tests.console.appliance import Register, ThreadedAppliance
from tests.console.flow import WAIT_MS, connect_and_log_in, map_loaded

STALE_AFTER = 900  # the appliance's default [location.resolver] stale_after_seconds


def inside(point: QPointF | None, rect: tuple[int, int, int, int]) -> bool:
    if point is None:
        return False
    left, top, right, bottom = rect
    return left < point.x() < right and top < point.y() < bottom


def search(qtbot: QtBot, window: MainWindow, text: str, expected_rows: int) -> None:
    find = window.find_view
    window.tabs.setCurrentWidget(find)
    find.search_edit.setText(text)
    qtbot.keyClick(find.search_edit, Qt.Key.Key_Return)
    qtbot.waitUntil(
        lambda: find.model.rowCount() == expected_rows and "found" in find.summary.text(),
        timeout=WAIT_MS,
    )


def row_texts(window: MainWindow, row: int) -> list[str]:
    model = window.find_view.model
    return [model.data(model.index(row, c)) for c in range(model.columnCount())]


def pick(qtbot: QtBot, window: MainWindow, row: int) -> None:
    view = window.find_view.results
    view.selectRow(row)
    qtbot.waitUntil(
        lambda: "Why Floki thinks so" in window.find_view.detail.toPlainText(), timeout=WAIT_MS
    )


def test_search_shows_where_how_fresh_and_state_and_why(
    qtbot: QtBot,
    qloop: qasync.QEventLoop,
    context: ConsoleContext,
    register: Register,
    appliance: ThreadedAppliance,
) -> None:
    appliance.scan("SCAN-001", "QR-READER-7A")
    window = connect_and_log_in(qtbot, context, appliance)

    search(qtbot, window, "bladder scanner", 1)

    number, description, class_name, where, freshness, state = row_texts(window, 0)
    assert (number, class_name, where, state) == (
        "SCAN-001",
        "Bladder scanner",
        "Room 7A",
        "available",
    )
    assert description == "Bladder scanner BVI 9400"
    assert freshness.startswith("seen ")
    pick(qtbot, window, 0)
    detail = window.find_view.detail.toPlainText()
    assert "St Test General \u203a Main \u203a Level 2 \u203a Ward 7 \u203a Room 7A" in detail
    assert "QR point Room 7A" in detail
    assert "How sure:" in detail


def test_an_asset_never_seen_says_so(
    qtbot: QtBot,
    qloop: qasync.QEventLoop,
    context: ConsoleContext,
    register: Register,
    appliance: ThreadedAppliance,
) -> None:
    window = connect_and_log_in(qtbot, context, appliance)

    search(qtbot, window, "hoist", 1)

    assert row_texts(window, 0)[3] == "not located yet"


def test_the_picked_asset_is_on_the_map_and_its_marker_follows_it(
    qtbot: QtBot,
    qloop: qasync.QEventLoop,
    context: ConsoleContext,
    register: Register,
    appliance: ThreadedAppliance,
) -> None:
    appliance.scan("SCAN-001", "QR-READER-7A")
    window = connect_and_log_in(qtbot, context, appliance)
    search(qtbot, window, "SCAN-001", 1)
    pick(qtbot, window, 0)
    scanner = register.assets["SCAN-001"]

    qtbot.mouseClick(window.find_view.map_button, Qt.MouseButton.LeftButton)

    map_view = window.map_view
    assert window.tabs.currentWidget() is map_view
    assert map_view.floor_combo.currentText() == "Main \u2014 Level 2"
    assert inside(map_view.marker_position(scanner), register.zone_rect("room7a"))
    assert map_view.scene.highlighted == scanner
    assert map_view.scene.zone_labels[register.zones["room7a"]].text() == "Room 7A (1)"
    qtbot.waitUntil(lambda: map_view.scene.has_plan, timeout=WAIT_MS)

    appliance.scan("SCAN-001", "QR-READER-7B")

    qtbot.waitUntil(
        lambda: inside(map_view.marker_position(scanner), register.zone_rect("room7b")),
        timeout=WAIT_MS,
    )
    scene = map_view.scene
    assert scene.zone_labels[register.zones["room7b"]].text() == "Room 7B (1)"
    assert scene.zone_labels[register.zones["room7a"]].text() == "Room 7A (0)"
    listed = [map_view.counts_list.item(i).text() for i in range(map_view.counts_list.count())]
    assert [line.strip() for line in listed] == [
        "Equipment store: 0",
        "Ward 7: 1",
        "Room 7A: 0",
        "Room 7B: 1",
    ]
    assert scene.zone_labels[register.zones["ward7"]].text() == "Ward 7 (1)"
    # The halo went with it, and the search result says where it is now.
    halo = map_view.scene.highlight(scanner)
    assert halo is not None and inside(halo.pos(), register.zone_rect("room7b"))
    assert row_texts(window, 0)[3] == "Room 7B"


def test_a_stale_location_is_drawn_differently_and_said(
    qtbot: QtBot,
    qloop: qasync.QEventLoop,
    context: ConsoleContext,
    register: Register,
    appliance: ThreadedAppliance,
) -> None:
    appliance.scan("PUMP-001", "QR-READER-STORE")
    appliance.scan("SCAN-001", "QR-READER-7A", after=STALE_AFTER + 60)
    window = connect_and_log_in(qtbot, context, appliance)
    scene = window.map_view.scene
    pump, scanner = register.assets["PUMP-001"], register.assets["SCAN-001"]

    stale, fresh = scene.markers[pump], scene.markers[scanner]

    assert stale.pen().style() == Qt.PenStyle.DashLine
    assert fresh.pen().style() == Qt.PenStyle.SolidLine
    assert stale.brush().color().alpha() < fresh.brush().color().alpha()
    assert "stale" in stale.toolTip() and "stale" not in fresh.toolTip()
    assert "(1 stale)" in window.map_view.summary.text()
    search(qtbot, window, "PUMP-001", 1)
    assert row_texts(window, 0)[4].startswith("stale")


def test_filters_counts_and_floors(
    qtbot: QtBot,
    qloop: qasync.QEventLoop,
    context: ConsoleContext,
    register: Register,
    appliance: ThreadedAppliance,
) -> None:
    appliance.scan("PUMP-001", "QR-READER-STORE")
    appliance.scan("SCAN-001", "QR-READER-7A")
    appliance.scan("PUMP-002", "QR-READER-9")
    window = connect_and_log_in(qtbot, context, appliance)
    map_view = window.map_view
    scene = map_view.scene
    window.tabs.setCurrentWidget(map_view)
    pump, scanner, other = (register.assets[n] for n in ("PUMP-001", "SCAN-001", "PUMP-002"))

    assert map_view.floor_combo.currentText() == "Main \u2014 Level 2"
    assert set(scene.markers) == {pump, scanner}
    assert (
        map_view.summary.text()
    ) == "2 shown on this floor (0 stale) \u00b7 1 elsewhere \u00b7 1 not located"

    map_view.class_combo.setCurrentIndex(map_view.class_combo.findText("Infusion pump"))

    assert scene.markers[pump].isVisible() and not scene.markers[scanner].isVisible()
    assert scene.count_in(register.zones["store"]) == 1
    assert scene.count_in(register.zones["room7a"]) == 0

    map_view.state_combo.setCurrentIndex(map_view.state_combo.findText("faulty"))
    assert not scene.markers[pump].isVisible()
    map_view.state_combo.setCurrentIndex(0)
    map_view.class_combo.setCurrentIndex(0)

    map_view.floor_combo.setCurrentIndex(map_view.floor_combo.findText("Main \u2014 Level 3"))

    assert set(scene.markers) == {other}
    assert inside(map_view.marker_position(other), register.zone_rect("ward9"))
    qtbot.waitUntil(lambda: scene.has_plan, timeout=WAIT_MS)
    assert scene.sceneRect().width() == 800

    # An asset moved to another floor leaves this one's count and appears there.
    appliance.scan("PUMP-001", "QR-READER-9")
    qtbot.waitUntil(lambda: pump in scene.markers, timeout=WAIT_MS)
    assert scene.zone_labels[register.zones["ward9"]].text() == "Ward 9 (2)"
    map_loaded(qtbot, window)
