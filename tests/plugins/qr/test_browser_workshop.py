"""The workshop scan page in a real browser: a keyboard-wedge scanner types fast, sends
GS1 separators as Ctrl+], ends every code with Enter, and nothing is lost."""

from __future__ import annotations

from typing import Any

from playwright.async_api import expect

from floki_core.testing import Floki
from tests.plugins.qr.pages_fixtures import (  # noqa: F401  (fixtures are found by name)
    ENGINEER,
    Department,
    chromium_fixture,
    department_fixture,
    ensure_user,
    log_in_on_page,
)


async def _wedge(page: Any, code: str) -> None:
    """Type a scan as a keyboard-wedge scanner does: GS as Ctrl+], then Enter."""
    parts = code.split("\x1d")
    for i, part in enumerate(parts):
        if i:
            await page.keyboard.press("Control+BracketRight")
        await page.keyboard.type(part)
    await page.keyboard.press("Enter")


async def test_rapid_scans_with_gs1_separators_check_equipment_in(
    floki: Floki, department: Department, chromium: Any
) -> None:
    await ensure_user(floki, ENGINEER)
    resp = await floki.client.post(
        "/api/v1/identifiers",
        json={
            "asset_id": department.pump,
            "technology": "udi",
            "value": "(01)05012345678900(21)SN123",
        },
        headers=await floki.headers(),
    )
    assert resp.status == 201
    context = await chromium.new_context(
        viewport={"width": 1280, "height": 800},
        base_url=str(floki.client.make_url("/")).rstrip("/"),
    )
    page = await context.new_page()
    await page.goto("/workshop")
    await log_in_on_page(page, ENGINEER)
    await expect(page.get_by_label("Scan", exact=True)).to_be_focused()

    desk = f"https://floki.hospital.example{department.label(department.workshop, zone=True)}"
    # Back to back, as fast as the scanner types: no waiting between the scans.
    await _wedge(page, desk)
    await _wedge(page, "]d2" + "0105012345678900" + "21SN123" + "\x1d" + "17270101")
    await _wedge(page, "NOT-A-CODE")
    await _wedge(page, "C20001")

    log = page.locator("#scan-log li")
    await expect(log).to_have_count(4)
    await expect(log.nth(3)).to_contain_text("desk location set to CE workshop")
    await expect(log.nth(2)).to_contain_text("E10001 Volumetric infusion pump")
    await expect(log.nth(2)).to_contain_text("checked in: in maintenance, at CE workshop")
    await expect(log.nth(2)).to_contain_text("21SN123<GS>17270101")
    await expect(log.nth(1)).to_contain_text("neither an asset number nor a label code")
    await expect(log.nth(0)).to_contain_text("C20001 Syringe driver")
    await expect(page.locator("#desk-location")).to_have_text("CE workshop")
    await expect(page.get_by_label("Scan", exact=True)).to_be_focused()
    await expect(page.get_by_label("Scan", exact=True)).to_have_value("")

    for asset_id in (department.pump, department.driver):
        asset = await floki.client.get(f"/api/v1/assets/{asset_id}", headers=await floki.headers())
        assert (await asset.json())["state"] == "in_maintenance"

    # Book PPM: pick the mode once, then scan.
    await page.get_by_label("Book PPM").check()
    await page.get_by_label("Scan", exact=True).focus()
    await _wedge(page, "E10001")
    await expect(log.nth(0)).to_contain_text("PPM work order")
    await context.close()
