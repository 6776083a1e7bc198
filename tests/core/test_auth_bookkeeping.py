"""Checking a bearer token reads the database only: the last-used stamp is kept in memory,
coalesced per token and written in batches in the background (and on stop), so a long
write elsewhere never holds up an authenticated request."""

from __future__ import annotations

import asyncio
import datetime as dt
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy.exc import OperationalError

from floki_core.api import middleware
from floki_core.api.app import create_app
from floki_core.api.middleware import flush_token_stamps
from floki_core.clock import ManualClock
from floki_core.config import parse_config
from floki_core.core import Core
from floki_core.storage import accounts
from floki_core.storage.database import DB_FILE
from floki_core.testing import Floki

ME = "/api/v1/auth/me"


@contextmanager
def write_lock_held(data_dir: Path) -> Iterator[None]:
    """Another connection in the middle of a long write transaction (an import, say)."""
    conn = sqlite3.connect(data_dir / DB_FILE, timeout=0, isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("UPDATE sites SET name = name")
        yield
    finally:
        conn.execute("ROLLBACK")
        conn.close()


async def _last_used(floki: Floki, username: str) -> dt.datetime | None:
    users = {u.id: u.username for u in await floki.core.read(accounts.list_users)}
    (stamp,) = [
        t.last_used_at
        for t in await floki.core.read(accounts.list_tokens)
        if users[t.user_id] == username
    ]
    return stamp


async def test_an_authenticated_request_answers_while_another_writer_holds_the_lock(
    floki: Floki,
) -> None:
    headers = await floki.headers("viewer")  # a token this appliance has not checked yet
    with write_lock_held(floki.core.data_dir):
        me = await asyncio.wait_for(floki.client.get(ME, headers=headers), timeout=3)
        assert me.status == 200
        assert (await me.json())["username"] == "test-viewer"
        health = await asyncio.wait_for(
            floki.client.get("/api/v1/health", headers=headers), timeout=3
        )
        assert health.status == 200


async def test_last_used_stamps_are_coalesced_per_token_and_written_in_a_batch(
    floki: Floki,
) -> None:
    viewer = await floki.headers("viewer")
    assert (await floki.client.get(ME, headers=viewer)).status == 200
    floki.advance(30)
    assert (await floki.client.get(ME, headers=viewer)).status == 200
    used_at = floki.clock.now()
    assert await _last_used(floki, "test-viewer") is None  # not written on the request path
    await flush_token_stamps(floki.client.app)
    assert await _last_used(floki, "test-viewer") == used_at  # the latest use, once


async def test_a_failed_flush_fails_no_request_and_is_written_next_time(
    floki: Floki, monkeypatch: pytest.MonkeyPatch
) -> None:
    viewer = await floki.headers("viewer")
    real = accounts.record_token_use
    failures = 0

    def full_disk(session: Any, stamps: Any) -> None:
        nonlocal failures
        failures += 1
        raise OperationalError("UPDATE tokens", {}, sqlite3.OperationalError("disk is full"))

    monkeypatch.setattr(middleware, "record_token_use", full_disk)
    assert (await floki.client.get(ME, headers=viewer)).status == 200
    await flush_token_stamps(floki.client.app)
    assert failures == 1
    assert (await floki.client.get(ME, headers=viewer)).status == 200  # still answering

    monkeypatch.setattr(middleware, "record_token_use", real)
    await flush_token_stamps(floki.client.app)
    assert await _last_used(floki, "test-viewer") == floki.clock.now()


async def test_stamps_still_in_memory_are_written_when_the_appliance_stops(
    tmp_path: Path,
) -> None:
    clock = ManualClock(dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC))
    config = parse_config({"discovery": {"enabled": False}, "server": {"tls": False}})
    core = Core(tmp_path / "data", config, clock=clock)
    await core.start()
    try:
        floki_like = Floki(core, None, clock)  # type: ignore[arg-type]
        token = await floki_like.token_for("viewer")
        async with TestClient(TestServer(create_app(core))) as client:
            clock.advance(90)
            resp = await client.get(ME, headers=Floki.auth(token))
            assert resp.status == 200
        # The client is closed and the application cleaned up; the stamp is on disk.
        (stamp,) = [t.last_used_at for t in await core.read(accounts.list_tokens)]
        assert stamp == clock.now()
    finally:
        await core.stop()
