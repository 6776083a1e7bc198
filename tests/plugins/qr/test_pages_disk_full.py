"""Phone pages on a full disk: a page that says what happened, never JSON, never a
traceback; and a person's "it's here" that could not be saved says so, and is saved with
who said it once there is room."""

from __future__ import annotations

import html
from typing import Any

import pytest

from floki_core.testing import Floki
from tests.fixtures.full_disk import FullDisk
from tests.plugins.qr.pages_fixtures import (  # noqa: F401  (fixtures are found by name)
    STAFF,
    Department,
    csrf_in,
    department_fixture,
    place,
    sign_in,
)


async def _zone_of(floki: Floki, asset_id: int) -> int:
    resp = await floki.client.get(
        f"/api/v1/assets/{asset_id}/location", headers=await floki.headers()
    )
    found: dict[str, Any] = await resp.json()
    zone: int = found["zone"]["id"]
    return zone


async def _confirmations(floki: Floki) -> list[dict[str, Any]]:
    resp = await floki.client.get(
        "/api/v1/audit", params={"action": "confirm_location"}, headers=await floki.headers()
    )
    items: list[dict[str, Any]] = (await resp.json())["items"]
    return items


def _is_page(resp: Any, text: str) -> None:
    assert resp.status == 503, text
    assert resp.content_type == "text/html", resp.content_type
    assert resp.headers["Retry-After"] == "60"
    assert "<h1>Not saved</h1>" in text, text
    assert "disk is full" in text


async def test_its_here_on_a_full_disk_says_so_and_is_saved_with_who_when_there_is_room(
    floki: Floki, department: Department, monkeypatch: pytest.MonkeyPatch
) -> None:
    await place(floki, department, department.pump, department.ward)
    await floki.settle()
    token = await sign_in(floki, STAFF)
    disk = FullDisk(floki, monkeypatch)
    disk.full = True

    resp = await floki.client.post(
        f"/phone/assets/{department.pump}/here",
        data={"zone_id": str(department.dirty_utility), "csrf": token},
    )
    text = await resp.text()
    assert resp.status == 503 and resp.content_type == "text/html", text
    assert resp.headers["Retry-After"] == "60"
    notice = html.unescape(text)
    assert "Not saved: the appliance's disk is full" in notice
    assert "shown on the map now" in notice and "if the appliance restarts" in notice
    # What the page says is what happened: taken in, not yet saved, and no audit entry
    # the trail cannot hold yet.
    assert await _zone_of(floki, department.pump) == department.dirty_utility
    assert await _confirmations(floki) == []
    health = await (await floki.client.get("/api/v1/health")).json()
    assert health["status"] == "degraded"

    disk.full = False

    async def saved() -> bool:  # by the location writer, with no request to help it
        return bool(await _confirmations(floki))

    await floki.eventually(saved, "the confirmation to be saved")
    [entry] = await _confirmations(floki)
    assert entry["actor"] == STAFF
    assert entry["detail"].startswith("in Ward 5 dirty utility (zone picked")
    history = await floki.client.get(
        f"/api/v1/assets/{department.pump}/history", headers=await floki.headers()
    )
    zones = [stay["zone_id"] for stay in (await history.json())["items"]]
    assert department.dirty_utility in zones


async def test_a_phone_change_refused_by_a_full_disk_is_a_page_saying_nothing_changed(
    floki: Floki, department: Department, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = await sign_in(floki, STAFF)
    disk = FullDisk(floki, monkeypatch)
    disk.full = True
    action = f"/phone/assets/{department.driver}"
    resp = await floki.client.post(
        f"{action}/loan",
        data={
            "reference": "CL-2026-0042",
            "destination_type": "home",
            "due_back": "2026-01-19",
            "csrf": token,
        },
    )
    text = await resp.text()
    _is_page(resp, text)
    assert "Nothing was changed" in text

    disk.full = False
    page = await (await floki.client.get(action)).text()
    assert "CL-2026-0042" not in page
    assert 'data-state="on_loan"' not in page


async def test_signing_in_on_a_full_disk_is_a_page(
    floki: Floki, department: Department, monkeypatch: pytest.MonkeyPatch
) -> None:
    await sign_in(floki, STAFF)  # the user exists
    floki.client.session.cookie_jar.clear()
    form_page = await floki.client.get("/phone/login")
    form = {"csrf": csrf_in(await form_page.text()), "username": STAFF, "password": "x" * 12}
    disk = FullDisk(floki, monkeypatch)
    disk.full = True
    resp = await floki.client.post("/phone/login", data=form, allow_redirects=False)
    _is_page(resp, await resp.text())
