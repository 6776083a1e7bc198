"""Hazard H5: a faulty, quarantined, condemned or PPM-overdue device is never presented
as available: not in the asset list, search, a single asset, a zone listing, a state
filter or the PPM queue. The presented state comes from one pure rule."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from floki_core.domain import SYSTEM
from floki_core.storage import resources
from floki_core.storage.assets import search_assets
from floki_core.storage.database import Database
from floki_core.storage.models_ppm import PpmScheduleRow
from floki_core.storage.register import ASSET_CLASSES, ASSETS
from floki_core.testing import Floki
from floki_core.workflow.ppm import PPM_OVERDUE, is_available, ppm_overdue, presented_state
from floki_core.workflow.ppm_rules import Tolerance, state_condition
from floki_core.workflow.ppm_schedules import load_book
from tests.core.workflow.workflow_builder import (
    TODAY,
    Hospital,
    add_asset,
    advance_days,
    ok,
    scan,
)
from tests.fixtures.prepared import Prepared

# asset number -> (state, next PPM due relative to today)
FLEET: dict[str, tuple[str, int]] = {
    "E100": ("available", 90),  # ready
    "E101": ("available", -10),  # PPM overdue
    "E102": ("faulty", 90),
    "E103": ("quarantined", 90),
    "E104": ("condemned", 90),
    "E105": ("available", 0),  # due today: still in date
    "E106": ("in_use", -10),  # overdue, but with a patient: shown as in use
}
READY = {"E100", "E105"}


@pytest.fixture
async def hospital(floki: Floki, prepared_hospital: Prepared[Hospital]) -> Hospital:
    hospital = prepared_hospital.on(floki)
    for number, (state, due) in FLEET.items():
        await add_asset(floki, hospital, number, state=state, due_in_days=due)
        await scan(floki, hospital, number, "bay7a")
    return hospital


def shown(items: list[dict[str, Any]]) -> dict[str, str]:
    return {i["asset_number"]: i["state"] for i in items}


def assert_never_available(items: list[dict[str, Any]]) -> None:
    for item in items:
        if item["asset_number"] not in READY:
            assert item["state"] != "available", item
            assert item.get("available") in (None, False), item


async def test_asset_list_and_search_show_the_presented_state(
    floki: Floki, hospital: Hospital
) -> None:
    listed = (await ok(floki, "GET", "/assets", role="viewer", params={"limit": 100}))["items"]
    assert shown(listed) == {
        "E100": "available",
        "E101": "ppm_overdue",
        "E102": "faulty",
        "E103": "quarantined",
        "E104": "condemned",
        "E105": "available",
        "E106": "in_use",
    }
    assert_never_available(listed)
    overdue = next(i for i in listed if i["asset_number"] == "E101")
    assert (overdue["recorded_state"], overdue["ppm_overdue"], overdue["available"]) == (
        "available",
        True,
        False,
    )
    assert next(i for i in listed if i["asset_number"] == "E106")["ppm_overdue"] is True

    found = (await ok(floki, "GET", "/assets", role="viewer", params={"q": "infusion pump"}))[
        "items"
    ]
    assert len(found) == len(FLEET)
    assert_never_available(found)


async def test_filtering_on_available_leaves_unfit_devices_out(
    floki: Floki, hospital: Hospital
) -> None:
    async def numbers(**params: Any) -> set[str]:
        body = await ok(floki, "GET", "/assets", role="viewer", params=params)
        return {i["asset_number"] for i in body["items"]}

    assert await numbers(state="available") == READY
    assert await numbers(state="available", q="pump") == READY
    assert await numbers(state="ppm_overdue") == {"E101"}
    assert await numbers(state="faulty") == {"E102"}
    ward = hospital.zones["ward7"]
    zone = await ok(floki, "GET", f"/zones/{ward}/assets", role="viewer", params={"limit": 100})
    assert len(zone["items"]) == len(FLEET)
    assert_never_available(zone["items"])
    assert shown(zone["items"])["E101"] == "ppm_overdue"
    ready = await ok(floki, "GET", f"/zones/{ward}/assets", params={"state": "available"})
    assert {i["asset_number"] for i in ready["items"]} == READY


async def test_one_asset_shows_ppm_overdue_not_available(floki: Floki, hospital: Hospital) -> None:
    asset = await ok(floki, "GET", f"/assets/{hospital.assets['E101']}", role="viewer")
    assert asset["state"] == "ppm_overdue"
    standing = await ok(floki, "GET", f"/assets/{hospital.assets['E101']}/ppm", role="viewer")
    assert (standing["state"], standing["recorded_state"], standing["overdue"]) == (
        "ppm_overdue",
        "available",
        True,
    )


async def test_the_ppm_queue_never_offers_an_overdue_device_as_available(
    floki: Floki, hospital: Hospital
) -> None:
    queue = await ok(floki, "GET", "/ppm/queue", role="viewer", params={"within_days": 365})
    items = queue["overdue"] + queue["due"] + queue["cant_find"]
    assert "E104" not in {i["asset_number"] for i in items}  # condemned: out of service
    assert_never_available(items)
    assert {i["asset_number"]: i["state"] for i in queue["overdue"]} == {
        "E101": "ppm_overdue",
        "E106": "in_use",
    }


async def test_time_passing_alone_makes_a_ready_device_overdue(
    floki: Floki, hospital: Hospital
) -> None:
    advance_days(floki, 91)  # E100 was due in 90 days; nobody wrote anything
    body = await ok(floki, "GET", "/assets", role="viewer", params={"state": "available"})
    assert {i["asset_number"] for i in body["items"]} == set()
    listed = (await ok(floki, "GET", "/assets", role="viewer"))["items"]
    assert shown(listed)["E100"] == "ppm_overdue"


async def test_a_tolerance_window_keeps_a_device_in_date_for_its_days(
    floki: Floki, hospital: Hospital
) -> None:
    pumps = hospital.classes["Infusion pump"]
    await ok(
        floki,
        "PUT",
        f"/ppm/schedules/classes/{pumps}",
        role="engineer",
        json={"tolerance_after_days": 14},
    )
    body = await ok(floki, "GET", "/assets", role="viewer", params={"state": "available"})
    assert {i["asset_number"] for i in body["items"]} == READY | {"E101"}  # 10 days late
    # The asset's own window wins over its class's, in lists and in filters alike.
    await ok(
        floki,
        "PUT",
        f"/ppm/schedules/assets/{hospital.assets['E101']}",
        role="engineer",
        json={"tolerance_after_days": 3},
    )
    body = await ok(floki, "GET", "/assets", role="viewer", params={"state": "ppm_overdue"})
    assert {i["asset_number"] for i in body["items"]} == {"E101"}
    listed = (await ok(floki, "GET", "/assets", role="viewer"))["items"]
    assert shown(listed)["E101"] == "ppm_overdue"
    # The same rule for code that holds a record (par levels, alerts).
    record = await floki.core.read(resources.get_record, ASSETS, hospital.assets["E101"])
    assert floki.core.workflow.ppm.is_overdue(record, TODAY)
    assert not floki.core.workflow.ppm.is_overdue(
        record.next_ppm_due, TODAY - dt.timedelta(days=10)
    )


@pytest.mark.parametrize(
    ("state", "due", "tolerance", "expected"),
    [
        ("available", None, 0, "available"),  # no schedule
        ("available", TODAY, 0, "available"),
        ("available", TODAY - dt.timedelta(days=1), 0, PPM_OVERDUE),
        ("available", TODAY - dt.timedelta(days=1), 1, "available"),
        ("available", TODAY - dt.timedelta(days=2), 1, PPM_OVERDUE),
        ("faulty", TODAY + dt.timedelta(days=100), 0, "faulty"),
        ("quarantined", None, 0, "quarantined"),
        ("condemned", TODAY - dt.timedelta(days=5), 0, "condemned"),
        ("in_use", TODAY - dt.timedelta(days=5), 0, "in_use"),
    ],
)
def test_presented_state_is_a_pure_rule(
    state: str, due: dt.date | None, tolerance: int, expected: str
) -> None:
    assert presented_state(state, due, TODAY, tolerance) == expected
    assert is_available(state, due, TODAY, tolerance) is (expected == "available")
    if state == "available":
        assert ppm_overdue(due, TODAY, tolerance) is (expected == PPM_OVERDUE)


def test_the_sql_rule_agrees_with_the_pure_rule_on_every_backend(database: Database) -> None:
    """Filters run the rule in SQL (SQLite and PostgreSQL); it must match the pure one."""
    now = dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC)
    with database.transaction() as s:
        pumps = resources.create_record(
            s, ASSET_CLASSES, {"name": "Pump", "ppm_interval_days": 365}, actor=SYSTEM, now=now
        )
        hoists = resources.create_record(
            s, ASSET_CLASSES, {"name": "Hoist", "ppm_interval_days": 180}, actor=SYSTEM, now=now
        )
        s.add(PpmScheduleRow(class_id=hoists.id, tolerance_after_days=7, updated_at=now))
        made = {}
        for number, class_id, state, days in [
            ("A", pumps.id, "available", 5),
            ("B", pumps.id, "available", -1),
            ("C", hoists.id, "available", -5),  # inside the hoists' 7 days
            ("D", hoists.id, "available", -9),
            ("E", None, "available", None),
            ("F", pumps.id, "faulty", 30),
            ("G", hoists.id, "available", -5),  # its own window: none
        ]:
            due = None if days is None else TODAY + dt.timedelta(days=days)
            values = {"asset_number": number, "class_id": class_id, "state": state}
            made[number] = resources.create_record(
                s, ASSETS, {**values, "next_ppm_due": due}, actor=SYSTEM, now=now
            )
        s.add(PpmScheduleRow(asset_id=made["G"].id, tolerance_after_days=0, updated_at=now))
    with database.sessions() as s:
        book = load_book(s, Tolerance(0, 0))
        expected: dict[str, set[str]] = {}
        for record in made.values():
            after = book.tolerance(record.id, record.class_id).after_days
            shown = presented_state(record.state, record.next_ppm_due, TODAY, after)
            expected.setdefault(shown, set()).add(record.asset_number)
        for state in ("available", "ppm_overdue", "faulty"):
            found, _ = search_assets(s, where=state_condition(state, book, TODAY), limit=100)
            assert {a.asset_number for a in found} == expected[state], state
    assert expected["available"] == {"A", "C", "E"}
    assert expected["ppm_overdue"] == {"B", "D", "G"}
