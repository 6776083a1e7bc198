"""Health: is the appliance well — plugins and their sources, gateways, tag batteries and
the per-source counters."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import (
    QAbstractItemView,
    QGridLayout,
    QGroupBox,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from floki_console.api import ApiError, ApplianceUnreachable, ConsoleError
from floki_console.community_data import describe_fix_age
from floki_console.models import Column, RecordTable, describe_age
from floki_console.reader_health import plugin_source_rows, plugin_source_table
from floki_console.session import ApplianceSession
from floki_console.wifi_health import (
    access_point_rows,
    access_point_table,
    wifi_feed_rows,
    wifi_feed_table,
)

REFRESH_MS = 15_000
REFRESHING_EVENTS = ("plugin.", "tag.battery_low", "gateway.")
BAD_STATUSES = ("failed", "disabled", "offline", "silent")
TRACKERS_NOT_SET_UP = "GPS trackers are not set up on this appliance."
TRACKERS_FOR_ENGINEERS = "GPS trackers are listed to engineers and admins."
WIFI_NOT_SET_UP = "Wi-Fi is not set up on this appliance."
WIFI_FOR_ENGINEERS = "Wi-Fi access points are listed to engineers and admins."


def _colour_status(status: str) -> str | None:
    return "#b00020" if any(bad in status for bad in BAD_STATUSES) else None


def plugin_table() -> RecordTable[dict[str, Any]]:
    def status(p: dict[str, Any]) -> str:
        s = str(p.get("status", ""))
        return f"{s}: {p['reason']}" if p.get("reason") else s

    def sources(p: dict[str, Any]) -> str:
        return ", ".join(
            f"{s.get('name')} {s.get('status')}"
            + (f" ({s.get('restarts')} restarts)" if s.get("restarts") else "")
            for s in p.get("sources") or []
        )

    return RecordTable(
        [
            Column("Plugin", lambda p: str(p.get("name", ""))),
            Column("Version", lambda p: str(p.get("version") or "")),
            Column("Status", status, colour=lambda p: _colour_status(str(p.get("status", "")))),
            Column("Sources", sources),
        ],
        key=lambda p: p.get("name"),
    )


def source_table() -> RecordTable[dict[str, Any]]:
    def total(value: Any) -> int:
        return sum(value.values()) if isinstance(value, dict) else int(value or 0)

    return RecordTable(
        [
            Column("Source", lambda s: str(s.get("name", ""))),
            Column(
                "Received", lambda s: str(s.get("received", 0)), sort=lambda s: s.get("received", 0)
            ),
            Column(
                "Accepted", lambda s: str(s.get("accepted", 0)), sort=lambda s: s.get("accepted", 0)
            ),
            Column("Duplicates", lambda s: str(s.get("duplicates", 0))),
            Column("Unknown tags", lambda s: str(s.get("unknown_tags", 0))),
            Column(
                "Rejected",
                lambda s: str(total(s.get("rejected"))),
                tooltip=lambda s: str(s.get("rejected") or ""),
                colour=lambda s: "#b00020" if total(s.get("rejected")) else None,
            ),
            Column("Quarantined", lambda s: str(total(s.get("quarantined")))),
            Column("Last batch", lambda s: describe_age(s.get("last_batch_at"))),
        ],
        key=lambda s: s.get("name"),
    )


def battery_table() -> RecordTable[dict[str, Any]]:
    def level(b: dict[str, Any]) -> str:
        if b.get("level") is not None:
            return f"{b['level']:.0f} %"
        if b.get("millivolts") is not None:
            return f"{b['millivolts']} mV"
        return "?"

    def asset(b: dict[str, Any]) -> str:
        a = b.get("asset")
        return (
            f"{a.get('asset_number')} {a.get('description', '')}"
            if isinstance(a, dict)
            else "(no asset)"
        )

    return RecordTable(
        [
            Column("Tag", lambda b: f"{b.get('technology')} {b.get('tag')}"),
            Column("Asset", asset),
            Column("Battery", level, colour=lambda b: "#b00020" if b.get("low") else None),
            Column(
                "Low since",
                lambda b: describe_age(b.get("low_since")) if b.get("low_since") else "",
            ),
            Column("Heard by", lambda b: str(b.get("receiver") or "")),
        ],
        key=lambda b: f"{b.get('technology')}:{b.get('tag')}",
    )


def _gateway_status(gateway: dict[str, Any]) -> str:
    if gateway.get("silent"):
        return "silent"
    return "online" if gateway.get("online") else "offline"


def gateway_table() -> RecordTable[dict[str, Any]]:
    return RecordTable(
        [
            Column("Gateway", lambda g: str(g.get("name", ""))),
            Column(
                "Status",
                lambda g: str(g.get("status", "")),
                colour=lambda g: _colour_status(str(g.get("status", ""))),
            ),
            Column("Since", lambda g: describe_age(g.get("at"))),
        ],
        key=lambda g: g.get("name"),
    )


def _tracker_connection(t: dict[str, Any]) -> str:
    if not t.get("registered", True):
        return "not registered"
    connected = t.get("connected")
    if connected is None:
        return "posts fixes"  # HTTP trackers (phones) hold no connection
    return "connected" if connected else "disconnected"


def _tracker_battery(t: dict[str, Any]) -> str:
    if t.get("battery_pct") is not None:
        return f"{t['battery_pct']:.0f} %"
    if t.get("battery_mv") is not None:
        return f"{t['battery_mv']} mV"
    return ""


def tracker_table() -> RecordTable[dict[str, Any]]:
    def fix_age(t: dict[str, Any]) -> str:
        age = t.get("fix_age_s")
        return describe_fix_age(float(age)) if isinstance(age, int | float) else ""

    return RecordTable(
        [
            Column("Tracker", lambda t: str(t.get("device", ""))),
            Column("Protocol", lambda t: str(t.get("protocol") or "")),
            Column(
                "Connection",
                _tracker_connection,
                tooltip=lambda t: str(t.get("peer") or ""),
                colour=lambda t: (
                    "#b00020"
                    if _tracker_connection(t) in ("not registered", "disconnected")
                    else None
                ),
            ),
            Column("Last fix", fix_age, sort=lambda t: t.get("fix_age_s") or 0),
            Column("Battery", _tracker_battery),
            Column("Fixes", lambda t: str(t.get("fixes", 0)), sort=lambda t: t.get("fixes", 0)),
            Column(
                "Refused",
                lambda t: str(t.get("refused", 0)),
                colour=lambda t: "#b00020" if t.get("refused") else None,
            ),
        ],
        key=lambda t: t.get("device"),
    )


def _count(n: int, what: str) -> str:
    return f"{n} {what}" + ("" if n == 1 else "s")


def wifi_note(access_points: list[dict[str, Any]]) -> str:
    devices = sum(len(a.get("devices") or []) for a in access_points)
    return (
        f"{_count(len(access_points), 'access point')}; "
        f"{_count(devices, 'tracked device')} on the Wi-Fi."
    )


def _table(model: RecordTable[dict[str, Any]]) -> QTableView:
    view = QTableView()
    view.setModel(model)
    view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.verticalHeader().hide()
    view.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    view.horizontalHeader().setStretchLastSection(True)
    return view


def _group(title: str, *widgets: QWidget) -> QGroupBox:
    box = QGroupBox(title)
    layout = QVBoxLayout(box)
    for widget in widgets:
        layout.addWidget(widget)
    return box


class HealthView(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session: ApplianceSession | None = None
        self.plugins = plugin_table()
        # What time it is for the age of each reader's last report (a test sets it).
        self.now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC)
        self.plugin_sources = plugin_source_table(lambda: self.now())
        self.sources = source_table()
        self.batteries = battery_table()
        self.gateways = gateway_table()
        self.trackers = tracker_table()
        self.trackers_table = _table(self.trackers)
        self.trackers_note = QLabel("")
        self.trackers_note.setWordWrap(True)
        # The Wi-Fi plugin's feeds (with what its privacy filter dropped) and access points.
        self.wifi_feeds = wifi_feed_table(lambda: self.now())
        self.access_points = access_point_table(lambda: self.now())
        self.access_points_table = _table(self.access_points)
        self.wifi_note = QLabel("")
        self.wifi_note.setWordWrap(True)
        self.appliance_label = QLabel("Log in to see the appliance's health.")
        self.appliance_label.setWordWrap(True)
        self.queue_label = QLabel()
        self.queue_label.setWordWrap(True)
        self.gateway_note = QLabel(
            "Gateways appear here when they go offline, fall silent or come back."
        )
        self.gateway_note.setWordWrap(True)
        self.refresh_button = QPushButton("Refresh")
        self.refresh_button.clicked.connect(lambda *_: self.reload())

        grid = QGridLayout(self)
        grid.addWidget(self.appliance_label, 0, 0)
        grid.addWidget(self.refresh_button, 0, 1)
        grid.addWidget(_group("Plugins", _table(self.plugins)), 1, 0)
        grid.addWidget(_group("Gateways", self.gateway_note, _table(self.gateways)), 1, 1)
        grid.addWidget(_group("Sources", self.queue_label, _table(self.sources)), 2, 0)
        grid.addWidget(_group("Tags needing a battery", _table(self.batteries)), 2, 1)
        grid.addWidget(
            _group("Plugin sources and readers", _table(self.plugin_sources)), 3, 0, 1, 2
        )
        grid.addWidget(_group("GPS trackers", self.trackers_note, self.trackers_table), 4, 0, 1, 2)
        grid.addWidget(
            _group(
                "Wi-Fi feeds and access points",
                _table(self.wifi_feeds),
                self.wifi_note,
                self.access_points_table,
            ),
            5,
            0,
            1,
            2,
        )
        grid.setColumnStretch(0, 3)
        grid.setColumnStretch(1, 2)

        self._timer = QTimer(self)
        self._timer.setInterval(REFRESH_MS)
        self._timer.timeout.connect(self.reload)
        self._tasks: set[asyncio.Future[Any]] = set()
        self.loads = 0

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
        for task in list(self._tasks):
            task.cancel()
        for model in (
            self.plugins,
            self.plugin_sources,
            self.sources,
            self.batteries,
            self.gateways,
            self.trackers,
            self.wifi_feeds,
            self.access_points,
        ):
            model.set_records([])
        self.appliance_label.setText("Log in to see the appliance's health.")
        self.queue_label.clear()

    def reload(self) -> None:
        if self.session is not None:
            task = asyncio.ensure_future(self.load())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    def on_events(self, batch: list[dict[str, Any]]) -> None:
        refresh = False
        for event in batch:
            kind = str(event.get("type", ""))
            if kind.startswith("gateway."):
                data = event.get("data") or {}
                name = str(data.get("name") or data.get("gateway") or event.get("entity_id") or "")
                self.gateways.upsert(
                    {"name": name, "status": kind.removeprefix("gateway."), "at": event.get("at")}
                )
            if kind.startswith(REFRESHING_EVENTS):
                refresh = True
        if refresh:
            self.reload()

    async def _load_gateways(self, session: Any) -> None:
        """Gateways the BLE plugin hears (ESPresense rooms), where the plugin is installed;
        gateway events update the rows between loads."""
        try:
            found = await session.client.get_json("/ble/gateways")
        except ApiError as exc:
            if exc.status == 404:
                return  # no BLE plugin on this appliance: events only
            raise
        rows = [
            {
                "name": g.get("room", ""),
                "status": _gateway_status(g),
                "at": g.get("last_heard"),
            }
            for g in found.get("items", [])
        ]
        if rows:
            self.gateways.set_records(rows)
            self.gateway_note.setText(
                f"{len(rows)} gateways; status from their traffic and last will."
            )

    async def _load_trackers(self, session: Any) -> None:
        """The GPS plugin's trackers (engineers and admins); a line saying why not when
        the appliance has no GPS plugin or the user may not see them."""
        try:
            found = await session.client.get_json("/gps/devices")
        except ApiError as exc:
            if exc.status in (403, 404):
                self.trackers.set_records([])
                self.trackers_table.hide()
                self.trackers_note.setText(
                    TRACKERS_NOT_SET_UP if exc.status == 404 else TRACKERS_FOR_ENGINEERS
                )
                return
            raise
        items = [dict(t) for t in (found or {}).get("items", [])]
        self.trackers.set_records(items)
        self.trackers_table.setVisible(bool(items))
        self.trackers_note.setText(
            f"{len(items)} trackers." if items else "No GPS tracker has reported yet."
        )

    async def _load_access_points(self, session: Any) -> None:
        """The Wi-Fi plugin's access points (engineers and admins); a line saying why not
        when the appliance has no Wi-Fi plugin or the user may not see them."""
        try:
            found = await session.client.get_json("/wifi/access-points")
        except ApiError as exc:
            if exc.status in (403, 404):
                self.access_points.set_records([])
                self.access_points_table.hide()
                self.wifi_note.setText(WIFI_NOT_SET_UP if exc.status == 404 else WIFI_FOR_ENGINEERS)
                return
            raise
        items = access_point_rows(found)
        self.access_points.set_records(items)
        self.access_points_table.setVisible(bool(items))
        self.wifi_note.setText(wifi_note(items))

    async def load(self) -> None:
        session = self.session
        if session is None:
            return
        client = session.client
        try:
            health, plugins, sources, batteries = await asyncio.gather(
                client.health(),
                client.get_json("/plugins"),
                client.get_json("/sources"),
                client.get_json("/tags/batteries", {"low": "true", "limit": "200"}),
            )
        except ApplianceUnreachable as exc:
            session.report_unreachable(exc)
            return
        except ConsoleError as exc:
            self.appliance_label.setText(f"Cannot read the appliance's health: {exc}")
            return
        if session is not self.session:
            return
        self.loads += 1
        self.appliance_label.setText(
            f"<b>{health.get('site', '')}</b> \u2014 Floki {health.get('version', '')} is "
            f"<b>{health.get('status', '?')}</b> at {session.address}"
        )
        await self._load_gateways(session)
        try:
            await self._load_trackers(session)
        except ConsoleError as exc:
            self.trackers_note.setText(f"Cannot list the GPS trackers: {exc}")
        self.plugins.set_records(list(plugins.get("items", [])))
        self.plugin_sources.set_records(plugin_source_rows(plugins))
        self.wifi_feeds.set_records(wifi_feed_rows(plugins, sources))
        try:
            await self._load_access_points(session)
        except ConsoleError as exc:
            self.wifi_note.setText(f"Cannot list the Wi-Fi access points: {exc}")
        self.sources.set_records(list(sources.get("items", [])))
        self.batteries.set_records(list(batteries.get("items", [])))
        unknown = sources.get("unknown_receivers") or {}
        unlocatable = sources.get("unlocatable") or {}
        notes = [
            f"Ingest queue {sources.get('queue_depth', 0)} of {sources.get('queue_capacity', 0)} "
            "batches."
        ]
        if unknown:
            notes.append(f"{len(unknown)} receivers heard but not registered.")
        if unlocatable:
            notes.append(
                "Sightings no locator handles: "
                + ", ".join(f"{k} {v}" for k, v in sorted(unlocatable.items()))
                + "."
            )
        self.queue_label.setText(" ".join(notes))
