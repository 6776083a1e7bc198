"""Signing in to the appliance once its certificate is trusted."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)


class LoginDialog(QDialog):
    """Emits ``submitted(username, password)``; the window answers with :meth:`show_error`
    or accepts the dialog."""

    submitted = Signal(str, str)

    def __init__(self, who: str, token_home: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Log in")
        self.username_edit = QLineEdit()
        self.password_edit = QLineEdit()
        self.password_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.password_edit.returnPressed.connect(self._submit)
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setStyleSheet("color: #b00020;")
        self.message.hide()
        self.login_button = QPushButton("Log in")
        self.login_button.setDefault(True)
        self.cancel_button = QPushButton("Cancel")
        buttons = QDialogButtonBox()
        buttons.addButton(self.login_button, QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.addButton(self.cancel_button, QDialogButtonBox.ButtonRole.RejectRole)
        self.login_button.clicked.connect(lambda *_: self._submit())
        buttons.rejected.connect(self.reject)

        form = QFormLayout()
        form.addRow("User name:", self.username_edit)
        form.addRow("Password:", self.password_edit)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel(f"Log in to <b>{who}</b>"))
        layout.addLayout(form)
        note = QLabel(f"Your session is kept in {token_home}.")
        note.setWordWrap(True)
        layout.addWidget(note)
        layout.addWidget(self.message)
        layout.addWidget(buttons)

    def _submit(self) -> None:
        if not self.login_button.isEnabled():
            return
        username = self.username_edit.text().strip()
        if not username or not self.password_edit.text():
            self.show_error("Type your user name and password.")
            return
        self.login_button.setEnabled(False)
        self.message.hide()
        self.submitted.emit(username, self.password_edit.text())

    def show_error(self, text: str) -> None:
        self.login_button.setEnabled(True)
        self.message.setText(text)
        self.message.show()
