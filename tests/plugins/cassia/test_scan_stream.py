"""A Cassia AC's scan stream on 127.0.0.1 read by the appliance: sightings place assets."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from floki_core.config import AppConfig, parse_config
from floki_core.testing import Floki
from tests.plugins.cassia.fake_gateway import (
    DOCUMENTED,
    GATEWAY,
    IBEACON_ADVERT,
    FakeCassiaAC,
    advert_event,
)

pytestmark = pytest.mark.floki_entry_points("cassia")
FAST = {"backoff_initial": 0.02, "backoff_max": 0.1, "max_failures": 1000}


@pytest.fixture
async def ac() -> AsyncIterator[FakeCassiaAC]:
    device = FakeCassiaAC()
    await device.open()
    yield device
    await device.close()


@pytest.fixture
def plugin_settings(ac: FakeCassiaAC) -> dict[str, Any]:
    return dict(ac.settings())


@pytest.fixture
def floki_config(plugin_settings: dict[str, Any]) -> AppConfig:
    return parse_config(
        {
            "discovery": {"enabled": False},
            "server": {"tls": False},
            "plugins": {"supervision": FAST},
            "plugin": {"cassia": plugin_settings},
        }
    )


async def register(floki: Floki, tag_technology: str, tag: str) -> tuple[int, int]:
    headers = await floki.headers("admin")

    async def post(path: str, body: dict[str, Any]) -> Any:
        resp = await floki.client.post(f"/api/v1{path}", json=body, headers=headers)
        assert resp.status == 201, await resp.text()
        return await resp.json()

    site = await post("/sites", {"name": "General"})
    zone = await post("/zones", {"site_id": site["id"], "name": "Ward 7 bay 1"})
    await post(
        "/receivers",
        {
            "name": "ward 7 gateway",
            "technology": "ble",
            "identifier": GATEWAY,
            "zone_id": zone["id"],
        },
    )
    asset = await post("/assets", {"asset_number": "E10042", "description": "Infusion pump"})
    await post(
        "/identifiers", {"asset_id": asset["id"], "technology": tag_technology, "value": tag}
    )
    return asset["id"], zone["id"]


async def source(floki: Floki) -> dict[str, Any]:
    resp = await floki.client.get("/api/v1/plugins", headers=await floki.headers("viewer"))
    plugin = next(p for p in (await resp.json())["items"] if p["name"] == "cassia")
    return next(s for s in plugin["sources"] if s["name"] == "cassia-scan") | {
        "plugin": plugin["status"]
    }


async def test_an_ibeacon_heard_by_the_gateway_places_its_asset_in_the_gateways_zone(
    floki: Floki, ac: FakeCassiaAC
) -> None:
    asset_id, zone_id = await register(floki, "ibeacon", "f7826da64fa24e988024bc5b71e0893e-100-7")
    await floki.eventually(ac.connected, "the plugin to open the scan stream")
    await ac.push([advert_event(IBEACON_ADVERT), DOCUMENTED])

    async def located() -> bool:
        resp = await floki.client.get(
            f"/api/v1/assets/{asset_id}/location", headers=await floki.headers("viewer")
        )
        body = await resp.json()
        return bool(body.get("located")) and body["zone"]["id"] == zone_id

    await floki.eventually(located, "the pump to be placed in the gateway's zone")
    assert ac.requests[0]["mac"] == GATEWAY and ac.requests[0]["event"] == "1"
    # The documented Sleepace sensor is bound to nothing: offered to bind by its MAC.
    resp = await floki.client.get("/api/v1/unknown-tags", headers=await floki.headers("viewer"))
    unknown = {(t["technology"], t["tag"]) for t in (await resp.json())["items"]}
    assert unknown == {("ble", "ED:47:B0:D3:A9:C8")}


@pytest.fixture
def wrong_secret(plugin_settings: dict[str, Any]) -> None:
    plugin_settings["client_secret"] = "wrong"


@pytest.mark.usefixtures("wrong_secret")
async def test_a_refused_developer_key_shows_on_the_source_with_the_acs_answer(
    floki: Floki,
) -> None:
    found: dict[str, Any] = {}

    async def backing_off() -> bool:
        found.update(await source(floki))
        return found["status"] in ("backoff", "degraded", "failed") and bool(found["reason"])

    await floki.eventually(backing_off, "the source to show the refused key")
    assert "the AC refused the developer key: 401 Unauthorized" in found["reason"], found
    assert found["plugin"] == "running", found


@pytest.fixture
def no_gateway(plugin_settings: dict[str, Any]) -> None:
    plugin_settings["gateway"] = ""


@pytest.mark.usefixtures("no_gateway")
async def test_a_url_without_a_gateway_fails_the_plugin_naming_the_setting(floki: Floki) -> None:
    resp = await floki.client.get("/api/v1/plugins", headers=await floki.headers("viewer"))
    plugin = next(p for p in (await resp.json())["items"] if p["name"] == "cassia")
    assert plugin["status"] == "failed"
    assert "plugin.cassia.gateway: the gateway's MAC is needed with url" in plugin["reason"]
