"""Health's Wi-Fi group (issue 15, §4): the Wi-Fi feeds with their counters — messages,
the devices no asset carries and the randomised MACs the privacy filter dropped — and
their last message; and the access points (GET /api/v1/wifi/access-points, engineers)
with their zones, the tracked devices on them and their last message."""

from __future__ import annotations

import asyncio
import datetime as dt
import socket
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import qasync
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from floki_console.api import ApiError
from floki_console.context import ConsoleContext
from floki_console.widgets.health_view import HealthView
from floki_console.wifi_health import (
    access_point_rows,
    access_point_table,
    wifi_feed_rows,
    wifi_feed_table,
)
from floki_core.config import parse_config
from tests.console.appliance import SITE, ThreadedAppliance
from tests.console.flow import WAIT_MS, connect_and_log_in
from tests.console.table_cells import colour, iso, shown
from tests.fixtures.processes import free_port

NOW = dt.datetime(2026, 12, 7, 9, 30, tzinfo=dt.UTC)


PLUGINS = {
    "items": [
        {
            "name": "ble",
            "status": "running",
            "sources": [{"name": "espresense", "status": "running", "restarts": 0}],
        },
        {
            "name": "wifi",
            "status": "running",
            "sources": [
                {
                    "name": "wifi-syslog",
                    "status": "running",
                    "restarts": 0,
                    "details": {
                        "udp_port": 5514,
                        "lines": 1250,
                        "associations": 40,
                        "unknown_devices": 310,
                        "randomised_devices": 880,
                    },
                },
                {
                    "name": "wifi-radius",
                    "status": "backoff",
                    "restarts": 2,
                    "reason": "port 1813 taken",
                    "details": {"requests": 0},
                },
                {
                    "name": "wifi-simulator",
                    "status": "running",
                    "restarts": 0,
                    "details": {"datagrams": 1300, "untracked_lines": 1190},
                },
            ],
        },
    ]
}
SOURCES = {
    "items": [
        {"name": "espresense", "received": 5, "accepted": 5, "last_batch_at": iso(NOW)},
        {
            "name": "wifi-syslog",
            "received": 1230,
            "accepted": 40,
            "rejected": {"unknown_device": 300, "randomised_device": 870},
            "last_batch_at": iso(NOW - dt.timedelta(seconds=20)),
        },
        # A feed that is a route, not a source: listed by its counters only.
        {
            "name": "wifi-meraki",
            "received": 12,
            "accepted": 2,
            "rejected": {"randomised_device": 10},
            "last_batch_at": iso(NOW - dt.timedelta(hours=3)),
        },
    ]
}


def test_the_wifi_feeds_show_what_the_privacy_filter_dropped() -> None:
    model = wifi_feed_table(lambda: NOW)
    model.set_records(wifi_feed_rows(PLUGINS, SOURCES))
    rows = {model.record(r)["name"]: r for r in range(model.rowCount())}
    # Only the Wi-Fi plugin's feeds, the Meraki route's uploads among them.
    assert set(rows) == {"wifi-syslog", "wifi-radius", "wifi-simulator", "wifi-meraki"}

    syslog = shown(model, rows["wifi-syslog"])
    assert syslog["Feed"] == "wifi-syslog"
    assert syslog["Status"] == "running"
    assert syslog["Messages"] == "1,250"
    assert syslog["Kept"] == "40"
    # Counted on the feed's sink, per feed (the filter's own totals are the fallback).
    assert syslog["Unknown devices dropped"] == "300"
    assert syslog["Randomised MACs dropped"] == "870"
    assert syslog["Last message"] == "20 s ago"

    radius = shown(model, rows["wifi-radius"])
    assert radius["Status"] == "backoff: port 1813 taken (2 restarts)"
    assert colour(model, rows["wifi-radius"], "Status") == "#b00020"
    assert radius["Messages"] == "0"
    assert radius["Last message"] == "never"

    meraki = shown(model, rows["wifi-meraki"])
    assert meraki["Status"] == ""
    assert meraki["Randomised MACs dropped"] == "10"
    assert meraki["Unknown devices dropped"] == "0"
    assert meraki["Last message"] == "3 h ago"
    assert colour(model, rows["wifi-meraki"], "Last message") == "#b26a00"  # quiet for hours

    simulator = shown(model, rows["wifi-simulator"])
    assert simulator["Messages"] == "1,300"


def test_a_feed_without_sink_counters_shows_the_filter_s_own_counts() -> None:
    plugins = {"items": [PLUGINS["items"][1]]}
    model = wifi_feed_table(lambda: NOW)
    model.set_records(wifi_feed_rows(plugins, {"items": []}))
    rows = {model.record(r)["name"]: r for r in range(model.rowCount())}
    syslog = shown(model, rows["wifi-syslog"])
    assert syslog["Unknown devices dropped"] == "310"
    assert syslog["Randomised MACs dropped"] == "880"


ACCESS_POINTS = {
    "items": [
        {
            "key": "00:00:0C:A0:00:0E",
            "name": "Wi-Fi AP Ward 5",
            "mac": "00:00:0C:A0:00:0E",
            "registered": True,
            "receiver_id": 14,
            "zone": {"id": 13, "name": "Ward 5"},
            "devices": [
                {
                    "asset_id": 1,
                    "asset_number": "E10001",
                    "description": "Volumetric infusion pump, BD Alaris GP Plus",
                    "since": iso(NOW - dt.timedelta(minutes=4)),
                },
                {
                    "asset_id": 7,
                    "asset_number": "E10007",
                    "description": "Volumetric infusion pump, BD Alaris GP Plus",
                    "since": iso(NOW - dt.timedelta(minutes=2)),
                },
            ],
            "last_message_at": iso(NOW - dt.timedelta(seconds=5)),
            "feed": "wifi-syslog",
        },
        {
            "key": "00:00:0C:A0:00:03",
            "name": "Wi-Fi AP ED Majors",
            "mac": "00:00:0C:A0:00:03",
            "registered": True,
            "receiver_id": 3,
            "zone": {"id": 2, "name": "ED Majors"},
            "devices": [],
            "last_message_at": None,
            "feed": None,
        },
        {
            "key": "AP-THEATRES-02",
            "name": None,
            "mac": None,
            "registered": False,
            "receiver_id": None,
            "zone": None,
            "devices": [],
            "last_message_at": iso(NOW - dt.timedelta(minutes=1)),
            "feed": "wifi-syslog",
        },
    ],
    "registered": 2,
    "unregistered": 1,
}


def test_the_access_points_show_their_zone_devices_and_last_message() -> None:
    model = access_point_table(lambda: NOW)
    model.set_records(access_point_rows(ACCESS_POINTS))
    assert model.rowCount() == 3

    ward = shown(model, 0)
    assert ward["Access point"] == "Wi-Fi AP Ward 5"
    assert ward["MAC"] == "00:00:0C:A0:00:0E"
    assert ward["Zone"] == "Ward 5"
    assert ward["Devices"] == "2: E10001, E10007"
    assert ward["Last message"] == "5 s ago"
    assert ward["Feed"] == "wifi-syslog"
    tip = model.data(model.index(0, 3), Qt.ItemDataRole.ToolTipRole)
    assert "E10001 Volumetric infusion pump, BD Alaris GP Plus (4 min ago)" in tip

    quiet = shown(model, 1)
    assert quiet["Devices"] == "0"
    assert quiet["Last message"] == "never"
    assert colour(model, 1, "Last message") == "#b26a00"

    stranger = shown(model, 2)
    assert stranger["Access point"] == "AP-THEATRES-02"
    assert stranger["Zone"] == "not registered"
    assert colour(model, 2, "Zone") == "#b00020"


# --- the view, on an appliance whose syslog listener a controller feeds ----------------------

PUMP_MAC = "00:1e:c0:01:00:01"  # bound to PUMP-001 below
AP_MAC = "00:00:0c:a0:00:0e"
# A controller's lines: the pump joins; a phone (randomised) and a laptop nobody tracks too.
CONTROLLER_LINES = [
    f"<134>1 {{at}} WLC-01 apf - - - %APF-3-AUTHENTICATION_TRAP: Client Authenticated: "
    f"MACAddress:{mac} Base Radio MAC:{AP_MAC} Slot:1 User Name:unknown"
    for mac in (PUMP_MAC, "da:a1:19:00:11:22", "3c:22:fb:61:0e:8d")
]


class WifiAppliance(ThreadedAppliance):
    """An appliance whose Wi-Fi plugin takes syslog on a free loopback UDP port."""

    def __init__(self, data_dir: Path) -> None:
        super().__init__(data_dir)
        self.syslog_port = free_port()
        self.config = parse_config(
            {
                "site": {"name": SITE},
                "discovery": {"enabled": False},
                "plugin": {
                    "wifi": {
                        "listen_host": "127.0.0.1",
                        "syslog": {"udp_port": self.syslog_port, "tcp_port": 0},
                    }
                },
            }
        )


@pytest.fixture
def wifi_appliance(tmp_path: Path) -> Iterator[WifiAppliance]:
    running = WifiAppliance(tmp_path / "appliance")
    running.start()
    try:
        yield running
    finally:
        running.close()


def register_the_pump(appliance: ThreadedAppliance) -> None:
    """Ward 7's access point and the pump's MAC, in the register."""
    reg = appliance.register

    async def work() -> None:
        async with appliance.http() as http:
            await http.post(
                "/receivers",
                {
                    "name": "AP Ward 7",
                    "technology": "wifi",
                    "identifier": AP_MAC,
                    "zone_id": reg.zones["ward7"],
                },
            )
            await http.post(
                "/identifiers",
                {"asset_id": reg.assets["PUMP-001"], "technology": "wifi", "value": PUMP_MAC},
            )

    appliance.call(work)


def send(appliance: WifiAppliance, lines: list[str]) -> None:
    """The controller's ``lines``, as datagrams to the appliance's syslog listener."""
    at = appliance.clock.now().isoformat().replace("+00:00", "Z")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        for line in lines:
            sock.sendto(line.format(at=at).encode(), ("127.0.0.1", appliance.syslog_port))


def test_health_lists_the_wifi_feeds_and_access_points(
    qtbot: QtBot,
    qloop: qasync.QEventLoop,
    context: ConsoleContext,
    wifi_appliance: WifiAppliance,
) -> None:
    wifi_appliance.populate()
    register_the_pump(wifi_appliance)
    window = connect_and_log_in(qtbot, context, wifi_appliance)
    view = window.health_view
    view.now = wifi_appliance.clock.now
    window.tabs.setCurrentWidget(view)

    def pump_on_the_ap() -> bool:
        # Said again until the listener has read the register's change (it reads it
        # again after the change's event; a line before that is a device nobody tracks).
        send(wifi_appliance, CONTROLLER_LINES[:1])
        view.reload()
        aps = view.access_points
        return aps.rowCount() == 1 and shown(aps, 0)["Devices"].startswith("1:")

    qtbot.waitUntil(pump_on_the_ap, timeout=WAIT_MS)
    send(wifi_appliance, CONTROLLER_LINES[1:])  # the phone and the laptop
    ap = shown(view.access_points, 0)
    assert (ap["Access point"], ap["Zone"], ap["Devices"]) == ("AP Ward 7", "Ward 7", "1: PUMP-001")
    feeds = view.wifi_feeds

    def syslog_row() -> dict[str, str]:
        for r in range(feeds.rowCount()):
            if feeds.record(r)["name"] == "wifi-syslog":
                return shown(feeds, r)
        return {}

    def phone_dropped() -> bool:
        view.reload()
        return syslog_row().get("Randomised MACs dropped") == "1"

    qtbot.waitUntil(phone_dropped, timeout=WAIT_MS)
    syslog = syslog_row()
    assert syslog["Status"] == "running"
    # The laptop (and any pump line taken before the listener knew the pump).
    assert int(syslog["Unknown devices dropped"]) >= 1
    assert syslog["Kept"] != "0"
    assert view.wifi_note.text() == "1 access point; 1 tracked device on the Wi-Fi."


class _Refusing:
    """A client whose appliance answers the access-point list with ``status``."""

    def __init__(self, status: int, reason: str) -> None:
        self.status, self.reason = status, reason

    async def get_json(self, path: str, params: Any = None) -> Any:
        assert path == "/wifi/access-points"
        raise ApiError(self.status, self.reason)


@pytest.mark.parametrize(
    ("status", "reason", "note"),
    [
        (404, "not found", "Wi-Fi is not set up on this appliance."),
        (403, "engineer or above", "Wi-Fi access points are listed to engineers and admins."),
    ],
)
def test_without_the_plugin_or_the_role_health_says_why_no_access_points(
    qtbot: QtBot, qloop: qasync.QEventLoop, status: int, reason: str, note: str
) -> None:
    view = HealthView()
    qtbot.addWidget(view)
    view.access_points.set_records(access_point_rows(ACCESS_POINTS))
    session = SimpleNamespace(client=_Refusing(status, reason))
    task = asyncio.ensure_future(view._load_access_points(session))
    qtbot.waitUntil(task.done, timeout=WAIT_MS)
    task.result()
    assert view.wifi_note.text() == note
    assert view.access_points.rowCount() == 0
    assert view.access_points_table.isHidden()
