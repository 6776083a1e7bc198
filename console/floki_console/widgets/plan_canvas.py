"""A floor plan to draw on: click points to outline a zone (double-click or *Finish* closes
it), or click once to place a receiver. Points are in plan pixels, the units the
appliance keeps zone polygons and receiver positions in (the map's scene coordinates)."""

from __future__ import annotations

from collections.abc import Iterable

from PySide6.QtCore import QPointF, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QMouseEvent, QPainterPath, QPen, QPolygonF
from PySide6.QtWidgets import (
    QGraphicsEllipseItem,
    QGraphicsItem,
    QGraphicsPathItem,
    QGraphicsPolygonItem,
    QGraphicsView,
)

from floki_console.map_data import Point
from floki_console.widgets.floor_map import FloorMapScene
from floki_console.widgets.map_view import PlanView

LOOK, DRAW_ZONE, PLACE_RECEIVER = "look", "zone", "receiver"

_DRAFT_PEN = QPen(QColor("#d84315"), 2, Qt.PenStyle.DashLine)
_CLOSED_PEN = QPen(QColor("#d84315"), 2)
_DRAFT_FILL = QColor(216, 67, 21, 40)
_VERTEX_BRUSH = QBrush(QColor("#d84315"))
_RECEIVER_BRUSH = QBrush(QColor("#2e7d32"))
_PENDING_BRUSH = QBrush(QColor("#ff6f00"))
_RECEIVER_RADIUS = 5.0


def _near(a: Point, b: Point, within: float = 0.5) -> bool:
    return abs(a[0] - b[0]) <= within and abs(a[1] - b[1]) <= within


class PlanCanvas(PlanView):
    drawing_changed = Signal()  # points added, closed, cleared or a receiver placed

    def __init__(self, scene: FloorMapScene) -> None:
        super().__init__(scene)
        self.floor_scene = scene
        self.mode = LOOK
        self.points: list[Point] = []
        self.closed = False
        self.receiver_point: Point | None = None
        self._draft: QGraphicsPathItem | QGraphicsPolygonItem | None = None
        self._vertices: list[QGraphicsEllipseItem] = []
        self._pending: QGraphicsEllipseItem | None = None
        self._receivers: list[QGraphicsEllipseItem] = []

    # --- modes -----------------------------------------------------------------------

    def set_mode(self, mode: str) -> None:
        self.mode = mode
        self.clear_drawing()
        if mode == LOOK:
            self.setDragMode(QGraphicsView.DragMode.ScrollHandDrag)
            self.viewport().unsetCursor()
        else:
            self.setDragMode(QGraphicsView.DragMode.NoDrag)
            self.viewport().setCursor(Qt.CursorShape.CrossCursor)

    def clear_drawing(self) -> None:
        scene = self.floor_scene
        for item in [self._draft, self._pending, *self._vertices]:
            if item is not None and item.scene() is scene:
                scene.removeItem(item)
        self._draft = None
        self._pending = None
        self._vertices = []
        self.points = []
        self.closed = False
        self.receiver_point = None
        self.drawing_changed.emit()

    def forget_items(self) -> None:
        """The scene was rebuilt (another floor): its items are gone with it."""
        self._draft = None
        self._pending = None
        self._vertices = []
        self._receivers = []
        self.points = []
        self.closed = False
        self.receiver_point = None
        self.drawing_changed.emit()

    # --- drawing ---------------------------------------------------------------------

    def add_point(self, point: Point) -> None:
        if self.mode != DRAW_ZONE or self.closed:
            return
        if self.points and _near(self.points[-1], point):
            return  # the second press of a double-click
        self.points.append(point)
        vertex = self._dot(point, 3.0, _VERTEX_BRUSH)
        self._vertices.append(vertex)
        self._redraw()
        self.drawing_changed.emit()

    def finish(self) -> bool:
        """Close the outline; it needs three points or more."""
        if self.mode != DRAW_ZONE or self.closed or len(self.points) < 3:
            return False
        self.closed = True
        self._redraw()
        self.drawing_changed.emit()
        return True

    def place_receiver(self, point: Point) -> None:
        if self.mode != PLACE_RECEIVER:
            return
        self.receiver_point = point
        if self._pending is not None and self._pending.scene() is self.floor_scene:
            self.floor_scene.removeItem(self._pending)
        self._pending = self._dot(point, _RECEIVER_RADIUS * 1.4, _PENDING_BRUSH)
        self.drawing_changed.emit()

    def show_receivers(self, points: Iterable[tuple[Point, str]]) -> None:
        for item in self._receivers:
            if item.scene() is self.floor_scene:
                self.floor_scene.removeItem(item)
        self._receivers = []
        for point, tip in points:
            item = self._dot(point, _RECEIVER_RADIUS, _RECEIVER_BRUSH)
            item.setToolTip(tip)
            self._receivers.append(item)

    @property
    def receiver_count(self) -> int:
        return len(self._receivers)

    def _dot(self, point: Point, radius: float, brush: QBrush) -> QGraphicsEllipseItem:
        item = QGraphicsEllipseItem(-radius, -radius, 2 * radius, 2 * radius)
        item.setPos(point[0], point[1])
        item.setBrush(brush)
        item.setPen(QPen(QColor(20, 20, 20, 200), 1))
        item.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations)
        item.setZValue(30)
        self.floor_scene.addItem(item)
        return item

    def _redraw(self) -> None:
        scene = self.floor_scene
        if self._draft is not None and self._draft.scene() is scene:
            scene.removeItem(self._draft)
        self._draft = None
        if not self.points:
            return
        if self.closed:
            polygon = QPolygonF([QPointF(x, y) for x, y in self.points])
            self._draft = scene.addPolygon(polygon, _CLOSED_PEN, _DRAFT_FILL)
        else:
            path = QPainterPath(QPointF(*self.points[0]))
            for x, y in self.points[1:]:
                path.lineTo(x, y)
            self._draft = scene.addPath(path, _DRAFT_PEN)
        self._draft.setZValue(25)

    # --- mouse -----------------------------------------------------------------------

    def _scene_point(self, event: QMouseEvent) -> Point:
        at = self.mapToScene(event.position().toPoint())
        return (round(at.x(), 1), round(at.y(), 1))

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if self.mode == LOOK or event.button() != Qt.MouseButton.LeftButton:
            super().mousePressEvent(event)
            return
        if self.mode == DRAW_ZONE:
            self.add_point(self._scene_point(event))
        else:
            self.place_receiver(self._scene_point(event))
        event.accept()

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        if self.mode == DRAW_ZONE and event.button() == Qt.MouseButton.LeftButton:
            self.finish()
            event.accept()
            return
        super().mouseDoubleClickEvent(event)
