"""``WS /api/v1/events``: live domain events for authenticated clients only."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp
import pytest

from floki_core.api.keys import SOCKETS
from floki_core.testing import Floki

EVENTS = "/api/v1/events"


async def next_events(ws: aiohttp.ClientWebSocketResponse) -> list[dict[str, Any]]:
    msg = await ws.receive(timeout=5)
    assert msg.type == aiohttp.WSMsgType.TEXT, msg
    batch = json.loads(msg.data)
    assert isinstance(batch, list)
    return batch


async def wait_for(condition: Any, timeout: float = 5.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        assert loop.time() < deadline, "timed out"
        await asyncio.sleep(0.01)


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({}, 401),
        ({"Authorization": "Bearer flk_not-a-real-token"}, 401),
        ({"Authorization": "Bearer "}, 401),
    ],
)
async def test_unauthenticated_clients_are_refused(
    floki: Floki, headers: dict[str, str], status: int
) -> None:
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await floki.client.ws_connect(EVENTS, headers=headers)
    assert refused.value.status == status
    assert floki.core.events.subscriber_count == 0


async def test_device_tokens_cannot_listen(floki: Floki) -> None:
    device = floki.auth(await floki.token_for("admin", device=True))
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await floki.client.ws_connect(EVENTS, headers=device)
    assert refused.value.status == 403
    assert floki.core.events.subscriber_count == 0


async def test_viewer_sees_assets_created_and_updated(floki: Floki) -> None:
    viewer = floki.auth(await floki.token_for("viewer"))
    engineer = floki.auth(await floki.token_for("engineer"))
    ws = await floki.client.ws_connect(EVENTS, headers=viewer)
    try:
        await wait_for(lambda: floki.core.events.subscriber_count == 1)
        resp = await floki.client.post(
            "/api/v1/assets",
            json={"asset_number": "CE-0042", "description": "Bladder scanner"},
            headers=engineer,
        )
        assert resp.status == 201
        asset = await resp.json()

        batch = await next_events(ws)
        created = [e for e in batch if e["type"] == "asset.created"]
        assert len(created) == 1
        event = created[0]
        assert event["entity"] == "assets"
        assert event["entity_id"] == asset["id"]
        assert event["data"]["asset_number"] == "CE-0042"
        assert event["at"].startswith(floki.clock.now().date().isoformat())

        resp = await floki.client.patch(
            f"/api/v1/assets/{asset['id']}", json={"state": "faulty"}, headers=engineer
        )
        assert resp.status == 200
        batch = await next_events(ws)
        updated = [e for e in batch if e["type"] == "asset.updated"]
        assert [(e["entity_id"], e["data"]["state"]) for e in updated] == [(asset["id"], "faulty")]

        # A refused write publishes nothing.
        resp = await floki.client.post(
            "/api/v1/assets", json={"asset_number": "CE-0042"}, headers=engineer
        )
        assert resp.status == 409
        with pytest.raises(asyncio.TimeoutError):
            await ws.receive(timeout=0.2)
    finally:
        await ws.close()
    await wait_for(lambda: floki.core.events.subscriber_count == 0)
    assert floki.client.app[SOCKETS] == set()


async def test_every_listener_gets_the_event(floki: Floki) -> None:
    listeners = [
        await floki.client.ws_connect(EVENTS, headers=floki.auth(await floki.token_for(role)))
        for role in ("viewer", "staff", "admin")
    ]
    try:
        await wait_for(lambda: floki.core.events.subscriber_count == 3)
        resp = await floki.client.post(
            "/api/v1/sites", json={"name": "General"}, headers=await floki.headers("admin")
        )
        assert resp.status == 201
        for ws in listeners:
            batch = await next_events(ws)
            assert [e["type"] for e in batch] == ["site.created"]
    finally:
        for ws in listeners:
            await ws.close()


async def test_listener_is_closed_cleanly_on_shutdown(floki: Floki) -> None:
    ws = await floki.client.ws_connect(EVENTS, headers=await floki.headers("viewer"))
    await wait_for(lambda: floki.core.events.subscriber_count == 1)
    # Stopping the server runs the app's shutdown, which must close open sockets
    # rather than leave clients hanging until the heartbeat notices.
    closing = asyncio.create_task(floki.client.server.close())
    msg = await ws.receive(timeout=5)
    assert msg.type == aiohttp.WSMsgType.CLOSE
    assert msg.data == 1001
    assert msg.extra == "appliance shutting down"
    await asyncio.wait_for(closing, 10)
    assert ws.closed
    assert floki.core.events.subscriber_count == 0
    assert floki.client.app[SOCKETS] == set()
