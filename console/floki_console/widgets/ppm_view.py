"""PPM queue: overdue and due assets with their last known locations, in round order, and
the "can't find" list; raise work orders, export the queue as CSV, print it for the round."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from html import escape
from pathlib import Path
from typing import Any

from PySide6.QtCore import QModelIndex, QTimer, Signal
from PySide6.QtGui import QTextDocument
from PySide6.QtPrintSupport import QPrintDialog, QPrinter
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSpinBox,
    QTableView,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from floki_console.api import ApiError, ApplianceUnreachable, ConsoleError
from floki_console.models import Column, RecordTable, describe_age, humanise
from floki_console.session import ApplianceSession

SECTIONS = (("overdue", "Overdue"), ("due", "Due"), ("cant_find", "Can't find"))
REFRESHING_EVENTS = ("work_order.", "ppm.", "asset.updated", "asset.created", "asset.deleted")


def last_known(item: dict[str, Any]) -> str:
    where = item.get("location")
    if not isinstance(where, dict):
        return "never located"
    if where.get("off_site"):
        return "off site"
    path = [str(p.get("name")) for p in where.get("path") or [] if p.get("name")]
    return " \u203a ".join(path[-3:]) if path else str(where.get("zone") or "unknown")


def seen(item: dict[str, Any]) -> str:
    where = item.get("location")
    if not isinstance(where, dict):
        return ""
    age = describe_age(where.get("last_seen"))
    return f"stale \u2014 {age}" if where.get("stale") else age


def due_text(item: dict[str, Any]) -> str:
    days = int(item.get("days_overdue") or 0)
    if days > 0:
        return f"{item.get('due_date')} ({days} d overdue)"
    if days == 0:
        return f"{item.get('due_date')} (today)"
    return f"{item.get('due_date')} (in {-days} d)"


def queue_table() -> RecordTable[dict[str, Any]]:
    """One section of the queue; rows stay in the appliance's round order."""
    return RecordTable(
        [
            Column("Asset", lambda i: str(i.get("asset_number", ""))),
            Column("Description", lambda i: str(i.get("description", ""))),
            Column("Class", lambda i: str(i.get("class_name") or "")),
            Column(
                "Due",
                due_text,
                colour=lambda i: "#b00020" if i.get("overdue") else None,
            ),
            Column("Last known location", last_known),
            Column(
                "Seen",
                seen,
                colour=lambda i: (
                    "#b26a00"
                    if isinstance(i.get("location"), dict) and i["location"].get("stale")
                    else None
                ),
            ),
            Column("State", lambda i: humanise(str(i.get("state", "")))),
            Column(
                "Work order",
                lambda i: f"#{i['open_work_order_id']}" if i.get("open_work_order_id") else "",
            ),
            Column("Why can't we find it", lambda i: str(i.get("cant_find_reason") or "")),
        ],
        key=lambda i: i.get("asset_id"),
    )


class PpmView(QWidget):
    show_on_map = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session: ApplianceSession | None = None
        self.queue: dict[str, Any] = {}
        self.models = {key: queue_table() for key, _ in SECTIONS}
        self.tables: dict[str, QTableView] = {}
        self.sections = QTabWidget()
        for key, title in SECTIONS:
            table = QTableView()
            table.setModel(self.models[key])
            table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
            table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
            table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
            table.verticalHeader().hide()
            table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
            table.horizontalHeader().setStretchLastSection(True)
            table.selectionModel().currentRowChanged.connect(
                lambda current, _prev, k=key: self._picked(k, current)
            )
            table.doubleClicked.connect(lambda *_: self._map_picked())
            self.tables[key] = table
            self.sections.addTab(table, title)

        self.within_spin = QSpinBox()
        self.within_spin.setRange(0, 365)
        self.within_spin.setValue(30)
        self.within_spin.setSuffix(" days")
        self.within_spin.valueChanged.connect(lambda *_: self.reload())
        self.refresh_button = QPushButton("Refresh")
        self.refresh_button.clicked.connect(lambda *_: self.reload())
        self.work_order_button = QPushButton("Create work order")
        self.work_order_button.clicked.connect(lambda *_: self._create_work_order())
        self.map_button = QPushButton("Show on map")
        self.map_button.clicked.connect(lambda *_: self._map_picked())
        self.export_button = QPushButton("Export CSV\u2026")
        self.export_button.clicked.connect(lambda *_: self._choose_export())
        self.print_button = QPushButton("Print\u2026")
        self.print_button.clicked.connect(lambda *_: self._choose_printer())
        self.summary = QLabel("Log in to see the PPM queue.")
        self.summary.setWordWrap(True)

        bar = QHBoxLayout()
        bar.addWidget(QLabel("Due within"))
        bar.addWidget(self.within_spin)
        bar.addWidget(self.refresh_button)
        bar.addStretch(1)
        bar.addWidget(self.export_button)
        bar.addWidget(self.print_button)
        actions = QHBoxLayout()
        actions.addWidget(self.summary, 1)
        actions.addWidget(self.map_button)
        actions.addWidget(self.work_order_button)
        layout = QVBoxLayout(self)
        layout.addLayout(bar)
        layout.addWidget(self.sections, 1)
        layout.addLayout(actions)

        self._picked_item: dict[str, Any] | None = None
        self._tasks: set[asyncio.Future[Any]] = set()
        self._soon = QTimer(self)
        self._soon.setSingleShot(True)
        self._soon.setInterval(2000)
        self._soon.timeout.connect(self.reload)
        self._update_buttons()

    # --- session ---------------------------------------------------------------------

    def attach(self, session: ApplianceSession) -> None:
        self.session = session
        session.events_arrived.connect(self.on_events)
        session.reconnected.connect(self.reload)
        self.reload()

    def detach(self) -> None:
        if self.session is not None:
            self.session.events_arrived.disconnect(self.on_events)
            self.session.reconnected.disconnect(self.reload)
        self.session = None
        for task in list(self._tasks):
            task.cancel()
        self._soon.stop()
        for model in self.models.values():
            model.set_records([])
        self.queue = {}
        self.summary.setText("Log in to see the PPM queue.")

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Future[Any]:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def reload(self) -> None:
        if self.session is not None:
            self._spawn(self.load())

    def on_events(self, batch: list[dict[str, Any]]) -> None:
        # Due dates and work orders change rarely: one reload after a burst is enough.
        if any(str(e.get("type", "")).startswith(REFRESHING_EVENTS) for e in batch):
            self._soon.start()

    async def load(self) -> None:
        session = self.session
        if session is None:
            return
        try:
            queue = await session.client.get_json(
                "/ppm/queue", {"within_days": str(self.within_spin.value())}
            )
        except ApplianceUnreachable as exc:
            session.report_unreachable(exc)
            return
        except ConsoleError as exc:
            self.summary.setText(f"Cannot load the PPM queue: {exc}")
            return
        if session is not self.session or not isinstance(queue, dict):
            return
        self.queue = queue
        for key, title in SECTIONS:
            items = list(queue.get(key) or [])
            self.models[key].set_records(items)
            self.sections.setTabText(
                self.sections.indexOf(self.tables[key]), f"{title} ({len(items)})"
            )
        counts = queue.get("counts") or {}
        self.summary.setText(
            f"{counts.get('overdue', 0)} overdue, {counts.get('due', 0)} due within "
            f"{queue.get('within_days')} days, {counts.get('cant_find', 0)} can't be found "
            f"({counts.get('escalated', 0)} escalated). Rows are in round order."
        )

    # --- acting on one ---------------------------------------------------------------

    def _picked(self, key: str, current: QModelIndex) -> None:
        self._picked_item = self.models[key].record(current.row()) if current.isValid() else None
        self._update_buttons()

    def _update_buttons(self) -> None:
        item = self._picked_item
        self.work_order_button.setEnabled(bool(item) and not (item or {}).get("open_work_order_id"))
        self.map_button.setEnabled(bool(item and item.get("location")))

    def _map_picked(self) -> None:
        if self._picked_item is not None:
            self.show_on_map.emit(int(self._picked_item["asset_id"]))

    def _create_work_order(self) -> None:
        if self._picked_item is not None:
            self._spawn(self.create_work_order(int(self._picked_item["asset_id"])))

    async def create_work_order(self, asset_id: int) -> dict[str, Any] | None:
        session = self.session
        if session is None:
            return None
        self.work_order_button.setEnabled(False)
        try:
            order = await session.client.post_json(
                "/work-orders", {"asset_id": asset_id, "kind": "ppm"}
            )
        except ApplianceUnreachable as exc:
            session.report_unreachable(exc)
            self._update_buttons()
            return None
        except ApiError as exc:
            message = (
                "Your role cannot raise work orders (engineer or above can)."
                if exc.status == 403
                else f"No work order: {exc.reason}"
            )
            self.summary.setText(message)
            self._update_buttons()
            return None
        except ConsoleError as exc:
            self.summary.setText(f"No work order: {exc}")
            self._update_buttons()
            return None
        self.summary.setText(
            f"Work order #{order.get('id')} raised for {order.get('asset_number')}."
        )
        self._picked_item = None
        await self.load()
        return dict(order)

    # --- export and print ------------------------------------------------------------

    def _choose_export(self) -> None:
        dialog = QFileDialog(self, "Export the PPM queue", "floki-ppm-queue.csv", "CSV (*.csv)")
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.fileSelected.connect(lambda path: self._spawn(self.export_csv(Path(path))))
        dialog.open()

    async def export_csv(self, path: Path) -> bool:
        """Save the appliance's CSV of the queue (it neutralises formula cells and audits
        the export) to ``path``."""
        session = self.session
        if session is None:
            return False
        try:
            raw = await session.client.get_bytes(
                "/ppm/queue.csv", {"within_days": str(self.within_spin.value())}
            )
        except ApplianceUnreachable as exc:
            session.report_unreachable(exc)
            return False
        except ConsoleError as exc:
            self.summary.setText(f"Not exported: {exc}")
            return False
        path.write_bytes(raw)
        self.summary.setText(f"Exported the queue to {path}.")
        return True

    def document(self) -> QTextDocument:
        """The queue as a printable round sheet."""
        queue = self.queue
        parts = [
            f"<h2>PPM round \u2014 {escape(str(queue.get('today', '')))}</h2>",
            f"<p>Due within {escape(str(queue.get('within_days', '')))} days.</p>",
        ]
        for key, title in SECTIONS:
            items = queue.get(key) or []
            parts.append(f"<h3>{title} ({len(items)})</h3>")
            if not items:
                parts.append("<p>None.</p>")
                continue
            rows = "".join(
                "<tr>"
                + "".join(
                    f"<td>{escape(text)}</td>"
                    for text in (
                        "\u2610",
                        str(i.get("asset_number", "")),
                        str(i.get("description", "")),
                        due_text(i),
                        last_known(i),
                        seen(i),
                    )
                )
                + "</tr>"
                for i in items
            )
            parts.append(
                "<table border='1' cellspacing='0' cellpadding='3'><tr><th>Done</th>"
                "<th>Asset</th><th>Description</th><th>Due</th><th>Last known location</th>"
                f"<th>Seen</th></tr>{rows}</table>"
            )
        document = QTextDocument()
        document.setHtml("".join(parts))
        return document

    def _choose_printer(self) -> None:
        printer = QPrinter(QPrinter.PrinterMode.HighResolution)
        dialog = QPrintDialog(printer, self)
        dialog.accepted.connect(lambda: self.document().print_(printer))
        QDialog.open(dialog)

    def print_to_pdf(self, path: Path) -> None:
        printer = QPrinter(QPrinter.PrinterMode.HighResolution)
        printer.setOutputFormat(QPrinter.OutputFormat.PdfFormat)
        printer.setOutputFileName(str(path))
        self.document().print_(printer)
