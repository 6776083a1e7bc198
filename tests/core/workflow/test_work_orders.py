"""Work orders (workflow issue §2): raise, assign to an engineer, record the outcome; a
completed PPM moves the last and next-due dates, and the outcome moves the state."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from floki_core.testing import Floki
from tests.core.workflow.workflow_builder import (
    TODAY,
    EventLog,
    Hospital,
    add_asset,
    audit,
    call,
    ok,
    set_state,
    user_id,
)
from tests.fixtures.prepared import Prepared


@pytest.fixture
def hospital(floki: Floki, prepared_hospital: Prepared[Hospital]) -> Hospital:
    return prepared_hospital.on(floki)  # built by build_hospital (conftest.py)


async def raise_order(floki: Floki, asset_id: int, **extra: Any) -> dict[str, Any]:
    body = {"asset_id": asset_id, "summary": "Annual PPM", **extra}
    order: dict[str, Any] = await ok(floki, "POST", "/work-orders", role="engineer", json=body)
    return order


async def complete(
    floki: Floki, order_id: int, outcome: str, notes: str = "", **extra: Any
) -> tuple[int, Any]:
    body = {"outcome": outcome, "notes": notes, **extra}
    return await call(
        floki, "POST", f"/work-orders/{order_id}/complete", role="engineer", json=body
    )


async def asset(floki: Floki, asset_id: int) -> dict[str, Any]:
    found: dict[str, Any] = await ok(floki, "GET", f"/assets/{asset_id}", role="viewer")
    return found


def days(n: int) -> str:
    return (TODAY + dt.timedelta(days=n)).isoformat()


async def test_a_ppm_work_order_from_raising_to_a_pass(floki: Floki, hospital: Hospital) -> None:
    log = EventLog(floki)
    pump = await add_asset(floki, hospital, "W1", due_in_days=-3)
    await set_state(floki, pump, "in_maintenance", role="engineer")

    status, body = await call(floki, "POST", "/work-orders", role="staff", json={"asset_id": pump})
    assert status == 403
    order = await raise_order(floki, pump)
    assert (order["status"], order["kind"], order["due_date"], order["created_by"]) == (
        "open",
        "ppm",
        days(-3),
        "test-engineer",
    )
    status, body = await call(
        floki, "POST", "/work-orders", role="engineer", json={"asset_id": pump}
    )
    assert status == 409 and f"work order {order['id']} is already open" in body["error"]

    staff = await user_id(floki, "staff")
    path = f"/work-orders/{order['id']}/assign"
    status, body = await call(floki, "POST", path, role="engineer", json={"user_id": staff})
    assert status == 422 and "engineer or admin" in body["error"]
    engineer = await user_id(floki, "engineer")
    assigned = await ok(floki, "POST", path, role="engineer", json={"user_id": engineer})
    assert (assigned["assigned_to"], assigned["assigned_to_username"]) == (
        engineer,
        "test-engineer",
    )
    mine = await ok(floki, "GET", "/work-orders", role="viewer", params={"assigned_to": engineer})
    assert [o["id"] for o in mine["items"]] == [order["id"]]
    queued = await ok(floki, "GET", "/ppm/queue", role="viewer")
    assert queued["cant_find"][0]["open_work_order_id"] == order["id"]

    floki.clock.advance(3600)
    status, done = await complete(floki, order["id"], "pass", "electrical safety test passed")
    assert status == 200, done
    assert (done["status"], done["outcome"], done["completed_by"]) == (
        "completed",
        "pass",
        "test-engineer",
    )
    # Three days late with no tolerance: the next PPM is a year from the day it was done.
    assert done["next_due"] == days(365)
    after = await asset(floki, pump)
    assert (after["last_ppm"], after["next_ppm_due"], after["state"]) == (
        TODAY.isoformat(),
        days(365),
        "available",
    )
    [change] = (await ok(floki, "GET", f"/assets/{pump}/states", role="viewer"))["items"][:1]
    assert (change["from_state"], change["to_state"], change["source"]) == (
        "in_maintenance",
        "available",
        "work_order",
    )
    assert change["reason"].startswith(f"work order {order['id']}: pass")
    assert "W1" not in [
        i["asset_number"] for i in (await ok(floki, "GET", "/ppm/queue"))["overdue"]
    ]

    status, body = await complete(floki, order["id"], "pass")
    assert status == 409 and "already completed" in body["error"]
    trail = await audit(floki, entity="work_orders", entity_id=str(order["id"]))
    assert [(e["action"], e["actor"]) for e in trail] == [
        ("complete", "test-engineer"),
        ("assign", "test-engineer"),
        ("create", "test-engineer"),
    ]
    assert [e.entity_id for e in log.of("work_order.created")] == [order["id"]]
    [completed] = log.of("work_order.completed")
    assert completed.data["outcome"] == "pass"


async def test_a_pass_inside_the_tolerance_window_keeps_the_schedule(
    floki: Floki, hospital: Hospital
) -> None:
    pumps = hospital.classes["Infusion pump"]
    await ok(
        floki,
        "PUT",
        f"/ppm/schedules/classes/{pumps}",
        role="engineer",
        json={"tolerance_before_days": 30, "tolerance_after_days": 7},
    )
    late = await add_asset(floki, hospital, "W2", due_in_days=-3)
    early = await add_asset(floki, hospital, "W3", due_in_days=20)
    for pump in (late, early):
        order = await raise_order(floki, pump)
        status, done = await complete(floki, order["id"], "pass")
        assert status == 200, done
    assert (await asset(floki, late))["next_ppm_due"] == days(-3 + 365)
    assert (await asset(floki, early))["next_ppm_due"] == days(20 + 365)


async def test_a_failed_ppm_makes_the_device_faulty_until_repaired(
    floki: Floki, hospital: Hospital
) -> None:
    pump = await add_asset(floki, hospital, "W4", due_in_days=-1)
    order = await raise_order(floki, pump)
    status, body = await complete(floki, order["id"], "fail")
    assert (status, body["error"]) == (422, "notes: say what failed")
    status, _ = await complete(floki, order["id"], "fail", "occlusion alarm does not sound")
    assert status == 200
    failed = await asset(floki, pump)
    assert (failed["state"], failed["next_ppm_due"], failed["last_ppm"]) == (
        "faulty",
        days(-1),
        None,
    )

    repair = await raise_order(floki, pump, kind="repair", summary="replace alarm board")
    status, _ = await complete(floki, repair["id"], "repaired", "board replaced")
    assert status == 200
    # Repaired and back in service, but its PPM is still overdue: not shown as available.
    assert (await asset(floki, pump))["state"] == "ppm_overdue"


async def test_beyond_repair_condemns_the_device_and_takes_it_off_the_queue(
    floki: Floki, hospital: Hospital
) -> None:
    pump = await add_asset(floki, hospital, "W5", due_in_days=-10)
    order = await raise_order(floki, pump)
    status, _ = await complete(floki, order["id"], "beyond_repair", "cracked housing, BER")
    assert status == 200
    assert (await asset(floki, pump))["state"] == "condemned"
    queue = await ok(floki, "GET", "/ppm/queue", role="viewer")
    everything = queue["overdue"] + queue["due"] + queue["cant_find"]
    assert "W5" not in [i["asset_number"] for i in everything]
    status, body = await call(
        floki, "POST", "/work-orders", role="engineer", json={"asset_id": pump}
    )
    assert status == 409 and "condemned" in body["error"]


async def test_a_device_with_a_patient_stays_in_use_after_a_pass(
    floki: Floki, hospital: Hospital
) -> None:
    pump = await add_asset(floki, hospital, "W6", due_in_days=2, state="in_use")
    order = await raise_order(floki, pump)
    status, _ = await complete(floki, order["id"], "pass")
    assert status == 200
    after = await asset(floki, pump)
    assert (after["state"], after["last_ppm"]) == ("in_use", TODAY.isoformat())


async def test_completion_refuses_what_it_cannot_do(floki: Floki, hospital: Hospital) -> None:
    kit = await add_asset(floki, hospital, "W7", None, due_in_days=5)
    order = await raise_order(floki, kit)
    status, body = await complete(floki, order["id"], "pass")
    assert status == 422 and "no PPM interval" in body["error"]
    status, body = await complete(floki, order["id"], "pass", next_due=days(0))
    assert status == 422 and "after the day" in body["error"]
    status, body = await complete(floki, order["id"], "pass", completed_on=days(1))
    assert status == 422 and "in the future" in body["error"]
    status, body = await complete(floki, order["id"], "broken")
    assert status == 422
    assert (await ok(floki, "GET", f"/work-orders/{order['id']}"))["status"] == "open"
    status, done = await complete(
        floki, order["id"], "pass", completed_on=days(-1), next_due=days(180)
    )
    assert status == 200 and done["next_due"] == days(180)
    assert (await asset(floki, kit))["last_ppm"] == days(-1)


async def test_a_cancelled_order_makes_way_for_a_new_one(floki: Floki, hospital: Hospital) -> None:
    pump = await add_asset(floki, hospital, "W8", due_in_days=10)
    order = await raise_order(floki, pump)
    cancelled = await ok(
        floki,
        "POST",
        f"/work-orders/{order['id']}/cancel",
        role="engineer",
        json={"reason": "raised twice"},
    )
    assert (cancelled["status"], cancelled["notes"]) == ("cancelled", "raised twice")
    again = await raise_order(floki, pump)
    listed = await ok(floki, "GET", "/work-orders", role="viewer", params={"asset_id": pump})
    assert [(o["id"], o["status"]) for o in listed["items"]] == [
        (again["id"], "open"),
        (order["id"], "cancelled"),
    ]
    status, _ = await call(floki, "GET", "/work-orders", role="viewer", params={"status": "done"})
    assert status == 400
    status, _ = await call(floki, "GET", "/work-orders/999", role="viewer")
    assert status == 404


async def test_maintenance_history_outlives_a_careless_delete(
    floki: Floki, hospital: Hospital
) -> None:
    pump = await add_asset(floki, hospital, "W9", due_in_days=10)
    identifiers = await ok(floki, "GET", "/identifiers", params={"asset_id": pump})
    for identifier in identifiers["items"]:
        await ok(floki, "DELETE", f"/identifiers/{identifier['id']}", role="engineer")
    order = await raise_order(floki, pump)
    status, body = await call(floki, "DELETE", f"/assets/{pump}", role="engineer")
    assert (status, body["error"]) == (
        409,
        f"cannot delete asset {pump}: 1 work orders still refer to it",
    )
    assert (await ok(floki, "GET", f"/work-orders/{order['id']}"))["asset_number"] == "W9"
