"""Stock-take: the sweeps of each zone, one report at a time (found, missing, unexpected with
where last seen, unknown tags), a handheld's CSV imported for a zone, and the report
exported as the appliance's CSV or PDF. Importing and exporting are for engineers and
admins; everyone else reads."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFileDialog,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QSplitter,
    QTableView,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from floki_console.api import ApiError, ApplianceUnreachable, ConsoleError
from floki_console.models import RecordTable, SortedRecords
from floki_console.session import ApplianceSession
from floki_console.stocktake_data import (
    API,
    SECTIONS,
    SWEEP_FIELDS,
    HeaderMapError,
    columns_param,
    counts_line,
    may_record,
    report_heading,
    stocktake_table,
)

LIST_LIMIT = 200
MAX_SWEEP_BYTES = 16 * 1024 * 1024
NOT_SERVED = (
    "This appliance does not offer stock-takes (the RFID plugin with its stock-take API "
    "is not installed or is switched off)."
)
FOR_ENGINEERS = "Engineers and admins only"
FIELD_LABELS = {"epc": "EPC", "rssi": "RSSI", "seen_at": "Seen at", "count": "Read count"}


def _table(model: Any) -> QTableView:
    view = QTableView()
    view.setModel(model)
    view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    view.verticalHeader().hide()
    view.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    view.horizontalHeader().setStretchLastSection(True)
    return view


class StocktakeView(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session: ApplianceSession | None = None
        self.report: dict[str, Any] | None = None
        self.loads = 0  # lists loaded (tests wait on it)
        self.imports = 0  # imports answered, recorded or refused
        self.loading = False
        self._opening: int | None = None
        self._tasks: set[asyncio.Future[Any]] = set()

        # --- the list --------------------------------------------------------------
        self.zone_filter = QComboBox()
        self.zone_filter.addItem("All zones", None)
        self.zone_filter.currentIndexChanged.connect(lambda *_: self.reload())
        self.refresh_button = QPushButton("Refresh")
        self.refresh_button.clicked.connect(lambda *_: self.reload(zones=True))
        self.list_model = stocktake_table()
        self._sorted = SortedRecords(self.list_model, self)
        self.list_table = _table(self._sorted)
        self.list_table.setSortingEnabled(True)
        self.list_table.sortByColumn(0, Qt.SortOrder.DescendingOrder)
        self.list_table.selectionModel().currentRowChanged.connect(self._picked)
        self.list_note = QLabel("Log in to see the stock-takes.")
        self.list_note.setWordWrap(True)

        # --- one report ------------------------------------------------------------
        self.heading = QLabel("Pick a stock-take to see its report.")
        self.heading.setWordWrap(True)
        self.counts_label = QLabel("")
        self.sections = QTabWidget()
        self.section_models: dict[str, RecordTable[dict[str, Any]]] = {}
        self._section_titles: dict[str, str] = {}
        for key, title, make in SECTIONS:
            model = make()
            self.section_models[key] = model
            self._section_titles[key] = title
            table = _table(SortedRecords(model, self))
            table.setSortingEnabled(True)
            self.sections.addTab(table, title)
        self.csv_button = QPushButton("Export CSV\u2026")
        self.csv_button.clicked.connect(lambda *_: self._choose_export("csv"))
        self.pdf_button = QPushButton("Export PDF\u2026")
        self.pdf_button.clicked.connect(lambda *_: self._choose_export("pdf"))

        # --- importing a sweep -----------------------------------------------------
        self.file_edit = QLineEdit()
        self.file_edit.setPlaceholderText("The sweep the handheld exported (CSV)")
        self.browse_button = QPushButton("Choose file\u2026")
        self.browse_button.clicked.connect(lambda *_: self._browse())
        self.import_zone_combo = QComboBox()
        self.header_edits: dict[str, QLineEdit] = {}
        for field, usual in SWEEP_FIELDS.items():
            edit = QLineEdit()
            edit.setPlaceholderText(usual)
            edit.setToolTip(
                f"The file's header for the {FIELD_LABELS[field]} column, if not one of: {usual}"
            )
            self.header_edits[field] = edit
        self.device_edit = QLineEdit()
        self.device_edit.setPlaceholderText("Which handheld (optional)")
        self.device_edit.setMaxLength(100)
        self.note_edit = QLineEdit()
        self.note_edit.setPlaceholderText("Kept with the stock-take (optional)")
        self.note_edit.setMaxLength(2000)
        self.import_button = QPushButton("Import sweep")
        self.import_button.clicked.connect(lambda *_: self._start_import())
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self._lay_out()
        self._update_buttons()

    def _lay_out(self) -> None:
        bar = QHBoxLayout()
        bar.addWidget(QLabel("Zone"))
        bar.addWidget(self.zone_filter, 1)
        bar.addWidget(self.refresh_button)
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addLayout(bar)
        left_layout.addWidget(self.list_table, 1)
        left_layout.addWidget(self.list_note)

        exports = QHBoxLayout()
        exports.addStretch(1)
        exports.addWidget(self.csv_button)
        exports.addWidget(self.pdf_button)
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.addWidget(self.heading)
        right_layout.addWidget(self.counts_label)
        right_layout.addWidget(self.sections, 1)
        right_layout.addLayout(exports)

        split = QSplitter()
        split.addWidget(left)
        split.addWidget(right)
        split.setStretchFactor(0, 1)
        split.setStretchFactor(1, 1)

        # Three rows: the file; where and with what; the header map (rarely needed).
        form = QGridLayout()
        form.addWidget(QLabel("File"), 0, 0)
        form.addWidget(self.file_edit, 0, 1, 1, 5)
        form.addWidget(self.browse_button, 0, 6)
        for column, (label, widget) in enumerate(
            (
                ("Zone swept", self.import_zone_combo),
                ("Device", self.device_edit),
                ("Note", self.note_edit),
            )
        ):
            form.addWidget(QLabel(label), 1, 2 * column)
            form.addWidget(widget, 1, 2 * column + 1)
        form.addWidget(self.import_button, 1, 6)
        mapped = QLabel("Headers")
        mapped.setToolTip("Only for a file whose columns are not named as usual")
        form.addWidget(mapped, 2, 0)
        headers = QHBoxLayout()
        for field, edit in self.header_edits.items():
            headers.addWidget(QLabel(FIELD_LABELS[field]))
            headers.addWidget(edit, 1)
        form.addLayout(headers, 2, 1, 1, 6)
        for column in (1, 3, 5):
            form.setColumnStretch(column, 1)
        importing = QGroupBox("Import a handheld's sweep")
        importing.setLayout(form)

        layout = QVBoxLayout(self)
        layout.addWidget(split, 1)
        layout.addWidget(importing)
        layout.addWidget(self.status)

    # --- session ---------------------------------------------------------------------

    def attach(self, session: ApplianceSession) -> None:
        self.session = session
        session.reconnected.connect(self._reconnected)
        self._update_buttons()
        self.reload(zones=True)

    def detach(self) -> None:
        if self.session is not None:
            self.session.reconnected.disconnect(self._reconnected)
        self.session = None
        for task in list(self._tasks):
            task.cancel()
        self.loading = False
        self.list_model.set_records([])
        self.clear_report()
        self.list_note.setText("Log in to see the stock-takes.")
        self.status.clear()
        self._set_zones([])
        self._update_buttons()

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Future[Any]:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    @property
    def may_record(self) -> bool:
        return self.session is not None and may_record(self.session.role)

    def _update_buttons(self) -> None:
        allowed = self.may_record
        has_report = self.report is not None
        self.import_button.setEnabled(allowed)
        self.csv_button.setEnabled(allowed and has_report)
        self.pdf_button.setEnabled(allowed and has_report)
        if self.session is not None and not allowed:
            for button in (self.import_button, self.csv_button, self.pdf_button):
                button.setToolTip(FOR_ENGINEERS)
        else:
            self.import_button.setToolTip("Send the file to the appliance for the zone chosen")
            self.csv_button.setToolTip("Save the appliance's CSV of this report")
            self.pdf_button.setToolTip("Save the appliance's PDF of this report")

    # --- the list --------------------------------------------------------------------

    def reload(self, *, zones: bool = False) -> None:
        """Load the list again; with ``zones`` the zones to pick from too."""
        if self.session is not None:
            self._spawn(self.load(zones=zones))

    def _reconnected(self) -> None:
        self.reload(zones=True)

    def _set_zones(self, zones: list[dict[str, Any]]) -> None:
        """Fill both zone pickers, keeping what was chosen, without reloading."""
        named = sorted(
            ((str(z.get("name") or z.get("id")), int(z["id"])) for z in zones if "id" in z),
            key=lambda pair: pair[0].lower(),
        )
        for combo, everything in ((self.zone_filter, True), (self.import_zone_combo, False)):
            chosen = combo.currentData()
            combo.blockSignals(True)
            combo.clear()
            if everything:
                combo.addItem("All zones", None)
            for name, zone_id in named:
                combo.addItem(name, zone_id)
            index = combo.findData(chosen) if chosen is not None else -1
            combo.setCurrentIndex(max(index, 0))
            combo.blockSignals(False)

    async def load(self, *, zones: bool = False) -> None:
        session = self.session
        if session is None:
            return
        self.loading = True
        try:
            if zones or self.import_zone_combo.count() == 0:
                found = await session.client.get_all("/zones")
                if session is not self.session:
                    return
                self._set_zones([dict(z) for z in found])
            params = {"limit": str(LIST_LIMIT)}
            zone = self.zone_filter.currentData()
            if zone is not None:
                params["zone_id"] = str(zone)
            page = await session.client.get_json(API, params)
        except ApplianceUnreachable as exc:
            session.report_unreachable(exc)
            return
        except ApiError as exc:
            self.list_note.setText(
                NOT_SERVED if exc.status == 404 else f"Cannot list the stock-takes: {exc}"
            )
            return
        except ConsoleError as exc:
            self.list_note.setText(f"Cannot list the stock-takes: {exc}")
            return
        finally:
            self.loading = False
        if session is not self.session or not isinstance(page, dict):
            return
        items = [dict(i) for i in page.get("items") or [] if isinstance(i, dict)]
        self.list_model.set_records(items)
        self.loads += 1
        total = int(page.get("total") or len(items))
        if not items:
            self.list_note.setText("No stock-take recorded yet.")
        elif total > len(items):
            self.list_note.setText(f"The newest {len(items)} of {total} stock-takes.")
        else:
            self.list_note.setText(f"{total} stock-take{'s' if total != 1 else ''}.")

    # --- one report ------------------------------------------------------------------

    def _picked(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if not current.isValid():
            return
        record = self.list_model.record(self._sorted.mapToSource(current).row())
        if record.get("id") is not None:
            self._spawn(self.open_report(int(record["id"])))

    async def open_report(self, stocktake_id: int) -> None:
        session = self.session
        if session is None:
            return
        self._opening = stocktake_id
        try:
            report = await session.client.get_json(f"{API}/{stocktake_id}")
        except ApplianceUnreachable as exc:
            session.report_unreachable(exc)
            return
        except ConsoleError as exc:
            self.status.setText(f"Cannot open stock-take #{stocktake_id}: {exc}")
            return
        if session is self.session and self._opening == stocktake_id and isinstance(report, dict):
            self.show_report(dict(report))

    def show_report(self, report: dict[str, Any]) -> None:
        self.report = report
        self.heading.setText(report_heading(report))
        self.counts_label.setText(counts_line(report))
        for index, (key, _title, _make) in enumerate(SECTIONS):
            rows = [dict(r) for r in report.get(key) or [] if isinstance(r, dict)]
            self.section_models[key].set_records(rows)
            self.sections.setTabText(index, f"{self._section_titles[key]} ({len(rows)})")
        if report.get("missing"):
            self.sections.setCurrentIndex(1)  # what the sweep is for: what is not there
        self._update_buttons()

    def clear_report(self) -> None:
        self.report = None
        self._opening = None
        self.heading.setText("Pick a stock-take to see its report.")
        self.counts_label.clear()
        for index, (key, title, _make) in enumerate(SECTIONS):
            self.section_models[key].set_records([])
            self.sections.setTabText(index, title)
        self.list_table.clearSelection()
        self.list_table.setCurrentIndex(QModelIndex())
        self._update_buttons()

    # --- importing -------------------------------------------------------------------

    def _browse(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Handheld sweep to import", "", "CSV files (*.csv *.txt);;All files (*)"
        )
        if path:
            self.file_edit.setText(path)

    def _start_import(self) -> None:
        if self.session is not None:
            self._spawn(self.run_import())

    async def _read_sweep(self) -> tuple[bytes, Path] | None:
        """The file's bytes, read off the event loop (a network share can be slow)."""
        name = self.file_edit.text().strip()
        if not name:
            self.status.setText("Choose the handheld's CSV file to import.")
            return None
        path = Path(name)
        try:
            if path.stat().st_size > MAX_SWEEP_BYTES:
                self.status.setText(f"{path.name} is too large to import from here.")
                return None
            return await asyncio.to_thread(path.read_bytes), path
        except OSError as exc:
            self.status.setText(f"Cannot read {path}: {exc.strerror or exc}")
            return None

    async def run_import(self) -> dict[str, Any] | None:
        session = self.session
        if session is None:
            return None
        try:
            return await self._import(session)
        finally:
            self.imports += 1
            self._update_buttons()

    async def _import(self, session: ApplianceSession) -> dict[str, Any] | None:
        zone = self.import_zone_combo.currentData()
        if zone is None:
            self.status.setText("Choose the zone the sweep was taken in.")
            return None
        try:
            columns = columns_param({f: e.text() for f, e in self.header_edits.items()})
        except HeaderMapError as exc:
            self.status.setText(f"Not imported: {exc}")
            return None
        sweep = await self._read_sweep()
        if sweep is None:
            return None
        raw, path = sweep
        params = {"zone_id": str(zone)}
        if columns:
            params["columns"] = columns
        for name, edit in (("device", self.device_edit), ("note", self.note_edit)):
            if edit.text().strip():
                params[name] = edit.text().strip()
        self.import_button.setEnabled(False)
        self.status.setText(f"Sending {path.name} ({len(raw):,} bytes)\u2026")
        try:
            report = await session.client.send_bytes("POST", API, raw, "text/csv", params=params)
        except ApplianceUnreachable as exc:
            session.report_unreachable(exc)
            self.status.setText(f"Not imported: {exc}")
            return None
        except ApiError as exc:
            self.status.setText(self._refusal(exc, "record stock-takes"))
            return None
        except ConsoleError as exc:
            self.status.setText(f"Not imported: {exc}")
            return None
        if session is not self.session or not isinstance(report, dict):
            return None
        self.show_report(dict(report))
        self.status.setText(
            f"Recorded stock-take #{report.get('id')} of {report.get('zone') or 'the zone'}."
        )
        await self.load()
        return dict(report)

    @staticmethod
    def _refusal(exc: ApiError, what: str) -> str:
        if exc.status == 403:
            return f"Your role cannot {what} (engineer or above can)."
        if exc.status == 404 and what == "record stock-takes":
            return NOT_SERVED
        verb = "Not imported" if what == "record stock-takes" else "Not saved"
        return f"{verb} (HTTP {exc.status}): {exc.reason}"

    # --- exporting -------------------------------------------------------------------

    def _choose_export(self, kind: str) -> None:
        report = self.report
        if report is None:
            return
        zone = str(report.get("zone") or "zone").replace(" ", "-").lower()
        dialog = QFileDialog(
            self,
            "Save the stock-take report",
            f"stocktake-{report.get('id')}-{zone}.{kind}",
            "CSV (*.csv)" if kind == "csv" else "PDF (*.pdf)",
        )
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.fileSelected.connect(lambda path: self._spawn(self.export_report(kind, Path(path))))
        dialog.open()

    async def export_report(self, kind: str, path: Path) -> bool:
        """Save the appliance's CSV or PDF of the open report (it audits the export)."""
        session, report = self.session, self.report
        if session is None or report is None:
            return False
        try:
            raw = await session.client.get_bytes(f"{API}/{report.get('id')}.{kind}")
        except ApplianceUnreachable as exc:
            session.report_unreachable(exc)
            return False
        except ApiError as exc:
            self.status.setText(self._refusal(exc, "export stock-take reports"))
            return False
        except ConsoleError as exc:
            self.status.setText(f"Not saved: {exc}")
            return False
        try:
            await asyncio.to_thread(path.write_bytes, raw)
        except OSError as exc:
            self.status.setText(f"Not saved: cannot write {path}: {exc.strerror or exc}")
            return False
        self.status.setText(f"Saved the report to {path}.")
        return True
