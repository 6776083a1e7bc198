"""PPM compliance (workflow issue §2): the share of scheduled assets in date by class,
department and criticality on a known register, and its trend from daily snapshots."""

from __future__ import annotations

from typing import Any

import pytest

from floki_core.testing import Floki
from tests.core.workflow.workflow_builder import (
    Hospital,
    add_asset,
    advance_days,
    audit,
    call,
    ok,
)
from tests.fixtures.prepared import Prepared

# asset number -> (class, department, due in days, state)
REGISTER: dict[str, tuple[str | None, str, int | None, str]] = {
    "P-A": ("Infusion pump", "Ward 7", 30, "available"),
    "P-B": ("Infusion pump", "Ward 7", -5, "available"),  # overdue
    "P-C": ("Infusion pump", "Ward 3", 100, "in_use"),
    "P-D": ("Infusion pump", "Ward 3", -50, "condemned"),  # out of service: not counted
    "S-A": ("Bladder scanner", "Ward 7", -1, "available"),  # overdue
    "S-B": ("Bladder scanner", "Ward 3", 10, "faulty"),
    "H-A": ("Patient hoist", "Ward 3", -2, "available"),  # late, inside its 7-day window
    "K-A": (None, "Ward 7", None, "available"),  # no schedule: not counted
    "K-B": (None, "", 5, "available"),
}


@pytest.fixture
async def hospital(floki: Floki, prepared_hospital: Prepared[Hospital]) -> Hospital:
    hospital = prepared_hospital.on(floki)
    hoists = hospital.classes["Patient hoist"]
    await ok(
        floki,
        "PUT",
        f"/ppm/schedules/classes/{hoists}",
        role="engineer",
        json={"tolerance_after_days": 7},
    )
    for number, (class_name, department, due, state) in REGISTER.items():
        await add_asset(
            floki,
            hospital,
            number,
            class_name,
            due_in_days=due,
            state=state,
            department=department,
        )
    return hospital


async def compliance(floki: Floki, by: str) -> dict[str, Any]:
    body: dict[str, Any] = await ok(
        floki, "GET", "/ppm/compliance", role="viewer", params={"by": by}
    )
    return body


def groups(report: dict[str, Any]) -> dict[str, tuple[int, int, float | None]]:
    return {g["key"]: (g["total"], g["in_date"], g["percent"]) for g in report["groups"]}


async def test_compliance_by_class_department_and_criticality(
    floki: Floki, hospital: Hospital
) -> None:
    by_class = await compliance(floki, "class")
    assert (by_class["total"], by_class["in_date"], by_class["percent"]) == (7, 5, 71.4)
    assert groups(by_class) == {
        "Infusion pump": (3, 2, 66.7),
        "Bladder scanner": (2, 1, 50.0),
        "Patient hoist": (1, 1, 100.0),
        "(no class)": (1, 1, 100.0),
    }
    assert groups(await compliance(floki, "department")) == {
        "Ward 7": (3, 1, 33.3),
        "Ward 3": (3, 3, 100.0),
        "(no department)": (1, 1, 100.0),
    }
    assert groups(await compliance(floki, "criticality")) == {
        "high": (3, 2, 66.7),
        "medium": (2, 1, 50.0),
        "low": (1, 1, 100.0),
        "(no class)": (1, 1, 100.0),
    }
    overdue = {g["key"]: g["overdue"] for g in by_class["groups"]}
    assert overdue["Infusion pump"] == 1
    status, body = await call(floki, "GET", "/ppm/compliance", role="viewer", params={"by": "ward"})
    assert status == 400 and "by must be one of" in body["error"]


async def test_the_trend_follows_daily_snapshots(floki: Floki, hospital: Hospital) -> None:
    ppm = floki.core.workflow.ppm
    await ppm.snapshot()  # day one: 5 of 7 in date

    order = await ok(
        floki, "POST", "/work-orders", role="engineer", json={"asset_id": hospital.assets["P-B"]}
    )
    await ok(
        floki,
        "POST",
        f"/work-orders/{order['id']}/complete",
        role="engineer",
        json={"outcome": "pass"},
    )
    advance_days(floki, 1)
    await ppm.daily()  # day two: P-B done
    await ppm.daily()  # once a day only
    advance_days(floki, 1)
    await ppm.daily()  # day three: K-B untouched, S-A still overdue

    trend = await ok(floki, "GET", "/ppm/compliance/trend", role="viewer", params={"days": 90})
    [overall] = trend["series"]
    assert overall["key"] == "all"
    assert [(p["day"], p["total"], p["in_date"], p["percent"]) for p in overall["points"]] == [
        ("2026-01-05", 7, 5, 71.4),
        ("2026-01-06", 7, 6, 85.7),
        ("2026-01-07", 7, 6, 85.7),
    ]
    pumps = await ok(
        floki,
        "GET",
        "/ppm/compliance/trend",
        role="viewer",
        params={"by": "class", "group": "Infusion pump", "days": 2},
    )
    assert [(s["key"], [p["percent"] for p in s["points"]]) for s in pumps["series"]] == [
        ("Infusion pump", [100.0, 100.0])
    ]
    by_department = await ok(
        floki, "GET", "/ppm/compliance/trend", role="viewer", params={"by": "department"}
    )
    assert [s["key"] for s in by_department["series"]] == ["(no department)", "Ward 3", "Ward 7"]
    snapshots = await audit(floki, entity="ppm_compliance_snapshots", action="snapshot")
    assert {e["entity_id"] for e in snapshots} == {"2026-01-05", "2026-01-06", "2026-01-07"}
    assert all(e["actor"] == "system" for e in snapshots)
    status, _ = await call(floki, "GET", "/ppm/compliance/trend", params={"days": 0})
    assert status == 400
