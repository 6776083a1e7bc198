"""Find: one search box; each result says where the asset is, how fresh that is and its
state; picking one explains why Floki thinks it is there and can show it on the map."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from html import escape
from typing import Any

from PySide6.QtCore import QModelIndex, QTimer, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QSplitter,
    QTableView,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from floki_console.api import ApplianceUnreachable, ConsoleError
from floki_console.models import SortedRecords, asset_table, describe_age, humanise
from floki_console.session import ApplianceSession

RESULTS = 200


def explain_location(asset: dict[str, Any], where: dict[str, Any]) -> str:
    """The detail pane: where, how sure, since when, and the evidence behind it (HTML)."""
    title = escape(f"{asset.get('asset_number', '')} \u2014 {asset.get('description', '')}")
    state = escape(humanise(str(asset.get("state", ""))))
    parts = [f"<h3>{title}</h3>", f"<p>State: <b>{state}</b></p>"]
    if not where.get("located"):
        parts.append("<p>Floki has not located this asset yet: no tag or scan has seen it.</p>")
        return "".join(parts)
    path = " \u203a ".join(escape(str(p.get("name", ""))) for p in where.get("path") or [])
    if where.get("off_site"):
        path = "off site" + (f" ({path})" if path else "")
    parts.append(f"<p>Where: <b>{path or 'unknown'}</b></p>")
    if where.get("stale"):
        parts.append(
            "<p style='color:#b26a00'><b>Stale:</b> this is the last known location, not a "
            "current one. Nothing has seen the asset since it was last seen "
            f"({escape(describe_age(where.get('last_seen')))}).</p>"
        )
    confidence = float(where.get("confidence") or 0.0)
    method = escape(humanise(str(where.get("method") or "")))
    technology = escape(str(where.get("technology") or ""))
    parts.append(
        f"<p>How sure: <b>{confidence:.0%}</b> by {method} ({technology}); there since "
        f"{escape(describe_age(where.get('since')))}, last seen "
        f"{escape(describe_age(where.get('last_seen')))}.</p>"
    )
    evidence = where.get("evidence") or []
    if evidence:
        rows = "".join(_evidence_line(e) for e in evidence)
        parts.append(f"<p>Why Floki thinks so:</p><ul>{rows}</ul>")
    return "".join(parts)


def _evidence_line(evidence: dict[str, Any]) -> str:
    signal = evidence.get("signal")
    strength = f", {signal:.0f} dBm" if isinstance(signal, int | float) else ""
    receiver = escape(str(evidence.get("receiver") or "a receiver"))
    method = escape(humanise(str(evidence.get("method") or "")))
    technology = escape(str(evidence.get("technology") or ""))
    age = float(evidence.get("age_seconds") or 0.0)
    weight = float(evidence.get("weight") or 0.0)
    return (
        f"<li>{receiver}: {method} ({technology}){strength}, {age:.0f} s old, "
        f"weight {weight:.2f}</li>"
    )


class FindView(QWidget):
    show_on_map = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session: ApplianceSession | None = None
        self.model = asset_table()
        self._sorted = SortedRecords(self.model, self)

        self.search_edit = QLineEdit()
        self.search_edit.setPlaceholderText(
            "Search: asset number, description, serial, make, model or class (e.g. bladder scanner)"
        )
        self.search_edit.setClearButtonEnabled(True)
        self.search_edit.returnPressed.connect(self._search_now)
        self._typing = QTimer(self)
        self._typing.setSingleShot(True)
        self._typing.setInterval(350)
        self._typing.timeout.connect(self._search_now)
        self.search_edit.textEdited.connect(lambda *_: self._typing.start())

        self.results = QTableView()
        self.results.setModel(self._sorted)
        self.results.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.results.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.results.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.results.setSortingEnabled(True)
        self.results.verticalHeader().hide()
        self.results.horizontalHeader().setSectionResizeMode(
            QHeaderView.ResizeMode.ResizeToContents
        )
        self.results.horizontalHeader().setStretchLastSection(True)
        self.results.selectionModel().currentRowChanged.connect(self._picked)
        self.results.doubleClicked.connect(lambda *_: self._map_picked())

        self.summary = QLabel("Log in to search.")
        self.detail = QTextBrowser()
        self.detail.setOpenLinks(False)
        self.map_button = QPushButton("Show on map")
        self.map_button.setEnabled(False)
        self.map_button.clicked.connect(lambda *_: self._map_picked())

        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.addWidget(self.detail, 1)
        right_layout.addWidget(self.map_button)
        split = QSplitter()
        split.addWidget(self.results)
        split.addWidget(right)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)

        top = QHBoxLayout()
        top.addWidget(self.search_edit, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.summary)
        layout.addWidget(split, 1)
        self._picked_id: int | None = None
        self._generation = 0
        self._tasks: set[asyncio.Future[Any]] = set()

    # --- session ---------------------------------------------------------------------

    def attach(self, session: ApplianceSession) -> None:
        self.session = session
        session.events_arrived.connect(self.on_events)
        session.reconnected.connect(self._search_now)
        self.summary.setText("Type what you are looking for and press Enter.")

    def detach(self) -> None:
        if self.session is not None:
            self.session.events_arrived.disconnect(self.on_events)
            self.session.reconnected.disconnect(self._search_now)
        self.session = None
        for task in list(self._tasks):
            task.cancel()
        self.model.set_records([])
        self.detail.clear()
        self.summary.setText("Log in to search.")

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # --- searching -------------------------------------------------------------------

    def _search_now(self) -> None:
        self._typing.stop()
        if self.session is not None:
            self._spawn(self.search(self.search_edit.text()))

    async def search(self, text: str) -> None:
        session = self.session
        if session is None:
            return
        self._generation += 1
        generation = self._generation
        self.summary.setText("Searching\u2026")
        try:
            page = await session.client.get_json(
                "/assets", {"q": text.strip()[:200], "limit": str(RESULTS)}
            )
        except ApplianceUnreachable as exc:
            session.report_unreachable(exc)
            self.summary.setText(
                "The appliance is not answering; the search runs again when it is back."
            )
            return
        except ConsoleError as exc:
            self.summary.setText(f"Search failed: {exc}")
            return
        if generation != self._generation:
            return  # a newer search has started; its answer is the one to show
        items = list(page.get("items", []))
        total = int(page.get("total", len(items)))
        self.model.set_records(items)
        shown = f"{total} found" if total <= len(items) else f"first {len(items)} of {total}"
        self.summary.setText(f"{shown} for \u201c{text.strip()}\u201d." if text.strip() else shown)
        if self._picked_id is not None and self.model.row_of(self._picked_id) is not None:
            self._select(self._picked_id)

    def _select(self, asset_id: int) -> None:
        row = self.model.row_of(asset_id)
        if row is None:
            return
        index = self._sorted.mapFromSource(self.model.index(row, 0))
        self.results.setCurrentIndex(index)

    def _picked(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if not current.isValid():
            self._picked_id = None
            self.map_button.setEnabled(False)
            return
        asset = self.model.record(self._sorted.mapToSource(current).row())
        self._picked_id = int(asset["id"])
        self.map_button.setEnabled(True)
        self._spawn(self._explain(asset))

    async def _explain(self, asset: dict[str, Any]) -> None:
        session = self.session
        if session is None:
            return
        try:
            where = await session.client.get_json(f"/assets/{asset['id']}/location")
        except ApplianceUnreachable as exc:
            session.report_unreachable(exc)
            return
        except ConsoleError as exc:
            self.detail.setHtml(f"<p>Cannot explain the location: {escape(str(exc))}</p>")
            return
        if self._picked_id == asset["id"]:
            self.detail.setHtml(explain_location(asset, where))

    def _map_picked(self) -> None:
        if self._picked_id is not None:
            self.show_on_map.emit(self._picked_id)

    # --- live ------------------------------------------------------------------------

    def on_events(self, batch: list[dict[str, Any]]) -> None:
        for event in batch:
            if event.get("type") != "location.changed":
                continue
            data = event.get("data") or {}
            asset_id = data.get("asset_id")
            row = self.model.row_of(asset_id)
            if row is None:
                continue
            asset = dict(self.model.record(row))
            location = dict(asset.get("location") or {})
            location.update(
                zone={"id": data.get("to_zone_id"), "name": data.get("zone")},
                off_site=data.get("to_zone_id") is None,
                confidence=data.get("confidence"),
                method=data.get("method"),
                last_seen=event.get("at"),
                stale=False,
            )
            asset["location"] = location
            self.model.upsert(asset)
            if asset_id == self._picked_id:
                self._spawn(self._explain(asset))
