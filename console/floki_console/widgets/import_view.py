"""Importing the asset register (administrators): a CMMS CSV sent to the appliance, the
upload's progress, then its report — counts and every problem row by row. The appliance
imports all rows or none, unless asked to import the good rows and skip the bad ones."""

from __future__ import annotations

import asyncio
import csv
import re
from collections.abc import Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from floki_console.api import ApiError, ApplianceUnreachable, ConsoleError
from floki_console.models import Column, RecordTable, SortedRecords
from floki_console.session import ApplianceSession

MAX_FILE_BYTES = 64 * 1024 * 1024
_LINE = re.compile(r"^line (\d+): (.*)$")


@dataclass(frozen=True)
class RowProblem:
    line: int
    column: str
    reason: str
    kind: str = "error"  # or "warning": imported, but something was not applied


@dataclass
class ImportOutcome:
    imported: bool
    counts: dict[str, int] = field(default_factory=dict)
    problems: list[RowProblem] = field(default_factory=list)
    message: str = ""


def csv_headers(raw: bytes) -> list[str]:
    """The header line of a register CSV as the appliance reads it (UTF-8 or Windows-1252)."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("cp1252", errors="replace")
    first = text.splitlines()[0] if text else ""
    try:
        row = next(csv.reader([first]))
    except (StopIteration, csv.Error):
        return []
    return [cell.strip() for cell in row if cell.strip()]


def problems_from_answer(items: Any, kind: str) -> list[RowProblem]:
    return [
        RowProblem(
            line=int(p.get("line") or 0),
            column=str(p.get("column") or ""),
            reason=str(p.get("reason") or ""),
            kind=kind,
        )
        for p in (items or [])
        if isinstance(p, dict)
    ]


def problems_from_refusal(reason: str, headers: list[str]) -> tuple[list[RowProblem], str]:
    """The rows of a refused import (``line N: column: reason``, one a line) and the rest
    of what the appliance said. A column is recognised as one of the file's headers."""
    known = set(headers)
    problems: list[RowProblem] = []
    other: list[str] = []
    for text in reason.splitlines():
        match = _LINE.match(text.strip())
        if match is None:
            other.append(text)
            continue
        line, rest = int(match.group(1)), match.group(2)
        column, said = "", rest
        head, sep, tail = rest.partition(": ")
        if sep and head.strip() in known:
            column, said = head.strip(), tail
        problems.append(RowProblem(line=line, column=column, reason=said))
    return problems, "\n".join(t for t in other if t.strip())


def problem_table() -> RecordTable[RowProblem]:
    return RecordTable(
        [
            Column("Row", lambda p: str(p.line), sort=lambda p: p.line),
            Column("Column", lambda p: p.column),
            Column(
                "Error",
                lambda p: p.reason,
                colour=lambda p: "#b00020" if p.kind == "error" else "#b26a00",
            ),
            Column("Kind", lambda p: p.kind),
        ],
        key=lambda p: (p.line, p.column, p.reason, p.kind),
    )


class ImportView(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session: ApplianceSession | None = None
        self.model = problem_table()
        self._sorted = SortedRecords(self.model, self)
        self.outcome: ImportOutcome | None = None

        self.file_edit = QLineEdit()
        self.file_edit.setPlaceholderText("The register CSV exported from the CMMS")
        self.browse_button = QPushButton("Choose file\u2026")
        self.browse_button.clicked.connect(lambda *_: self._browse())
        self.skip_bad_check = QCheckBox("Import good rows, skip bad ones")
        self.skip_bad_check.setToolTip(
            "Without this, any bad row stops the import and nothing is written"
        )
        self.import_button = QPushButton("Import")
        self.import_button.clicked.connect(lambda *_: self._start())
        self.progress = QProgressBar()
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress.setFormat("%p% sent")
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.counts_label = QLabel("")

        self.table = QTableView()
        self.table.setModel(self._sorted)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(0, Qt.SortOrder.AscendingOrder)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)

        pick = QHBoxLayout()
        pick.addWidget(QLabel("File"))
        pick.addWidget(self.file_edit, 1)
        pick.addWidget(self.browse_button)
        act = QHBoxLayout()
        act.addWidget(self.skip_bad_check)
        act.addStretch(1)
        act.addWidget(self.import_button)
        layout = QVBoxLayout(self)
        layout.addLayout(pick)
        layout.addLayout(act)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)
        layout.addWidget(self.counts_label)
        layout.addWidget(self.table, 1)

        self._tasks: set[asyncio.Future[Any]] = set()

    # --- session ---------------------------------------------------------------------

    def attach(self, session: ApplianceSession) -> None:
        self.session = session

    def detach(self) -> None:
        self.session = None
        for task in list(self._tasks):
            task.cancel()
        self.model.set_records([])
        self.outcome = None
        self.status.clear()
        self.counts_label.clear()
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.import_button.setEnabled(True)

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Future[Any]:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    # --- importing -------------------------------------------------------------------

    def _browse(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Asset register to import", "", "CSV files (*.csv *.txt);;All files (*)"
        )
        if path:
            self.file_edit.setText(path)

    def _start(self) -> None:
        if self.session is not None:
            self._spawn(self.run_import())

    def _sent(self, sent: int, total: int) -> None:
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(sent)

    async def run_import(self) -> ImportOutcome | None:
        session = self.session
        if session is None:
            return None
        name = self.file_edit.text().strip()
        if not name:
            self.status.setText("Choose the CSV file to import.")
            return None
        path = Path(name)
        try:
            if path.stat().st_size > MAX_FILE_BYTES:
                self.status.setText(f"{path.name} is too large to import from here.")
                return None
            raw = path.read_bytes()
        except OSError as exc:
            self.status.setText(f"Cannot read {path}: {exc.strerror or exc}")
            return None
        skip_bad = self.skip_bad_check.isChecked()
        self.model.set_records([])
        self.counts_label.clear()
        self.outcome = None
        self.import_button.setEnabled(False)
        self.status.setText(f"Sending {path.name} ({len(raw):,} bytes)\u2026")
        try:
            answer = await session.client.send_bytes(
                "POST",
                "/assets/import",
                raw,
                "text/csv",
                params={"skip_bad": "true" if skip_bad else "false"},
                progress=self._sent,
            )
        except ApplianceUnreachable as exc:
            session.report_unreachable(exc)
            self.status.setText(f"Not imported: {exc}")
            return None
        except ApiError as exc:
            outcome = self._refused(exc, csv_headers(raw))
        except ConsoleError as exc:
            self.status.setText(f"Not imported: {exc}")
            return None
        else:
            outcome = self._accepted(answer if isinstance(answer, dict) else {})
        finally:
            self.import_button.setEnabled(True)
        if session is not self.session:
            return None
        self.outcome = outcome
        self.model.set_records(outcome.problems)
        self.status.setText(outcome.message)
        if outcome.counts:
            self.counts_label.setText(
                ", ".join(f"{k}: {v}" for k, v in outcome.counts.items() if k != "imported")
                + f" \u2014 {outcome.counts.get('imported', 0)} imported"
            )
        return outcome

    def _accepted(self, answer: dict[str, Any]) -> ImportOutcome:
        counts = {
            key: int(answer.get(key) or 0) for key in ("created", "updated", "unchanged", "skipped")
        }
        counts["imported"] = counts["created"] + counts["updated"]
        problems = problems_from_answer(answer.get("problems"), "error")
        problems += problems_from_answer(answer.get("warnings"), "warning")
        skipped = counts["skipped"]
        message = (
            f"Imported: {counts['created']} created, {counts['updated']} updated, "
            f"{counts['unchanged']} unchanged"
            + (f"; {skipped} bad row{'s' if skipped != 1 else ''} skipped." if skipped else ".")
        )
        return ImportOutcome(imported=True, counts=counts, problems=problems, message=message)

    def _refused(self, exc: ApiError, headers: list[str]) -> ImportOutcome:
        problems, said = problems_from_refusal(exc.reason, headers)
        message = f"Nothing was imported (HTTP {exc.status})."
        if said:
            message += f" {said}"
        if problems:
            message += " Fix the rows below, or tick \u201cImport good rows, skip bad ones\u201d."
        return ImportOutcome(imported=False, problems=problems, message=message)
