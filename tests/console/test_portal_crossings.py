"""Portal crossings (``rfid.portal`` events on the live event stream) appear beside the
alerts as sentences a user reads — "Volumetric infusion pump PUMP-001 entered Equipment
store via store-door" — and only on an appliance that has them."""

from __future__ import annotations

import asyncio
import datetime as dt
from types import SimpleNamespace
from typing import Any

import qasync
from pytestqt.qtbot import QtBot

from floki_console.context import ConsoleContext
from floki_console.portal_crossings import crossing_from_item, crossing_text
from floki_console.widgets.portal_feed import PortalFeed
from floki_core.core import Core
from floki_core.events import DomainEvent
from tests.console.appliance import START, Register, ThreadedAppliance
from tests.console.flow import WAIT_MS, connect_and_log_in
from tests.console.test_workflow_views import texts


def publish_crossing(
    appliance: ThreadedAppliance, asset_id: int, direction: str, zone: tuple[int, str]
) -> None:
    async def work(core: Core) -> None:
        event = DomainEvent(
            type="rfid.portal",
            at=core.clock.now(),
            entity="asset",
            entity_id=asset_id,
            data={
                "portal": "store-door",
                "direction": direction,
                "zone_id": zone[0],
                "zone": zone[1],
                "read_at": (START + dt.timedelta(minutes=1)).isoformat(),
                "epc": "341400000000000000000001",
            },
        )
        await core.events.publish([event])

    appliance.run(work)


def test_a_portal_crossing_arrives_live_beside_the_alerts(
    qtbot: QtBot,
    qloop: qasync.QEventLoop,
    context: ConsoleContext,
    register: Register,
    appliance: ThreadedAppliance,
) -> None:
    window = connect_and_log_in(qtbot, context, appliance)
    view = window.alerts_view
    window.tabs.setCurrentWidget(view)
    feed = view.portal_feed
    qtbot.waitUntil(lambda: feed.loads >= 1, timeout=WAIT_MS)
    assert feed.isHidden()  # no crossing yet: the alerts have the room

    store = (register.zones["store"], "Equipment store")
    publish_crossing(appliance, register.assets["PUMP-001"], "entered", store)
    qtbot.waitUntil(lambda: feed.model.rowCount() == 1, timeout=WAIT_MS)
    assert not feed.isHidden()
    assert texts(feed.model, 0)[1] == (
        "Volumetric infusion pump PUMP-001 entered Equipment store via store-door"
    )

    publish_crossing(appliance, register.assets["PUMP-001"], "left", store)
    qtbot.waitUntil(lambda: feed.model.rowCount() == 2, timeout=WAIT_MS)
    said = {texts(feed.model, r)[1] for r in range(2)}
    assert "Volumetric infusion pump PUMP-001 left Equipment store via store-door" in said

    # Double-click (or Show on map) goes to the asset on the map.
    with qtbot.waitSignal(view.show_on_map, timeout=WAIT_MS) as shown:
        feed.show_crossing(0)
    assert shown.args == [register.assets["PUMP-001"]]


def test_a_listed_crossing_reads_like_a_live_one() -> None:
    item: dict[str, Any] = {
        "asset_id": 7,
        "asset_number": "E10001",
        "name": "Syringe driver",
        "portal": "library-door",
        "direction": "entered",
        "zone_id": 4,
        "zone": "Equipment Library",
        "read_at": "2026-12-07T09:30:00Z",
        "epc": "3414",
    }
    crossing = crossing_from_item(item)
    assert crossing is not None
    assert (
        crossing_text(crossing)
        == "Syringe driver E10001 entered Equipment Library via library-door"
    )
    bare = crossing_from_item({**item, "asset_number": None, "name": None})
    assert bare is not None
    assert crossing_text(bare) == "asset #7 entered Equipment Library via library-door"


class _Listing:
    """An appliance listing two crossings (GET /rfid/portal-events) of one asset."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    async def get_json(self, path: str, params: Any = None) -> Any:
        self.asked.append(path)
        if path == "/assets/7":
            return {"id": 7, "asset_number": "E10001", "description": "Syringe driver"}
        assert path == "/rfid/portal-events"
        crossing = {
            "asset_id": 7,
            "portal": "library-door",
            "zone_id": 4,
            "zone": "Equipment Library",
            "epc": "3414",
            "antenna": "lib-reader:1",
        }
        return {
            "items": [
                {**crossing, "direction": "left", "read_at": "2026-12-07T09:40:00Z"},
                {**crossing, "direction": "entered", "read_at": "2026-12-07T09:30:00Z"},
            ],
            "limit": 100,
        }


def test_the_latest_listed_crossings_are_shown_on_connecting(qtbot: QtBot) -> None:
    feed = PortalFeed()
    qtbot.addWidget(feed)
    client = _Listing()
    feed.session = SimpleNamespace(client=client)  # type: ignore[assignment]
    asyncio.run(feed.load())
    assert not feed.isHidden()
    said = [texts(feed.model, r)[1] for r in range(feed.model.rowCount())]
    assert said == [
        "Syringe driver E10001 left Equipment Library via library-door",
        "Syringe driver E10001 entered Equipment Library via library-door",
    ]
    assert client.asked.count("/assets/7") == 1  # the asset is asked for once
