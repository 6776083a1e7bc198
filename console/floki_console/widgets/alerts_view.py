"""Alerts: the open ones, most severe first, arriving live; acknowledge, resolve, and jump
to the asset on the map. Below them, on an appliance with RFID portals, the portal
crossings as they happen."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

from PySide6.QtCore import QModelIndex, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
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
from floki_console.widgets.portal_feed import PortalFeed

SEVERITY_RANK = {"critical": 0, "warning": 1, "info": 2}
SEVERITY_COLOURS = {"critical": "#b00020", "warning": "#b26a00", "info": "#1565c0"}
OPEN = ("raised", "acknowledged")


def alert_table() -> RecordTable[dict[str, Any]]:
    def severity(a: dict[str, Any]) -> str:
        return str(a.get("severity", ""))

    def status(a: dict[str, Any]) -> str:
        s = str(a.get("status", ""))
        if s == "acknowledged" and a.get("acknowledged_by"):
            return f"acknowledged by {a['acknowledged_by']}"
        if s == "resolved" and a.get("resolved_by"):
            return f"resolved by {a['resolved_by']}"
        return s

    return RecordTable(
        [
            Column(
                "Severity",
                severity,
                # Most severe first, then newest first.
                sort=lambda a: (
                    SEVERITY_RANK.get(severity(a), 9),
                    -_stamp(a.get("raised_at")),
                ),
                colour=lambda a: SEVERITY_COLOURS.get(severity(a)),
            ),
            Column("Alert", lambda a: str(a.get("title", ""))),
            Column("Status", status),
            Column(
                "Raised",
                lambda a: describe_age(a.get("raised_at")),
                sort=lambda a: _stamp(a.get("raised_at")),
            ),
            Column(
                "Times",
                lambda a: str(a.get("occurrences", 1)),
                sort=lambda a: a.get("occurrences", 1),
            ),
            Column("Rule", lambda a: str(a.get("rule_name", ""))),
        ],
        key=lambda a: a.get("id"),
    )


def _stamp(value: Any) -> float:
    when = parse_time(value)
    return when.timestamp() if when is not None else 0.0


class AlertsView(QWidget):
    show_on_map = Signal(int)
    open_count_changed = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session: ApplianceSession | None = None
        self.model = alert_table()
        self._sorted = SortedRecords(self.model, self)

        self.scope_combo = QComboBox()
        self.scope_combo.addItem("Open alerts", "open")
        self.scope_combo.addItem("Resolved too", "all")
        self.scope_combo.currentIndexChanged.connect(lambda *_: self.reload())
        self.table = QTableView()
        self.table.setModel(self._sorted)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(0, Qt.SortOrder.AscendingOrder)
        self.table.verticalHeader().hide()
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.table.selectionModel().currentRowChanged.connect(self._picked)
        self.table.doubleClicked.connect(lambda *_: self._map_picked())

        self.note_edit = QLineEdit()
        self.note_edit.setPlaceholderText("Note (optional), e.g. porter sent to fetch it")
        self.ack_button = QPushButton("Acknowledge")
        self.ack_button.clicked.connect(lambda *_: self._act("ack"))
        self.resolve_button = QPushButton("Resolve")
        self.resolve_button.clicked.connect(lambda *_: self._act("resolve"))
        self.map_button = QPushButton("Show on map")
        self.map_button.clicked.connect(lambda *_: self._map_picked())
        self.summary = QLabel("Log in to see alerts.")
        self.summary.setWordWrap(True)
        self.portal_feed = PortalFeed()
        self.portal_feed.show_on_map.connect(self.show_on_map)

        bar = QHBoxLayout()
        bar.addWidget(self.scope_combo)
        bar.addWidget(self.summary, 1)
        actions = QHBoxLayout()
        actions.addWidget(self.note_edit, 1)
        actions.addWidget(self.ack_button)
        actions.addWidget(self.resolve_button)
        actions.addWidget(self.map_button)
        layout = QVBoxLayout(self)
        layout.addLayout(bar)
        layout.addWidget(self.table, 1)
        layout.addLayout(actions)
        layout.addWidget(self.portal_feed)
        self._tasks: set[asyncio.Future[Any]] = set()
        self._picked_alert: dict[str, Any] | None = None
        self._update_buttons()

    # --- session ---------------------------------------------------------------------

    def attach(self, session: ApplianceSession) -> None:
        self.session = session
        session.events_arrived.connect(self.on_events)
        session.reconnected.connect(self.reload)
        self.portal_feed.attach(session)
        self.reload()

    def detach(self) -> None:
        if self.session is not None:
            self.session.events_arrived.disconnect(self.on_events)
            self.session.reconnected.disconnect(self.reload)
        self.session = None
        self.portal_feed.detach()
        for task in list(self._tasks):
            task.cancel()
        self.model.set_records([])
        self.summary.setText("Log in to see alerts.")
        self._count_changed()

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def reload(self) -> None:
        if self.session is not None:
            self._spawn(self.load())

    @property
    def showing_resolved(self) -> bool:
        return bool(self.scope_combo.currentData() == "all")

    async def load(self) -> None:
        session = self.session
        if session is None:
            return
        params = {} if self.showing_resolved else {"status": "open"}
        try:
            items = await session.client.get_all("/alerts", params)
        except ApplianceUnreachable as exc:
            session.report_unreachable(exc)
            return
        except ConsoleError as exc:
            self.summary.setText(f"Cannot list alerts: {exc}")
            return
        if session is self.session:
            self.model.set_records(items)
            self._count_changed()

    # --- live ------------------------------------------------------------------------

    def on_events(self, batch: list[dict[str, Any]]) -> None:
        changed = False
        for event in batch:
            kind = str(event.get("type", ""))
            data = event.get("data")
            if not kind.startswith("alert.") or not isinstance(data, dict) or "id" not in data:
                continue
            if data.get("status") in OPEN or self.showing_resolved:
                self.model.upsert(data)
            else:
                self.model.remove(data["id"])
            if self._picked_alert is not None and self._picked_alert.get("id") == data["id"]:
                self._picked_alert = data
            changed = True
        if changed:
            self._count_changed()
            self._update_buttons()

    def _count_changed(self) -> None:
        records = self.model.records()
        open_count = sum(1 for a in records if a.get("status") in OPEN)
        critical = sum(
            1 for a in records if a.get("status") in OPEN and a.get("severity") == "critical"
        )
        if self.session is not None:
            self.summary.setText(
                f"{open_count} open ({critical} critical)" if open_count else "No open alerts."
            )
        self.open_count_changed.emit(open_count)

    # --- acting on one ---------------------------------------------------------------

    def _picked(self, current: QModelIndex, _previous: QModelIndex) -> None:
        self._picked_alert = picked_record(self.model, self._sorted, current)
        self._update_buttons()

    def select(self, alert_id: int) -> None:
        select_record(self.table, self.model, self._sorted, alert_id)

    def _update_buttons(self) -> None:
        alert = self._picked_alert
        status = alert.get("status") if alert else None
        self.ack_button.setEnabled(status == "raised")
        self.resolve_button.setEnabled(status in OPEN)
        self.map_button.setEnabled(bool(alert and alert.get("asset_id")))

    def _act(self, action: str) -> None:
        if self._picked_alert is not None and self.session is not None:
            self._spawn(self._send(int(self._picked_alert["id"]), action, self.note_edit.text()))

    async def _send(self, alert_id: int, action: str, note: str) -> None:
        session = self.session
        if session is None:
            return
        body = {"note": note.strip()} if note.strip() else {}
        self.ack_button.setEnabled(False)
        self.resolve_button.setEnabled(False)
        try:
            alert = await session.client.post_json(f"/alerts/{alert_id}/{action}", body)
        except ApplianceUnreachable as exc:
            session.report_unreachable(exc)
            self._update_buttons()
            return
        except ApiError as exc:
            if exc.status == 403:
                self.summary.setText("Your role cannot change alerts (staff or above can).")
            else:
                self.summary.setText(f"Not done: {exc.reason}")
            self._update_buttons()
            return
        except ConsoleError as exc:
            self.summary.setText(f"Not done: {exc}")
            self._update_buttons()
            return
        self.note_edit.clear()
        self.on_events([{"type": f"alert.{action}", "data": alert}])

    def _map_picked(self) -> None:
        alert = self._picked_alert
        if alert and alert.get("asset_id"):
            self.show_on_map.emit(int(alert["asset_id"]))
