"""``WS /api/v1/events``: live domain events for authenticated clients only."""

from __future__ import annotations

import asyncio
import itertools
import json
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from floki_core.api.keys import SOCKETS, TOKENS
from floki_core.clock import SystemClock
from floki_core.domain import SYSTEM
from floki_core.storage import accounts
from floki_core.storage.database import Database, default_url
from floki_core.testing import TEST_PASSWORD, Floki

EVENTS = "/api/v1/events"


async def next_events(ws: aiohttp.ClientWebSocketResponse) -> list[dict[str, Any]]:
    msg = await ws.receive(timeout=5)
    assert msg.type == aiohttp.WSMsgType.TEXT, msg
    batch = json.loads(msg.data)
    assert isinstance(batch, list)
    return batch


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
        await floki.eventually(lambda: floki.core.events.subscriber_count == 1, "one listener")
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
    await floki.eventually(lambda: floki.core.events.subscriber_count == 0, "no listener")
    assert floki.client.app[SOCKETS] == set()


async def test_every_listener_gets_the_event(floki: Floki) -> None:
    listeners = [
        await floki.client.ws_connect(EVENTS, headers=floki.auth(await floki.token_for(role)))
        for role in ("viewer", "staff", "admin")
    ]
    try:
        await floki.eventually(lambda: floki.core.events.subscriber_count == 3, "three listeners")
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
    await floki.eventually(lambda: floki.core.events.subscriber_count == 1, "one listener")
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


# --- a socket ends when its token no longer would open it -----------------------------

POLICY_CLOSE = 1008
_SITES = itertools.count(1)


async def _closed_for_policy(ws: aiohttp.ClientWebSocketResponse, within: float = 5.0) -> str:
    """Wait for the server to close ``ws`` (events may arrive first); its reason."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        msg = await ws.receive(timeout=max(deadline - loop.time(), 0.01))
        if msg.type == aiohttp.WSMsgType.TEXT:
            continue  # events published before the close
        assert msg.type == aiohttp.WSMsgType.CLOSE, msg
        assert msg.data == POLICY_CLOSE, msg
        reason: str = msg.extra
        return reason


async def _viewer_socket(floki: Floki) -> tuple[aiohttp.ClientWebSocketResponse, int]:
    """A viewer's events socket, opened with their API token; and the viewer's user id."""
    ws = await floki.client.ws_connect(EVENTS, headers=await floki.headers("viewer"))
    await floki.eventually(lambda: floki.core.events.subscriber_count >= 1, "a listener")
    users = await (await floki.client.get("/api/v1/users", headers=await floki.headers())).json()
    return ws, next(u["id"] for u in users["items"] if u["username"] == "test-viewer")


async def _still_listening(floki: Floki, ws: aiohttp.ClientWebSocketResponse) -> None:
    resp = await floki.client.post(
        "/api/v1/sites", json={"name": f"Site {next(_SITES)}"}, headers=await floki.headers()
    )
    assert resp.status == 201
    assert [e["type"] for e in await next_events(ws)] == ["site.created"]


async def test_a_password_reset_closes_the_users_sockets(floki: Floki) -> None:
    ws, uid = await _viewer_socket(floki)
    try:
        resp = await floki.client.post(
            f"/api/v1/users/{uid}/password",
            json={"password": "a-fresh-password-42"},
            headers=await floki.headers(),
        )
        assert resp.status == 200
        reason = await _closed_for_policy(ws)
        assert "no longer valid" in reason
        assert "sign in again" in reason
    finally:
        await ws.close()
    await floki.eventually(lambda: floki.core.events.subscriber_count == 0, "no listener")


async def test_disabling_a_user_closes_their_sockets(floki: Floki) -> None:
    ws, uid = await _viewer_socket(floki)
    try:
        resp = await floki.client.patch(
            f"/api/v1/users/{uid}", json={"disabled": True}, headers=await floki.headers()
        )
        assert resp.status == 200
        assert "no longer valid" in await _closed_for_policy(ws)
    finally:
        await ws.close()


async def test_revoking_the_token_closes_its_socket_and_no_other(floki: Floki) -> None:
    ws, uid = await _viewer_socket(floki)
    staff = await floki.client.ws_connect(EVENTS, headers=await floki.headers("staff"))
    await floki.eventually(lambda: floki.core.events.subscriber_count == 2, "two listeners")
    try:
        admin = await floki.headers()
        tokens = await (await floki.client.get("/api/v1/tokens", headers=admin)).json()
        (token_id,) = [t["id"] for t in tokens["items"] if t["user_id"] == uid]
        resp = await floki.client.delete(f"/api/v1/tokens/{token_id}", headers=admin)
        assert resp.status == 200
        assert "no longer valid" in await _closed_for_policy(ws)
        await _still_listening(floki, staff)  # the cache was cleared for all: still fine
    finally:
        await ws.close()
        await staff.close()


async def test_signing_out_closes_the_sockets_of_that_session(floki: Floki) -> None:
    await floki.token_for("viewer")
    login = await floki.client.post(
        "/api/v1/auth/login", json={"username": "test-viewer", "password": TEST_PASSWORD}
    )
    session = floki.auth((await login.json())["token"])
    ws = await floki.client.ws_connect(EVENTS, headers=session)
    try:
        assert (await floki.client.post("/api/v1/auth/logout", headers=session)).status == 204
        assert "no longer valid" in await _closed_for_policy(ws)
    finally:
        await ws.close()


def _reset_password_elsewhere(data_dir: Path, username: str) -> None:
    """What ``cmd_user_reset`` does, on a connection of its own."""
    db = Database(default_url(data_dir))
    try:
        with db.transaction() as session:
            accounts.set_password(
                session, username, "a-fresh-password-42", actor=SYSTEM, now=SystemClock().now()
            )
    finally:
        db.close()


async def test_a_password_reset_on_the_command_line_closes_sockets_within_the_cache_time(
    floki: Floki,
) -> None:
    """``floki-core user reset-password`` runs in another process, on its own connection
    to the database (as here): no cache is cleared in the appliance, so the socket's
    token is checked again once the token cache's time has passed."""
    ws, _ = await _viewer_socket(floki)
    try:
        await _still_listening(floki, ws)
        await asyncio.to_thread(_reset_password_elsewhere, floki.core.data_dir, "test-viewer")
        floki.advance(floki.client.app[TOKENS].ttl + 1)
        assert "no longer valid" in await _closed_for_policy(ws)
    finally:
        await ws.close()


async def test_a_session_that_expires_closes_its_socket(floki: Floki) -> None:
    await floki.token_for("viewer")
    login = await floki.client.post(
        "/api/v1/auth/login", json={"username": "test-viewer", "password": TEST_PASSWORD}
    )
    ws = await floki.client.ws_connect(EVENTS, headers=floki.auth((await login.json())["token"]))
    try:
        await _still_listening(floki, ws)
        floki.advance(floki.core.config.security.session_hours * 3600 + 1)
        assert "no longer valid" in await _closed_for_policy(ws)
    finally:
        await ws.close()
