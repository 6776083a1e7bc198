"""Health lists the gateways the BLE plugin hears, and copes with an appliance without it."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

from pytestqt.qtbot import QtBot

from floki_console.api import ApiError
from floki_console.widgets.health_view import HealthView


class _Client:
    def __init__(self, answer: Any) -> None:
        self.answer = answer

    async def get_json(self, path: str, params: Any = None) -> Any:
        assert path == "/ble/gateways"
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


def test_gateways_heard_by_the_ble_plugin_are_listed(qtbot: QtBot) -> None:
    view = HealthView()
    qtbot.addWidget(view)
    body = {
        "items": [
            {"room": "ward7-bay1", "online": True, "silent": False, "last_heard": None},
            {"room": "ward7-bay2", "online": False, "silent": False, "last_heard": None},
            {"room": "theatre-1", "online": True, "silent": True, "last_heard": None},
        ]
    }
    session = SimpleNamespace(client=_Client(body))
    asyncio.run(view._load_gateways(session))
    rows = {r["name"]: r["status"] for r in view.gateways.records()}
    assert rows == {"ward7-bay1": "online", "ward7-bay2": "offline", "theatre-1": "silent"}
    assert view.gateway_note.text().startswith("3 gateways")


def test_an_appliance_without_the_ble_plugin_keeps_the_event_rows(qtbot: QtBot) -> None:
    view = HealthView()
    qtbot.addWidget(view)
    view.gateways.set_records([{"name": "gw-1", "status": "offline", "at": None}])
    session = SimpleNamespace(client=_Client(ApiError(404, "not found")))
    asyncio.run(view._load_gateways(session))
    assert [r["name"] for r in view.gateways.records()] == ["gw-1"]
