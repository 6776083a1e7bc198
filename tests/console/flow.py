"""Driving the console as a user would: type, click, wait for what appears."""

from __future__ import annotations

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from floki_console.context import ConsoleContext
from floki_console.widgets.main_window import MainWindow
from tests.console.appliance import PASSWORD, ThreadedAppliance

WAIT_MS = 10_000


def open_window(qtbot: QtBot, context: ConsoleContext) -> MainWindow:
    window = MainWindow(context)
    qtbot.addWidget(window)
    window.show()
    window.open_connect()
    return window


def ask_to_connect(qtbot: QtBot, window: MainWindow, address: str) -> None:
    dialog = window.connect_dialog
    assert dialog is not None
    dialog.address_edit.setText(address)
    qtbot.mouseClick(dialog.connect_button, Qt.MouseButton.LeftButton)


def trust(qtbot: QtBot, window: MainWindow) -> str:
    """Wait for the first-use question; answer yes. Returns the fingerprint shown."""
    qtbot.waitUntil(lambda: window.trust_dialog is not None, timeout=WAIT_MS)
    dialog = window.trust_dialog
    assert dialog is not None
    shown = dialog.fingerprint_label.text().replace("\n", "")
    qtbot.mouseClick(dialog.trust_button, Qt.MouseButton.LeftButton)
    return shown


def log_in(
    qtbot: QtBot, window: MainWindow, username: str = "ce-lead", password: str = PASSWORD
) -> None:
    qtbot.waitUntil(lambda: window.login_dialog is not None, timeout=WAIT_MS)
    dialog = window.login_dialog
    assert dialog is not None
    dialog.username_edit.setText(username)
    dialog.password_edit.setText(password)
    qtbot.mouseClick(dialog.login_button, Qt.MouseButton.LeftButton)


def signed_in(qtbot: QtBot, window: MainWindow) -> None:
    qtbot.waitUntil(lambda: window.session is not None and window.session.online, timeout=WAIT_MS)


def map_loaded(qtbot: QtBot, window: MainWindow) -> None:
    """Wait until the map has what the appliance holds (and no request is in flight)."""
    qtbot.waitUntil(
        lambda: not window.map_view.loading and bool(window.map_view.data.floors),
        timeout=WAIT_MS,
    )


def connect_and_log_in(
    qtbot: QtBot, context: ConsoleContext, appliance: ThreadedAppliance, username: str = "ce-lead"
) -> MainWindow:
    window = open_window(qtbot, context)
    ask_to_connect(qtbot, window, appliance.address)
    trust(qtbot, window)
    log_in(qtbot, window, username)
    signed_in(qtbot, window)
    map_loaded(qtbot, window)
    return window
