"""The Community view against a real appliance: kit on an overdue loan listed first at zone
level with no marker on the map, tracked kit in a geographic zone listed there with its
marker; the base map asks for no tile without a tile URL; Health lists the GPS trackers,
and says when the appliance has none."""

from __future__ import annotations

import asyncio
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import aiohttp
import pytest
import qasync
from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QBrush, QColor, QPixmap
from PySide6.QtWidgets import QGraphicsPixmapItem
from pytestqt.qtbot import QtBot

from floki_console.api import ApiError
from floki_console.community_data import (
    MapLayer,
    Marker,
    ZoneOutline,
    tile_bounds,
    tile_url,
    tiles_covering,
)
from floki_console.context import ConsoleContext
from floki_console.widgets.community_view import CommunityView
from floki_console.widgets.geo_map import TILE_URL_KEY, GeoMap
from floki_console.widgets.health_view import HealthView
from tests.console.appliance import Register, ThreadedAppliance
from tests.console.flow import WAIT_MS, connect_and_log_in
from tests.console.test_workflow_views import texts

HUB = [[-1.56, 53.79], [-1.54, 53.79], [-1.54, 53.81], [-1.56, 53.81]]
LOANED_TRACKER = "352093081000001"
HUB_TRACKER = "352093081000002"


def _post_fixes(appliance: ThreadedAppliance, fixes: list[dict[str, Any]]) -> None:
    """GPS fixes through ``POST /api/v1/ingest``, as a gateway posts them, then located."""

    async def work() -> None:
        body = {"observations": fixes}
        headers = {"Authorization": f"Bearer {appliance.device_token}"}
        async with (
            aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=False)) as http,
            http.post(appliance.base + "/ingest", json=body, headers=headers) as answer,
        ):
            assert answer.status == 202, await answer.text()
        core = appliance.core
        assert core is not None
        await core.ingest.join()
        await core.locations.flush()

    appliance.call(work)


def _community(appliance: ThreadedAppliance, register: Register) -> dict[str, int]:
    """A community hub drawn by longitude/latitude; a hoist on a loan gone overdue and a
    bed in the hub, each with a GPS tracker."""
    _, zones = appliance.get("/zones")
    site_id = zones["items"][0]["site_id"]
    appliance.admin(
        "POST",
        "/zones",
        {"site_id": site_id, "name": "Community hub", "type": "room", "geo_polygon": HUB},
    )
    class_id = register.classes["Hoist"]
    ids: dict[str, int] = {}
    for number, tag in (("HOIST-101", LOANED_TRACKER), ("BED-102", HUB_TRACKER)):
        asset = appliance.admin(
            "POST",
            "/assets",
            {"asset_number": number, "description": "Community kit", "class_id": class_id},
        )
        appliance.admin(
            "POST", "/identifiers", {"asset_id": asset["id"], "technology": "gps", "value": tag}
        )
        ids[number] = asset["id"]
    appliance.admin(
        "POST",
        "/loans",
        {
            "asset_id": ids["HOIST-101"],
            "reference": "L-123",
            "destination_type": "home",
            "due_back": "2026-01-06",
        },
    )
    appliance.advance(3 * 86400)
    appliance.run(lambda core: core.workflow.loans.sweep_overdue())
    now = appliance.clock.now().isoformat()
    _post_fixes(
        appliance,
        [
            {
                "technology": "gps",
                "tag": HUB_TRACKER,
                "observed_at": now,
                "lat": 53.8,
                "lon": -1.55,
                "accuracy_m": 10,
                "extras": {"battery_pct": 81},
            },
            {  # a patient's home, away from every zone
                "technology": "gps",
                "tag": LOANED_TRACKER,
                "observed_at": now,
                "lat": 53.7,
                "lon": -1.45,
                "accuracy_m": 10,
            },
        ],
    )
    return ids


def test_overdue_loaned_kit_comes_first_without_a_marker_and_hub_kit_is_on_the_map(
    qtbot: QtBot,
    qloop: qasync.QEventLoop,
    context: ConsoleContext,
    register: Register,
    appliance: ThreadedAppliance,
) -> None:
    ids = _community(appliance, register)
    window = connect_and_log_in(qtbot, context, appliance)
    view = window.community_view
    window.tabs.setCurrentWidget(view)
    assert window.tabs.tabText(window.tabs.indexOf(view)) == "Community"
    qtbot.waitUntil(lambda: view.model.rowCount() == 2, timeout=WAIT_MS)

    asset, loan, due, where, fix_age, battery, tracker = texts(view.model, 0)
    assert (asset, loan, where) == ("HOIST-101", "L-123", "in community, loan L-123")
    assert due == "2026-01-06 (2 days overdue)"
    assert fix_age == "just now"
    assert tracker == f"{LOANED_TRACKER} (not heard yet)"  # posted to ingest, not a listener
    brush = view.model.data(view.model.index(0, 0), Qt.ItemDataRole.ForegroundRole)
    assert isinstance(brush, QBrush) and brush.color().name() == "#b00020"
    asset, loan, due, where, _, battery, _ = texts(view.model, 1)
    assert (asset, loan, where, battery, due) == ("BED-102", "", "Community hub", "81 %", "")
    assert view.counts.text() == "2 item(s): 1 on loan (1 overdue), 2 with a GPS tracker."

    # The map draws the hub's outline and the bed; the hoist's home stays unknown to it.
    assert [z.name for z in view.map.layer.zones] == ["Community hub"]
    assert set(view.map.marker_items) == {ids["BED-102"]}
    marker = view.map.marker_items[ids["BED-102"]]
    assert marker.toolTip().startswith("BED-102: Community hub")
    hub = next(iter(view.map.zone_items.values()))
    assert hub.contains(hub.mapFromScene(marker.pos()))
    assert view.map.requested == [] and view.map.network is None

    # The bed leaves the hub (a second fix outside, past the resolver's dwell time, moves
    # it): the move arrives as an event, and row and marker follow.
    for _ in range(2):
        appliance.advance(30)
        _post_fixes(
            appliance,
            [
                {
                    "technology": "gps",
                    "tag": HUB_TRACKER,
                    "observed_at": appliance.clock.now().isoformat(),
                    "lat": 53.75,
                    "lon": -1.50,
                    "accuracy_m": 10,
                }
            ],
        )
    qtbot.waitUntil(lambda: texts(view.model, 1)[3] == "off site", timeout=WAIT_MS)
    marker = view.map.marker_items[ids["BED-102"]]
    hub = next(iter(view.map.zone_items.values()))
    assert not hub.contains(hub.mapFromScene(marker.pos()))
    assert set(view.map.marker_items) == {ids["BED-102"]}


class _EmptyClient:
    """An appliance with nothing in the community; ``/gps/devices`` answers ``status``."""

    def __init__(self, status: int = 404) -> None:
        self.status = status

    async def get_all(self, path: str, params: Any = None) -> list[Any]:
        return []

    async def get_json(self, path: str, params: Any = None) -> Any:
        assert path == "/gps/devices"
        raise ApiError(self.status, "refused")


class _Signal:
    def connect(self, slot: Any) -> None:
        pass

    def disconnect(self, slot: Any) -> None:
        pass


def _session(client: Any) -> Any:
    return SimpleNamespace(client=client, events_arrived=_Signal(), reconnected=_Signal())


def _view(tmp_path: Path) -> CommunityView:
    return CommunityView(settings=QSettings(str(tmp_path / "c.ini"), QSettings.Format.IniFormat))


@pytest.mark.parametrize(
    ("status", "note"),
    [
        (404, "GPS trackers are not set up on this appliance."),
        (403, "Tracker protocol and connection are shown to engineers and admins."),
    ],
)
def test_the_view_says_why_it_shows_no_tracker_details(
    qtbot: QtBot, tmp_path: Path, status: int, note: str
) -> None:
    view = _view(tmp_path)
    qtbot.addWidget(view)
    view.session = _session(_EmptyClient(status))
    asyncio.run(view.load())
    assert view.status.text() == note
    assert view.counts.text() == "0 item(s): 0 on loan (0 overdue), 0 with a GPS tracker."


def test_a_load_cancelled_before_it_ran_does_not_stop_later_ones(
    qtbot: QtBot, qloop: qasync.QEventLoop, tmp_path: Path
) -> None:
    view = _view(tmp_path)
    qtbot.addWidget(view)
    view.session = _session(_EmptyClient())
    view.reload()
    view.detach()  # logged out before the load got to run
    view.attach(_session(_EmptyClient()))
    qtbot.waitUntil(lambda: view.loads == 1, timeout=5_000)
    view.detach()


def _layer() -> MapLayer:
    hub = ZoneOutline(1, "Hub", tuple((p[0], p[1]) for p in HUB))
    return MapLayer(zones=[hub], markers=[Marker(2, "BED-102", -1.55, 53.8, "BED-102", False)])


def test_no_tile_is_requested_without_a_tile_url(qtbot: QtBot) -> None:
    geo = GeoMap()
    qtbot.addWidget(geo)
    geo.resize(600, 400)
    geo.show()
    geo.set_layer(_layer())
    geo.update_tiles()
    assert geo.tile_urls() == []
    assert geo.requested == [] and geo.network is None


def test_a_tile_url_asks_for_the_tiles_on_screen_formatted_z_x_y(
    qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[str] = []
    monkeypatch.setattr(GeoMap, "_fetch", lambda self, tile, url: asked.append(url))
    geo = GeoMap()
    qtbot.addWidget(geo)
    geo.resize(600, 400)
    geo.show()
    geo.set_layer(_layer())
    geo.set_tile_template("https://tiles.example.org/{z}/{x}/{y}.png")
    assert asked, "the tiles under the hub are asked for"
    wanted = geo.tile_urls()
    assert asked == [url for _, url in wanted]
    for (z, x, y), url in wanted:
        assert (
            url
            == f"https://tiles.example.org/{z}/{x}/{y}.png"
            == tile_url(geo.tile_template, z, x, y)
        )
    (z, _, _), _ = wanted[0]
    bounds = geo.visible_bounds()
    assert bounds is not None
    assert [t for t, _ in wanted] == tiles_covering(bounds, z)
    assert 12 <= z <= 16  # a 2 km hub in a 600-pixel view: street-level tiles


def test_the_tile_url_is_checked_and_kept_in_the_settings(qtbot: QtBot, tmp_path: Path) -> None:
    settings = QSettings(str(tmp_path / "console.ini"), QSettings.Format.IniFormat)
    view = CommunityView(settings=settings)
    qtbot.addWidget(view)
    view.tile_edit.setText("https://tiles.example.org/{z}/{x}.png")
    assert view.apply_tile_url() is False
    assert view.status.text() == ("Not used: the tile URL needs {y} (e.g. .../{z}/{x}/{y}.png).")
    assert settings.value(TILE_URL_KEY, "") == ""
    view.tile_edit.setText(" https://tiles.example.org/{z}/{x}/{y}.png ")
    assert view.apply_tile_url() is True
    again = QSettings(str(tmp_path / "console.ini"), QSettings.Format.IniFormat)
    assert again.value(TILE_URL_KEY) == "https://tiles.example.org/{z}/{x}/{y}.png"
    assert CommunityView(settings=again).map.tile_template == again.value(TILE_URL_KEY)


class _TrackerClient:
    def __init__(self, answer: Any) -> None:
        self.answer = answer

    async def get_json(self, path: str, params: Any = None) -> Any:
        assert path == "/gps/devices"
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


def test_health_lists_the_gps_trackers(qtbot: QtBot) -> None:
    view = HealthView()
    qtbot.addWidget(view)
    body = {
        "items": [
            {
                "device": "352093081000001",
                "protocol": "teltonika",
                "registered": True,
                "connected": True,
                "last_heard": None,
                "fix_age_s": 720.0,
                "battery_pct": None,
                "battery_mv": 3950,
                "fixes": 12,
                "refused": 0,
            },
            {
                "device": "999",
                "protocol": "gt06",
                "registered": False,
                "connected": None,
                "last_heard": None,
                "fix_age_s": None,
                "battery_pct": None,
                "battery_mv": None,
                "fixes": 0,
                "refused": 3,
            },
        ]
    }
    asyncio.run(view._load_trackers(SimpleNamespace(client=_TrackerClient(body))))
    assert [texts(view.trackers, r) for r in range(view.trackers.rowCount())] == [
        ["352093081000001", "teltonika", "connected", "12 min", "3950 mV", "12", "0"],
        ["999", "gt06", "not registered", "", "", "0", "3"],
    ]
    assert view.trackers_note.text() == "2 trackers."
    assert not view.trackers_table.isHidden()


def test_health_says_when_there_are_no_gps_trackers(qtbot: QtBot) -> None:
    view = HealthView()
    qtbot.addWidget(view)
    client = _TrackerClient(ApiError(404, "not found"))
    asyncio.run(view._load_trackers(SimpleNamespace(client=client)))
    assert view.trackers_note.text() == "GPS trackers are not set up on this appliance."
    assert view.trackers_table.isHidden()
    client.answer = ApiError(403, "engineers only")
    asyncio.run(view._load_trackers(SimpleNamespace(client=client)))
    assert view.trackers_note.text() == "GPS trackers are listed to engineers and admins."


def test_a_fetched_tile_is_drawn_under_the_zones_where_its_corners_project(
    qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(GeoMap, "_fetch", lambda self, tile, url: None)
    geo = GeoMap()
    qtbot.addWidget(geo)
    geo.resize(600, 400)
    geo.show()
    geo.set_layer(_layer())
    geo.set_tile_template("https://tiles.example.org/{z}/{x}/{y}.png")
    (tile, url), *_ = geo.tile_urls()
    pixmap = QPixmap(256, 256)
    pixmap.fill(QColor("#dddddd"))
    geo._place(tile, url, pixmap)
    (item,) = [i for i in geo.scene().items() if isinstance(i, QGraphicsPixmapItem)]
    projection = geo.projection
    assert projection is not None
    west, south, east, north = tile_bounds(*tile)
    drawn = item.sceneBoundingRect()
    assert (drawn.left(), drawn.top()) == pytest.approx(projection.to_xy(west, north))
    assert (drawn.right(), drawn.bottom()) == pytest.approx(projection.to_xy(east, south))
    zone = next(iter(geo.zone_items.values()))
    assert item.zValue() < zone.zValue()
