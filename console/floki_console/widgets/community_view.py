"""Community: equipment out on loan and kit carrying a GPS tracker, where each is (in
words, and on a geographic map), how old its last fix is, its tracker's battery and
connection, and when it is due back; overdue loans first.

A loaned asset is shown at zone level ("in community, loan L-123"), as the appliance
answers, and gets no marker on the map unless the appliance marks its position precise.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Coroutine, Iterable
from typing import Any

from PySide6.QtCore import QSettings, Qt, QTimer
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from floki_console.api import ApiError, ApplianceClient, ApplianceUnreachable, ConsoleError
from floki_console.community_data import (
    CommunityInputs,
    CommunityRow,
    TileUrlError,
    appliance_today,
    community_rows,
    map_layer,
    valid_tile_template,
)
from floki_console.models import Column, RecordTable
from floki_console.session import ApplianceSession
from floki_console.widgets.geo_map import (
    TILE_URL_KEY,
    GeoMap,
    console_settings,
    saved_tile_template,
)

REFRESH_MS = 30_000
SOON_MS = 1_000  # events come in bursts: one reload per burst
MAX_ASSETS = 500  # locations asked one by one: beyond this the view says it stopped
OVERDUE_COLOUR = "#b00020"
STALE_COLOUR = "#616161"
NO_TRACKERS = "GPS trackers are not set up on this appliance."
TRACKERS_FOR_ENGINEERS = "Tracker protocol and connection are shown to engineers and admins."


def community_table() -> RecordTable[CommunityRow]:
    def overdue(row: CommunityRow) -> str | None:
        return OVERDUE_COLOUR if row.overdue else None

    return RecordTable(
        [
            Column("Asset", lambda r: r.asset_number, colour=overdue),
            Column("Loan", lambda r: r.loan_reference, colour=overdue),
            Column("Due back", lambda r: r.due_text, colour=overdue),
            Column("Where", lambda r: r.where, colour=overdue),
            Column(
                "Fix age",
                lambda r: r.fix_age,
                tooltip=lambda r: "not heard lately" if r.stale else "",
                colour=lambda r: overdue(r) or (STALE_COLOUR if r.stale else None),
            ),
            Column("Battery", lambda r: r.battery, colour=overdue),
            Column("Tracker", lambda r: r.tracker, colour=overdue),
        ],
        key=lambda r: r.asset_id,
    )


class CommunityView(QWidget):
    def __init__(self, parent: QWidget | None = None, settings: QSettings | None = None) -> None:
        super().__init__(parent)
        self.session: ApplianceSession | None = None
        self.settings = settings if settings is not None else console_settings()
        self.model = community_table()
        self.table = QTableView()
        self.table.setModel(self.model)  # in the order given: overdue first
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.setWordWrap(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        self.map = GeoMap()
        self.map.tile_problem.connect(self._tile_problem)

        self.refresh_button = QPushButton("Refresh")
        self.refresh_button.clicked.connect(lambda *_: self.reload())
        self.counts = QLabel("Log in to see community equipment.")
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.tile_edit = QLineEdit(saved_tile_template(self.settings))
        self.tile_edit.setPlaceholderText(
            "Optional base map: https://tiles.example.org/{z}/{x}/{y}.png"
        )
        self.tile_button = QPushButton("Use tiles")
        self.tile_button.clicked.connect(lambda *_: self.apply_tile_url())
        self.map.set_tile_template(saved_tile_template(self.settings))

        bar = QHBoxLayout()
        bar.addWidget(self.refresh_button)
        bar.addWidget(self.counts, 1)
        tiles = QHBoxLayout()
        tiles.addWidget(QLabel("Base map tiles"))
        tiles.addWidget(self.tile_edit, 1)
        tiles.addWidget(self.tile_button)
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.addWidget(self.map, 1)
        right_layout.addLayout(tiles)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self.table)
        split.addWidget(right)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        layout = QVBoxLayout(self)
        layout.addLayout(bar)
        layout.addWidget(split, 1)
        layout.addWidget(self.status)

        self.loading = False
        self.loads = 0
        self.inputs: CommunityInputs | None = None
        self._asset_ids: set[int] = set()
        self._tasks: set[asyncio.Future[Any]] = set()
        self._timer = QTimer(self)
        self._timer.setInterval(REFRESH_MS)
        self._timer.timeout.connect(self.reload)
        self._soon = QTimer(self)
        self._soon.setSingleShot(True)
        self._soon.setInterval(SOON_MS)
        self._soon.timeout.connect(self.reload)

    # --- session ---------------------------------------------------------------------

    def attach(self, session: ApplianceSession) -> None:
        self.session = session
        session.events_arrived.connect(self.on_events)
        session.reconnected.connect(self.reload)
        self._timer.start()
        self.reload()

    def detach(self) -> None:
        if self.session is not None:
            self.session.events_arrived.disconnect(self.on_events)
            self.session.reconnected.disconnect(self.reload)
        self.session = None
        self._timer.stop()
        self._soon.stop()
        for task in list(self._tasks):
            task.cancel()
        self.loading = False  # a load cancelled before it ran never gets to say so
        self.inputs = None
        self._asset_ids = set()
        self.model.set_records([])
        self.map.set_layer(map_layer(_empty_inputs()))
        self.counts.setText("Log in to see community equipment.")
        self.status.clear()

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Future[Any]:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def reload(self) -> None:
        if self.session is None:
            return
        if self.loading:
            self._soon.start()  # once this load is done, so that nothing is missed
            return
        self.loading = True
        self._spawn(self.load())

    def on_events(self, batch: list[dict[str, Any]]) -> None:
        for event in batch:
            kind = str(event.get("type", ""))
            if kind.startswith("loan.") or (
                kind.startswith("location.") and event.get("entity_id") in self._asset_ids
            ):
                self._soon.start()
                return

    # --- loading ---------------------------------------------------------------------

    async def load(self) -> None:
        session = self.session
        if session is None:
            self.loading = False
            return
        self.loading = True
        try:
            inputs, notes = await self._gather(session.client)
        except ApplianceUnreachable as exc:
            session.report_unreachable(exc)
            return
        except ConsoleError as exc:
            self.status.setText(f"Cannot list community equipment: {exc}")
            return
        finally:
            self.loading = False
        if session is not self.session:
            return
        self.show_inputs(inputs)
        self.status.setText(" ".join(notes))

    def show_inputs(self, inputs: CommunityInputs) -> None:
        self.inputs = inputs
        rows = community_rows(inputs)
        self._asset_ids = {r.asset_id for r in rows}
        self.model.set_records(rows)
        self.map.set_layer(map_layer(inputs))
        self.loads += 1
        overdue = sum(1 for r in rows if r.overdue)
        on_loan = sum(1 for r in rows if r.loan_reference)
        tracked = len(inputs.trackers)
        self.counts.setText(
            f"{len(rows)} item(s): {on_loan} on loan ({overdue} overdue), "
            f"{tracked} with a GPS tracker."
        )

    async def _gather(self, client: ApplianceClient) -> tuple[CommunityInputs, list[str]]:
        loans, identifiers, zones, batteries = await asyncio.gather(
            client.get_all("/loans", {"status": "open"}),
            client.get_all("/identifiers", {"technology": "gps"}),
            client.get_all("/zones"),
            client.get_all("/tags/batteries", {"technology": "gps"}),
        )
        notes: list[str] = []
        devices, note = await _devices(client)
        if note:
            notes.append(note)
        trackers = {int(i["asset_id"]): str(i["value"]) for i in identifiers}
        loaned = {int(loan["asset_id"]) for loan in loans}
        wanted = sorted(loaned | set(trackers))
        if len(wanted) > MAX_ASSETS:
            notes.append(f"Showing where {MAX_ASSETS} of {len(wanted)} items are.")
            wanted = wanted[:MAX_ASSETS]
        unloaned = [a for a in wanted if a not in loaned]
        located, numbered = await asyncio.gather(
            _each(client, wanted, "/assets/{}/location"),
            _each(client, unloaned, "/assets/{}"),
        )
        today = appliance_today(located, fallback=dt.datetime.now(dt.UTC).date())
        inputs = CommunityInputs(
            loans=loans,
            asset_numbers={
                a: str(asset.get("asset_number") or "") for a, asset in numbered.items()
            },
            locations=located,
            trackers={a: tag for a, tag in trackers.items() if a in wanted},
            devices=devices,
            batteries=batteries,
            zones=zones,
            today=today,
        )
        return inputs, notes

    # --- the base map ----------------------------------------------------------------

    def apply_tile_url(self) -> bool:
        """Keep the typed tile URL (or none) in the console's settings and use it."""
        try:
            template = valid_tile_template(self.tile_edit.text())
        except TileUrlError as exc:
            self.status.setText(f"Not used: {exc}.")
            return False
        self.settings.setValue(TILE_URL_KEY, template)
        self.settings.sync()
        self.map.set_tile_template(template)
        self.status.setText(
            "Base map tiles are drawn under the zones." if template else "No base map tiles."
        )
        return True

    def _tile_problem(self, message: str) -> None:
        self.status.setText(message)


async def _devices(client: ApplianceClient) -> tuple[dict[str, dict[str, Any]] | None, str]:
    """The GPS plugin's tracker listing by device id, or ``None`` and why not."""
    try:
        answer = await client.get_json("/gps/devices")
    except ApiError as exc:
        if exc.status == 404:
            return None, NO_TRACKERS
        if exc.status == 403:
            return None, TRACKERS_FOR_ENGINEERS
        raise
    items = answer.get("items", []) if isinstance(answer, dict) else []
    return {str(d.get("device")): dict(d) for d in items if d.get("registered", True)}, ""


async def _each(client: ApplianceClient, ids: Iterable[int], path: str) -> dict[int, Any]:
    """``GET path`` for each id, a few at a time; ids the appliance no longer has are
    left out (an asset deleted between the lists and this)."""
    limit = asyncio.Semaphore(8)

    async def one(asset_id: int) -> tuple[int, Any]:
        async with limit:
            try:
                return asset_id, await client.get_json(path.format(asset_id))
            except ApiError as exc:
                if exc.status == 404:
                    return asset_id, None
                raise

    found = await asyncio.gather(*(one(a) for a in ids))
    return {a: answer for a, answer in found if isinstance(answer, dict)}


def _empty_inputs() -> CommunityInputs:
    return CommunityInputs(
        loans=[],
        asset_numbers={},
        locations={},
        trackers={},
        devices=None,
        batteries=[],
        zones=[],
        today=dt.date.today(),
    )
