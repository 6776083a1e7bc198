"""One floor drawn: the plan image, zones as polygons with their counts, a marker per asset.

Markers are plain ``QGraphicsEllipseItem``s (painted in C++, a fixed size on screen at any
zoom) kept in a dictionary by asset id, so a batch of moves touches only the markers and
zones it concerns. Stale locations are drawn hollow with a dashed outline: the last known
place, never shown as current.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable

from PySide6.QtCore import QPointF, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QFont, QPen, QPixmap, QPolygonF, QTransform
from PySide6.QtWidgets import (
    QGraphicsEllipseItem,
    QGraphicsItem,
    QGraphicsPixmapItem,
    QGraphicsPolygonItem,
    QGraphicsScene,
    QGraphicsSceneMouseEvent,
    QGraphicsSimpleTextItem,
    QGraphicsView,
)

from floki_console.map_data import AssetMarker, MapData, Point, slots_in_zone
from floki_console.models import STATE_COLOURS, humanise

MARKER_RADIUS = 4.5
ASSET_ID = 0  # QGraphicsItem.data key holding the asset id

_ZONE_FILL = QColor(30, 90, 160, 28)
_ZONE_PEN = QPen(QColor(30, 90, 160, 160), 2)
_STALE_PEN = QPen(QColor("#6d4c00"), 1.5, Qt.PenStyle.DashLine)
_FRESH_PEN = QPen(QColor(20, 20, 20, 200), 1)
_HALO_PEN = QPen(QColor("#ff6f00"), 3)


def _brush(state: str, stale: bool) -> QBrush:
    colour = QColor(STATE_COLOURS.get(state, "#1565c0"))
    if stale:
        colour.setAlpha(60)
    return QBrush(colour)


class FloorMapScene(QGraphicsScene):
    marker_clicked = Signal(int)

    def __init__(self, data: MapData) -> None:
        super().__init__()
        # Thousands of moving items: a spatial index would be rebuilt on every move.
        self.setItemIndexMethod(QGraphicsScene.ItemIndexMethod.NoIndex)
        self.data = data
        self.floor_id: int | None = None
        self.markers: dict[int, QGraphicsEllipseItem] = {}
        self.zone_items: dict[int, QGraphicsPolygonItem] = {}
        self.zone_labels: dict[int, QGraphicsSimpleTextItem] = {}
        self.members: dict[int, set[int]] = {}  # drawn zone -> assets placed in it
        self._drawn_parent: dict[int, int | None] = {}  # drawn zone -> drawn zone around it
        self._placed: dict[int, int] = {}  # asset -> drawn zone
        # Each zone's places for markers, middle first; an asset keeps its place while it
        # stays, so a move touches one marker, and markers never shuffle about.
        self._slots: dict[int, list[Point]] = {}
        self._slot_of: dict[int, int] = {}
        self._free: dict[int, list[int]] = {}
        self._used: dict[int, int] = {}
        self._brushes: dict[tuple[str, bool], QBrush] = {}
        self.class_filter: int | None = None
        self.state_filter: str | None = None
        self.highlighted: int | None = None
        self._halo: QGraphicsEllipseItem | None = None
        self._plan: QGraphicsPixmapItem | None = None

    # --- building a floor ------------------------------------------------------------

    def show_floor(self, floor_id: int | None) -> None:
        self.clear()
        self.markers.clear()
        self.zone_items.clear()
        self.zone_labels.clear()
        self.members.clear()
        self._placed.clear()
        self._drawn_parent = {}
        self._slots.clear()
        self._slot_of.clear()
        self._free.clear()
        self._used.clear()
        self._halo = None
        self._plan = None
        self.floor_id = floor_id
        if floor_id is None:
            return
        floor = self.data.floors.get(floor_id)
        if floor is not None and floor.width and floor.height:
            self.setSceneRect(0, 0, floor.width, floor.height)
        label_font = QFont()
        label_font.setPointSize(8)
        for depth, zone in enumerate(self.data.zones_on(floor_id)):
            item = self.addPolygon(
                QPolygonF([QPointF(x, y) for x, y in zone.polygon]), _ZONE_PEN, _ZONE_FILL
            )
            item.setZValue(-5 + depth * 1e-3)
            item.setToolTip(f"{zone.name} ({humanise(zone.type)})")
            self.zone_items[zone.id] = item
            label = self.addSimpleText(zone.name, label_font)
            left = min(p[0] for p in zone.polygon)
            top = min(p[1] for p in zone.polygon)
            label.setPos(left + 4, top + 2)
            label.setZValue(5)
            label.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations)
            self.zone_labels[zone.id] = label
            self.members[zone.id] = set()
        parents = {z: self.data.drawn_zone(self.data.zones[z].parent_id) for z in self.members}
        self._drawn_parent = {z: p if p in self.members else None for z, p in parents.items()}
        if floor is None or not (floor.width and floor.height):
            self.setSceneRect(self.itemsBoundingRect().adjusted(-20, -20, 20, 20))
        self.update_assets(self.data.assets.keys())
        self.refresh_counts()

    def set_plan(self, plan: QPixmap) -> None:
        """Put the floor-plan image under the zones (it arrives after them)."""
        if plan.isNull():
            return
        if self._plan is not None:
            self.removeItem(self._plan)
        self._plan = self.addPixmap(plan)
        self._plan.setZValue(-10)
        self._plan.setTransformationMode(Qt.TransformationMode.SmoothTransformation)
        self._plan.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        self.setSceneRect(self._plan.boundingRect().united(self.itemsBoundingRect()))

    @property
    def has_plan(self) -> bool:
        return self._plan is not None

    # --- assets ----------------------------------------------------------------------

    def update_assets(self, asset_ids: Iterable[int]) -> None:
        """Bring the markers of these assets up to date: created, moved, restyled or
        removed. Only the markers of these assets are touched."""
        if self.floor_id is None:
            return
        touched: set[int] = set()
        for asset_id in sorted(asset_ids):
            asset = self.data.assets.get(asset_id)
            zone = self._drawn_zone_here(asset)
            old = self._placed.get(asset_id)
            if old != zone:
                if old is not None:
                    self.members[old].discard(asset_id)
                    self._release(old, asset_id)
                    touched.add(old)
                if zone is None:
                    self._placed.pop(asset_id, None)
                    self._drop_marker(asset_id)
                elif asset is not None:
                    self._placed[asset_id] = zone
                    self.members[zone].add(asset_id)
                    self._take_slot(zone, self._marker(asset))
                    touched.add(zone)
            if asset is not None and zone is not None:
                self._style(self._marker(asset), asset)
        if touched:
            self.refresh_counts(touched)
        if self.highlighted is not None:
            self._place_halo()

    def _take_slot(self, zone_id: int, item: QGraphicsEllipseItem) -> None:
        asset_id = int(item.data(ASSET_ID))
        free = self._free.setdefault(zone_id, [])
        if free:
            index = heapq.heappop(free)
        else:
            index = self._used.get(zone_id, 0)
            self._used[zone_id] = index + 1
        self._slot_of[asset_id] = index
        if index >= len(self._slots.get(zone_id, ())):
            self._grow(zone_id, index + 1)
        else:
            x, y = self._slots[zone_id][index]
            item.setPos(x, y)

    def _release(self, zone_id: int, asset_id: int) -> None:
        index = self._slot_of.pop(asset_id, None)
        if not self.members[zone_id]:
            self._free[zone_id] = []
            self._used[zone_id] = 0
        elif index is not None:
            heapq.heappush(self._free.setdefault(zone_id, []), index)

    def _grow(self, zone_id: int, needed: int) -> None:
        """More places for a zone (a tighter grid when it is full); its markers move to
        their places on the new grid."""
        zone = self.data.zones[zone_id]
        self._slots[zone_id] = slots_in_zone(needed, zone.polygon, self.data.holes(zone_id))
        slots = self._slots[zone_id]
        for asset_id in self.members[zone_id]:
            index = self._slot_of.get(asset_id)
            item = self.markers.get(asset_id)
            if index is not None and item is not None:
                x, y = slots[index]
                item.setPos(x, y)

    def _drawn_zone_here(self, asset: AssetMarker | None) -> int | None:
        if asset is None or asset.zone_id is None:
            return None
        zone = self.data.drawn_zone(asset.zone_id)
        if zone is None or zone not in self.members:
            return None
        return zone

    def _marker(self, asset: AssetMarker) -> QGraphicsEllipseItem:
        item = self.markers.get(asset.id)
        if item is None:
            r = MARKER_RADIUS
            item = QGraphicsEllipseItem(-r, -r, 2 * r, 2 * r)
            item.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations)
            # Painted once into a pixmap and stamped: thousands of antialiased circles
            # per frame would not keep up with a live hospital.
            item.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
            item.setData(ASSET_ID, asset.id)
            item.setZValue(10)
            self.addItem(item)
            self.markers[asset.id] = item
        return item

    def _drop_marker(self, asset_id: int) -> None:
        item = self.markers.pop(asset_id, None)
        if item is not None:
            self.removeItem(item)

    def _style(self, item: QGraphicsEllipseItem, asset: AssetMarker) -> None:
        key = (asset.state, asset.stale)
        brush = self._brushes.get(key)
        if brush is None:
            brush = self._brushes[key] = _brush(*key)
        item.setBrush(brush)
        item.setPen(_STALE_PEN if asset.stale else _FRESH_PEN)
        freshness = "stale: last known place" if asset.stale else "current"
        item.setToolTip(
            f"{asset.number} {asset.description}\n{asset.zone_name} ({freshness})\n"
            f"{humanise(asset.state)}"
        )
        item.setVisible(self._passes(asset))

    def _passes(self, asset: AssetMarker) -> bool:
        if self.class_filter is not None and asset.class_id != self.class_filter:
            return False
        return self.state_filter is None or asset.state == self.state_filter

    # --- filters and counts ----------------------------------------------------------

    def set_filters(self, class_id: int | None, state: str | None) -> None:
        self.class_filter, self.state_filter = class_id, state
        for asset_id, item in self.markers.items():
            asset = self.data.assets.get(asset_id)
            item.setVisible(asset is not None and self._passes(asset))
        self.refresh_counts()

    def count_in(self, zone_id: int) -> int:
        """Assets shown (passing the filters) in a drawn zone, its own markers only."""
        if self.class_filter is None and self.state_filter is None:
            return len(self.members.get(zone_id, ()))
        return sum(1 for a in self.members.get(zone_id, ()) if self._shown(a))

    def _shown(self, asset_id: int) -> bool:
        asset = self.data.assets.get(asset_id)
        return asset is not None and self._passes(asset)

    def counts(self) -> dict[int, int]:
        """Assets shown in each drawn zone, the rooms drawn inside it included."""
        totals = {zone_id: self.count_in(zone_id) for zone_id in self.members}
        for zone_id, own in list(totals.items()):
            parent = self._drawn_parent.get(zone_id)
            seen = {zone_id}
            while parent is not None and parent not in seen:
                seen.add(parent)
                totals[parent] += own
                parent = self._drawn_parent.get(parent)
        return totals

    def ordered_zones(self) -> list[tuple[int, int]]:
        """(zone, depth) for the drawn zones, each followed by the rooms inside it."""
        children: dict[int | None, list[int]] = {}
        for zone_id, parent in self._drawn_parent.items():
            children.setdefault(parent, []).append(zone_id)
        ordered: list[tuple[int, int]] = []

        def visit(parent: int | None, depth: int) -> None:
            for zone_id in sorted(children.get(parent, []), key=lambda z: self.data.zones[z].name):
                ordered.append((zone_id, depth))
                visit(zone_id, depth + 1)

        visit(None, 0)
        return ordered

    def refresh_counts(self, zone_ids: Iterable[int] | None = None) -> None:
        totals = self.counts()
        wanted = set(self.members if zone_ids is None else zone_ids)
        for zone_id in list(wanted):
            parent = self._drawn_parent.get(zone_id)
            while parent is not None and parent not in wanted:
                wanted.add(parent)
                parent = self._drawn_parent.get(parent)
        for zone_id in wanted:
            label = self.zone_labels.get(zone_id)
            if label is not None:
                label.setText(f"{self.data.zones[zone_id].name} ({totals.get(zone_id, 0)})")

    # --- highlighting ----------------------------------------------------------------

    def highlight(self, asset_id: int | None) -> QGraphicsEllipseItem | None:
        self.highlighted = asset_id
        return self._place_halo()

    def _place_halo(self) -> QGraphicsEllipseItem | None:
        marker = self.markers.get(self.highlighted) if self.highlighted is not None else None
        if marker is None:
            if self._halo is not None:
                self._halo.hide()
            return None
        if self._halo is None:
            r = MARKER_RADIUS * 2.4
            self._halo = QGraphicsEllipseItem(-r, -r, 2 * r, 2 * r)
            self._halo.setPen(_HALO_PEN)
            self._halo.setBrush(Qt.BrushStyle.NoBrush)
            self._halo.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations)
            self._halo.setZValue(20)
            self.addItem(self._halo)
        self._halo.setPos(marker.pos())
        self._halo.show()
        return marker

    def mousePressEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        # Markers keep their size on screen, so hit-test them as the view draws them.
        viewport = event.widget()
        view = viewport.parentWidget() if viewport is not None else None
        transform = view.viewportTransform() if isinstance(view, QGraphicsView) else QTransform()
        for item in self.items(
            event.scenePos(),
            Qt.ItemSelectionMode.IntersectsItemShape,
            Qt.SortOrder.DescendingOrder,
            transform,
        ):
            asset_id = item.data(ASSET_ID)
            if isinstance(asset_id, int) and item.isVisible():
                self.marker_clicked.emit(asset_id)
                break
        super().mousePressEvent(event)
