"""The appliance going away mid-session: a clear offline banner, nothing typed is lost, and
the console reconnects by itself when the appliance is back on the same address."""

from __future__ import annotations

import qasync
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from floki_console.context import ConsoleContext
from tests.console.appliance import Register, ThreadedAppliance
from tests.console.flow import WAIT_MS, connect_and_log_in, map_loaded
from tests.console.test_views import inside


def test_offline_banner_then_reconnect_keeping_what_was_typed(
    qtbot: QtBot,
    qloop: qasync.QEventLoop,
    context: ConsoleContext,
    register: Register,
    appliance: ThreadedAppliance,
) -> None:
    appliance.scan("SCAN-001", "QR-READER-7A")
    window = connect_and_log_in(qtbot, context, appliance)
    window.find_view.search_edit.setText("infusion pump on ward 7")
    scanner = register.assets["SCAN-001"]
    assert not window.banner.isVisible()

    appliance.stop()

    qtbot.waitUntil(lambda: window.banner.isVisible(), timeout=WAIT_MS)
    assert window.banner.text.startswith("Offline")
    assert appliance.address in window.banner.text
    assert "shutting down" in window.banner.text
    assert window.find_view.search_edit.text() == "infusion pump on ward 7"
    assert window.map_view.marker_position(scanner) is not None  # the last data stays

    appliance.start()

    qtbot.waitUntil(lambda: not window.banner.isVisible(), timeout=WAIT_MS)
    assert window.session is not None and window.session.online
    assert window.find_view.search_edit.text() == "infusion pump on ward 7"
    map_loaded(qtbot, window)
    # Live again: a move after the restart reaches the map.
    appliance.scan("SCAN-001", "QR-READER-7B")
    qtbot.waitUntil(
        lambda: inside(window.map_view.marker_position(scanner), register.zone_rect("room7b")),
        timeout=WAIT_MS,
    )


def test_the_banner_says_when_it_will_try_again(
    qtbot: QtBot,
    qloop: qasync.QEventLoop,
    context: ConsoleContext,
    register: Register,
    appliance: ThreadedAppliance,
) -> None:
    window = connect_and_log_in(qtbot, context, appliance)

    appliance.stop()

    qtbot.waitUntil(lambda: "Trying again" in window.banner.text, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: "not answering" in window.banner.text, timeout=WAIT_MS)
    appliance.start()
    qtbot.mouseClick(window.banner.retry_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not window.banner.isVisible(), timeout=WAIT_MS)
