"""POST /api/v1/gps/traccar: a Traccar server's forwarded positions, taken like any
gateway's upload (device token, the core's limits and error bodies)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from floki_core.sdk import AppConfig
from floki_core.testing import Floki
from tests.plugins.gps.conftest import HUB_POINT, gps_config, located_in, tracked_asset
from tests.plugins.gps.test_traccar_forward_decoder import forwarded

pytestmark = pytest.mark.floki_entry_points("gps")
PATH = "/api/v1/gps/traccar"
LAT, LON = HUB_POINT
IMEI = "356307042441013"


@pytest.fixture
def floki_config() -> AppConfig:
    return gps_config(traccar_forward=True)


def position(floki: Floki, **fields: Any) -> bytes:
    at = floki.clock.now().isoformat(timespec="milliseconds")
    body = forwarded(**{"fixTime": at, "latitude": LAT, "longitude": LON, **fields})
    return json.dumps(body).encode()


async def post(floki: Floki, body: bytes, *, device: bool = True) -> tuple[int, Any]:
    token = await floki.token_for("engineer", device=device)
    headers = {**floki.auth(token), "Content-Type": "application/json"}
    resp = await floki.client.post(PATH, data=body, headers=headers)
    return resp.status, await resp.json()


async def test_a_forwarded_position_places_its_asset(floki: Floki) -> None:
    asset_id, hub = await tracked_asset(floki, IMEI)
    status, receipt = await post(floki, position(floki))
    assert (status, receipt["queued"], receipt["rejected"]) == (202, 1, {})
    await located_in(floki, asset_id, hub)
    resp = await floki.client.get("/api/v1/gps/devices", headers=await floki.headers("engineer"))
    (device,) = (await resp.json())["items"]
    assert (device["device"], device["protocol"], device["battery_mv"]) == (IMEI, "traccar", 3920)


async def test_a_device_no_asset_carries_is_counted_and_answered_2xx(floki: Floki) -> None:
    # Traccar forwards every device it tracks: one Floki does not know is no error for it.
    status, receipt = await post(floki, position(floki))
    assert (status, receipt["queued"], receipt["rejected"]) == (202, 0, {"unregistered_device": 1})
    resp = await floki.client.get("/api/v1/sources", headers=await floki.headers("viewer"))
    counted = {i["name"]: i for i in (await resp.json())["items"]}["gps-traccar:test"]
    assert counted["rejected"] == {"unregistered_device": 1}


async def test_a_bad_position_is_answered_400_with_the_apis_error_body(floki: Floki) -> None:
    status, body = await post(floki, position(floki, latitude=123.0))
    assert status == 400
    assert body["status"] == 400 and "latitude" in body["error"]
    status, body = await post(floki, b"nonsense")
    assert status == 400 and "not JSON" in body["error"]


async def test_only_a_device_token_may_forward(floki: Floki) -> None:
    resp = await floki.client.post(PATH, data=position(floki))
    assert resp.status == 401
    status, _ = await post(floki, position(floki), device=False)
    assert status == 403


class TestSwitchedOff:
    @pytest.fixture
    def floki_config(self) -> AppConfig:
        return gps_config(traccar_forward=False)

    async def test_the_route_is_not_served(self, floki: Floki) -> None:
        status, _ = await post(floki, position(floki))
        assert status == 404
