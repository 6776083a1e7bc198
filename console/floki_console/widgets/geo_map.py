"""A geographic map for community equipment: zones drawn from their longitude/latitude
outlines and a marker per asset the appliance gives coordinates for, north up.

No tile server is needed: the outlines are the map. When the user sets a tile URL
template (``https://…/{z}/{x}/{y}.png``) in the console's settings, slippy-map tiles are
fetched with Qt's network manager and drawn underneath as a base map; without one, no
request leaves the console.
"""

from __future__ import annotations

from PySide6.QtCore import QByteArray, QPointF, QRectF, QSettings, Qt, QUrl, Signal
from PySide6.QtGui import (
    QBrush,
    QColor,
    QPainter,
    QPen,
    QPixmap,
    QPolygonF,
    QResizeEvent,
    QTransform,
    QWheelEvent,
)
from PySide6.QtNetwork import QNetworkAccessManager, QNetworkReply, QNetworkRequest
from PySide6.QtWidgets import (
    QGraphicsEllipseItem,
    QGraphicsItem,
    QGraphicsPixmapItem,
    QGraphicsPolygonItem,
    QGraphicsScene,
    QGraphicsSimpleTextItem,
    QGraphicsView,
    QWidget,
)

from floki_console.community_data import (
    MapLayer,
    Projection,
    TileUrlError,
    tile_bounds,
    tile_url,
    tiles_covering,
    valid_tile_template,
    zoom_for,
)
from floki_console.context import config_dir

SETTINGS_FILE = "console.ini"
TILE_URL_KEY = "map/tile_url"
SCENE_SIZE = 1000.0  # the projection's canvas; the view scales it to the widget
MAX_CACHED_TILES = 256
MARKER_RADIUS = 6.0
ZONE_COLOUR = "#00838f"
MARKER_COLOUR = "#1565c0"
OVERDUE_COLOUR = "#b00020"
USER_AGENT = b"Floki console (community map)"  # tile servers ask clients to say who they are


def console_settings() -> QSettings:
    """The console's own settings, beside its trusted-appliance pins."""
    return QSettings(str(config_dir() / SETTINGS_FILE), QSettings.Format.IniFormat)


def saved_tile_template(settings: QSettings) -> str:
    """The tile URL template kept in ``settings``; ``""`` when none or not usable."""
    raw = settings.value(TILE_URL_KEY, "")
    try:
        return valid_tile_template(raw if isinstance(raw, str) else "")
    except TileUrlError:
        return ""


class GeoMap(QGraphicsView):
    tile_problem = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setScene(QGraphicsScene(self))
        self.setRenderHint(QPainter.RenderHint.Antialiasing)
        self.setDragMode(QGraphicsView.DragMode.ScrollHandDrag)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setBackgroundBrush(QBrush(QColor("#f5f5f0")))
        self.layer = MapLayer(zones=[], markers=[])
        self.projection: Projection | None = None
        self.marker_items: dict[int, QGraphicsEllipseItem] = {}
        self.zone_items: dict[int, QGraphicsPolygonItem] = {}
        self.tile_template = ""
        self.network: QNetworkAccessManager | None = None
        self.requested: list[str] = []
        self._pixmaps: dict[str, QPixmap] = {}
        self._tile_items: dict[str, QGraphicsPixmapItem] = {}
        self._pending: set[str] = set()
        self._placeholder = self.scene().addSimpleText("No zone has a geographic outline yet.")

    # --- what is drawn -----------------------------------------------------------------

    def set_layer(self, layer: MapLayer) -> None:
        scene = self.scene()
        for item in [*self.zone_items.values(), *self.marker_items.values()]:
            scene.removeItem(item)
        for tile in self._tile_items.values():
            scene.removeItem(tile)
        self.zone_items.clear()
        self.marker_items.clear()
        self._tile_items.clear()
        self.layer = layer
        bounds = layer.bounds()
        self._placeholder.setVisible(bounds is None)
        if bounds is None:
            self.projection = None
            return
        projection = Projection.fit(bounds, SCENE_SIZE, SCENE_SIZE, margin=40.0)
        self.projection = projection
        for zone in layer.zones:
            polygon = QPolygonF([QPointF(*projection.to_xy(lon, lat)) for lon, lat in zone.points])
            item = QGraphicsPolygonItem(polygon)
            pen = QPen(QColor(ZONE_COLOUR), 2)
            pen.setCosmetic(True)
            item.setPen(pen)
            fill = QColor(ZONE_COLOUR)
            fill.setAlpha(40)
            item.setBrush(QBrush(fill))
            item.setToolTip(zone.name)
            item.setZValue(0)
            label = QGraphicsSimpleTextItem(zone.name, item)
            label.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations)
            # Centred under the outline's top edge, at the same size at every zoom.
            box, text = polygon.boundingRect(), label.boundingRect()
            label.setPos(box.center().x(), box.top())
            label.setTransform(QTransform.fromTranslate(-text.width() / 2, 2))
            scene.addItem(item)
            self.zone_items[zone.zone_id] = item
        for marker in layer.markers:
            x, y = projection.to_xy(marker.lon, marker.lat)
            dot = QGraphicsEllipseItem(
                -MARKER_RADIUS, -MARKER_RADIUS, 2 * MARKER_RADIUS, 2 * MARKER_RADIUS
            )
            dot.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations)
            dot.setPos(x, y)
            colour = QColor(OVERDUE_COLOUR if marker.overdue else MARKER_COLOUR)
            dot.setBrush(QBrush(colour))
            dot.setPen(QPen(QColor("white"), 1.5))
            dot.setToolTip(marker.tooltip)
            dot.setZValue(10)
            scene.addItem(dot)
            self.marker_items[marker.asset_id] = dot
        scene.setSceneRect(QRectF(0, 0, SCENE_SIZE, SCENE_SIZE))
        self.fitInView(scene.sceneRect(), Qt.AspectRatioMode.KeepAspectRatio)
        self.update_tiles()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        if self.projection is not None:
            self.fitInView(self.scene().sceneRect(), Qt.AspectRatioMode.KeepAspectRatio)
            self.update_tiles()

    def wheelEvent(self, event: QWheelEvent) -> None:
        factor = 1.25 if event.angleDelta().y() > 0 else 0.8
        self.scale(factor, factor)
        self.update_tiles()

    # --- the optional base map -----------------------------------------------------------

    def set_tile_template(self, template: str) -> None:
        """Use ``template`` (already checked with ``valid_tile_template``); ``""`` for none."""
        if template == self.tile_template:
            return
        self.tile_template = template
        for item in self._tile_items.values():
            self.scene().removeItem(item)
        self._tile_items.clear()
        self._pixmaps.clear()
        self.update_tiles()

    def visible_bounds(self) -> tuple[float, float, float, float] | None:
        projection = self.projection
        if projection is None:
            return None
        area = self.mapToScene(self.viewport().rect()).boundingRect()
        west, north = projection.to_lonlat(area.left(), area.top())
        east, south = projection.to_lonlat(area.right(), area.bottom())
        return west, south, east, north

    def tile_urls(self) -> list[tuple[tuple[int, int, int], str]]:
        """The tiles the base map wants for what is on screen now (none without a URL)."""
        projection, bounds = self.projection, self.visible_bounds()
        if not self.tile_template or projection is None or bounds is None:
            return []
        on_screen_scale = projection.scale * abs(self.transform().m22())
        zoom = zoom_for(on_screen_scale, projection.lat0)
        return [
            (tile, tile_url(self.tile_template, *tile)) for tile in tiles_covering(bounds, zoom)
        ]

    def update_tiles(self) -> None:
        wanted = self.tile_urls()
        keep = {url for _, url in wanted}
        for url in [u for u in self._tile_items if u not in keep]:
            self.scene().removeItem(self._tile_items.pop(url))
        for tile, url in wanted:
            if url in self._tile_items:
                continue
            pixmap = self._pixmaps.get(url)
            if pixmap is not None:
                self._place(tile, url, pixmap)
            elif url not in self._pending:
                self._fetch(tile, url)

    def _fetch(self, tile: tuple[int, int, int], url: str) -> None:
        if self.network is None:
            self.network = QNetworkAccessManager(self)
        request = QNetworkRequest(QUrl(url))
        request.setRawHeader(QByteArray(b"User-Agent"), QByteArray(USER_AGENT))
        self._pending.add(url)
        self.requested.append(url)
        reply = self.network.get(request)
        reply.finished.connect(lambda: self._arrived(tile, url, reply))

    def _arrived(self, tile: tuple[int, int, int], url: str, reply: QNetworkReply) -> None:
        self._pending.discard(url)
        reply.deleteLater()
        if url != tile_url(self.tile_template, *tile):
            return  # the template changed while it was on its way
        if reply.error() != QNetworkReply.NetworkError.NoError:
            self.tile_problem.emit(f"Base map tiles: {reply.errorString()}")
            return
        pixmap = QPixmap()
        if not pixmap.loadFromData(reply.readAll().data()):
            self.tile_problem.emit(f"Base map tiles: {url} is not an image")
            return
        if len(self._pixmaps) >= MAX_CACHED_TILES:
            self._pixmaps.clear()  # a simple bound: tiles still wanted are fetched again
        self._pixmaps[url] = pixmap
        if url in {u for _, u in self.tile_urls()}:
            self._place(tile, url, pixmap)

    def _place(self, tile: tuple[int, int, int], url: str, pixmap: QPixmap) -> None:
        projection = self.projection
        if projection is None or pixmap.isNull():
            return
        west, south, east, north = tile_bounds(*tile)
        left, top = projection.to_xy(west, north)
        right, bottom = projection.to_xy(east, south)
        item = QGraphicsPixmapItem(pixmap)
        item.setPos(left, top)
        item.setTransform(
            QTransform.fromScale((right - left) / pixmap.width(), (bottom - top) / pixmap.height())
        )
        item.setTransformationMode(Qt.TransformationMode.SmoothTransformation)
        item.setZValue(-10)
        self.scene().addItem(item)
        self._tile_items[url] = item
