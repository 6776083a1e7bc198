"""The strip across the top of the window while the appliance cannot be reached."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QWidget


class OfflineBanner(QFrame):
    retry_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("offlineBanner")
        self.setStyleSheet(
            "#offlineBanner { background: #b00020; } #offlineBanner QLabel { color: white; }"
        )
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.retry_button = QPushButton("Retry now")
        self.retry_button.clicked.connect(lambda *_: self.retry_requested.emit())
        layout = QHBoxLayout(self)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.retry_button)
        self.hide()

    @property
    def text(self) -> str:
        return self.label.text()

    def show_offline(self, message: str) -> None:
        self.label.setText(
            f"Offline \u2014 {message} What you have typed and the last data received are kept."
        )
        self.show()

    def show_online(self) -> None:
        self.hide()
