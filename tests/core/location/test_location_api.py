"""What a user reads back (issue 3, §3): where an asset is and why, its stays, what is in a
zone, locations in search results, live location events and the Prometheus metrics.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import json
from typing import Any

import aiohttp
import pytest

from floki_core.config import AppConfig, parse_config
from floki_core.observations import Observation
from floki_core.testing import Floki
from tests.core.location.register_builder import (
    API,
    Register,
    get_json,
    location,
    scan,
    steady,
    walk,
)


@pytest.fixture
def floki_config(request: pytest.FixtureRequest) -> AppConfig:
    extra: dict[str, Any] = getattr(request, "param", {})
    return parse_config({"discovery": {"enabled": False}, "server": {"tls": False}, **extra})


async def scan_at(floki: Floki, reg: Register, asset: str, reader: str, after: float = 10) -> None:
    floki.clock.advance(after)
    await floki.inject([scan(reg, asset, reader, floki.clock.now())], source="reader")


def when(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


# --- where is it -----------------------------------------------------------------


async def test_location_answers_where_how_sure_since_when_and_why(
    floki: Floki, reg: Register
) -> None:
    start = floki.clock.now()
    await walk(floki, reg, "PUMP-001", 20, steady(**{"gw-7a": -55.0, "gw-7b": -78.0}))
    floki.clock.advance(4)
    answer = await location(floki, reg, "PUMP-001")

    assert answer["located"] is True
    assert answer["asset_id"] == reg.assets["PUMP-001"]
    assert answer["zone"] == {"id": reg.zones["room_a"], "name": "Room 7A", "type": "room"}
    assert answer["off_site"] is False
    assert [(p["kind"], p["name"]) for p in answer["path"]] == [
        ("site", "St Elsewhere"),
        ("building", "Main block"),
        ("floor", "Level 2"),
        ("ward", "Ward 7"),
        ("room", "Room 7A"),
    ]
    assert [p["id"] for p in answer["path"]] == [
        reg.site,
        reg.building,
        reg.floor,
        reg.zones["ward"],
        reg.zones["room_a"],
    ]
    assert (answer["x"], answer["y"]) == (3.0, 4.5)  # where gw-7a hangs on the plan
    assert 0 < answer["confidence"] <= 1
    assert (answer["method"], answer["technology"]) == ("rssi", "ble")
    assert when(answer["since"]) == start + dt.timedelta(seconds=1)  # the first sighting
    assert when(answer["last_seen"]) == start + dt.timedelta(seconds=20)
    assert answer["age_seconds"] == pytest.approx(4)
    assert answer["stale"] is False

    # The top evidence explains the answer: the receiver, its signal and how old it is.
    top = answer["evidence"][0]
    assert top["receiver"] == "gw-7a"
    assert top["zone_id"] == reg.zones["room_a"]
    assert (top["method"], top["technology"]) == ("rssi", "ble")
    assert top["signal"] == pytest.approx(-55.0)
    assert top["age_seconds"] == pytest.approx(4)
    assert 0 < top["weight"] <= 1
    weights = [e["weight"] for e in answer["evidence"]]
    assert weights == sorted(weights, reverse=True)


async def test_never_seen_and_unknown_assets(floki: Floki, reg: Register) -> None:
    answer = await location(floki, reg, "SPARE-001")
    assert answer == {"asset_id": reg.assets["SPARE-001"], "located": False}
    headers = await floki.headers("viewer")
    for path in ("location", "history"):
        resp = await floki.client.get(f"{API}/assets/999999/{path}", headers=headers)
        assert resp.status == 404, path
    resp = await floki.client.get(f"{API}/zones/999999/assets", headers=headers)
    assert resp.status == 404
    resp = await floki.client.get(f"{API}/assets/{reg.assets['SPARE-001']}/location")
    assert resp.status == 401


async def test_a_scan_and_an_access_point_place_the_asset_too(floki: Floki, reg: Register) -> None:
    await scan_at(floki, reg, "PUMP-002", "qr-bay")
    answer = await location(floki, reg, "PUMP-002")
    assert answer["zone"]["name"] == "Bay 7C"
    assert [p["kind"] for p in answer["path"]] == ["site", "building", "floor", "ward", "bay"]
    assert (answer["x"], answer["y"]) == (14.0, 1.0)
    assert answer["confidence"] == pytest.approx(0.95)
    assert answer["evidence"][0]["receiver"] == "qr-bay"

    floki.clock.advance(1)
    assoc = {
        "technology": "wifi",
        "tag": reg.tags["SCAN-001"]["wifi"],
        "receiver": reg.identifier("ap-ward7"),
        "observed_at": floki.clock.now(),
    }
    await floki.inject([Observation(**assoc)], source="wlc")
    answer = await location(floki, reg, "SCAN-001")
    assert answer["zone"]["name"] == "Ward 7"
    assert [p["kind"] for p in answer["path"]] == ["site", "building", "floor", "ward"]
    assert (answer["method"], answer["technology"]) == ("association", "wifi")
    assert answer["confidence"] < 0.95  # an access point is a rougher hint than a scan


# --- history ---------------------------------------------------------------------


async def test_history_pages_through_consistent_stays(floki: Floki, reg: Register) -> None:
    readers = ["qr-7a", "qr-7b", "qr-bay", "qr-7a", "qr-7b"]
    for reader in readers:
        await scan_at(floki, reg, "PUMP-001", reader)

    pages: list[dict[str, Any]] = []
    for offset in (0, 2, 4):
        page = await get_json(
            floki, f"/assets/{reg.assets['PUMP-001']}/history", limit=2, offset=offset
        )
        assert (page["total"], page["limit"], page["offset"]) == (5, 2, offset)
        pages += page["items"]
    assert len(pages) == 5

    oldest_first = list(reversed(pages))
    names = {"qr-7a": "Room 7A", "qr-7b": "Room 7B", "qr-bay": "Bay 7C"}
    assert [s["zone"] for s in oldest_first] == [names[r] for r in readers]
    assert all(s["method"] == "fixed_point" for s in oldest_first)
    for stay, following in itertools.pairwise(oldest_first):
        assert stay["left_at"] == following["entered_at"]
        assert when(stay["entered_at"]) < when(stay["left_at"])
    assert oldest_first[-1]["left_at"] is None
    current = await location(floki, reg, "PUMP-001")
    assert current["since"] == oldest_first[-1]["entered_at"]

    beyond = await get_json(floki, f"/assets/{reg.assets['PUMP-001']}/history", limit=2, offset=10)
    assert (beyond["items"], beyond["total"]) == ([], 5)


# --- what is in a zone ------------------------------------------------------------


async def test_zone_listing_includes_child_zones_and_filters(floki: Floki, reg: Register) -> None:
    await scan_at(floki, reg, "PUMP-001", "qr-7a")
    await scan_at(floki, reg, "PUMP-002", "qr-bay")
    floki.clock.advance(1)
    await floki.inject(
        [
            Observation(
                technology="wifi",
                tag=reg.tags["SCAN-001"]["wifi"],
                receiver=reg.identifier("ap-ward7"),
                observed_at=floki.clock.now(),
            )
        ],
        source="wlc",
    )
    await scan_at(floki, reg, "PUMP-001", "qr-7b", after=0)  # moved out of 7A again
    resp = await floki.client.patch(
        f"{API}/assets/{reg.assets['PUMP-002']}",
        json={"state": "in_use"},
        headers=await floki.headers("engineer"),
    )
    assert resp.status == 200
    ward = reg.zones["ward"]

    async def listed(zone: int, **params: Any) -> list[tuple[str, str]]:
        data = await get_json(floki, f"/zones/{zone}/assets", **params)
        assert data["total"] == len(data["items"])
        for item in data["items"]:
            assert item["stale"] is False
        return [(i["asset_number"], i["zone"]) for i in data["items"]]

    assert await listed(ward) == [
        ("PUMP-001", "Room 7B"),
        ("PUMP-002", "Bay 7C"),
        ("SCAN-001", "Ward 7"),
    ]
    assert await listed(ward, descendants="false") == [("SCAN-001", "Ward 7")]
    assert await listed(reg.zones["room_a"]) == []
    assert await listed(reg.zones["bay"]) == [("PUMP-002", "Bay 7C")]
    assert await listed(ward, class_id=reg.classes["Infusion pump"]) == [
        ("PUMP-001", "Room 7B"),
        ("PUMP-002", "Bay 7C"),
    ]
    assert await listed(ward, state="in_use") == [("PUMP-002", "Bay 7C")]
    assert await listed(ward, class_id=reg.classes["Bladder scanner"], state="in_use") == []

    data = await get_json(floki, f"/zones/{ward}/assets", limit=1, offset=1)
    assert (data["total"], [i["asset_number"] for i in data["items"]]) == (3, ["PUMP-002"])
    item = data["items"][0]
    assert item["class_name"] == "Infusion pump" and item["state"] == "in_use"
    assert item["zone_id"] == reg.zones["bay"] and item["method"] == "fixed_point"


async def test_asset_search_carries_a_location_summary(floki: Floki, reg: Register) -> None:
    await scan_at(floki, reg, "PUMP-002", "qr-7b")
    found = await get_json(floki, "/assets", q="infusion pump")
    by_number = {i["asset_number"]: i for i in found["items"]}
    assert set(by_number) == {"PUMP-001", "PUMP-002", "SPARE-001"}
    summary = by_number["PUMP-002"]["location"]
    assert summary["zone"] == {"id": reg.zones["room_b"], "name": "Room 7B", "type": "room"}
    assert (summary["stale"], summary["off_site"], summary["method"]) == (
        False,
        False,
        "fixed_point",
    )
    assert by_number["PUMP-001"]["location"] is None  # never seen: nothing made up


# --- live events -----------------------------------------------------------------


async def next_location_events(ws: aiohttp.ClientWebSocketResponse) -> list[dict[str, Any]]:
    while True:
        msg = await ws.receive(timeout=5)
        assert msg.type == aiohttp.WSMsgType.TEXT, msg
        found = [e for e in json.loads(msg.data) if e["type"] == "location.changed"]
        if found:
            return found


async def test_moves_reach_websocket_listeners(floki: Floki, reg: Register) -> None:
    await scan_at(floki, reg, "PUMP-001", "qr-7a")
    ws = await floki.client.ws_connect(f"{API}/events", headers=await floki.headers("viewer"))
    try:
        await floki.eventually(lambda: floki.core.events.subscriber_count == 1, "the listener")
        await scan_at(floki, reg, "PUMP-001", "qr-7b")
        events = await next_location_events(ws)
        assert len(events) == 1
        event = events[0]
        assert (event["entity"], event["entity_id"]) == ("assets", reg.assets["PUMP-001"])
        data = event["data"]
        assert data["asset_id"] == reg.assets["PUMP-001"]
        assert (data["from_zone_id"], data["to_zone_id"]) == (
            reg.zones["room_a"],
            reg.zones["room_b"],
        )
        assert (data["zone"], data["method"], data["technology"]) == (
            "Room 7B",
            "fixed_point",
            "qr",
        )
        assert data["first_fix"] is False
        assert when(event["at"]) == floki.clock.now()

        # Being seen again where it already is tells listeners nothing new.
        await scan_at(floki, reg, "PUMP-001", "qr-7b")
        with pytest.raises(asyncio.TimeoutError):
            await ws.receive(timeout=0.2)
    finally:
        await ws.close()


# --- metrics ---------------------------------------------------------------------


async def test_metrics_are_prometheus_text_for_viewers(floki: Floki, reg: Register) -> None:
    await scan_at(floki, reg, "PUMP-001", "qr-7a")
    await scan_at(floki, reg, "PUMP-001", "qr-7b")
    resp = await floki.client.get("/metrics")
    assert resp.status == 401
    resp = await floki.client.get("/metrics", headers=await floki.headers("viewer"))
    assert resp.status == 200
    assert resp.content_type == "text/plain"
    text = await resp.text()
    lines = text.splitlines()
    assert 'floki_observations_received_total{source="reader"} 2' in lines
    assert 'floki_observations_accepted_total{source="reader"} 2' in lines
    assert "# TYPE floki_observations_received_total counter" in lines
    assert "floki_location_changes_total 2" in lines
    assert "floki_located_assets 1" in lines
    assert "# TYPE floki_ingest_queue_depth gauge" in lines
    # Every sample line is "name{labels} value" with a number Prometheus can parse.
    for line in lines:
        if line and not line.startswith("#"):
            float(line.rsplit(" ", 1)[1])


@pytest.mark.parametrize("floki_config", [{"metrics": {"public": True}}], indirect=True)
async def test_metrics_can_be_public_for_a_lan_scraper(floki: Floki) -> None:
    resp = await floki.client.get("/metrics")
    assert resp.status == 200
    assert "# TYPE floki_location_changes_total counter" in await resp.text()
