"""Forgetting an appliance's pinned certificate from the window, and the map's filter for
assets whose PPM is overdue."""

from __future__ import annotations

import qasync
from pytestqt.qtbot import QtBot

from floki_console.context import ConsoleContext
from tests.console.appliance import Register, ThreadedAppliance
from tests.console.flow import (
    WAIT_MS,
    ask_to_connect,
    connect_and_log_in,
    map_loaded,
    open_window,
    signed_in,
    trust,
)


def test_forgetting_the_pin_asks_again_on_the_next_connection(
    qtbot: QtBot,
    qloop: qasync.QEventLoop,
    context: ConsoleContext,
    register: Register,
    appliance: ThreadedAppliance,
) -> None:
    first = connect_and_log_in(qtbot, context, appliance)
    assert context.pins.get(appliance.address) is not None
    assert first.forget_pin_action.isEnabled()

    first.forget_pin_action.trigger()

    assert context.pins.get(appliance.address) is None
    assert "next connection will ask" in first.statusBar().currentMessage()
    assert not first.forget_pin_action.isEnabled()
    assert first.session is not None and first.session.online
    with qtbot.waitSignal(first.signed_out, timeout=WAIT_MS):
        first.close()

    second = open_window(qtbot, context)
    assert not second.forget_pin_action.isEnabled()
    ask_to_connect(qtbot, second, appliance.address)
    shown = trust(qtbot, second)
    assert shown == appliance.fingerprint
    signed_in(qtbot, second)
    pin = context.pins.get(appliance.address)
    assert pin is not None and pin.fingerprint == appliance.fingerprint
    map_loaded(qtbot, second)


def test_the_map_filters_assets_whose_ppm_is_overdue(
    qtbot: QtBot,
    qloop: qasync.QEventLoop,
    context: ConsoleContext,
    register: Register,
    appliance: ThreadedAppliance,
) -> None:
    pump, scanner = register.assets["PUMP-001"], register.assets["SCAN-001"]
    appliance.admin("PATCH", f"/assets/{pump}", {"next_ppm_due": "2025-12-01"})
    appliance.scan("PUMP-001", "QR-READER-STORE")
    appliance.scan("SCAN-001", "QR-READER-7A")
    window = connect_and_log_in(qtbot, context, appliance)
    map_view = window.map_view
    scene = map_view.scene
    window.tabs.setCurrentWidget(map_view)
    assert set(scene.markers) == {pump, scanner}

    map_view.state_combo.setCurrentIndex(map_view.state_combo.findText("ppm overdue"))

    assert scene.markers[pump].isVisible() and not scene.markers[scanner].isVisible()
    assert scene.count_in(register.zones["store"]) == 1
    assert scene.count_in(register.zones["room7a"]) == 0
