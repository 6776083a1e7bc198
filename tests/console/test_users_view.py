"""Administering users from the console: an administrator sees them, adds one (the
appliance's generated password is shown once and works) and disables it, changes a role
(the user's token has it at once; the appliance's refusal is shown) and resets a password
(the new one logs in, the old does not); other roles do not get the tab."""

from __future__ import annotations

from typing import Any

import pytest
import qasync
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from floki_console.api import Address, ApiError, ApplianceClient
from floki_console.context import ConsoleContext
from floki_console.widgets.users_view import UsersView
from tests.console.appliance import PASSWORD, Register, ThreadedAppliance
from tests.console.flow import WAIT_MS, connect_and_log_in
from tests.console.test_workflow_views import texts


def test_an_admin_adds_a_user_and_disables_it(
    qtbot: QtBot,
    qloop: qasync.QEventLoop,
    context: ConsoleContext,
    register: Register,
    appliance: ThreadedAppliance,
) -> None:
    window = connect_and_log_in(qtbot, context, appliance)
    view = window.users_view
    assert window.tabs.indexOf(view) >= 0
    window.tabs.setCurrentWidget(view)
    qtbot.waitUntil(lambda: view.model.rowCount() == 3, timeout=WAIT_MS)
    assert {u["username"] for u in view.model.records()} == {"ce-lead", "viewer", "gateway"}

    view.username_edit.setText("nurse.a")
    view.display_name_edit.setText("Ward 7 nurse")
    view.role_combo.setCurrentIndex(view.role_combo.findData("staff"))
    qtbot.mouseClick(view.add_button, Qt.MouseButton.LeftButton)

    qtbot.waitUntil(lambda: view.model.rowCount() == 4, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: view.summary.text().startswith("Added nurse.a"), timeout=WAIT_MS)
    password = view.password_edit.text()
    assert password
    row = next(r for r in range(4) if view.model.record(r)["username"] == "nurse.a")
    assert texts(view.model, row)[:4] == ["nurse.a", "Ward 7 nurse", "staff", "active"]

    client = ApplianceClient(Address.parse(appliance.address), appliance.fingerprint)
    login = qloop.create_task(client.login("nurse.a", password))
    qtbot.waitUntil(login.done, timeout=WAIT_MS)
    assert login.result().user["role"] == "staff"
    closed = qloop.create_task(client.close())
    qtbot.waitUntil(closed.done, timeout=WAIT_MS)

    user_id = view.model.record(row)["id"]
    view.select(user_id)
    assert view.disable_button.text() == "Disable"
    qtbot.mouseClick(view.disable_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "is disabled" in view.summary.text(), timeout=WAIT_MS)
    _, users = appliance.get("/users")
    assert next(u for u in users["items"] if u["id"] == user_id)["disabled"] is True
    new_row = view.model.row_of(user_id)
    assert new_row is not None and texts(view.model, new_row)[3] == "disabled"
    assert view.disable_button.text() == "Enable"

    # One's own account cannot be disabled from here.
    view.select(next(u["id"] for u in view.model.records() if u["username"] == "ce-lead"))
    assert not view.disable_button.isEnabled()

    with qtbot.waitSignal(window.signed_out, timeout=WAIT_MS):
        window.logout_action.trigger()
    assert window.tabs.indexOf(view) < 0
    assert view.model.rowCount() == 0 and not view.password_edit.text()


def _change_role(qtbot: QtBot, view: UsersView, username: str, role: str) -> None:
    view.select(next(u["id"] for u in view.model.records() if u["username"] == username))
    qtbot.mouseClick(view.role_button, Qt.MouseButton.LeftButton)
    dialog = view.role_dialog
    assert dialog is not None
    dialog.setTextValue(role)
    dialog.accept()


def _run(qtbot: QtBot, qloop: qasync.QEventLoop, coro: Any) -> Any:
    task = qloop.create_task(coro)
    qtbot.waitUntil(task.done, timeout=WAIT_MS)
    return task.result()


def test_an_admin_changes_a_role_and_resets_a_password(
    qtbot: QtBot,
    qloop: qasync.QEventLoop,
    context: ConsoleContext,
    register: Register,
    appliance: ThreadedAppliance,
) -> None:
    window = connect_and_log_in(qtbot, context, appliance)
    view = window.users_view
    window.tabs.setCurrentWidget(view)
    qtbot.waitUntil(lambda: view.model.rowCount() == 3, timeout=WAIT_MS)
    assert not view.role_button.isEnabled() and not view.reset_button.isEnabled()

    # The viewer, already signed in elsewhere, is promoted to staff: their token has it.
    client = ApplianceClient(Address.parse(appliance.address), appliance.fingerprint)
    login = _run(qtbot, qloop, client.login("viewer", PASSWORD))
    assert login.user["role"] == "viewer"
    _change_role(qtbot, view, "viewer", "staff")
    qtbot.waitUntil(lambda: view.summary.text() == "viewer is now staff.", timeout=WAIT_MS)
    _, users = appliance.get("/users")
    assert next(u for u in users["items"] if u["username"] == "viewer")["role"] == "staff"
    row = view.model.row_of(next(u["id"] for u in users["items"] if u["username"] == "viewer"))
    assert row is not None and texts(view.model, row)[2] == "staff"
    me = _run(qtbot, qloop, client.get_json("/auth/me"))
    assert me["role"] == "staff"
    _run(qtbot, qloop, client.close())

    # With the other admin demoted, the appliance refuses to demote the last one.
    _change_role(qtbot, view, "gateway", "engineer")
    qtbot.waitUntil(lambda: view.summary.text() == "gateway is now engineer.", timeout=WAIT_MS)
    _change_role(qtbot, view, "ce-lead", "viewer")
    qtbot.waitUntil(
        lambda: view.summary.text().startswith("Role not changed: this is the last active admin"),
        timeout=WAIT_MS,
    )
    _, users = appliance.get("/users")
    assert next(u for u in users["items"] if u["username"] == "ce-lead")["role"] == "admin"

    # A reset password is shown once; it logs in and the old one does not.
    view.select(next(u["id"] for u in view.model.records() if u["username"] == "viewer"))
    qtbot.mouseClick(view.reset_button, Qt.MouseButton.LeftButton)
    assert view.reset_dialog is not None
    view.reset_dialog.accept()
    qtbot.waitUntil(
        lambda: view.summary.text().startswith("New password for viewer"), timeout=WAIT_MS
    )
    password = view.password_edit.text()
    assert password and password != PASSWORD
    client = ApplianceClient(Address.parse(appliance.address), appliance.fingerprint)
    with pytest.raises(ApiError):
        _run(qtbot, qloop, client.login("viewer", PASSWORD))
    assert _run(qtbot, qloop, client.login("viewer", password)).user["role"] == "staff"
    _run(qtbot, qloop, client.close())

    # Cancelling the reset changes nothing.
    qtbot.mouseClick(view.reset_button, Qt.MouseButton.LeftButton)
    assert view.reset_dialog is not None
    view.reset_dialog.reject()
    assert view.reset_dialog is None and view.password_edit.text() == password

    with qtbot.waitSignal(window.signed_out, timeout=WAIT_MS):
        window.logout_action.trigger()
    assert not view.password_edit.text()


def test_a_viewer_has_no_users_tab(
    qtbot: QtBot,
    qloop: qasync.QEventLoop,
    context: ConsoleContext,
    register: Register,
    appliance: ThreadedAppliance,
) -> None:
    window = connect_and_log_in(qtbot, context, appliance, username="viewer")
    assert window.tabs.indexOf(window.users_view) < 0
    assert window.users_view.session is None
