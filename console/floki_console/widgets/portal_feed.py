"""The portal crossings shown beside the alerts: newest first, live from the event stream.
Hidden on an appliance with no crossing to show (no RFID portal), so the alerts keep
the room."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

from PySide6.QtCore import QModelIndex, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QGroupBox,
    QHeaderView,
    QLabel,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from floki_console.api import ApiError, ApplianceUnreachable, ConsoleError
from floki_console.models import SortedRecords
from floki_console.portal_crossings import (
    PORTAL_EVENT,
    crossing_from_event,
    crossing_from_item,
    crossing_table,
)
from floki_console.session import ApplianceSession

LISTED = "/rfid/portal-events"
SHOWN = 100  # crossings kept on screen; older ones drop off


class PortalFeed(QGroupBox):
    show_on_map = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Portal crossings", parent)
        self.session: ApplianceSession | None = None
        self.model = crossing_table()
        self._sorted = SortedRecords(self.model, self)
        self.table = QTableView()
        self.table.setModel(self._sorted)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(0, Qt.SortOrder.DescendingOrder)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.doubleClicked.connect(lambda index: self._double_clicked(index))
        self.note = QLabel("Double-click a crossing to see the asset on the map.")
        layout = QVBoxLayout(self)
        layout.addWidget(self.table)
        layout.addWidget(self.note)
        self.setMaximumHeight(220)
        self.hide()
        self.loads = 0
        self._names: dict[int, dict[str, Any]] = {}
        self._tasks: set[asyncio.Future[Any]] = set()

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
        self.model.set_records([])
        self._names.clear()
        self.hide()

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def reload(self) -> None:
        if self.session is not None:
            self._spawn(self.load())

    async def load(self) -> None:
        """The latest crossings the appliance lists; an appliance that lists none (no
        RFID plugin, or one without portals) leaves the feed to live events."""
        session = self.session
        if session is None:
            return
        try:
            page = await session.client.get_json(LISTED, {"limit": str(SHOWN)})
        except ApplianceUnreachable as exc:
            session.report_unreachable(exc)
            return
        except ApiError as exc:
            if exc.status not in (403, 404):
                self.note.setText(f"Cannot list portal crossings: {exc}")
            page = None
        except ConsoleError as exc:
            self.note.setText(f"Cannot list portal crossings: {exc}")
            page = None
        finally:
            self.loads += 1
        if session is not self.session or not isinstance(page, dict):
            return
        listed = [crossing_from_item(i) for i in page.get("items") or [] if isinstance(i, dict)]
        crossings = [c for c in listed if c is not None]
        for crossing in crossings:
            await self._name(session, crossing)
        if session is self.session:
            self.model.set_records(crossings[:SHOWN])
            self.setVisible(self.model.rowCount() > 0)

    def on_events(self, batch: list[dict[str, Any]]) -> None:
        for event in batch:
            if event.get("type") == PORTAL_EVENT:
                crossing = crossing_from_event(event)
                if crossing is not None and self.session is not None:
                    self._spawn(self._add(self.session, crossing))

    async def _add(self, session: ApplianceSession, crossing: dict[str, Any]) -> None:
        await self._name(session, crossing)
        if session is not self.session:
            return
        self.model.upsert(crossing)
        records = self.model.records()
        if len(records) > SHOWN:
            oldest = sorted(records, key=lambda c: str(c.get("read_at") or ""))
            self.model.set_records([c for c in records if c not in oldest[: len(records) - SHOWN]])
        self.show()

    async def _name(self, session: ApplianceSession, crossing: dict[str, Any]) -> None:
        """Give the crossing its asset's name and number (asked once per asset)."""
        if crossing.get("name") or crossing.get("description"):
            return
        asset_id = int(crossing["asset_id"])
        if asset_id not in self._names:
            try:
                asset = await session.client.get_json(f"/assets/{asset_id}")
            except ApplianceUnreachable:
                return  # said by the session; named next time
            except ConsoleError:
                asset = {}
            self._names[asset_id] = dict(asset) if isinstance(asset, dict) else {}
        asset = self._names[asset_id]
        for key in ("asset_number", "description"):
            if asset.get(key) and not crossing.get(key):
                crossing[key] = asset[key]

    def show_crossing(self, row: int) -> None:
        """Go to the asset of the crossing shown in ``row`` (as sorted on screen)."""
        source = self._sorted.mapToSource(self._sorted.index(row, 0))
        if source.isValid():
            self.show_on_map.emit(int(self.model.record(source.row())["asset_id"]))

    def _double_clicked(self, index: QModelIndex) -> None:
        if index.isValid():
            self.show_crossing(index.row())
