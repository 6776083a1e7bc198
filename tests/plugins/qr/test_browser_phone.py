"""A phone-sized headless Chromium (Debian's, driven by Playwright) completes the ward
flows against a running appliance: the page as a nurse's phone shows it."""

from __future__ import annotations

from typing import Any

from playwright.async_api import expect

from floki_core.testing import Floki
from tests.plugins.qr.pages_fixtures import (  # noqa: F401  (fixtures are found by name)
    INSIDE_HUB,
    STAFF,
    Department,
    chromium_fixture,
    department_fixture,
    ensure_user,
    log_in_on_page,
    phone_context,
    place,
)


async def _where(floki: Floki, asset_id: int) -> dict[str, Any]:
    resp = await floki.client.get(
        f"/api/v1/assets/{asset_id}/location", headers=await floki.headers()
    )
    found: dict[str, Any] = await resp.json()
    return found


async def test_open_a_label_log_in_and_mark_it_dirty(
    floki: Floki, department: Department, chromium: Any
) -> None:
    await ensure_user(floki, STAFF)
    context = await phone_context(chromium, floki)
    page = await context.new_page()
    await page.goto(department.label(department.pump))
    await expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    await log_in_on_page(page, STAFF)

    await expect(page.get_by_role("heading", level=1)).to_contain_text("E10001")
    await expect(page.locator("#asset-state")).to_have_text("Available (clean, ready)")
    await page.get_by_role("button", name="It's dirty").tap()

    await expect(page.get_by_role("status").first).to_have_text(
        "Marked as awaiting decontamination."
    )
    await expect(page.locator("#asset-state")).to_have_text("Awaiting decontamination")
    await expect(page.get_by_role("list").filter(has_text="by nurse.jones")).to_be_visible()
    asset = await floki.client.get(
        f"/api/v1/assets/{department.pump}", headers=await floki.headers()
    )
    assert (await asset.json())["state"] == "dirty"
    audit = await floki.client.get(
        "/api/v1/audit",
        params={"entity": "assets", "entity_id": str(department.pump)},
        headers=await floki.headers(),
    )
    [change] = [e for e in (await audit.json())["items"] if "dirty" in e["detail"]]
    assert change["actor"] == STAFF
    await context.close()


async def test_scan_the_asset_then_the_location_label_moves_it(
    floki: Floki, department: Department, chromium: Any
) -> None:
    await ensure_user(floki, STAFF)
    await place(floki, department, department.pump, department.ward)
    context = await phone_context(chromium, floki)
    page = await context.new_page()
    await page.goto(department.label(department.pump))
    await log_in_on_page(page, STAFF)
    await expect(page.locator("#scan-next")).to_contain_text("Scan the location label")

    # The camera opens the next label in the same browser: the same session.
    await page.goto(department.label(department.dirty_utility, zone=True))
    await expect(page.get_by_role("status").first).to_have_text(
        "Moved E10001 to Ward 5 dirty utility."
    )
    await expect(page.get_by_role("heading", level=1)).to_have_text("Ward 5 dirty utility")
    where = await _where(floki, department.pump)
    assert where["zone"]["id"] == department.dirty_utility
    assert where["method"] == "fixed_point"

    await page.get_by_role("link", name="Back to E10001").tap()
    await expect(page.locator("#asset-where")).to_contain_text("Ward 5 dirty utility")
    await expect(page.locator("#asset-where")).to_contain_text("by label scan")
    await context.close()


async def test_a_shared_position_inside_the_hub_confirms_it_there(
    floki: Floki, department: Department, chromium: Any
) -> None:
    await ensure_user(floki, STAFF)
    await place(floki, department, department.driver, department.store)
    context = await phone_context(chromium, floki, geolocation=INSIDE_HUB)
    await context.grant_permissions(["geolocation"])
    page = await context.new_page()
    await page.goto(department.label(department.driver))
    await log_in_on_page(page, STAFF)

    await page.get_by_role("button", name="Share my position").tap()
    await expect(page.get_by_role("status").first).to_have_text(
        "From your phone's position: moved C20001 to Northside community hub."
    )
    await expect(page.locator("#asset-where")).to_contain_text("Northside community hub")
    assert (await _where(floki, department.driver))["zone"]["id"] == department.hub
    await context.close()


async def test_a_refused_position_still_lets_the_user_pick_the_zone(
    floki: Floki, department: Department, chromium: Any
) -> None:
    await ensure_user(floki, STAFF)
    await place(floki, department, department.driver, department.store)
    context = await phone_context(chromium, floki, geolocation=INSIDE_HUB)
    await context.clear_permissions()  # the user says no to the phone's prompt
    page = await context.new_page()
    await page.goto(department.label(department.driver))
    await log_in_on_page(page, STAFF)

    await page.get_by_role("button", name="Share my position").tap()
    await expect(page.locator("[data-position-status]")).to_have_text(
        "Position not shared. Pick where it is from the list above instead."
    )
    await expect(page.get_by_label("Community equipment store")).to_be_focused()
    await page.get_by_label("Northside community hub").check()
    await page.get_by_role("button", name="It's here").tap()
    await expect(page.get_by_role("status").first).to_have_text(
        "Moved C20001 to Northside community hub."
    )
    assert (await _where(floki, department.driver))["zone"]["id"] == department.hub
    await context.close()


async def test_the_page_fits_a_phone_and_every_control_is_labelled_and_tappable(
    floki: Floki, department: Department, chromium: Any
) -> None:
    await ensure_user(floki, STAFF)
    context = await phone_context(chromium, floki)
    page = await context.new_page()
    await page.goto(department.label(department.pump))
    await log_in_on_page(page, STAFF)
    await expect(page.locator("#asset-state")).to_be_visible()
    report = await page.evaluate(
        """() => {
          const visible = (e) => e.offsetParent !== null;
          const unlabelled = [...document.querySelectorAll('input, select, textarea')]
            .filter((e) => e.type !== 'hidden' && visible(e) && e.labels.length === 0)
            .map((e) => e.name);
          const small = [...document.querySelectorAll('button, a.button')]
            .filter(visible)
            .filter((e) => e.getBoundingClientRect().height < 44)
            .map((e) => e.textContent.trim());
          return {
            unlabelled, small,
            overflow: document.documentElement.scrollWidth > window.innerWidth,
          };
        }"""
    )
    assert report == {"unlabelled": [], "small": [], "overflow": False}
    await page.set_viewport_size({"width": 320, "height": 640})  # the smallest phones
    wide = await page.evaluate("document.documentElement.scrollWidth > window.innerWidth")
    assert wide is False
    # The keyboard reaches the first action with a visible focus ring.
    await page.keyboard.press("Tab")
    await expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    outline = await page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline == "solid"
    await context.close()
