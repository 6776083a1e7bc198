"""Phone pages: what an asset's page shows, safely, and who may do what on it."""

from __future__ import annotations

import html

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

NASTY = '<script>alert("x")</script><img src=x onerror=alert(1)> & "quotes"'


async def _asset(floki: Floki, asset_id: int) -> dict[str, object]:
    resp = await floki.client.get(f"/api/v1/assets/{asset_id}", headers=await floki.headers())
    found: dict[str, object] = await resp.json()
    return found


async def test_the_asset_page_says_what_it_is_its_state_where_and_ppm_due(
    floki: Floki, department: Department
) -> None:
    await place(floki, department, department.pump, department.bay)
    floki.advance(240)
    await sign_in(floki, STAFF)
    text = await (await floki.client.get(department.label(department.pump))).text()
    assert "E10001" in text and "Volumetric infusion pump" in text and "Infusion pump" in text
    assert "Available (clean, ready)" in text
    assert " \u203a ".join(["General Hospital", "Ward 5", "Ward 5 Bay 1"]) in text
    assert "by label scan, high confidence, seen 4 min ago" in text
    assert "01 Mar 2026" in text
    assert "may have moved since" not in text


async def test_an_old_location_is_shown_as_the_last_known_one(
    floki: Floki, department: Department
) -> None:
    await place(floki, department, department.pump, department.bay)
    floki.advance(3 * 3600)
    await sign_in(floki, STAFF)
    text = await (await floki.client.get(department.label(department.pump))).text()
    assert "Last seen 3 h ago: it may have moved since." in text


async def test_an_overdue_ppm_is_never_shown_as_available(
    floki: Floki, department: Department
) -> None:
    floki.advance(60 * 86400)  # 6 March: past the 1 March due date
    await sign_in(floki, STAFF)
    text = await (await floki.client.get(department.label(department.pump))).text()
    assert "PPM overdue (not available)" in text
    assert "01 Mar 2026 — overdue" in text
    assert "Available (clean, ready)" not in text


async def test_user_text_is_shown_as_text_never_as_markup(
    floki: Floki, department: Department
) -> None:
    headers = await floki.headers()
    resp = await floki.client.patch(
        f"/api/v1/assets/{department.pump}", json={"description": NASTY}, headers=headers
    )
    assert resp.status == 200
    resp = await floki.client.patch(
        f"/api/v1/zones/{department.bay}", json={"name": "Bay <b>1</b>"}, headers=headers
    )
    assert resp.status == 200
    await floki.core.locations.reindex()
    await place(floki, department, department.pump, department.bay)
    await sign_in(floki, STAFF)
    fault = await floki.client.get(department.label(department.pump))
    text = await fault.text()
    assert "<script>alert" not in text and "<img src=x" not in text and "<b>1</b>" not in text
    assert html.escape(NASTY) in text
    assert "Bay &lt;b&gt;1&lt;/b&gt;" in text

    location = await floki.client.get(department.label(department.bay, zone=True))
    text = await location.text()
    assert "<b>1</b>" not in text and "<script>alert" not in text
    assert html.escape(NASTY) in text


async def test_an_unknown_label_is_404_with_what_to_do(
    floki: Floki, department: Department
) -> None:
    await sign_in(floki, STAFF)
    resp = await floki.client.get("/q/ZZZZ9999")
    assert resp.status == 404
    text = await resp.text()
    assert "no asset or location has the label code ZZZZ9999" in text
    assert "tell Clinical Engineering" in text
    assert resp.headers["Content-Security-Policy"].startswith("default-src 'self'")


async def test_a_damaged_label_can_be_opened_by_typing_its_number(
    floki: Floki, department: Department
) -> None:
    await sign_in(floki, STAFF)
    home = await floki.client.get("/phone")
    assert "Type its code or the asset number" in await home.text()
    found = await floki.client.get("/phone/find", params={"code": "e10001"})
    assert "Volumetric infusion pump" in await found.text()
    zone = await floki.client.get(
        "/phone/find", params={"code": department.zone_codes[department.ward]}
    )
    assert "<h1>Ward 5</h1>" in await zone.text()
    missing = await floki.client.get("/phone/find", params={"code": "X-404"})
    assert missing.status == 404


async def test_gs1_digital_links_open_the_same_pages(floki: Floki, department: Department) -> None:
    headers = await floki.headers()
    await floki.client.patch(
        f"/api/v1/assets/{department.pump}", json={"giai": "501234500001"}, headers=headers
    )
    await floki.client.patch(
        f"/api/v1/zones/{department.ward}", json={"gln": "5012345000008"}, headers=headers
    )
    await sign_in(floki, STAFF)
    asset = await floki.client.get("/8004/501234500001")
    assert asset.status == 200
    assert "Volumetric infusion pump" in await asset.text()
    ward = await floki.client.get("/414/5012345000008")
    assert ward.status == 200
    assert "<h1>Ward 5</h1>" in await ward.text()
    wrong = await floki.client.get("/414/5012345000004")
    assert wrong.status == 400
    assert "check digit" in await wrong.text()


async def test_a_viewer_sees_the_asset_but_no_actions_and_may_not_post(
    floki: Floki, department: Department
) -> None:
    token = await sign_in(floki, VIEWER)
    text = await (await floki.client.get(department.label(department.pump))).text()
    assert "you can look, but changes need a staff account" in text
    assert "It's dirty" not in html.unescape(text) and "/state" not in text
    resp = await floki.client.post(
        f"/phone/assets/{department.pump}/state", data={"to": "dirty", "csrf": token}
    )
    assert resp.status == 403
    assert "This needs the staff role; you are signed in as viewer." in await resp.text()
    assert (await _asset(floki, department.pump))["state"] == "available"


async def test_staff_see_the_ward_actions_and_engineers_also_ppm_done(
    floki: Floki, department: Department
) -> None:
    await sign_in(floki, STAFF)
    staff = html.unescape(await (await floki.client.get(department.label(department.pump))).text())
    for action in ("It's here", "It's dirty", "It's faulty", "Loan out"):
        assert action in staff
    assert "PPM done" not in staff
    await sign_in(floki, ENGINEER)
    engineer = await (await floki.client.get(department.label(department.pump))).text()
    assert "PPM done" in engineer


async def test_marking_dirty_then_clean_is_recorded_with_the_user(
    floki: Floki, department: Department
) -> None:
    token = await sign_in(floki, STAFF)
    action = f"/phone/assets/{department.pump}/state"
    resp = await floki.client.post(action, data={"to": "dirty", "csrf": token})
    text = await resp.text()
    assert resp.status == 200 and resp.url.path == f"/phone/assets/{department.pump}"
    assert "Marked as awaiting decontamination." in text
    assert 'data-state="dirty"' in text
    assert '<strong>Awaiting decontamination</strong> by <span class="actor">nurse.jones' in text
    resp = await floki.client.post(action, data={"to": "available", "csrf": token})
    assert "Marked as clean and ready." in await resp.text()
    audit = await floki.client.get(
        "/api/v1/audit",
        params={"entity": "assets", "entity_id": str(department.pump)},
        headers=await floki.headers(),
    )
    entries = [e for e in (await audit.json())["items"] if "(phone)" in e["detail"]]
    assert [(e["actor"], e["before"]["state"], e["after"]["state"]) for e in entries] == [
        (STAFF, "dirty", "available"),
        (STAFF, "available", "dirty"),
    ]


async def test_a_fault_needs_a_short_note(floki: Floki, department: Department) -> None:
    token = await sign_in(floki, STAFF)
    action = f"/phone/assets/{department.pump}/state"
    resp = await floki.client.post(action, data={"to": "faulty", "csrf": token})
    assert resp.status == 422
    assert "say briefly what is wrong" in await resp.text()
    resp = await floki.client.post(
        action, data={"to": "faulty", "note": "Door latch broken", "csrf": token}
    )
    assert "Marked as faulty: Door latch broken" in await resp.text()
    assert (await _asset(floki, department.pump))["state"] == "faulty"


async def test_a_move_the_state_table_refuses_is_explained_on_the_page(
    floki: Floki, department: Department
) -> None:
    token = await sign_in(floki, STAFF)
    action = f"/phone/assets/{department.pump}/state"
    await floki.client.post(action, data={"to": "faulty", "note": "No power", "csrf": token})
    resp = await floki.client.post(action, data={"to": "available", "csrf": token})
    assert resp.status == 403
    assert "needs the engineer role" in await resp.text()
    await floki.client.post(
        f"/phone/assets/{department.driver}/state", data={"to": "dirty", "csrf": token}
    )
    again = await floki.client.post(
        f"/phone/assets/{department.driver}/state", data={"to": "dirty", "csrf": token}
    )
    assert again.status == 409
    text = await again.text()
    assert "Not done: the asset is already dirty" in text
    assert "C20001" in text  # the asset page, with its actions, not a dead end
    unknown = await floki.client.post(action, data={"to": "condemned", "csrf": token})
    assert unknown.status == 422
