"""Community loans: the open, overdue and returned ones; check an asset out to a home,
hospice or hub until a due-back date, and record its return."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

from PySide6.QtCore import QDate, QModelIndex, Qt, QTimer
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDateEdit,
    QFormLayout,
    QGroupBox,
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
    humanise,
    parse_time,
    picked_record,
    select_record,
)
from floki_console.session import ApplianceSession

SCOPES = (
    ("open", "Open (overdue included)"),
    ("overdue", "Overdue"),
    ("returned", "Returned"),
    ("", "All loans"),
)
DESTINATIONS = ("home", "hospice", "community_hub", "virtual_ward", "other")
RETURN_STATES = (("dirty", "Back dirty"), ("available", "Back clean"), ("faulty", "Faulty"))
STATUS_COLOURS = {"overdue": "#b00020", "open": "#00838f", "returned": "#616161"}


def _day(value: Any) -> str:
    when = parse_time(value)
    return when.astimezone().strftime("%d %b %Y %H:%M") if when is not None else ""


def destination(loan: dict[str, Any]) -> str:
    kind = humanise(str(loan.get("destination_type") or ""))
    zone = loan.get("destination_zone")
    return f"{kind} \u2014 {zone}" if zone else kind


def loan_status(loan: dict[str, Any]) -> str:
    status = str(loan.get("status", ""))
    if status == "returned" and loan.get("returned_by"):
        return f"returned by {loan['returned_by']}"
    return status


def loan_table() -> RecordTable[dict[str, Any]]:
    return RecordTable(
        [
            Column("Asset", lambda loan: str(loan.get("asset_number", ""))),
            Column("Reference", lambda loan: str(loan.get("reference", ""))),
            Column("Destination", destination),
            Column(
                "Loaned",
                lambda loan: _day(loan.get("loaned_at")),
                sort=lambda loan: str(loan.get("loaned_at") or ""),
            ),
            Column(
                "Due back",
                lambda loan: str(loan.get("due_back") or ""),
                colour=lambda loan: (
                    STATUS_COLOURS["overdue"] if loan.get("status") == "overdue" else None
                ),
            ),
            Column(
                "Status",
                loan_status,
                colour=lambda loan: STATUS_COLOURS.get(str(loan.get("status", ""))),
            ),
            Column("Next PPM", lambda loan: str(loan.get("asset_next_ppm_due") or "")),
        ],
        key=lambda loan: loan.get("id"),
    )


class LoansView(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session: ApplianceSession | None = None
        self.model = loan_table()
        self._sorted = SortedRecords(self.model, self)

        self.scope_combo = QComboBox()
        for key, title in SCOPES:
            self.scope_combo.addItem(title, key)
        self.scope_combo.currentIndexChanged.connect(lambda *_: self._scope_changed())
        self.refresh_button = QPushButton("Refresh")
        self.refresh_button.clicked.connect(lambda *_: self.reload())
        self.table = QTableView()
        self.table.setModel(self._sorted)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(4, Qt.SortOrder.AscendingOrder)
        self.table.verticalHeader().hide()
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        self.table.selectionModel().currentRowChanged.connect(self._picked)

        self.asset_edit = QLineEdit()
        self.asset_edit.setPlaceholderText("Asset number, e.g. PUMP-001")
        self.reference_edit = QLineEdit()
        self.reference_edit.setPlaceholderText("Loan or episode reference (a code, not a name)")
        self.reference_edit.setMaxLength(64)
        self.destination_combo = QComboBox()
        for kind in DESTINATIONS:
            self.destination_combo.addItem(humanise(kind), kind)
        self.due_edit = QDateEdit(QDate.currentDate().addDays(14))
        self.due_edit.setCalendarPopup(True)
        self.due_edit.setDisplayFormat("yyyy-MM-dd")
        self.notes_edit = QLineEdit()
        self.notes_edit.setPlaceholderText("Logistics only (no personal details)")
        self.notes_edit.setMaxLength(1000)
        self.checkout_button = QPushButton("Check out")
        self.checkout_button.clicked.connect(lambda *_: self._check_out())
        form = QFormLayout()
        form.addRow("Asset", self.asset_edit)
        form.addRow("Reference", self.reference_edit)
        form.addRow("Destination", self.destination_combo)
        form.addRow("Due back", self.due_edit)
        form.addRow("Notes", self.notes_edit)
        form.addRow("", self.checkout_button)
        checkout_box = QGroupBox("Check an asset out")
        checkout_box.setLayout(form)

        self.return_combo = QComboBox()
        for state, title in RETURN_STATES:
            self.return_combo.addItem(title, state)
        self.return_button = QPushButton("Record return")
        self.return_button.clicked.connect(lambda *_: self._return())
        self.counts = QLabel("Log in to see loans.")
        self.summary = QLabel("")
        self.summary.setWordWrap(True)

        bar = QHBoxLayout()
        bar.addWidget(self.scope_combo)
        bar.addWidget(self.refresh_button)
        bar.addWidget(self.counts, 1)
        actions = QHBoxLayout()
        actions.addWidget(self.summary, 1)
        actions.addWidget(QLabel("Returned as"))
        actions.addWidget(self.return_combo)
        actions.addWidget(self.return_button)
        left = QVBoxLayout()
        left.addLayout(bar)
        left.addWidget(self.table, 1)
        left.addLayout(actions)
        layout = QHBoxLayout(self)
        layout.addLayout(left, 3)
        layout.addWidget(checkout_box, 1, Qt.AlignmentFlag.AlignTop)

        self.loading = False
        self._picked_loan: dict[str, Any] | None = None
        self._tasks: set[asyncio.Future[Any]] = set()
        self._soon = QTimer(self)
        self._soon.setSingleShot(True)
        self._soon.setInterval(300)
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
        self.model.set_records([])
        self._picked_loan = None
        self._update_buttons()
        self.counts.setText("Log in to see loans.")
        self.summary.clear()

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Future[Any]:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def reload(self) -> None:
        if self.session is not None:
            self._spawn(self.load())

    def on_events(self, batch: list[dict[str, Any]]) -> None:
        if any(str(e.get("type", "")).startswith("loan.") for e in batch):
            self._soon.start()

    def _scope_changed(self) -> None:
        # Rows of the previous scope would be wrong while the new list loads.
        self.model.set_records([])
        self._picked_loan = None
        self._update_buttons()
        if self.session is not None:
            self.counts.setText("Loading\u2026")
        self.reload()

    @property
    def scope(self) -> str:
        return str(self.scope_combo.currentData() or "")

    def show_scope(self, scope: str) -> None:
        self.scope_combo.setCurrentIndex(self.scope_combo.findData(scope))

    async def load(self) -> None:
        session = self.session
        if session is None:
            return
        scope = self.scope
        self.loading = True
        try:
            items = await session.client.get_all("/loans", {"status": scope} if scope else None)
        except ApplianceUnreachable as exc:
            session.report_unreachable(exc)
            return
        except ConsoleError as exc:
            self.summary.setText(f"Cannot list loans: {exc}")
            return
        finally:
            self.loading = False
        if session is not self.session or scope != self.scope:
            return
        picked = self._picked_loan.get("id") if self._picked_loan else None
        self.model.set_records(items)
        self._picked_loan = None
        if picked is not None:
            self.select(int(picked))
        self._update_buttons()
        overdue = sum(1 for loan in items if loan.get("status") == "overdue")
        self.counts.setText(f"{len(items)} loan(s)" + (f", {overdue} overdue." if overdue else "."))

    # --- acting on one ---------------------------------------------------------------

    def _picked(self, current: QModelIndex, _previous: QModelIndex) -> None:
        self._picked_loan = picked_record(self.model, self._sorted, current)
        self._update_buttons()

    def select(self, loan_id: int) -> None:
        select_record(self.table, self.model, self._sorted, loan_id)

    def _update_buttons(self) -> None:
        loan = self._picked_loan
        self.return_button.setEnabled(bool(loan) and not (loan or {}).get("returned_at"))

    def _refused(self, what: str, exc: ApiError) -> None:
        if exc.status == 403:
            self.summary.setText(f"Your role cannot {what} (staff or above can).")
        else:
            self.summary.setText(f"Not done: {exc.reason}")

    def _check_out(self) -> None:
        if self.session is not None:
            self._spawn(self.check_out())

    async def find_asset(self, number: str) -> dict[str, Any] | None:
        """The asset with exactly this number, found through the search."""
        session = self.session
        if session is None or not number:
            return None
        page = await session.client.get_json("/assets", {"q": number[:200], "limit": "50"})
        for asset in (page or {}).get("items", []):
            if str(asset.get("asset_number", "")).casefold() == number.casefold():
                return dict(asset)
        return None

    async def check_out(self) -> dict[str, Any] | None:
        session = self.session
        if session is None:
            return None
        number = self.asset_edit.text().strip()
        reference = self.reference_edit.text().strip()
        if not number or not reference:
            self.summary.setText("Type the asset number and the loan reference.")
            return None
        self.checkout_button.setEnabled(False)
        try:
            asset = await self.find_asset(number)
            if asset is None:
                self.summary.setText(f"No asset is numbered {number}.")
                return None
            body: dict[str, Any] = {
                "asset_id": asset["id"],
                "reference": reference,
                "destination_type": self.destination_combo.currentData(),
                "due_back": self.due_edit.date().toString("yyyy-MM-dd"),
            }
            if self.notes_edit.text().strip():
                body["notes"] = self.notes_edit.text().strip()
            loan = await session.client.post_json("/loans", body)
        except ApplianceUnreachable as exc:
            session.report_unreachable(exc)
            return None
        except ApiError as exc:
            self._refused("check equipment out", exc)
            return None
        except ConsoleError as exc:
            self.summary.setText(f"Not done: {exc}")
            return None
        finally:
            self.checkout_button.setEnabled(True)
        for edit in (self.asset_edit, self.reference_edit, self.notes_edit):
            edit.clear()
        self._picked_loan = dict(loan)
        await self.load()
        self.summary.setText(
            f"{loan.get('asset_number')} is on loan ({loan.get('reference')}) until "
            f"{loan.get('due_back')}."
        )
        return dict(loan)

    def _return(self) -> None:
        if self._picked_loan is not None and self.session is not None:
            self._spawn(self.record_return(int(self._picked_loan["id"])))

    async def record_return(self, loan_id: int) -> dict[str, Any] | None:
        session = self.session
        if session is None:
            return None
        self.return_button.setEnabled(False)
        try:
            loan = await session.client.post_json(
                f"/loans/{loan_id}/return", {"state": self.return_combo.currentData()}
            )
        except ApplianceUnreachable as exc:
            session.report_unreachable(exc)
            self._update_buttons()
            return None
        except ApiError as exc:
            self._refused("record returns", exc)
            self._update_buttons()
            return None
        except ConsoleError as exc:
            self.summary.setText(f"Not done: {exc}")
            self._update_buttons()
            return None
        await self.load()
        message = f"{loan.get('asset_number')} is back ({humanise(str(loan.get('return_state')))})."
        if loan.get("state_change_refused"):
            message += f" Its state was not changed: {loan['state_change_refused']}"
        self.summary.setText(message)
        return dict(loan)
