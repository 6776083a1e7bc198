"""Plans (administrators): a floor's plan image uploaded, zones drawn on it as polygons and
receivers placed on it by clicking, each saved to the appliance."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from floki_console.api import ApiError, ApplianceUnreachable, ConsoleError
from floki_console.map_data import MapData, Point, point_in_polygon
from floki_console.models import humanise
from floki_console.session import ApplianceSession
from floki_console.widgets.floor_map import FloorMapScene
from floki_console.widgets.map_view import fetch_plan
from floki_console.widgets.plan_canvas import DRAW_ZONE, LOOK, PLACE_RECEIVER, PlanCanvas

ZONE_TYPES = (
    "ward",
    "room",
    "bay",
    "department",
    "theatre",
    "emergency",
    "store",
    "dirty_utility",
    "equipment_library",
    "workshop",
    "corridor",
    "community_hub",
    "other",
)
TECHNOLOGIES = ("ble", "qr", "rfid", "wifi", "uwb", "ir")
PLAN_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg"}


def _reason(exc: ConsoleError) -> str:
    return exc.reason if isinstance(exc, ApiError) else str(exc)


class PlansView(QWidget):
    changed = Signal()  # a plan, zone or receiver saved on the appliance

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session: ApplianceSession | None = None
        self.data = MapData()
        self.sites: dict[int, int] = {}  # building -> site
        self.floor_sites: dict[int, int] = {}  # floor -> site
        self.receiver_records: list[dict[str, Any]] = []
        self.loading = False
        self._plans: dict[int, QPixmap] = {}

        self.scene = FloorMapScene(self.data)
        self.canvas = PlanCanvas(self.scene)
        self.canvas.drawing_changed.connect(self._drawing_changed)

        self.floor_combo = QComboBox()
        self.floor_combo.currentIndexChanged.connect(lambda *_: self._floor_chosen())
        self.upload_button = QPushButton("Upload plan\u2026")
        self.upload_button.clicked.connect(lambda *_: self._choose_plan())
        self.upload_progress = QProgressBar()
        self.upload_progress.setRange(0, 1)
        self.upload_progress.setValue(0)
        self.upload_progress.setMaximumWidth(160)

        self.look_button = QPushButton("Look")
        self.zone_button = QPushButton("Draw zone")
        self.receiver_button = QPushButton("Place receiver")
        self._modes = QButtonGroup(self)
        for button, mode in (
            (self.look_button, LOOK),
            (self.zone_button, DRAW_ZONE),
            (self.receiver_button, PLACE_RECEIVER),
        ):
            button.setCheckable(True)
            self._modes.addButton(button)
            button.clicked.connect(lambda *_, m=mode: self.set_mode(m))
        self.look_button.setChecked(True)
        self.finish_button = QPushButton("Finish")
        self.finish_button.setToolTip("Close the outline (or double-click the last point)")
        self.finish_button.clicked.connect(lambda *_: self.canvas.finish())
        self.clear_button = QPushButton("Start again")
        self.clear_button.clicked.connect(lambda *_: self.canvas.clear_drawing())

        top = QHBoxLayout()
        top.addWidget(QLabel("Floor"))
        top.addWidget(self.floor_combo, 1)
        top.addWidget(self.upload_button)
        top.addWidget(self.upload_progress)
        tools = QHBoxLayout()
        for button in (
            self.look_button,
            self.zone_button,
            self.receiver_button,
            self.finish_button,
            self.clear_button,
        ):
            tools.addWidget(button)
        tools.addStretch(1)

        self.zone_name_edit = QLineEdit()
        self.zone_name_edit.setMaxLength(200)
        self.zone_type_combo = QComboBox()
        for kind in ZONE_TYPES:
            self.zone_type_combo.addItem(humanise(kind), kind)
        self.parent_combo = QComboBox()
        self.save_zone_button = QPushButton("Save zone")
        self.save_zone_button.clicked.connect(lambda *_: self._spawn(self.save_zone()))
        zone_form = QFormLayout()
        zone_form.addRow("Name", self.zone_name_edit)
        zone_form.addRow("Type", self.zone_type_combo)
        zone_form.addRow("Inside", self.parent_combo)
        zone_form.addRow("", self.save_zone_button)
        zone_box = QGroupBox("Zone")
        zone_box.setLayout(zone_form)

        self.receiver_name_edit = QLineEdit()
        self.receiver_name_edit.setMaxLength(200)
        self.identifier_edit = QLineEdit()
        self.identifier_edit.setPlaceholderText("e.g. the gateway's MAC address")
        self.technology_combo = QComboBox()
        self.technology_combo.setEditable(True)
        self.technology_combo.addItems(TECHNOLOGIES)
        self.receiver_zone_combo = QComboBox()
        self.save_receiver_button = QPushButton("Save receiver")
        self.save_receiver_button.clicked.connect(lambda *_: self._spawn(self.save_receiver()))
        receiver_form = QFormLayout()
        receiver_form.addRow("Name", self.receiver_name_edit)
        receiver_form.addRow("Identifier", self.identifier_edit)
        receiver_form.addRow("Technology", self.technology_combo)
        receiver_form.addRow("Zone", self.receiver_zone_combo)
        receiver_form.addRow("", self.save_receiver_button)
        receiver_box = QGroupBox("Receiver")
        receiver_box.setLayout(receiver_form)

        self.status = QLabel("")
        self.status.setWordWrap(True)
        side = QVBoxLayout()
        side.addWidget(zone_box)
        side.addWidget(receiver_box)
        side.addWidget(self.status)
        side.addStretch(1)
        left = QVBoxLayout()
        left.addLayout(top)
        left.addLayout(tools)
        left.addWidget(self.canvas, 1)
        layout = QHBoxLayout(self)
        layout.addLayout(left, 3)
        layout.addLayout(side, 1)

        self._tasks: set[asyncio.Future[Any]] = set()
        self._drawing_changed()

    # --- session ---------------------------------------------------------------------

    def attach(self, session: ApplianceSession) -> None:
        self.session = session
        session.reconnected.connect(self.reload)
        self.reload()

    def detach(self) -> None:
        if self.session is not None:
            self.session.reconnected.disconnect(self.reload)
        self.session = None
        for task in list(self._tasks):
            task.cancel()
        self._plans.clear()
        self.set_data(MapData(), {}, [])
        self.status.clear()
        self.set_mode(LOOK)

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
        client = session.client
        try:
            buildings, floors, zones, receivers = await asyncio.gather(
                client.get_all("/buildings"),
                client.get_all("/floors"),
                client.get_all("/zones"),
                client.get_all("/receivers"),
            )
        except ApplianceUnreachable as exc:
            session.report_unreachable(exc)
            return
        except ConsoleError as exc:
            self.status.setText(f"Cannot load the floors: {exc}")
            return
        finally:
            self.loading = False
        if session is not self.session:
            return
        data = MapData.from_api(
            buildings=buildings, floors=floors, zones=zones, classes=[], assets=[]
        )
        building_sites = {int(b["id"]): int(b.get("site_id") or 0) for b in buildings}
        floor_sites = {
            int(f["id"]): building_sites.get(int(f.get("building_id") or 0), 0) for f in floors
        }
        self.set_data(data, floor_sites, receivers)

    def set_data(
        self, data: MapData, floor_sites: dict[int, int], receivers: list[dict[str, Any]]
    ) -> None:
        floor_id = self.current_floor()
        self.data = data
        self.scene.data = data
        self.floor_sites = floor_sites
        self.receiver_records = list(receivers)
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
        self.scene.show_floor(floor_id)
        self.canvas.forget_items()
        self._fill_zone_combos(floor_id)
        if floor_id is not None:
            self.canvas.show_receivers(
                ((float(r["x"]), float(r["y"])), f"{r.get('name')} ({r.get('identifier')})")
                for r in self.receiver_records
                if r.get("x") is not None
                and r.get("y") is not None
                and self.data.floor_of(r.get("zone_id")) == floor_id
            )
            plan = self._plans.get(floor_id)
            if plan is not None:
                self.scene.set_plan(plan)
            elif self.data.floors[floor_id].has_plan and self.session is not None:
                self._spawn(self._fetch_plan(floor_id))
        self.upload_button.setEnabled(floor_id is not None)
        if fit:
            self.canvas.fit()

    def _fill_zone_combos(self, floor_id: int | None) -> None:
        site = self.floor_sites.get(floor_id) if floor_id is not None else None
        zones = sorted(
            (z for z in self.data.zones.values() if site is None or self._site_of(z.id) == site),
            key=lambda z: z.name,
        )
        for combo, empty in ((self.parent_combo, "(none)"), (self.receiver_zone_combo, None)):
            chosen = combo.currentData()
            combo.clear()
            if empty is not None:
                combo.addItem(empty, None)
            for zone in zones:
                combo.addItem(f"{zone.name} ({humanise(zone.type)})", zone.id)
            at = combo.findData(chosen) if chosen is not None else -1
            combo.setCurrentIndex(max(at, 0))

    def _site_of(self, zone_id: int) -> int | None:
        floor = self.data.floor_of(zone_id)
        return self.floor_sites.get(floor) if floor is not None else None

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
            self.canvas.fit()

    @property
    def has_plan(self) -> bool:
        return self.scene.has_plan

    # --- drawing ---------------------------------------------------------------------

    def set_mode(self, mode: str) -> None:
        button = {
            LOOK: self.look_button,
            DRAW_ZONE: self.zone_button,
            PLACE_RECEIVER: self.receiver_button,
        }[mode]
        button.setChecked(True)
        self.canvas.set_mode(mode)
        hints = {
            LOOK: "",
            DRAW_ZONE: "Click the corners of the zone on the plan; double-click the last "
            "one or press Finish.",
            PLACE_RECEIVER: "Click where the receiver is on the plan.",
        }
        self.status.setText(hints[mode])

    def _drawing_changed(self) -> None:
        canvas = self.canvas
        drawing = canvas.mode == DRAW_ZONE
        self.finish_button.setEnabled(drawing and not canvas.closed and len(canvas.points) >= 3)
        self.clear_button.setEnabled(bool(canvas.points) or canvas.receiver_point is not None)
        self.save_zone_button.setEnabled(drawing and canvas.closed)
        self.save_receiver_button.setEnabled(canvas.receiver_point is not None)
        if canvas.receiver_point is not None:
            zone = self.zone_at(canvas.receiver_point)
            if zone is not None:
                self.receiver_zone_combo.setCurrentIndex(self.receiver_zone_combo.findData(zone))

    def zone_at(self, point: Point) -> int | None:
        """The innermost zone drawn on this floor around ``point``."""
        floor_id = self.current_floor()
        if floor_id is None:
            return None
        around = [z for z in self.data.zones_on(floor_id) if point_in_polygon(point, z.polygon)]
        return around[-1].id if around else None

    # --- saving ----------------------------------------------------------------------

    async def save_zone(self) -> dict[str, Any] | None:
        session = self.session
        floor_id = self.current_floor()
        canvas = self.canvas
        if session is None or floor_id is None or not canvas.closed:
            return None
        name = self.zone_name_edit.text().strip()
        if not name:
            self.status.setText("Name the zone before saving it.")
            return None
        body = {
            "site_id": self.floor_sites.get(floor_id),
            "name": name,
            "type": self.zone_type_combo.currentData(),
            "floor_id": floor_id,
            "parent_id": self.parent_combo.currentData(),
            "polygon": [[x, y] for x, y in canvas.points],
        }
        self.save_zone_button.setEnabled(False)
        try:
            zone = await session.client.post_json("/zones", body)
        except ApplianceUnreachable as exc:
            session.report_unreachable(exc)
            self._drawing_changed()
            return None
        except ConsoleError as exc:
            self.status.setText(f"Zone not saved: {_reason(exc)}")
            self._drawing_changed()
            return None
        self.zone_name_edit.clear()
        canvas.clear_drawing()
        await self.load()
        self.changed.emit()
        self.status.setText(f"Saved zone {zone.get('name')} ({len(body['polygon'])} corners).")
        return dict(zone)

    async def save_receiver(self) -> dict[str, Any] | None:
        session = self.session
        point = self.canvas.receiver_point
        if session is None or point is None:
            return None
        identifier = self.identifier_edit.text().strip()
        technology = self.technology_combo.currentText().strip()
        zone_id = self.receiver_zone_combo.currentData()
        if not identifier or not technology or zone_id is None:
            self.status.setText("A receiver needs an identifier, a technology and a zone.")
            return None
        body = {
            "name": self.receiver_name_edit.text().strip() or identifier,
            "identifier": identifier,
            "technology": technology,
            "zone_id": zone_id,
            "x": point[0],
            "y": point[1],
        }
        self.save_receiver_button.setEnabled(False)
        try:
            receiver = await session.client.post_json("/receivers", body)
        except ApplianceUnreachable as exc:
            session.report_unreachable(exc)
            self._drawing_changed()
            return None
        except ConsoleError as exc:
            self.status.setText(f"Receiver not saved: {_reason(exc)}")
            self._drawing_changed()
            return None
        self.receiver_name_edit.clear()
        self.identifier_edit.clear()
        self.canvas.clear_drawing()
        await self.load()
        self.changed.emit()
        self.status.setText(f"Saved receiver {receiver.get('name')}.")
        return dict(receiver)

    # --- the plan image --------------------------------------------------------------

    def _choose_plan(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Floor plan image", "", "Images (*.png *.jpg *.jpeg)"
        )
        if path:
            self._spawn(self.upload_plan(Path(path)))

    def _sent(self, sent: int, total: int) -> None:
        self.upload_progress.setRange(0, max(total, 1))
        self.upload_progress.setValue(sent)

    async def upload_plan(self, path: Path) -> dict[str, Any] | None:
        session = self.session
        floor_id = self.current_floor()
        if session is None or floor_id is None:
            return None
        content_type = PLAN_TYPES.get(path.suffix.lower())
        if content_type is None:
            self.status.setText("Floor plans must be PNG or JPEG images.")
            return None
        try:
            raw = path.read_bytes()
        except OSError as exc:
            self.status.setText(f"Cannot read {path}: {exc.strerror or exc}")
            return None
        self.upload_button.setEnabled(False)
        try:
            floor = await session.client.send_bytes(
                "PUT", f"/floors/{floor_id}/plan", raw, content_type, progress=self._sent
            )
        except ApplianceUnreachable as exc:
            session.report_unreachable(exc)
            return None
        except ConsoleError as exc:
            self.status.setText(f"Plan not uploaded: {_reason(exc)}")
            return None
        finally:
            self.upload_button.setEnabled(True)
        self._plans.pop(floor_id, None)
        await self.load()
        self.changed.emit()
        size = f"{floor.get('plan_width_px')}\u00d7{floor.get('plan_height_px')}"
        self.status.setText(f"Uploaded the plan of {self.floor_combo.currentText()} ({size} px).")
        return dict(floor)
