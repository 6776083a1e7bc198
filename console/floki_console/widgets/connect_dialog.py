"""Choosing an appliance: those found on the network, or an address typed in."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from floki_console.api import Address, AddressError
from floki_console.discovery import DiscoveredAppliance
from floki_console.models import SortedRecords, appliance_table


class ConnectDialog(QDialog):
    """Emits ``connect_requested(Address, DiscoveredAppliance | None)``; the window does the
    rest and reports back with :meth:`show_error` or closes the dialog."""

    connect_requested = Signal(object, object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Connect to a Floki appliance")
        self.setMinimumWidth(720)
        self.model = appliance_table()
        self._sorted = SortedRecords(self.model, self)

        self.found_view = QTableView()
        self.found_view.setModel(self._sorted)
        self.found_view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.found_view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.found_view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.found_view.verticalHeader().hide()
        self.found_view.horizontalHeader().setSectionResizeMode(
            QHeaderView.ResizeMode.ResizeToContents
        )
        self.found_view.horizontalHeader().setStretchLastSection(True)
        self.found_view.setSortingEnabled(True)
        self.found_view.sortByColumn(0, Qt.SortOrder.AscendingOrder)
        self.found_view.selectionModel().currentRowChanged.connect(self._picked)
        self.found_view.doubleClicked.connect(lambda *_: self._request())

        self.search_status = QLabel("Searching the network for appliances\u2026")
        self.search_status.setWordWrap(True)

        self.address_edit = QLineEdit()
        self.address_edit.setPlaceholderText("floki.local:8443 or 192.168.1.20:8443")
        self.address_edit.returnPressed.connect(self._request)
        self.address_edit.textEdited.connect(lambda *_: self.found_view.clearSelection())
        self.connect_button = QPushButton("Connect")
        self.connect_button.setDefault(True)
        self.connect_button.clicked.connect(lambda *_: self._request())
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.reject)

        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.message.hide()

        manual = QHBoxLayout()
        manual.addWidget(QLabel("Address:"))
        manual.addWidget(self.address_edit, 1)
        manual.addWidget(self.connect_button)
        manual.addWidget(self.cancel_button)

        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("<b>Appliances found on this network</b>"))
        layout.addWidget(self.found_view, 1)
        layout.addWidget(self.search_status)
        layout.addWidget(
            QLabel("Not listed? Networks without multicast hide appliances: type the address.")
        )
        layout.addLayout(manual)
        layout.addWidget(self.message)
        self._chosen: DiscoveredAppliance | None = None

    # --- fed by the discovery browser ----------------------------------------------------

    def add_appliance(self, appliance: DiscoveredAppliance) -> None:
        self.model.upsert(appliance)
        count = self.model.rowCount()
        self.search_status.setText(
            f"{count} appliance{'s' if count != 1 else ''} found; still listening for more."
        )

    def remove_appliance(self, service: str) -> None:
        self.model.remove(service)

    def set_search_status(self, text: str) -> None:
        self.search_status.setText(text)

    # --- talking to the window -----------------------------------------------------------

    def set_busy(self, text: str) -> None:
        self.connect_button.setEnabled(False)
        self._say(text, error=False)

    def show_error(self, text: str) -> None:
        self.connect_button.setEnabled(True)
        self._say(text, error=True)

    def ready(self) -> None:
        self.connect_button.setEnabled(True)
        self.message.hide()

    def _say(self, text: str, *, error: bool) -> None:
        self.message.setText(text)
        self.message.setStyleSheet("color: #b00020;" if error else "")
        self.message.show()

    def _picked(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if not current.isValid():
            self._chosen = None
            return
        row = self._sorted.mapToSource(current).row()
        self._chosen = self.model.record(row)
        self.address_edit.setText(str(self._chosen.address))

    def _request(self) -> None:
        if not self.connect_button.isEnabled():
            return
        try:
            address = Address.parse(self.address_edit.text())
        except AddressError as exc:
            self.show_error(str(exc))
            return
        chosen = self._chosen
        if chosen is not None and chosen.address.key != address.key:
            chosen = None
        if chosen is not None:
            address = chosen.address
        self.connect_requested.emit(address, chosen)
