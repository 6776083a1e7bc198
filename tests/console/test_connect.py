"""Connecting to a real appliance over HTTPS: trust on first use, a changed certificate
refused with the reason, login, a kept session, and logout revoking it."""

from __future__ import annotations

import qasync
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from floki_console.context import ConsoleContext
from tests.console.appliance import Register, ThreadedAppliance
from tests.console.flow import (
    WAIT_MS,
    ask_to_connect,
    connect_and_log_in,
    log_in,
    map_loaded,
    open_window,
    signed_in,
    trust,
)

OTHER_FINGERPRINT = ":".join(["AB"] * 32)


def test_first_connection_shows_the_fingerprint_and_pins_it(
    qtbot: QtBot,
    qloop: qasync.QEventLoop,
    context: ConsoleContext,
    register: Register,
    appliance: ThreadedAppliance,
) -> None:
    window = open_window(qtbot, context)
    ask_to_connect(qtbot, window, appliance.address)

    shown = trust(qtbot, window)

    assert shown == appliance.fingerprint
    log_in(qtbot, window)
    signed_in(qtbot, window)
    pin = context.pins.get(appliance.address)
    assert pin is not None and pin.fingerprint == appliance.fingerprint
    assert "ce-lead" in window.who.text() and "St Test General" in window.who.text()


def test_a_trusted_appliance_is_not_asked_about_again(
    qtbot: QtBot,
    qloop: qasync.QEventLoop,
    context: ConsoleContext,
    register: Register,
    appliance: ThreadedAppliance,
) -> None:
    context.pins.pin(appliance.address, appliance.fingerprint, "St Test General")
    window = open_window(qtbot, context)
    ask_to_connect(qtbot, window, appliance.address)

    log_in(qtbot, window)
    signed_in(qtbot, window)

    assert window.trust_dialog is None


def test_a_changed_certificate_is_refused_and_says_why(
    qtbot: QtBot,
    qloop: qasync.QEventLoop,
    context: ConsoleContext,
    register: Register,
    appliance: ThreadedAppliance,
) -> None:
    context.pins.pin(appliance.address, OTHER_FINGERPRINT, "St Test General")
    window = open_window(qtbot, context)
    dialog = window.connect_dialog
    assert dialog is not None

    ask_to_connect(qtbot, window, appliance.address)

    qtbot.waitUntil(lambda: "certificate has changed" in dialog.message.text(), timeout=WAIT_MS)
    said = dialog.message.text()
    assert OTHER_FINGERPRINT in said and appliance.fingerprint in said
    assert "Refused" in said
    assert window.trust_dialog is None and window.login_dialog is None
    assert window.session is None
    pin = context.pins.get(appliance.address)
    assert pin is not None and pin.fingerprint == OTHER_FINGERPRINT  # still the old pin


def test_a_wrong_password_is_said_and_the_right_one_gets_in(
    qtbot: QtBot,
    qloop: qasync.QEventLoop,
    context: ConsoleContext,
    register: Register,
    appliance: ThreadedAppliance,
) -> None:
    window = open_window(qtbot, context)
    ask_to_connect(qtbot, window, appliance.address)
    trust(qtbot, window)

    log_in(qtbot, window, password="not-the-password")
    dialog = window.login_dialog
    assert dialog is not None
    qtbot.waitUntil(lambda: "Wrong user name or password" in dialog.message.text(), timeout=WAIT_MS)
    assert window.session is None

    dialog.password_edit.setText("")
    log_in(qtbot, window)
    signed_in(qtbot, window)


def test_the_session_is_kept_and_logout_revokes_it(
    qtbot: QtBot,
    qloop: qasync.QEventLoop,
    context: ConsoleContext,
    register: Register,
    appliance: ThreadedAppliance,
) -> None:
    first = connect_and_log_in(qtbot, context, appliance)
    assert first.session is not None
    token = first.session.client.token
    assert token and context.tokens.get(appliance.address) == token
    with qtbot.waitSignal(first.signed_out, timeout=WAIT_MS):
        first.close()

    # A new window on the same machine picks the session up without asking.
    second = open_window(qtbot, context)
    ask_to_connect(qtbot, second, appliance.address)
    signed_in(qtbot, second)
    assert second.login_dialog is None
    map_loaded(qtbot, second)

    with qtbot.waitSignal(second.signed_out, timeout=WAIT_MS):
        second.logout_action.trigger()

    status, _ = appliance.get("/auth/me", token=token)
    assert status == 401
    assert context.tokens.get(appliance.address) is None
    assert second.session is None
    qtbot.waitUntil(lambda: second.connect_dialog is not None, timeout=WAIT_MS)
    assert second.connect_dialog is not None
    qtbot.mouseClick(second.connect_dialog.cancel_button, Qt.MouseButton.LeftButton)
