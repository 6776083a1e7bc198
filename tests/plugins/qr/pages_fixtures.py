"""Fixtures of the phone page tests: a small department, its users, label codes, and a
real headless Chromium (Debian's) sized like a phone."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
import pytest_asyncio

from floki_core.domain import SYSTEM, Role
from floki_core.observations import Observation
from floki_core.storage import accounts
from floki_core.testing import TEST_PASSWORD, Floki
from floki_qr.label_codes import ensure_codes
from tests.fixtures.prepared import Prepared
from tests.fixtures.requirements import missing, require_binary

CHROMIUM = "/usr/bin/chromium"
PHONE = {"width": 390, "height": 844}
# The community hub's outline on the map, (longitude, latitude), and a point inside it.
HUB_OUTLINE = [(-1.5500, 53.8000), (-1.5400, 53.8000), (-1.5400, 53.8100), (-1.5500, 53.8100)]
INSIDE_HUB = {"latitude": 53.8050, "longitude": -1.5450, "accuracy": 12}
STAFF, ENGINEER, VIEWER = "nurse.jones", "eng.patel", "visitor.vee"
_USERS = {
    STAFF: (Role.STAFF, "Nurse Jones"),
    ENGINEER: (Role.ENGINEER, "Engineer Patel"),
    VIEWER: (Role.VIEWER, ""),
}


@dataclass(frozen=True)
class Department:
    """The register the tests work in: ids and label codes."""

    ward: int
    bay: int
    dirty_utility: int
    workshop: int
    community: int
    hub: int
    store: int
    pump: int  # E10001, available, at home on the ward
    driver: int  # C20001, community equipment, at home in the equipment store
    codes: dict[int, str]  # asset id -> label code
    zone_codes: dict[int, str]  # zone id -> location label code

    def label(self, asset_or_zone: int, *, zone: bool = False) -> str:
        return f"/q/{(self.zone_codes if zone else self.codes)[asset_or_zone]}"


async def _post(floki: Floki, path: str, body: dict[str, Any]) -> int:
    resp = await floki.client.post(path, json=body, headers=await floki.headers("admin"))
    assert resp.status == 201, await resp.text()
    created: int = (await resp.json())["id"]
    return created


async def build_department(floki: Floki) -> Department:
    site = await _post(floki, "/api/v1/sites", {"name": "General Hospital"})

    async def zone(name: str, kind: str, **extra: Any) -> int:
        return await _post(
            floki, "/api/v1/zones", {"site_id": site, "name": name, "type": kind, **extra}
        )

    ward = await zone("Ward 5", "ward")
    bay = await zone("Ward 5 Bay 1", "bay", parent_id=ward)
    dirty = await zone("Ward 5 dirty utility", "dirty_utility", parent_id=ward)
    workshop = await zone("CE workshop", "workshop")
    community = await zone("Community services", "department")
    hub = await zone(
        "Northside community hub",
        "community_hub",
        parent_id=community,
        geo_polygon=[list(p) for p in HUB_OUTLINE],
    )
    store = await zone("Community equipment store", "store", parent_id=community)
    pumps = await _post(
        floki, "/api/v1/asset-classes", {"name": "Infusion pump", "ppm_interval_days": 365}
    )
    pump = await _post(
        floki,
        "/api/v1/assets",
        {
            "asset_number": "E10001",
            "description": "Volumetric infusion pump",
            "class_id": pumps,
            "home_zone_id": ward,
            "next_ppm_due": "2026-03-01",
        },
    )
    driver = await _post(
        floki,
        "/api/v1/assets",
        {"asset_number": "C20001", "description": "Syringe driver", "home_zone_id": store},
    )
    zones = [ward, bay, dirty, workshop, community, hub, store]
    codes, zone_codes = await ensure_codes(
        floki.core.plugins.contexts["qr"], asset_ids=[pump, driver], zone_ids=zones, actor=SYSTEM
    )
    return Department(
        ward, bay, dirty, workshop, community, hub, store, pump, driver, codes, zone_codes
    )


async def place(floki: Floki, dept: Department, asset_id: int, zone_id: int) -> None:
    """A label scan by a fixed reader: Floki places the asset in the zone."""
    now = floki.clock.now()
    await floki.inject(
        [
            Observation(
                technology="qr",
                tag=dept.codes[asset_id],
                receiver=dept.zone_codes[zone_id],
                observed_at=now,
            )
        ]
    )


@pytest.fixture(name="department")
def department_fixture(floki: Floki, prepared_department: Prepared[Department]) -> Department:
    """The department on the ``floki`` appliance, which started on a copy of the one
    ``build_department`` made once per session (``prepared_department`` in conftest.py)."""
    return prepared_department.on(floki)


_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def csrf_in(page_html: str) -> str:
    found = _CSRF.search(page_html)
    assert found is not None, "the page has no form token"
    return found.group(1)


async def ensure_user(floki: Floki, username: str) -> None:
    """One of the department's users (made on first use: each password hash takes time)."""
    found = await floki.core.read(accounts.list_users)
    if any(u.username == username for u in found):
        return
    role, name = _USERS[username]
    await floki.core.write(
        accounts.create_user,
        username=username,
        role=role,
        password=TEST_PASSWORD,
        display_name=name,
        actor=SYSTEM,
        now=floki.clock.now(),
    )


async def sign_in(floki: Floki, username: str, password: str = TEST_PASSWORD) -> str:
    """Sign the test client in on the phone pages; returns the session's form token."""
    await ensure_user(floki, username)
    floki.client.session.cookie_jar.clear()
    resp = await floki.client.get("/phone/login")
    form = {"csrf": csrf_in(await resp.text()), "username": username, "password": password}
    resp = await floki.client.post("/phone/login", data=form, allow_redirects=False)
    assert resp.status == 303, await resp.text()
    resp = await floki.client.get("/phone")
    return csrf_in(await resp.text())


@pytest_asyncio.fixture(name="chromium")
async def chromium_fixture() -> AsyncIterator[Any]:
    """Debian's Chromium, headless, through Playwright (never a downloaded browser)."""
    path = require_binary(CHROMIUM)
    try:
        from playwright.async_api import async_playwright
    except ImportError:
        missing("the playwright Python package")
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=path, headless=True)
        try:
            yield browser
        finally:
            await browser.close()


async def phone_context(browser: Any, floki: Floki, **options: Any) -> Any:
    """A new phone-sized browser profile pointed at the running appliance."""
    return await browser.new_context(
        viewport=PHONE,
        is_mobile=True,
        has_touch=True,
        device_scale_factor=3,
        base_url=str(floki.client.make_url("/")).rstrip("/"),
        locale="en-GB",
        **options,
    )


async def log_in_on_page(page: Any, username: str, password: str = TEST_PASSWORD) -> None:
    await page.get_by_label("Username").fill(username)
    await page.get_by_label("Password").fill(password)
    await page.get_by_role("button", name="Sign in").click()
