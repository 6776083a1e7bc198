"""Phone pages: recording where an asset is (two scans, a zone picked, a position shared),
loans out and back, and PPM done."""

from __future__ import annotations

import html
from typing import Any

from floki_core.testing import Floki
from tests.plugins.qr.pages_fixtures import (  # noqa: F401  (fixtures are found by name)
    ENGINEER,
    STAFF,
    VIEWER,
    Department,
    department_fixture,
    place,
    sign_in,
)


async def _location(floki: Floki, asset_id: int) -> dict[str, Any]:
    resp = await floki.client.get(
        f"/api/v1/assets/{asset_id}/location", headers=await floki.headers()
    )
    found: dict[str, Any] = await resp.json()
    return found


async def test_two_scans_move_the_asset_without_typing(
    floki: Floki, department: Department
) -> None:
    await place(floki, department, department.pump, department.ward)
    await sign_in(floki, STAFF)
    asset = await floki.client.get(department.label(department.pump))
    assert "Scan the location label where it is now within 2 minutes" in await asset.text()
    floki.advance(30)
    moved = await floki.client.get(department.label(department.dirty_utility, zone=True))
    text = await moved.text()
    assert "Moved E10001 to Ward 5 dirty utility." in text
    assert f'href="/phone/assets/{department.pump}"' in text
    where = await _location(floki, department.pump)
    assert where["zone"]["id"] == department.dirty_utility
    assert where["method"] == "fixed_point"
    assert where["confidence"] >= 0.9
    assert "E10001" in text.split("Here now")[1]  # listed among what is there now
    audit = await floki.client.get(
        "/api/v1/audit", params={"action": "confirm_location"}, headers=await floki.headers()
    )
    [entry] = (await audit.json())["items"]
    assert entry["actor"] == STAFF
    assert entry["detail"].startswith("in Ward 5 dirty utility (label scan")

    # The scan was used up: the next location label only shows that place.
    again = await floki.client.get(department.label(department.bay, zone=True))
    assert "Moved" not in await again.text()
    assert (await _location(floki, department.pump))["zone"]["id"] == department.dirty_utility


async def test_a_location_scanned_after_the_window_moves_nothing(
    floki: Floki, department: Department
) -> None:
    await place(floki, department, department.pump, department.ward)
    await sign_in(floki, STAFF)
    await floki.client.get(department.label(department.pump))
    floki.advance(121)
    page = await floki.client.get(department.label(department.bay, zone=True))
    text = await page.text()
    assert "Moved" not in text
    assert "scan the device's label, then this label" in text
    assert (await _location(floki, department.pump))["zone"]["id"] == department.ward


async def test_a_viewer_scanning_two_labels_moves_nothing(
    floki: Floki, department: Department
) -> None:
    await place(floki, department, department.pump, department.ward)
    await sign_in(floki, VIEWER)
    await floki.client.get(department.label(department.pump))
    page = await floki.client.get(department.label(department.bay, zone=True))
    assert "Moved" not in await page.text()
    assert (await _location(floki, department.pump))["zone"]["id"] == department.ward


async def test_its_here_offers_nearby_zones_and_records_the_one_picked(
    floki: Floki, department: Department
) -> None:
    await place(floki, department, department.pump, department.bay)
    token = await sign_in(floki, STAFF)
    text = await (await floki.client.get(f"/phone/assets/{department.pump}")).text()
    offered = text.split("Where is it now?")[1].split("</fieldset>")[0]
    for name in ("Ward 5", "Ward 5 Bay 1", "Ward 5 dirty utility"):
        assert f">{name}</label>" in offered
    assert "Northside community hub" not in offered  # another part of the trust
    resp = await floki.client.post(
        f"/phone/assets/{department.pump}/here",
        data={"zone_id": str(department.dirty_utility), "csrf": token},
    )
    assert "Moved E10001 to Ward 5 dirty utility." in await resp.text()
    assert (await _location(floki, department.pump))["zone"]["id"] == department.dirty_utility
    again = await floki.client.post(
        f"/phone/assets/{department.pump}/here",
        data={"zone_id": str(department.dirty_utility), "csrf": token},
    )
    assert "Confirmed E10001 in Ward 5 dirty utility." in await again.text()
    bad = await floki.client.post(
        f"/phone/assets/{department.pump}/here", data={"zone_id": "999", "csrf": token}
    )
    assert bad.status == 422
    assert "pick one of the zones in the list" in await bad.text()


async def test_a_shared_position_inside_the_hub_confirms_it_there(
    floki: Floki, department: Department
) -> None:
    await place(floki, department, department.driver, department.store)
    token = await sign_in(floki, STAFF)
    resp = await floki.client.post(
        f"/phone/assets/{department.driver}/position",
        data={"lat": "53.805", "lon": "-1.545", "accuracy": "15", "csrf": token},
    )
    shown = html.unescape(await resp.text())
    assert "From your phone's position: moved C20001 to Northside community hub." in shown
    where = await _location(floki, department.driver)
    assert where["zone"]["id"] == department.hub
    audit = await floki.client.get(
        "/api/v1/audit", params={"action": "confirm_location"}, headers=await floki.headers()
    )
    [entry] = (await audit.json())["items"]
    assert entry["detail"] == "in Northside community hub (phone position, within 15 m)"
    assert "53.8" not in str(entry)  # the coordinates are used, not kept


async def test_a_rough_or_outside_position_is_refused_with_the_way_on(
    floki: Floki, department: Department
) -> None:
    await place(floki, department, department.driver, department.store)
    token = await sign_in(floki, STAFF)
    action = f"/phone/assets/{department.driver}/position"
    rough = await floki.client.post(
        action, data={"lat": "53.805", "lon": "-1.545", "accuracy": "800", "csrf": token}
    )
    assert rough.status == 422
    assert "only good to 800 m" in await rough.text()
    outside = await floki.client.post(
        action, data={"lat": "51.5", "lon": "-0.12", "accuracy": "10", "csrf": token}
    )
    assert outside.status == 422
    assert "pick the zone from the list instead" in await outside.text()
    garbage = await floki.client.post(
        action, data={"lat": "north", "lon": "-0.12", "accuracy": "10", "csrf": token}
    )
    assert garbage.status == 422
    assert (await _location(floki, department.driver))["zone"]["id"] == department.store


async def test_loan_out_and_back(floki: Floki, department: Department) -> None:
    token = await sign_in(floki, STAFF)
    action = f"/phone/assets/{department.driver}"
    refused = await floki.client.post(
        f"{action}/loan",
        data={
            "reference": "John Smith",
            "destination_type": "home",
            "due_back": "2026-01-19",
            "csrf": token,
        },
    )
    assert refused.status == 422
    assert "please check the form" in await refused.text()
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
    assert "Loaned out under CL-2026-0042, due back 19 Jan 2026." in text
    assert 'data-state="on_loan"' in text
    assert "reference CL-2026-0042, due back 19 Jan 2026" in text
    resp = await floki.client.post(f"{action}/return", data={"state": "dirty", "csrf": token})
    text = await resp.text()
    assert "Return of loan CL-2026-0042 recorded." in text
    assert 'data-state="dirty"' in text
    not_on_loan = await floki.client.post(f"{action}/return", data={"csrf": token})
    assert not_on_loan.status == 422


async def test_an_engineer_records_ppm_done(floki: Floki, department: Department) -> None:
    token = await sign_in(floki, STAFF)
    staff = await floki.client.post(
        f"/phone/assets/{department.pump}/ppm", data={"outcome": "pass", "csrf": token}
    )
    assert staff.status == 403
    token = await sign_in(floki, ENGINEER)
    failed_without_note = await floki.client.post(
        f"/phone/assets/{department.pump}/ppm", data={"outcome": "fail", "csrf": token}
    )
    assert failed_without_note.status == 422
    resp = await floki.client.post(
        f"/phone/assets/{department.pump}/ppm",
        data={"outcome": "pass", "notes": "Electrical safety OK", "csrf": token},
    )
    text = await resp.text()
    assert "PPM recorded: passed. Next due" in text
    asset = await floki.client.get(
        f"/api/v1/assets/{department.pump}", headers=await floki.headers()
    )
    assert (await asset.json())["last_ppm"] == "2026-01-05"
    orders = await floki.client.get(
        "/api/v1/work-orders",
        params={"asset_id": str(department.pump)},
        headers=await floki.headers(),
    )
    [order] = (await orders.json())["items"]
    assert (order["status"], order["outcome"], order["completed_by"]) == (
        "completed",
        "pass",
        ENGINEER,
    )


async def test_ppm_done_for_an_asset_without_an_interval_needs_the_next_date(
    floki: Floki, department: Department
) -> None:
    token = await sign_in(floki, ENGINEER)
    action = f"/phone/assets/{department.driver}/ppm"
    refused = await floki.client.post(action, data={"outcome": "pass", "csrf": token})
    assert refused.status == 422
    assert "next_due" in await refused.text()
    orders = await floki.client.get(
        "/api/v1/work-orders",
        params={"asset_id": str(department.driver), "status": "open"},
        headers=await floki.headers(),
    )
    assert (await orders.json())["items"] == []  # nothing left open by the refusal
    resp = await floki.client.post(
        action, data={"outcome": "pass", "next_due": "2027-01-05", "csrf": token}
    )
    assert "Next due 05 Jan 2027." in await resp.text()
