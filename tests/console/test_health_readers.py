"""Health lists each plugin source with its status and, for a source that says how it is
doing (an RFID reader's ``details`` in GET /api/v1/plugins), its connection, address,
antennas, read rate and the age of its last report, stale ones highlighted."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import qasync
from pytestqt.qtbot import QtBot

from floki_console.context import ConsoleContext
from floki_console.reader_health import plugin_source_rows, plugin_source_table
from tests.console.appliance import ThreadedAppliance
from tests.console.flow import WAIT_MS, connect_and_log_in
from tests.console.rfid_standins import ReaderSource, ReadersPlugin
from tests.console.table_cells import colour, iso, shown

NOW = dt.datetime(2026, 12, 7, 9, 30, tzinfo=dt.UTC)


def door_details(last_report: dt.datetime | None) -> dict[str, Any]:
    return {
        "kind": "llrp",
        "connected": True,
        "address": "10.20.0.15:5084",
        "antennas": [1, 2],
        "reads_per_s": 120.5,
        "tags_per_s": 14.0,
        "reports": 5321,
        "last_report": None if last_report is None else iso(last_report),
    }


@pytest.fixture
def reader_appliance(tmp_path: Path) -> Iterator[ThreadedAppliance]:
    sources = {
        "library-door": ReaderSource(door_details(NOW - dt.timedelta(seconds=12))),
        "store-shelves": ReaderSource(
            {
                "kind": "zebra",
                "connected": False,
                "address": "mqtt://10.20.0.30:8883",
                "antennas": [1, 2, 3, 4],
                "reads_per_s": 0.0,
                "tags_per_s": 0.0,
                "reports": 88,
                "last_report": iso(NOW - dt.timedelta(minutes=5)),
                "firmware": "3.21.4",
            }
        ),
        "plain-feed": ReaderSource(None),
    }
    running = ThreadedAppliance(
        tmp_path / "appliance", extra_plugins=[("readers", ReadersPlugin(sources))]
    )
    running.start()
    try:
        yield running
    finally:
        running.close()


def test_health_shows_each_reader_s_connection_rate_and_last_report(
    qtbot: QtBot,
    qloop: qasync.QEventLoop,
    context: ConsoleContext,
    reader_appliance: ThreadedAppliance,
) -> None:
    reader_appliance.populate()
    window = connect_and_log_in(qtbot, context, reader_appliance)
    view = window.health_view
    view.now = lambda: NOW
    window.tabs.setCurrentWidget(view)
    view.reload()
    model = view.plugin_sources
    qtbot.waitUntil(
        lambda: (
            {r.get("name") for r in model.records()}
            >= {"library-door", "store-shelves", "plain-feed"}
        ),
        timeout=WAIT_MS,
    )
    rows = {model.record(r)["name"]: r for r in range(model.rowCount())}

    door = shown(model, rows["library-door"])
    assert door["Plugin"] == "readers"
    assert door["Source"] == "library-door (llrp)"
    assert door["Status"] == "running"
    assert door["Connection"] == "connected"
    assert door["Address"] == "10.20.0.15:5084"
    assert door["Antennas"] == "1, 2"
    assert door["Read rate"] == "120.5 reads/s, 14.0 tags/s"
    assert door["Last report"] == "12 s ago"
    assert door["Other"] == ""
    assert colour(model, rows["library-door"], "Last report") is None

    shelves = shown(model, rows["store-shelves"])
    assert shelves["Connection"] == "disconnected"
    assert colour(model, rows["store-shelves"], "Connection") == "#b00020"
    assert shelves["Antennas"] == "1, 2, 3, 4"
    assert shelves["Last report"] == "5 min ago"
    assert colour(model, rows["store-shelves"], "Last report") == "#b26a00"  # stale
    assert shelves["Other"] == "firmware: 3.21.4"

    plain = shown(model, rows["plain-feed"])
    assert plain["Status"] == "running"
    assert [plain[k] for k in ("Connection", "Address", "Read rate", "Last report")] == [""] * 4


def test_sources_of_an_appliance_without_details_are_listed_with_their_status() -> None:
    """An older appliance's listing has no ``details``; a null one says nothing either."""
    listing = {
        "items": [
            {
                "name": "ble",
                "status": "running",
                "sources": [
                    {"name": "espresense", "status": "backoff", "restarts": 3, "reason": "refused"}
                ],
            },
            {
                "name": "rfid",
                "status": "running",
                "sources": [
                    {"name": "dock", "status": "running", "restarts": 0, "details": None},
                    {
                        "name": "handheld",
                        "status": "running",
                        "restarts": 0,
                        "details": {**door_details(None), "kind": "datawedge", "queue": 2},
                    },
                ],
            },
        ]
    }
    model = plugin_source_table(lambda: NOW)
    model.set_records(plugin_source_rows(listing))

    older = shown(model, 0)
    assert older["Plugin"] == "ble" and older["Source"] == "espresense"
    assert older["Status"] == "backoff: refused (3 restarts)"
    assert colour(model, 0, "Status") == "#b00020"
    assert [older[k] for k in ("Connection", "Antennas", "Read rate", "Other")] == [""] * 4
    assert shown(model, 1)["Connection"] == ""
    handheld = shown(model, 2)
    assert handheld["Source"] == "handheld (datawedge)"
    # Connected but never reported: "never", highlighted like a stale report.
    assert handheld["Last report"] == "never"
    assert colour(model, 2, "Last report") == "#b26a00"
    assert handheld["Other"] == "queue: 2"
