"""The restore drill: a backup taken from a real ``floki-core serve`` while writes and
ingest run, restored into another data directory, holds every write acknowledged before
the backup began, and the restored appliance serves.

A restore into the running appliance's own data directory is refused.
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from floki_core.testing import Floki
from tests.reliability.appliance import (
    ADMIN_PASSWORD,
    Client,
    cli,
    copy_data_dir,
    serve,
    serving,
)
from tests.reliability.test_kill9 import build_ward, sightings

pytestmark = pytest.mark.asyncio


async def test_a_backup_under_live_writes_restores_every_acknowledged_write(
    initialised: Path, tmp_path: Path
) -> None:
    data_dir = copy_data_dir(initialised, tmp_path / "var")
    async with serving(data_dir) as served:
        anonymous = Client(served, "")
        login = {"username": "admin", "password": ADMIN_PASSWORD}
        status, session = await anonymous.call("POST", "/api/v1/auth/login", json=login)
        await anonymous.close()
        assert status == 200, session
        admin = Client(served, session["token"])
        status, device = await admin.call(
            "POST", "/api/v1/tokens", json={"name": "ward gateway", "device": True}
        )
        assert status == 201, device
        gateway = Client(served, device["token"])
        ward = await build_ward(admin, assets=4)
        changes: list[dict[str, Any]] = []
        added: list[dict[str, Any]] = []
        stop = asyncio.Event()

        async def toggle(asset: int) -> None:
            state = "dirty"
            while not stop.is_set():
                status, body = await admin.call(
                    "POST", f"/api/v1/assets/{asset}/state", json={"state": state}
                )
                assert status == 200, body
                changes.append(body)
                state = "available" if state == "dirty" else "dirty"

        async def register_edits() -> None:
            n = 0
            while not stop.is_set():
                body = {"asset_number": f"NEW{n:04d}", "home_zone_id": ward.zones[1]}
                status, created = await admin.call("POST", "/api/v1/assets", json=body)
                assert status == 201, created
                added.append(created)
                n += 1

        async def ingest() -> None:
            n = 0
            while not stop.is_set():
                observations = sightings(ward, n)
                with contextlib.suppress(aiohttp.ClientError):
                    status, body = await gateway.call(
                        "POST", "/api/v1/ingest", json={"observations": observations}
                    )
                    assert status == 202, body
                n += 1
                await asyncio.sleep(0.01)

        workers = [asyncio.create_task(toggle(a)) for a in ward.assets]
        workers += [asyncio.create_task(register_edits()), asyncio.create_task(ingest())]
        try:
            await Floki.eventually(lambda: len(changes) >= 40 and len(added) >= 5, "writes")
            before_changes, before_added = list(changes), list(added)
            archive = tmp_path / "drill.tar.gz"
            # A restore into the running appliance, tried meanwhile, is refused.
            taken, refused = await asyncio.gather(
                cli("backup", "--out", archive, "--data-dir", data_dir),
                cli("restore", initialised / "missing.tgz", "--data-dir", data_dir),
            )
            assert taken.code == 0, taken.err
            after = len(changes) - len(before_changes)
        finally:
            stop.set()
            await asyncio.gather(*workers)
            await gateway.close()
        print(f"\nbacked up under load: {len(before_changes)} changes before, {after} during")

        assert refused.code == 1 and "is running" in refused.err, refused.err
        assert refused.err.count("\n") == 1
        await admin.close()

    elsewhere = tmp_path / "elsewhere" / "var"
    restored = await cli("restore", archive, "--data-dir", elsewhere)
    assert restored.code == 0, restored.err
    second = await serve(elsewhere)  # answers GET /api/v1/health
    try:
        # The administrator's session began before the backup: it is restored with it.
        token = admin.headers["Authorization"].removeprefix("Bearer ")
        admin = Client(second, token)
        try:
            for asset in ward.assets:
                status, history = await admin.call(
                    "GET", f"/api/v1/assets/{asset}/states", params={"limit": "500"}
                )
                assert status == 200, history
                kept = {change["id"] for change in history["items"]}
                mine = {c["id"] for c in before_changes if c["asset_id"] == asset}
                assert mine <= kept, f"asset {asset} lost acknowledged state changes"
            for created in before_added:
                status, found = await admin.call("GET", f"/api/v1/assets/{created['id']}")
                assert status == 200, f"asset {created['asset_number']} lost"
                assert found["asset_number"] == created["asset_number"]
        finally:
            await admin.close()
    finally:
        await second.stop()
