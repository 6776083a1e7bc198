"""Every way a scan reaches an asset reads GS1 strictly and shows the user the reason:
a code typed on the phone, a Digital Link label the camera opens, the workshop desk's
scanner. An over-long GIAI never opens, moves or checks in the asset whose GIAI is its
first 30 characters (hazard H11 in docs/safety/hazard-log.md)."""

from __future__ import annotations

from typing import Any

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
GIAI_30 = "501234500000000000000000000001"  # the pump's: as long as a GIAI may be
GIAI_34 = GIAI_30 + "1001"  # begins with the pump's GIAI: another asset, or none
TOO_LONG = "(8004) GIAI is 34 characters; at most 30"


async def _pump_has_the_long_giai(floki: Floki, department: Department) -> None:
    resp = await floki.client.patch(
        f"/api/v1/assets/{department.pump}", json={"giai": GIAI_30}, headers=await floki.headers()
    )
    assert resp.status == 200, await resp.text()


async def _zone_of(floki: Floki, asset_id: int) -> int | None:
    resp = await floki.client.get(
        f"/api/v1/assets/{asset_id}/location", headers=await floki.headers()
    )
    found: dict[str, Any] = await resp.json()
    zone = found.get("zone")
    return None if zone is None else int(zone["id"])


async def _state(floki: Floki, asset_id: int) -> str:
    resp = await floki.client.get(f"/api/v1/assets/{asset_id}", headers=await floki.headers())
    state: str = (await resp.json())["state"]
    return state


async def test_the_phone_refuses_an_over_long_giai_and_moves_nothing(
    floki: Floki, department: Department
) -> None:
    await _pump_has_the_long_giai(floki, department)
    await place(floki, department, department.pump, department.ward)
    await sign_in(floki, STAFF)
    for typed in (f"(8004){GIAI_34}", f"(8004) {GIAI_34}", f"8004{GIAI_34}{GS}"):
        found = await floki.client.get("/phone/find", params={"code": typed})
        text = await found.text()
        assert found.status == 400, typed
        assert TOO_LONG in text and "Volumetric infusion pump" not in text
    link = await floki.client.get(f"/8004/{GIAI_34}")  # a GS1 Digital Link label
    assert link.status == 400
    assert TOO_LONG in await link.text()
    # Nothing was armed: the location label scanned next moves no asset.
    after = await floki.client.get(department.label(department.dirty_utility, zone=True))
    assert "Moved" not in await after.text()
    assert await _zone_of(floki, department.pump) == department.ward
    # The pump's own GIAI still opens its page.
    own = await floki.client.get(f"/8004/{GIAI_30}")
    assert own.status == 200
    assert "Volumetric infusion pump" in await own.text()


async def _desk_scan(floki: Floki, token: str, code: str) -> tuple[int, dict[str, Any]]:
    resp = await floki.client.post(
        "/workshop/scan",
        data={"csrf": token, "mode": "check_in", "code": code},
        headers={"Accept": "application/json"},
    )
    found: dict[str, Any] = await resp.json()
    return resp.status, found


async def test_the_workshop_desk_refuses_an_over_long_giai_and_checks_nothing_in(
    floki: Floki, department: Department
) -> None:
    await _pump_has_the_long_giai(floki, department)
    token = await sign_in(floki, ENGINEER)
    for code in (f"]C18004{GIAI_34}", f"(8004){GIAI_34}", f"{GS}8004{GIAI_34}{GS}"):
        status, entry = await _desk_scan(floki, token, code)
        assert (status, entry["ok"], entry["message"]) == (422, False, TOO_LONG), code
    assert await _state(floki, department.pump) == "available"
    # With separators before and after, as a desk scanner sends FNC1: the pump.
    status, entry = await _desk_scan(floki, token, f"{GS}8004{GIAI_30}{GS}\r\n")
    assert (status, entry["ok"]) == (200, True), entry
    assert await _state(floki, department.pump) == "in_maintenance"


async def test_a_trailing_separator_typed_into_find_keeps_the_scan_gs1(
    floki: Floki, department: Department
) -> None:
    # An asset numbered like a GS1 batch: "10023<GS>" is batch 10023, not this asset.
    resp = await floki.client.post(
        "/api/v1/assets",
        json={"asset_number": "10023", "description": "Hoist 10023"},
        headers=await floki.headers(),
    )
    assert resp.status == 201, await resp.text()
    await sign_in(floki, STAFF)
    found = await floki.client.get("/phone/find", params={"code": f"10023{GS}"})
    assert found.status == 400
    assert "Hoist 10023" not in await found.text()
    plain = await floki.client.get("/phone/find", params={"code": " 10023 "})
    assert plain.status == 200
    assert "Hoist 10023" in await plain.text()


GTIN = "05012345678900"
GIAI_PUMP = "50123456"
TWO_KEYS = (
    f"(01){GTIN}(21)SN9(8004){GIAI_PUMP}",  # the driver's UDI and the pump's GIAI
    f"]d201{GTIN}21SN9{GS}8004{GIAI_PUMP}",
    f"https://id.gs1.org/01/{GTIN}/21/SN9?8004={GIAI_PUMP}",  # a key in the query string
)
JOINED = ("(8004)5012 3456", f"(8004)5012{GS}3456")  # once read as the pump's GIAI


async def _pump_has_a_giai_and_the_driver_a_udi(floki: Floki, department: Department) -> None:
    headers = await floki.headers()
    resp = await floki.client.patch(
        f"/api/v1/assets/{department.pump}", json={"giai": GIAI_PUMP}, headers=headers
    )
    assert resp.status == 200, await resp.text()
    udi = {"asset_id": department.driver, "technology": "udi", "value": f"(01){GTIN}(21)SN9"}
    resp = await floki.client.post("/api/v1/identifiers", json=udi, headers=headers)
    assert resp.status == 201, await resp.text()


async def test_the_phone_refuses_a_code_naming_two_assets_or_joining_fields_and_moves_nothing(
    floki: Floki, department: Department
) -> None:
    await _pump_has_a_giai_and_the_driver_a_udi(floki, department)
    await place(floki, department, department.pump, department.ward)
    await place(floki, department, department.driver, department.store)
    await sign_in(floki, STAFF)
    for typed in (*TWO_KEYS, *JOINED):
        found = await floki.client.get("/phone/find", params={"code": typed})
        text = await found.text()
        assert found.status == 400, (typed, text)
        assert "Volumetric infusion pump" not in text and "Syringe driver" not in text, typed
    found = await floki.client.get("/phone/find", params={"code": TWO_KEYS[0]})
    assert "the code carries GIAI 50123456 (asset E10001) and UDI" in await found.text()
    # The same Digital Link opened as a label by the phone's camera: its query is read too.
    opened = await floki.client.get(f"/8004/{GIAI_PUMP}", params={"01": GTIN, "21": "SN9"})
    text = await opened.text()
    assert opened.status == 400, text
    assert "Volumetric infusion pump" not in text and "not the query string" in text
    # Nothing was armed: the location label scanned next moves no asset.
    after = await floki.client.get(department.label(department.dirty_utility, zone=True))
    assert "Moved" not in await after.text()
    assert await _zone_of(floki, department.pump) == department.ward
    assert await _zone_of(floki, department.driver) == department.store


async def test_the_workshop_desk_refuses_a_code_naming_two_assets_or_joining_fields(
    floki: Floki, department: Department
) -> None:
    await _pump_has_a_giai_and_the_driver_a_udi(floki, department)
    token = await sign_in(floki, ENGINEER)
    for code in (*TWO_KEYS, *JOINED):
        status, entry = await _desk_scan(floki, token, code)
        assert (status, entry["ok"], entry["asset"]) == (422, False, ""), (code, entry)
    assert entry["message"].startswith("(8004) GIAI has a GS separator at character 5")
    assert await _state(floki, department.pump) == "available"
    assert await _state(floki, department.driver) == "available"
    # Each key alone names its asset.
    status, entry = await _desk_scan(floki, token, f"(8004){GIAI_PUMP}")
    assert (status, entry["ok"]) == (200, True), entry
    assert await _state(floki, department.pump) == "in_maintenance"
