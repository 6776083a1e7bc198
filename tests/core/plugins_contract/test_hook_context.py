"""Every hook gets the context it needs, the routes hook included (issue 12, §1).

A plugin keeps what its hooks share in its context, never in module globals, so two
appliances in one process (the test kit, a hub beside a site) each see their own.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from floki_core.api.app import create_app
from floki_core.clock import ManualClock
from floki_core.config import parse_config
from floki_core.core import Core
from floki_core.testing import Floki
from tests.core.plugin_samples import (  # noqa: F401  (fixtures are found by name)
    Plugins,
    appliance_config,
    listed_plugins,
    parametrised_config,
    parametrised_plugins,
    with_plugins,
)
from tests.core.plugins_contract.hook_samples import ContextEverywhere, WardBoard
from tests.fixtures.mosquitto import MosquittoBroker, mosquitto_broker  # noqa: F401


@pytest.mark.parametrize(
    "floki_config", [{"plugin": {"wardboard": {"ward": "Ward 7"}}}], indirect=True, ids=["ward"]
)
@pytest.mark.parametrize("floki_plugins", [lambda: [("wardboard", WardBoard())]], indirect=True)
async def test_routes_hook_gets_the_plugins_context_and_settings(floki: Floki) -> None:
    listing = await listed_plugins(floki)
    assert listing["wardboard"]["status"] == "running", listing["wardboard"]["reason"]
    resp = await floki.client.get("/api/v1/wardboard/ward", headers=await floki.headers("viewer"))
    assert resp.status == 200
    assert await resp.json() == {"ward": "Ward 7", "plugin": "wardboard"}


@pytest.mark.parametrize(
    "floki_plugins", [lambda: [("everywhere", ContextEverywhere())]], indirect=True
)
async def test_locator_rule_type_and_event_hooks_get_the_plugins_context(
    floki: Floki, floki_plugins: Plugins
) -> None:
    plugin = dict(floki_plugins)["everywhere"]
    resp = await floki.client.post(
        "/api/v1/assets", json={"asset_number": "VIP-0001"}, headers=await floki.headers("engineer")
    )
    assert resp.status == 201
    await floki.eventually(lambda: "floki_events" in plugin.seen, "the event batch")
    assert plugin.seen == {
        "floki_register_locators": "everywhere",
        "floki_register_rule_types": "everywhere",
        "floki_events": "everywhere",
    }
    assert (await listed_plugins(floki))["everywhere"]["status"] == "running"


# --- the BLE plugin keeps no module globals ------------------------------------------------


async def test_each_appliance_reports_its_own_espresense_gateways(
    mosquitto_broker: MosquittoBroker,  # noqa: F811
    tmp_path: Path,
) -> None:
    with_feed = parse_config(
        {
            "discovery": {"enabled": False},
            "server": {"tls": False},
            "plugin": {
                "ble": {
                    "espresense_host": mosquitto_broker.host,
                    "espresense_port": mosquitto_broker.port,
                }
            },
        }
    )
    first = Core(tmp_path / "first", with_feed, clock=ManualClock())
    # Another appliance in the same process, with the BLE plugin but no ESPresense feed.
    second = Core(tmp_path / "second", appliance_config(), clock=ManualClock())
    await first.start()
    try:
        async with TestClient(TestServer(create_app(first))) as client:
            floki = Floki(first, client, ManualClock())

            async def connected() -> bool:
                resp = await client.get("/api/v1/ble/gateways", headers=await floki.headers())
                assert resp.status == 200
                return bool((await resp.json())["connected"])

            deadline = asyncio.get_running_loop().time() + 10
            while not await connected():
                assert asyncio.get_running_loop().time() < deadline, "never connected"
                await asyncio.sleep(0.02)
            await second.start()
            try:
                assert await connected(), "the first appliance lost sight of its own feed"
            finally:
                await second.stop()
    finally:
        await first.stop()
