"""The first connection to an appliance: show its certificate fingerprint to confirm."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from floki_console.api import Address


def _two_lines(fingerprint: str) -> str:
    pairs = fingerprint.split(":")
    half = len(pairs) // 2
    return ":".join(pairs[:half]) + ":\n" + ":".join(pairs[half:])


class TrustDialog(QDialog):
    """Accepted means: pin this fingerprint for this address."""

    def __init__(
        self,
        address: Address,
        presented: str | None,
        *,
        name: str = "",
        announced: str | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Trust this appliance?")
        who = f"{name} at {address}" if name else str(address)
        layout = QVBoxLayout(self)
        intro = QLabel(
            f"This is the first connection from this computer to <b>{who}</b>."
            if presented
            else f"<b>{who}</b> does not use TLS: what you send it can be read on the network."
        )
        intro.setWordWrap(True)
        layout.addWidget(intro)
        self.fingerprint_label = QLabel(_two_lines(presented) if presented else "")
        self.fingerprint_label.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.fingerprint_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.warning = QLabel()
        self.warning.setWordWrap(True)
        self.warning.hide()
        if presented:
            layout.addWidget(QLabel("Its certificate's SHA-256 fingerprint is:"))
            layout.addWidget(self.fingerprint_label)
            advice = QLabel(
                "Compare it with the fingerprint the appliance printed when it started "
                "(floki-core serve) or that its administrator gives you. If they match, "
                "trust it: the console will remember it and refuse any other certificate "
                "at this address."
            )
            advice.setWordWrap(True)
            layout.addWidget(advice)
            if announced and announced != presented:
                self.warning.setText(
                    "Warning: the network announced a different fingerprint for this "
                    f"appliance:\n{announced}\nDo not trust it unless you know why."
                )
                self.warning.setStyleSheet("color: #b00020; font-weight: bold;")
                self.warning.show()
            elif announced:
                self.warning.setText(
                    "It matches the fingerprint announced on the network (announcements "
                    "can be forged, so compare it all the same)."
                )
                self.warning.show()
        layout.addWidget(self.warning)
        buttons = QDialogButtonBox()
        self.trust_button = QPushButton("Trust and connect" if presented else "Connect anyway")
        self.cancel_button = QPushButton("Cancel")
        buttons.addButton(self.trust_button, QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.addButton(self.cancel_button, QDialogButtonBox.ButtonRole.RejectRole)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
