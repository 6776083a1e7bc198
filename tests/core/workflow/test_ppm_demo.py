"""With the demo hospital running: the PPM queue lists due assets with their last
locations, in the order an engineer walks the round."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest_asyncio

from floki_core.testing import Floki
from tests.core.test_demo_simulation import SIMULATOR
from tests.core.test_demo_simulation import demo as demo_hospital

__all__ = ["demo_hospital"]


@pytest_asyncio.fixture
async def running(demo_hospital: Floki) -> AsyncIterator[Floki]:
    source: Any = demo_hospital.core.plugins.registries.sources.get(SIMULATOR).item  # type: ignore[union-attr]
    await source.catch_up()
    for _ in range(6):  # half a minute of gateways reporting
        demo_hospital.advance(5)
        await source.catch_up()
        await demo_hospital.settle()
    yield demo_hospital


async def test_the_demo_queue_lists_due_assets_with_locations_in_round_order(
    running: Floki, tmp_path: Path
) -> None:
    headers = await running.headers("engineer")
    resp = await running.client.get("/api/v1/ppm/queue?within_days=30", headers=headers)
    assert resp.status == 200
    queue = await resp.json()
    assert queue["counts"]["overdue"] > 0 and queue["counts"]["due"] > 0
    floors = await (await running.client.get("/api/v1/floors?limit=500", headers=headers)).json()
    level = {f["id"]: f["level"] for f in floors["items"]}
    for section in ("overdue", "due"):
        items = queue[section]
        for item in items:
            where = item["location"]
            assert where["zone"] and where["building"] and where["floor"], item
            assert where["last_seen"] and 0 < where["confidence"] <= 1
            assert item["state"] != "available" or not item["overdue"]

        def walk(item: dict[str, Any]) -> tuple[Any, ...]:
            path = item["location"]["path"]
            floor = next(p["id"] for p in path if p["kind"] == "floor")
            zones = tuple(p["name"].casefold() for p in path[3:])
            return (path[0]["name"].casefold(), path[1]["name"].casefold(), level[floor], zones)

        keys = [walk(i) for i in items]
        assert keys == sorted(keys), section
    stops = queue["round"]
    assert len(stops) == len({s["zone_id"] for s in stops})  # each place visited once
    listed = sum(len(s["asset_ids"]) for s in stops)
    assert listed == queue["counts"]["overdue"] + queue["counts"]["due"]
