"""The workshop scan page: check in, check out and book PPM from a desk scanner's input."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from floki_core.testing import Floki
from tests.plugins.qr.pages_fixtures import (  # noqa: F401  (fixtures are found by name)
    ENGINEER,
    STAFF,
    Department,
    department_fixture,
    place,
    sign_in,
)

GS = "\x1d"
UDI = "(01)05012345678900(21)SN123"
# What a desk scanner types for a GS1 DataMatrix on the device: symbology identifier,
# GTIN, serial, the FNC1 separator, then an expiry date the page does not need.
UDI_SCAN = "]d2" + "0105012345678900" + "21SN123" + GS + "17270101"


def _printed(path: str) -> str:
    """What a scanner reads off a Floki label: the whole URL."""
    return f"https://floki.hospital.example{path}"


async def _udi(floki: Floki, department: Department) -> None:
    resp = await floki.client.post(
        "/api/v1/identifiers",
        json={"asset_id": department.pump, "technology": "udi", "value": UDI},
        headers=await floki.headers(),
    )
    assert resp.status == 201, await resp.text()


async def _scan(floki: Floki, token: str, mode: str, code: str) -> dict[str, Any]:
    resp = await floki.client.post(
        "/workshop/scan",
        data={"csrf": token, "mode": mode, "code": code},
        headers={"Accept": "application/json"},
    )
    assert resp.headers["Content-Type"].startswith("application/json")
    found: dict[str, Any] = await resp.json()
    found["status"] = resp.status
    return found


async def _state(floki: Floki, asset_id: int) -> str:
    resp = await floki.client.get(f"/api/v1/assets/{asset_id}", headers=await floki.headers())
    state: str = (await resp.json())["state"]
    return state


async def test_only_engineers_open_the_workshop_page(floki: Floki, department: Department) -> None:
    await sign_in(floki, STAFF)
    resp = await floki.client.get("/workshop")
    assert resp.status == 403
    await sign_in(floki, ENGINEER)
    resp = await floki.client.get("/workshop")
    assert resp.status == 200
    text = await resp.text()
    assert 'id="scan-code"' in text and "autofocus" in text
    assert 'Desk location: <span id="desk-location">not set' in text


async def test_check_in_and_out_with_gs1_separators_and_a_desk_location(
    floki: Floki, department: Department
) -> None:
    await _udi(floki, department)
    await place(floki, department, department.pump, department.ward)
    token = await sign_in(floki, ENGINEER)
    desk_label = _printed(department.label(department.workshop, zone=True))
    desk = await _scan(floki, token, "check_in", desk_label)
    assert desk["ok"] and desk["message"] == "desk location set to CE workshop"

    checked_in = await _scan(floki, token, "check_in", UDI_SCAN)
    assert checked_in["ok"], checked_in
    assert checked_in["message"] == "checked in: in maintenance, at CE workshop"
    assert checked_in["code"] == "]d20105012345678900" + "21SN123<GS>17270101"
    assert checked_in["asset"] == "E10001 Volumetric infusion pump"
    assert await _state(floki, department.pump) == "in_maintenance"
    where = floki.core.locations.where_is(department.pump)
    assert where is not None and where["zone"]["id"] == department.workshop

    again = await _scan(floki, token, "check_in", UDI_SCAN)
    assert (again["ok"], again["status"]) == (False, 422)
    assert "already in_maintenance" in again["message"]

    out = await _scan(floki, token, "check_out", "E10001")
    assert out["ok"] and out["message"].startswith("checked out: available")
    assert await _state(floki, department.pump) == "available"

    page = await (await floki.client.get("/workshop")).text()
    log = page.split('id="scan-log"')[1]
    assert log.index("checked out: available") < log.index("checked in: in maintenance")
    assert "<GS>" not in log and "&lt;GS&gt;" in log
    assert 'value="check_out" checked' in page  # the mode stays as last used


async def test_a_code_the_register_does_not_know_is_logged_with_the_reason(
    floki: Floki, department: Department
) -> None:
    token = await sign_in(floki, ENGINEER)
    unknown = await _scan(floki, token, "check_in", "NOPE-404")
    assert unknown["ok"] is False
    assert "neither an asset number nor a label code" in unknown["message"]
    broken = await _scan(floki, token, "check_in", "]C1" + "0105012345678901" + "21X")
    assert broken["ok"] is False and "check digit" in broken["message"]


async def test_booking_ppm_raises_one_work_order(floki: Floki, department: Department) -> None:
    token = await sign_in(floki, ENGINEER)
    booked = await _scan(floki, token, "book_ppm", _printed(department.label(department.pump)))
    assert booked["ok"] and booked["message"].startswith("PPM work order ")
    twice = await _scan(floki, token, "book_ppm", _printed(department.label(department.pump)))
    assert twice["ok"] is False and "already open" in twice["message"]
    orders = await floki.client.get(
        "/api/v1/work-orders",
        params={"asset_id": str(department.pump), "status": "open"},
        headers=await floki.headers(),
    )
    [order] = (await orders.json())["items"]
    assert (order["kind"], order["created_by"]) == ("ppm", ENGINEER)


async def test_without_the_script_each_scan_is_a_plain_form_post(
    floki: Floki, department: Department
) -> None:
    token = await sign_in(floki, ENGINEER)
    resp = await floki.client.post(
        "/workshop/scan", data={"csrf": token, "mode": "check_in", "code": "E10001"}
    )
    assert resp.status == 200 and resp.url.path == "/workshop"
    assert "checked in: in maintenance" in await resp.text()


class TestDeskLocationFromSettings:
    @pytest.fixture
    def qr_settings(self) -> dict[str, Any]:
        return {"pages": {"workshop_location": "DESK-CODE"}}

    async def test_the_configured_desk_is_where_checked_in_equipment_is(
        self, floki: Floki, department: Department
    ) -> None:
        resp = await floki.client.post(
            "/api/v1/receivers",
            json={
                "name": "Workshop desk",
                "technology": "qr",
                "identifier": "DESK-CODE",
                "zone_id": department.workshop,
            },
            headers=await floki.headers(),
        )
        assert resp.status == 201
        await floki.core.locations.reindex()
        token = await sign_in(floki, ENGINEER)
        page = await (await floki.client.get("/workshop")).text()
        assert 'id="desk-location">CE workshop</span>' in page
        checked_in = await _scan(floki, token, "check_in", "E10001")
        assert checked_in["message"] == "checked in: in maintenance, at CE workshop"


def test_page_settings_refuse_nonsense() -> None:
    from floki_qr.pages import PageSettings

    with pytest.raises(msgspec.ValidationError):
        msgspec.convert({"session_idle_minutes": 0}, PageSettings)
    with pytest.raises(msgspec.ValidationError):
        msgspec.convert({"session_idle_minutes": 15, "color": "red"}, PageSettings)
