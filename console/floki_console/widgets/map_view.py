"""Map: a floor at a time, zones drawn with counts, assets as markers moving live.

Live events are not drawn one by one: they are gathered and applied once per frame
(``frame_ms``), so a burst of thousands of moves costs one layout and one repaint.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

from PySide6.QtCore import QPointF, Qt, QTimer
from PySide6.QtGui import QPainter, QPixmap, QResizeEvent, QWheelEvent
from PySide6.QtWidgets import (
    QComboBox,
    QGraphicsView,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from floki_console.api import ApplianceUnreachable, ConsoleError
from floki_console.map_data import MapData
from floki_console.models import STATE_COLOURS, humanise
from floki_console.session import ApplianceSession
from floki_console.widgets.floor_map import FloorMapScene

FRAME_MS = 40  # at most 25 map updates a second, however fast events come
RELOAD_MS = 120_000  # refetch everything now and then, so staleness stays true


async def fetch_plan(session: ApplianceSession, floor_id: int) -> QPixmap | None:
    """A floor's plan image, or None if it cannot be fetched or decoded.

    An unreachable appliance is reported to the session; other errors are silent.
    """
    try:
        raw = await session.client.get_bytes(f"/floors/{floor_id}/plan")
    except ApplianceUnreachable as exc:
        session.report_unreachable(exc)
        return None
    except ConsoleError:
        return None
    plan = QPixmap()
    if not plan.loadFromData(raw):
        return None
    return plan


class PlanView(QGraphicsView):
    """Zooms with the wheel, pans by dragging."""

    def __init__(self, scene: FloorMapScene) -> None:
        super().__init__(scene)
        self.setRenderHint(QPainter.RenderHint.Antialiasing)
        self.setDragMode(QGraphicsView.DragMode.ScrollHandDrag)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.FullViewportUpdate)
        self.setOptimizationFlag(QGraphicsView.OptimizationFlag.DontSavePainterState)

        self._fitting = True  # follow the window's size until the user zooms

    def wheelEvent(self, event: QWheelEvent) -> None:
        factor = 1.2 if event.angleDelta().y() > 0 else 1 / 1.2
        self._fitting = False
        self.scale(factor, factor)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        if self._fitting:
            self.fit()

    def fit(self) -> None:
        self._fitting = True
        rect = self.scene().sceneRect()
        if not rect.isEmpty():
            self.fitInView(rect, Qt.AspectRatioMode.KeepAspectRatio)


class MapView(QWidget):
    def __init__(self, parent: QWidget | None = None, *, frame_ms: int = FRAME_MS) -> None:
        super().__init__(parent)
        self.session: ApplianceSession | None = None
        self.data = MapData()
        self.scene = FloorMapScene(self.data)
        self.scene.marker_clicked.connect(self._describe)
        self.view = PlanView(self.scene)

        self.floor_combo = QComboBox()
        self.floor_combo.currentIndexChanged.connect(lambda *_: self._floor_chosen())
        self.class_combo = QComboBox()
        self.class_combo.currentIndexChanged.connect(lambda *_: self._filters_changed())
        self.state_combo = QComboBox()
        self.state_combo.addItem("All states", None)
        for state in STATE_COLOURS:
            self.state_combo.addItem(humanise(state), state)
        self.state_combo.currentIndexChanged.connect(lambda *_: self._filters_changed())
        self.refresh_button = QPushButton("Refresh")
        self.refresh_button.clicked.connect(lambda *_: self.reload())

        self.summary = QLabel("Log in to see the map.")
        self.summary.setWordWrap(True)
        self.counts_list = QListWidget()
        self.detail = QLabel()
        self.detail.setWordWrap(True)
        self.detail.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        legend = QLabel(
            "Filled marker: current location. Hollow, dashed: stale \u2014 the last known "
            "place, not where it is now."
        )
        legend.setWordWrap(True)

        bar = QHBoxLayout()
        bar.addWidget(QLabel("Floor:"))
        bar.addWidget(self.floor_combo, 2)
        bar.addWidget(QLabel("Class:"))
        bar.addWidget(self.class_combo, 1)
        bar.addWidget(QLabel("State:"))
        bar.addWidget(self.state_combo, 1)
        bar.addWidget(self.refresh_button)
        side = QWidget()
        side_layout = QVBoxLayout(side)
        side_layout.setContentsMargins(0, 0, 0, 0)
        side_layout.addWidget(QLabel("<b>Per zone</b>"))
        side_layout.addWidget(self.counts_list, 1)
        side_layout.addWidget(self.detail)
        side_layout.addWidget(legend)
        split = QSplitter()
        split.addWidget(self.view)
        split.addWidget(side)
        split.setStretchFactor(0, 4)
        split.setStretchFactor(1, 1)
        side.setMinimumWidth(240)
        layout = QVBoxLayout(self)
        layout.addLayout(bar)
        layout.addWidget(self.summary)
        layout.addWidget(split, 1)

        self._pending: list[dict[str, Any]] = []
        self._frame = QTimer(self)
        self._frame.setSingleShot(True)
        self._frame.setInterval(frame_ms)
        self._frame.timeout.connect(self.apply_pending)
        self._reload_timer = QTimer(self)
        self._reload_timer.setInterval(RELOAD_MS)
        self._reload_timer.timeout.connect(self.reload)
        self._plans: dict[int, QPixmap] = {}
        self._tasks: set[asyncio.Future[Any]] = set()
        self.frames = 0  # map updates drawn from live events, for the benchmark
        self.loading = False

    # --- session ---------------------------------------------------------------------

    def attach(self, session: ApplianceSession) -> None:
        self.session = session
        session.events_arrived.connect(self.on_events)
        session.reconnected.connect(self.reload)
        self._reload_timer.start()
        self.reload()

    def detach(self) -> None:
        if self.session is not None:
            self.session.events_arrived.disconnect(self.on_events)
            self.session.reconnected.disconnect(self.reload)
        self.session = None
        for task in list(self._tasks):
            task.cancel()
        self._reload_timer.stop()
        self._plans.clear()
        self.set_data(MapData())
        self.summary.setText("Log in to see the map.")

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Future[Any]:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def reload(self) -> None:
        if self.session is not None and not self.loading:
            self._spawn(self.load())

    async def load(self) -> None:
        session = self.session
        if session is None:
            return
        self.loading = True
        self.summary.setText("Loading the map\u2026")
        client = session.client
        try:
            buildings, floors, zones, classes, assets = await asyncio.gather(
                client.get_all("/buildings"),
                client.get_all("/floors"),
                client.get_all("/zones"),
                client.get_all("/asset-classes"),
                client.get_all("/assets"),
            )
        except ApplianceUnreachable as exc:
            session.report_unreachable(exc)
            self.summary.setText("The appliance is not answering; the map shows what it had.")
            return
        except ConsoleError as exc:
            self.summary.setText(f"Cannot load the map: {exc}")
            return
        finally:
            self.loading = False
        if session is not self.session:
            return
        self.set_data(
            MapData.from_api(
                buildings=buildings, floors=floors, zones=zones, classes=classes, assets=assets
            )
        )

    # --- data ------------------------------------------------------------------------

    def set_data(self, data: MapData) -> None:
        """Show ``data``, keeping the floor, filters and highlight the user had chosen."""
        floor_id = self.current_floor()
        class_id = self.class_combo.currentData()
        self.data = data
        self.scene.data = data
        self.class_combo.blockSignals(True)
        self.class_combo.clear()
        self.class_combo.addItem("All classes", None)
        for cid, name in sorted(data.classes.items(), key=lambda c: c[1]):
            self.class_combo.addItem(name, cid)
        self.class_combo.setCurrentIndex(max(self.class_combo.findData(class_id), 0))
        self.class_combo.blockSignals(False)
        self.scene.class_filter = self.class_combo.currentData()
        self.scene.state_filter = self.state_combo.currentData()
        self.floor_combo.blockSignals(True)
        self.floor_combo.clear()
        for floor in data.ordered_floors():
            self.floor_combo.addItem(floor.label, floor.id)
        index = self.floor_combo.findData(floor_id) if floor_id is not None else -1
        self.floor_combo.setCurrentIndex(index if index >= 0 else 0)
        self.floor_combo.blockSignals(False)
        self._floor_chosen(fit=index < 0)

    def current_floor(self) -> int | None:
        value = self.floor_combo.currentData()
        return int(value) if value is not None else None

    def _floor_chosen(self, *, fit: bool = True) -> None:
        floor_id = self.current_floor()
        highlighted = self.scene.highlighted
        self.scene.show_floor(floor_id)
        if highlighted is not None:
            self.scene.highlight(highlighted)
        if floor_id is not None:
            plan = self._plans.get(floor_id)
            if plan is not None:
                self.scene.set_plan(plan)
            elif self.data.floors[floor_id].has_plan and self.session is not None:
                self._spawn(self._fetch_plan(floor_id))
        if fit:
            self.view.fit()
        self._refresh_side()

    async def _fetch_plan(self, floor_id: int) -> None:
        session = self.session
        if session is None:
            return
        plan = await fetch_plan(session, floor_id)
        if plan is None:
            return
        self._plans[floor_id] = plan
        if self.current_floor() == floor_id:
            self.scene.set_plan(plan)
            self.view.fit()

    def _filters_changed(self) -> None:
        self.scene.set_filters(self.class_combo.currentData(), self.state_combo.currentData())
        self._refresh_side()

    # --- live ------------------------------------------------------------------------

    def on_events(self, batch: list[dict[str, Any]]) -> None:
        self._pending.extend(batch)
        if not self._frame.isActive():
            self._frame.start()

    def apply_pending(self) -> None:
        """Apply every event gathered since the last frame, in one go."""
        self._frame.stop()
        if not self._pending:
            return
        pending, self._pending = self._pending, []
        changed = self.data.apply_events(pending)
        if changed:
            self.scene.update_assets(changed)
            self._refresh_side()
            self.frames += 1

    # --- finding one asset -----------------------------------------------------------

    def show_asset(self, asset_id: int) -> bool:
        """Switch to the asset's floor and highlight its marker; False if it is not on any
        plan (never located, off site, or in a zone without a drawing)."""
        self.apply_pending()
        asset = self.data.assets.get(asset_id)
        floor_id = self.data.floor_of(asset.zone_id) if asset is not None else None
        if asset is None or floor_id is None or self.data.drawn_zone(asset.zone_id) is None:
            self.scene.highlight(None)
            where = asset.zone_name if asset is not None and asset.zone_name else "no floor plan"
            self.detail.setText(f"Not on a floor plan ({where}).")
            return False
        self.scene.highlight(asset_id)
        if floor_id != self.current_floor():
            self.floor_combo.setCurrentIndex(self.floor_combo.findData(floor_id))
        marker = self.scene.highlight(asset_id)
        if marker is not None:
            self.view.centerOn(marker)
        self._describe(asset_id)
        return marker is not None

    def marker_position(self, asset_id: int) -> QPointF | None:
        item = self.scene.markers.get(asset_id)
        return item.pos() if item is not None else None

    def _describe(self, asset_id: int) -> None:
        asset = self.data.assets.get(asset_id)
        if asset is None:
            return
        freshness = "stale (last known place)" if asset.stale else "current"
        self.detail.setText(
            f"<b>{asset.number}</b> {asset.description}<br>{asset.class_name}<br>"
            f"In {asset.zone_name or 'unknown'} \u2014 {freshness}<br>{humanise(asset.state)}"
        )

    def _refresh_side(self) -> None:
        floor_id = self.current_floor()
        totals = self.scene.counts()
        self.counts_list.clear()
        for zone_id, depth in self.scene.ordered_zones():
            name = self.data.zones[zone_id].name
            self.counts_list.addItem(f"{'    ' * depth}{name}: {totals[zone_id]}")
        if floor_id is None:
            self.summary.setText("No floors yet: an admin adds buildings, floors and plans.")
            return
        markers = self.scene.markers
        shown = sum(1 for item in markers.values() if item.isVisible())
        stale = sum(
            1
            for asset_id, item in markers.items()
            if item.isVisible()
            and (asset := self.data.assets.get(asset_id)) is not None
            and asset.stale
        )
        elsewhere = sum(
            1
            for a in self.data.assets.values()
            if a.zone_id is not None and self.data.floor_of(a.zone_id) != floor_id
        )
        unlocated = sum(1 for a in self.data.assets.values() if a.zone_id is None)
        self.summary.setText(
            f"{shown} shown on this floor ({stale} stale) \u00b7 {elsewhere} elsewhere \u00b7 "
            f"{unlocated} not located"
        )
