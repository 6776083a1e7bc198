"""The PPM queue (workflow issue §2): what is overdue or due within N days, where each was
last seen, in the order an engineer walks a round, what nobody can find (escalated when
unseen too long), the CSV export, due dates computed from the last PPM, and schedules."""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any

import pytest

from floki_core.testing import Floki
from tests.core.workflow.workflow_builder import (
    TODAY,
    Hospital,
    add_asset,
    advance_days,
    audit,
    call,
    ok,
    scan,
)
from tests.fixtures.prepared import Prepared


@pytest.fixture
def hospital(floki: Floki, prepared_hospital: Prepared[Hospital]) -> Hospital:
    return prepared_hospital.on(floki)  # built by build_hospital (conftest.py)


async def queue(floki: Floki, **params: Any) -> dict[str, Any]:
    body: dict[str, Any] = await ok(floki, "GET", "/ppm/queue", role="viewer", params=params)
    return body


def numbers(items: list[dict[str, Any]]) -> list[str]:
    return [i["asset_number"] for i in items]


# asset number -> (due in days, where it was scanned or None, state)
ROUND: dict[str, tuple[int, str | None, str]] = {
    "P1": (-5, "bay3b", "available"),
    "P2": (10, "bay7a", "available"),
    "P3": (20, "workshop", "in_maintenance"),
    "P4": (-1, "bay7b", "in_use"),
    "P5": (100, "bay7a", "available"),  # outside the window
    "P6": (5, None, "available"),  # never located, not yet overdue
    "P7": (-30, None, "available"),  # never located and overdue
    "P8": (-100, "bay7a", "condemned"),  # out of service
    "P9": (-3, "ward3", "missing"),
}


@pytest.fixture
async def round_hospital(floki: Floki, hospital: Hospital) -> Hospital:
    for number, (due, zone, state) in ROUND.items():
        await add_asset(floki, hospital, number, due_in_days=due, state=state)
        if zone is not None:
            await scan(floki, hospital, number, zone)
    return hospital


async def test_the_queue_lists_due_assets_with_last_locations_in_round_order(
    floki: Floki, round_hospital: Hospital
) -> None:
    floki.clock.advance(3600)
    q = await queue(floki, within_days=30)
    assert q["today"] == TODAY.isoformat() and q["within_days"] == 30
    # East Wing before Main Block; in Main Block the ground floor before level 2.
    assert numbers(q["overdue"]) == ["P1", "P4"]
    assert numbers(q["due"]) == ["P3", "P2"]
    assert numbers(q["cant_find"]) == ["P7", "P9", "P6"]
    assert q["counts"] == {"overdue": 2, "due": 2, "cant_find": 3, "escalated": 2}
    stops = [(s["building"], s["floor"], s["zone"], s["asset_ids"]) for s in q["round"]]
    ids = round_hospital.assets
    assert stops == [
        ("East Wing", "Level 1", "Bay 3B", [ids["P1"]]),
        ("Main Block", "Ground", "EBME Workshop", [ids["P3"]]),
        ("Main Block", "Level 2", "Bay 7A", [ids["P2"]]),
        ("Main Block", "Level 2", "Bay 7B", [ids["P4"]]),
    ]
    assert [s["position"] for s in q["round"]] == [1, 2, 3, 4]

    p1 = q["overdue"][0]
    assert (p1["due_date"], p1["days_overdue"], p1["overdue"]) == (
        (TODAY - dt.timedelta(days=5)).isoformat(),
        5,
        True,
    )
    assert (p1["class_name"], p1["criticality"], p1["state"]) == (
        "Infusion pump",
        "high",
        "ppm_overdue",
    )
    where = q["due"][1]["location"]  # P2 in Bay 7A
    assert (where["site"], where["building"], where["floor"], where["zone"]) == (
        "St Elsewhere",
        "Main Block",
        "Level 2",
        "Bay 7A",
    )
    assert [p["kind"] for p in where["path"]] == ["site", "building", "floor", "ward", "bay"]
    assert where["last_seen"].startswith("2026-01-05T09:00")
    assert where["method"] == "fixed_point" and where["confidence"] > 0.5
    assert where["not_seen_days"] == 0.0 and where["off_site"] is False

    reasons = {i["asset_number"]: (i["cant_find_reason"], i["escalated"]) for i in q["cant_find"]}
    assert reasons == {
        "P6": ("never located", False),
        "P7": ("never located", True),
        "P9": ("marked missing", True),
    }


async def test_the_window_decides_what_is_due(floki: Floki, round_hospital: Hospital) -> None:
    q = await queue(floki, within_days=0)
    assert numbers(q["due"]) == [] and numbers(q["overdue"]) == ["P1", "P4"]
    q = await queue(floki, within_days=365)
    assert "P5" in numbers(q["due"])
    assert "P8" not in numbers(q["overdue"] + q["due"] + q["cant_find"])
    default = await queue(floki)
    assert default["within_days"] == 30
    for bad in ("-1", "soon", "4000"):
        status, body = await call(
            floki, "GET", "/ppm/queue", role="viewer", params={"within_days": bad}
        )
        assert status == 400 and "within_days" in body["error"]


async def test_assets_nobody_has_seen_lately_go_to_cant_find_and_escalate(
    floki: Floki, hospital: Hospital
) -> None:
    for number in ("A", "B", "C"):
        await add_asset(floki, hospital, number, due_in_days=31)
    await scan(floki, hospital, "A", "bay7a")
    advance_days(floki, 20)
    await scan(floki, hospital, "B", "bay7b")
    advance_days(floki, 10)
    await scan(floki, hospital, "C", "bay3b")

    q = await queue(floki)
    assert numbers(q["due"]) == ["C"]
    lost = {i["asset_number"]: i for i in q["cant_find"]}
    assert (lost["A"]["cant_find_reason"], lost["A"]["escalated"]) == ("not seen for 30 days", True)
    assert (lost["B"]["cant_find_reason"], lost["B"]["escalated"]) == (
        "not seen for 10 days",
        False,
    )
    assert numbers(q["cant_find"]) == ["A", "B"]  # escalated first
    # The last known place is still given, to start looking there.
    assert lost["B"]["location"]["zone"] == "Bay 7B"
    assert lost["B"]["location"]["not_seen_days"] == 10.0
    assert lost["B"]["location"]["stale"] is True


async def test_csv_export_neutralises_formulas_and_is_audited(
    floki: Floki, round_hospital: Hospital
) -> None:
    await add_asset(
        floki,
        round_hospital,
        "P10",
        due_in_days=-2,
        description='=HYPERLINK("http://evil")',
        department="+Ward",
    )
    resp = await floki.client.get(
        "/api/v1/ppm/queue.csv", headers=await floki.headers("viewer"), params={"within_days": "30"}
    )
    assert resp.status == 200
    assert resp.content_type == "text/csv"
    assert "floki-ppm-queue-" in resp.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(await resp.text())))
    assert [(r["section"], r["asset_number"]) for r in rows] == [
        ("overdue", "P1"),
        ("overdue", "P4"),
        ("due", "P3"),
        ("due", "P2"),
        ("cant_find", "P10"),  # escalated, never seen: by number
        ("cant_find", "P7"),
        ("cant_find", "P9"),
        ("cant_find", "P6"),
    ]
    p10 = next(r for r in rows if r["asset_number"] == "P10")
    assert p10["description"] == '\'=HYPERLINK("http://evil")'
    assert p10["department"] == "'+Ward"
    p2 = next(r for r in rows if r["asset_number"] == "P2")
    assert p2["days_overdue"] == "-10"  # a number, not neutralised text
    assert (p2["building"], p2["floor"], p2["zone"], p2["stale"]) == (
        "Main Block",
        "Level 2",
        "Bay 7A",
        "no",
    )
    [entry] = await audit(floki, entity="ppm_queue", action="export")
    assert entry["actor"] == "test-viewer" and entry["after"]["rows"] == 8


async def test_a_missing_due_date_is_computed_from_the_last_ppm(
    floki: Floki, hospital: Hospital
) -> None:
    last = TODAY - dt.timedelta(days=400)
    scanner = await add_asset(
        floki,
        hospital,
        "S1",
        "Bladder scanner",
        due_in_days=None,
        last_ppm=last.isoformat(),
    )
    asset = await ok(floki, "GET", f"/assets/{scanner}", role="viewer")
    assert asset["next_ppm_due"] == (last + dt.timedelta(days=180)).isoformat()
    assert asset["state"] == "ppm_overdue"
    [entry] = await audit(floki, entity="assets", entity_id=str(scanner), action="update")
    assert entry["actor"] == "system" and entry["before"]["next_ppm_due"] is None
    assert "S1" in numbers((await queue(floki))["cant_find"])
    # Without an interval there is nothing to compute from: no schedule, not in the queue.
    await add_asset(floki, hospital, "K1", None, due_in_days=None, last_ppm=last.isoformat())
    q = await queue(floki, within_days=3650)
    assert "K1" not in numbers(q["overdue"] + q["due"] + q["cant_find"])


async def test_schedules_per_class_and_per_asset(floki: Floki, hospital: Hospital) -> None:
    pump = await add_asset(floki, hospital, "E1", due_in_days=-2)
    pumps = hospital.classes["Infusion pump"]
    status, _ = await call(floki, "PUT", f"/ppm/schedules/classes/{pumps}", role="staff", json={})
    assert status == 403
    schedules = await ok(
        floki,
        "PUT",
        f"/ppm/schedules/classes/{pumps}",
        role="engineer",
        json={"interval_days": 180, "tolerance_before_days": 14, "tolerance_after_days": 7},
    )
    [cls] = schedules["items"]
    assert (cls["class_id"], cls["name"], cls["interval_days"]) == (pumps, "Infusion pump", 180)
    assert (await ok(floki, "GET", f"/asset-classes/{pumps}"))["ppm_interval_days"] == 180

    standing = await ok(floki, "GET", f"/assets/{pump}/ppm", role="viewer")
    assert (standing["interval_days"], standing["interval_from"]) == (180, "class")
    assert (standing["tolerance_after_days"], standing["overdue"], standing["state"]) == (
        7,
        False,
        "available",
    )
    schedules = await ok(
        floki,
        "PUT",
        f"/ppm/schedules/assets/{pump}",
        role="engineer",
        json={"interval_days": 90},
    )
    own = next(s for s in schedules["items"] if s["asset_id"] == pump)
    standing = await ok(floki, "GET", f"/assets/{pump}/ppm", role="viewer")
    assert (standing["interval_days"], standing["interval_from"]) == (90, "asset")
    assert standing["tolerance_after_days"] == 7  # still the class's window

    status, _ = await call(floki, "DELETE", f"/ppm/schedules/{own['id']}", role="engineer")
    assert status == 204
    remaining = await ok(floki, "GET", "/ppm/schedules", role="viewer")
    assert [s["class_id"] for s in remaining["items"]] == [pumps]
    trail = await audit(floki, entity="ppm_schedules")
    assert [e["action"] for e in trail] == ["delete", "create", "create"]
    status, _ = await call(floki, "PUT", "/ppm/schedules/classes/9999", role="engineer", json={})
    assert status == 404
    status, _ = await call(
        floki,
        "PUT",
        f"/ppm/schedules/assets/{pump}",
        role="engineer",
        json={"tolerance_after_days": -1},
    )
    assert status == 422
