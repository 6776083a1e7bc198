"""Users (administrators only): who may sign in and with which role; add one (the appliance
generates the password and shows it once), change an account's role, reset its password (a
new one is generated and shown once) and disable or enable it."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from floki_console.api import ApiError, ApplianceUnreachable, ConsoleError
from floki_console.models import (
    Column,
    RecordTable,
    SortedRecords,
    describe_age,
    parse_time,
    picked_record,
    select_record,
)
from floki_console.session import ApplianceSession

ROLES = ("viewer", "staff", "engineer", "admin")


def account_status(user: dict[str, Any]) -> str:
    if user.get("disabled"):
        return "disabled"
    locked = parse_time(user.get("locked_until"))
    if locked is not None:
        return f"locked until {locked.astimezone():%d %b %H:%M}"
    return "active"


def user_table() -> RecordTable[dict[str, Any]]:
    return RecordTable(
        [
            Column("User name", lambda u: str(u.get("username", ""))),
            Column("Name", lambda u: str(u.get("display_name") or "")),
            Column(
                "Role",
                lambda u: str(u.get("role", "")),
                sort=lambda u: ROLES.index(u["role"]) if u.get("role") in ROLES else -1,
            ),
            Column(
                "Account",
                account_status,
                colour=lambda u: "#b00020" if account_status(u) != "active" else None,
            ),
            Column(
                "Created",
                lambda u: describe_age(u.get("created_at")),
                sort=lambda u: str(u.get("created_at") or ""),
            ),
        ],
        key=lambda u: u.get("id"),
    )


class UsersView(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session: ApplianceSession | None = None
        self.model = user_table()
        self._sorted = SortedRecords(self.model, self)

        self.table = QTableView()
        self.table.setModel(self._sorted)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(0, Qt.SortOrder.AscendingOrder)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.selectionModel().currentRowChanged.connect(self._picked)

        self.username_edit = QLineEdit()
        self.username_edit.setPlaceholderText("e.g. j.bloggs")
        self.display_name_edit = QLineEdit()
        self.display_name_edit.setMaxLength(200)
        self.role_combo = QComboBox()
        for role in ROLES:
            self.role_combo.addItem(role, role)
        self.add_button = QPushButton("Add user")
        self.add_button.clicked.connect(lambda *_: self._add())
        self.password_edit = QLineEdit()
        self.password_edit.setReadOnly(True)
        self.password_edit.setPlaceholderText("The generated password is shown here once")
        form = QFormLayout()
        form.addRow("User name", self.username_edit)
        form.addRow("Name", self.display_name_edit)
        form.addRow("Role", self.role_combo)
        form.addRow("", self.add_button)
        form.addRow("Password", self.password_edit)
        add_box = QGroupBox("Add a user")
        add_box.setLayout(form)

        self.refresh_button = QPushButton("Refresh")
        self.refresh_button.clicked.connect(lambda *_: self.reload())
        self.disable_button = QPushButton("Disable")
        self.disable_button.clicked.connect(lambda *_: self._toggle_disabled())
        self.role_button = QPushButton("Change role…")
        self.role_button.clicked.connect(lambda *_: self._ask_role())
        self.reset_button = QPushButton("Reset password…")
        self.reset_button.clicked.connect(lambda *_: self._ask_reset())
        self.role_dialog: QInputDialog | None = None
        self.reset_dialog: QMessageBox | None = None
        self.summary = QLabel("")
        self.summary.setWordWrap(True)

        actions = QHBoxLayout()
        actions.addWidget(self.summary, 1)
        actions.addWidget(self.refresh_button)
        actions.addWidget(self.role_button)
        actions.addWidget(self.reset_button)
        actions.addWidget(self.disable_button)
        left = QVBoxLayout()
        left.addWidget(self.table, 1)
        left.addLayout(actions)
        layout = QHBoxLayout(self)
        layout.addLayout(left, 3)
        layout.addWidget(add_box, 1, Qt.AlignmentFlag.AlignTop)

        self._picked_user: dict[str, Any] | None = None
        self._tasks: set[asyncio.Future[Any]] = set()
        self._update_buttons()

    # --- session ---------------------------------------------------------------------

    def attach(self, session: ApplianceSession) -> None:
        self.session = session
        session.reconnected.connect(self.reload)
        self.reload()

    def detach(self) -> None:
        if self.session is not None:
            self.session.reconnected.disconnect(self.reload)
        self.session = None
        for task in list(self._tasks):
            task.cancel()
        for dialog in (self.role_dialog, self.reset_dialog):
            if dialog is not None:
                dialog.reject()
        self.model.set_records([])
        self._picked_user = None
        self.password_edit.clear()
        self.summary.clear()
        self._update_buttons()

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Future[Any]:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def reload(self) -> None:
        if self.session is not None:
            self._spawn(self.load())

    async def load(self) -> None:
        session = self.session
        if session is None:
            return
        try:
            items = await session.client.get_all("/users")
        except ApplianceUnreachable as exc:
            session.report_unreachable(exc)
            return
        except ConsoleError as exc:
            self.summary.setText(f"Cannot list users: {exc}")
            return
        if session is not self.session:
            return
        picked = self._picked_user.get("id") if self._picked_user else None
        self.model.set_records(items)
        self._picked_user = None
        if picked is not None:
            self.select(int(picked))
        self._update_buttons()

    # --- acting ----------------------------------------------------------------------

    def _picked(self, current: QModelIndex, _previous: QModelIndex) -> None:
        self._picked_user = picked_record(self.model, self._sorted, current)
        self._update_buttons()

    def select(self, user_id: int) -> None:
        select_record(self.table, self.model, self._sorted, user_id)

    def _update_buttons(self) -> None:
        user = self._picked_user
        own = bool(user and self.session and user.get("username") == self.session.username)
        self.disable_button.setEnabled(bool(user) and not own)
        self.disable_button.setText("Enable" if user and user.get("disabled") else "Disable")
        self.role_button.setEnabled(bool(user))
        self.reset_button.setEnabled(bool(user))

    def _add(self) -> None:
        if self.session is not None:
            self._spawn(self.add_user())

    async def add_user(self) -> dict[str, Any] | None:
        session = self.session
        if session is None:
            return None
        username = self.username_edit.text().strip()
        if not username:
            self.summary.setText("Type the new user's name.")
            return None
        body = {
            "username": username,
            "role": self.role_combo.currentData(),
            "display_name": self.display_name_edit.text().strip(),
        }
        self.add_button.setEnabled(False)
        self.password_edit.clear()
        try:
            answer = await session.client.post_json("/users", body)
        except ApplianceUnreachable as exc:
            session.report_unreachable(exc)
            return None
        except ApiError as exc:
            self.summary.setText(f"Not added: {exc.reason}")
            return None
        except ConsoleError as exc:
            self.summary.setText(f"Not added: {exc}")
            return None
        finally:
            self.add_button.setEnabled(True)
        user = dict(answer.get("user") or {})
        self.username_edit.clear()
        self.display_name_edit.clear()
        self.password_edit.setText(str(answer.get("password") or ""))
        self._picked_user = user
        await self.load()
        self.summary.setText(
            f"Added {user.get('username')} ({user.get('role')}). Give them the password "
            "shown; it is not shown again."
        )
        return user

    def _toggle_disabled(self) -> None:
        user = self._picked_user
        if user is not None and self.session is not None:
            self._spawn(self.set_disabled(int(user["id"]), not user.get("disabled")))

    async def set_disabled(self, user_id: int, disabled: bool) -> dict[str, Any] | None:
        session = self.session
        if session is None:
            return None
        self.disable_button.setEnabled(False)
        try:
            user = await session.client.request_json(
                "PATCH", f"/users/{user_id}", json_body={"disabled": disabled}
            )
        except ApplianceUnreachable as exc:
            session.report_unreachable(exc)
            self._update_buttons()
            return None
        except ConsoleError as exc:
            reason = exc.reason if isinstance(exc, ApiError) else str(exc)
            self.summary.setText(f"Not changed: {reason}")
            self._update_buttons()
            return None
        await self.load()
        self.summary.setText(
            f"{user.get('username')} is {'disabled' if disabled else 'enabled'}"
            + (": their sessions stop at once." if disabled else ".")
        )
        return dict(user)

    def _ask_role(self) -> None:
        user = self._picked_user
        if user is None or self.session is None:
            return
        user_id, username = int(user["id"]), str(user.get("username", ""))
        dialog = QInputDialog(self)
        dialog.setWindowTitle("Change role")
        dialog.setLabelText(f"New role for {username}:")
        dialog.setComboBoxItems(list(ROLES))
        dialog.setComboBoxEditable(False)
        if user.get("role") in ROLES:
            dialog.setTextValue(str(user["role"]))
        dialog.textValueSelected.connect(
            lambda role: self._spawn(self.change_role(user_id, str(role)))
        )
        dialog.finished.connect(lambda *_: self._dialog_closed(dialog))
        self.role_dialog = dialog
        dialog.open()

    def _ask_reset(self) -> None:
        user = self._picked_user
        if user is None or self.session is None:
            return
        user_id, username = int(user["id"]), str(user.get("username", ""))
        dialog = QMessageBox(
            QMessageBox.Icon.Question,
            "Reset password",
            f"Give {username} a new generated password? Their current password stops "
            "working at once.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
            self,
        )
        dialog.setDefaultButton(QMessageBox.StandardButton.Cancel)
        dialog.accepted.connect(lambda: self._spawn(self.reset_password(user_id)))
        dialog.finished.connect(lambda *_: self._dialog_closed(dialog))
        self.reset_dialog = dialog
        dialog.open()

    def _dialog_closed(self, dialog: QWidget) -> None:
        if self.role_dialog is dialog:
            self.role_dialog = None
        if self.reset_dialog is dialog:
            self.reset_dialog = None
        dialog.deleteLater()

    async def change_role(self, user_id: int, role: str) -> dict[str, Any] | None:
        session = self.session
        if session is None:
            return None
        self.role_button.setEnabled(False)
        try:
            user = await session.client.request_json(
                "PATCH", f"/users/{user_id}", json_body={"role": role}
            )
        except ApplianceUnreachable as exc:
            session.report_unreachable(exc)
            self._update_buttons()
            return None
        except ConsoleError as exc:
            reason = exc.reason if isinstance(exc, ApiError) else str(exc)
            self.summary.setText(f"Role not changed: {reason}")
            self._update_buttons()
            return None
        await self.load()
        self.summary.setText(f"{user.get('username')} is now {user.get('role')}.")
        return dict(user)

    async def reset_password(self, user_id: int) -> dict[str, Any] | None:
        session = self.session
        if session is None:
            return None
        self.reset_button.setEnabled(False)
        self.password_edit.clear()
        try:
            answer = await session.client.post_json(f"/users/{user_id}/password", {})
        except ApplianceUnreachable as exc:
            session.report_unreachable(exc)
            self._update_buttons()
            return None
        except ConsoleError as exc:
            reason = exc.reason if isinstance(exc, ApiError) else str(exc)
            self.summary.setText(f"Password not reset: {reason}")
            self._update_buttons()
            return None
        user = dict(answer.get("user") or {})
        self.password_edit.setText(str(answer.get("password") or ""))
        await self.load()
        self.summary.setText(
            f"New password for {user.get('username')}. Give them the password shown; it is "
            "not shown again, and the old one no longer works."
        )
        return user
