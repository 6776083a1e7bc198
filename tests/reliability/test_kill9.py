"""kill -9 of a real ``floki-core serve``: what it acknowledged as done is there after
the restart, and it is serving again at once.

Acknowledged as done: every state change answered 2xx (with its audit entry), and
every "it's here" a phone page answered. Not promised: an ingest batch answered 202 is
queued, not yet applied (docs/operations.md); the gateway's next batches carry on.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from tests.reliability.appliance import Client, Served, cli, init_data_dir, serve

STAFF, STAFF_PASSWORD = "nurse.jones", "nurse-jones-Passw0rd"
_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


@dataclass
class Ward:
    zones: list[int]
    assets: list[int]
    tags: list[str]
    gateways: list[str]


async def build_ward(admin: Client, assets: int = 6) -> Ward:
    async def post(path: str, body: dict[str, Any]) -> int:
        status, created = await admin.call("POST", f"/api/v1/{path}", json=body)
        assert status == 201, created
        return int(created["id"])

    site = await post("sites", {"name": "General Hospital"})
    zones = [
        await post("zones", {"site_id": site, "name": name, "type": "ward"})
        for name in ("Ward 5", "Ward 6")
    ]
    gateways = [f"AC:23:3F:00:00:0{i}" for i in range(len(zones))]
    for zone, gateway in zip(zones, gateways, strict=True):
        body = {"name": f"gw {gateway}", "technology": "ble", "identifier": gateway}
        await post("receivers", {**body, "zone_id": zone})
    ids, tags = [], []
    for n in range(assets):
        asset = await post("assets", {"asset_number": f"P{n:03d}", "home_zone_id": zones[0]})
        tag = f"C3:00:00:00:00:{n:02X}"
        await post("identifiers", {"asset_id": asset, "technology": "ble", "value": tag})
        ids.append(asset)
        tags.append(tag)
    return Ward(zones, ids, tags, gateways)


@contextlib.asynccontextmanager
async def appliance(tmp_path: Path) -> AsyncIterator[tuple[Served, Client]]:
    data_dir = await init_data_dir(tmp_path / "var")
    served = await serve(data_dir)
    admin = await Client.admin(served)
    try:
        yield served, admin
    finally:
        await admin.close()
        await served.stop()


async def restart_after_kill(served: Served) -> tuple[Served, float]:
    """kill -9, then serve the same data directory again: (served, seconds to answer)."""
    served.kill9()
    await served.proc.wait()
    again = await serve(served.data_dir, port=served.port)
    print(f"\nserving again {again.started_in:.2f} s after kill -9")
    return again, again.started_in


async def test_state_changes_acknowledged_during_ingest_survive_kill_9(tmp_path: Path) -> None:
    async with appliance(tmp_path) as (served, admin):
        ward = await build_ward(admin)
        device = await cli(
            "token", "create", "--user", "admin", "--device", "--data-dir", served.data_dir
        )
        assert device.code == 0, device.err
        gateway = Client(served, device.out.strip())
        acknowledged: list[dict[str, Any]] = []
        queued = 0
        stop = asyncio.Event()

        async def toggle(asset: int) -> None:
            state = "dirty"
            while not stop.is_set():
                with contextlib.suppress(aiohttp.ClientError):
                    status, body = await admin.call(
                        "POST", f"/api/v1/assets/{asset}/state", json={"state": state}
                    )
                    assert status in (200, 201), body
                    acknowledged.append(body)
                    state = "available" if state == "dirty" else "dirty"

        async def ingest() -> None:
            nonlocal queued
            n = 0
            while not stop.is_set():
                now = dt.datetime.now(dt.UTC).isoformat()
                observations = [
                    {
                        "technology": "ble",
                        "tag": tag,
                        "receiver": ward.gateways[(n + i) % 2],
                        "rssi": -50.0 - (n + i) % 7,
                        "observed_at": now,
                    }
                    for i, tag in enumerate(ward.tags)
                ]
                with contextlib.suppress(aiohttp.ClientError):
                    status, body = await gateway.call(
                        "POST", "/api/v1/ingest", json={"observations": observations}
                    )
                    assert status == 202, body  # queued: not a promise that it is applied
                    queued += len(observations)
                n += 1
                await asyncio.sleep(0.01)

        workers = [asyncio.create_task(toggle(a)) for a in ward.assets]
        workers.append(asyncio.create_task(ingest()))
        while len(acknowledged) < 60:
            await asyncio.sleep(0.05)
        served.kill9()  # in the middle of it all
        stop.set()
        await asyncio.gather(*workers)
        await gateway.close()

        served, _ = await restart_after_kill(served)
        admin = Client(served, admin.headers["Authorization"].removeprefix("Bearer "))
        try:
            for asset in ward.assets:
                status, history = await admin.call(
                    "GET", f"/api/v1/assets/{asset}/states", params={"limit": "500"}
                )
                assert status == 200, history
                kept = {change["id"] for change in history["items"]}
                mine = [c for c in acknowledged if c["asset_id"] == asset]
                assert {c["id"] for c in mine} <= kept, f"asset {asset} lost a state change"
                status, audit = await admin.call(
                    "GET",
                    "/api/v1/audit",
                    params={"entity": "assets", "entity_id": str(asset), "limit": "500"},
                )
                stated = [e for e in audit["items"] if e["detail"].startswith("state ")]
                assert len(stated) >= len(mine), f"asset {asset} lost audit entries"
            assert queued > 0
            # Ingest goes on after the restart.
            status, body = await admin.call("GET", "/api/v1/health")
            assert status == 200, body
        finally:
            await admin.close()
            await served.stop()


async def phone_session(served: Served) -> tuple[aiohttp.ClientSession, str]:
    """A phone signed in to the pages as a member of staff; returns it and its form token."""
    phone = aiohttp.ClientSession(base_url=served.base, cookie_jar=aiohttp.CookieJar(unsafe=True))
    async with phone.get("/phone/login") as resp:
        token = _CSRF.search(await resp.text())
    assert token is not None
    form = {"csrf": token.group(1), "username": STAFF, "password": STAFF_PASSWORD}
    async with phone.post("/phone/login", data=form, allow_redirects=False) as resp:
        assert resp.status == 303, await resp.text()
    async with phone.get("/phone") as resp:
        token = _CSRF.search(await resp.text())
    assert token is not None
    return phone, token.group(1)


async def test_an_its_here_the_phone_page_answered_survives_kill_9(tmp_path: Path) -> None:
    async with appliance(tmp_path) as (served, admin):
        ward = await build_ward(admin, assets=1)
        [pump] = ward.assets
        body = {"username": STAFF, "role": "staff", "password": STAFF_PASSWORD}
        status, created = await admin.call("POST", "/api/v1/users", json=body)
        assert status == 201, created
        phone, token = await phone_session(served)
        try:
            for zone in (ward.zones[0], ward.zones[1]):
                async with phone.post(
                    f"/phone/assets/{pump}/here",
                    data={"zone_id": str(zone), "csrf": token},
                    allow_redirects=False,
                ) as resp:
                    assert resp.status == 303, await resp.text()  # done: back to the asset
            served.kill9()  # right after the page said it was done
        finally:
            await phone.close()

        served, _ = await restart_after_kill(served)
        admin = Client(served, admin.headers["Authorization"].removeprefix("Bearer "))
        try:
            status, where = await admin.call("GET", f"/api/v1/assets/{pump}/location")
            assert status == 200, where
            assert where.get("zone", {}).get("id") == ward.zones[1], where
            status, audit = await admin.call(
                "GET", "/api/v1/audit", params={"action": "confirm_location"}
            )
            assert [e["actor"] for e in audit["items"]] == [STAFF, STAFF]
        finally:
            await admin.close()
            await served.stop()
