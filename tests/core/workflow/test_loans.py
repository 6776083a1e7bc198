"""Community loans (workflow issue §4): check-out, return, history, refusals, overdue."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import pytest

from floki_core.events import DomainEvent
from floki_core.storage.audit import list_audit
from floki_core.testing import Floki
from tests.core.workflow.loans_builder import API, Fleet, build_fleet, get, loan_body, post
from tests.fixtures.prepared import Prepared


@pytest.fixture
def fleet(floki: Floki, prepared_fleet: Prepared[Fleet]) -> Fleet:
    return prepared_fleet.on(floki)  # built by build_fleet (conftest.py)


@pytest.fixture
def loan_events(floki: Floki) -> list[DomainEvent]:
    seen: list[DomainEvent] = []

    def observe(batch: Sequence[DomainEvent]) -> None:
        seen.extend(e for e in batch if e.type.startswith("loan."))

    floki.core.events.add_observer("test-loans", observe)
    return seen


async def _state(floki: Floki, asset_id: int) -> str:
    return str((await get(floki, f"/assets/{asset_id}"))["state"])


async def test_check_out_return_and_history(
    floki: Floki, fleet: Fleet, loan_events: list[DomainEvent]
) -> None:
    pump = fleet.assets["PUMP-001"]
    loan = await post(
        floki,
        "/loans",
        loan_body(pump, destination_type="community_hub", destination_zone_id=fleet.hub),
        role="staff",
    )
    assert loan["status"] == "open"
    assert loan["reference"] == "L-123"
    assert loan["asset_number"] == "PUMP-001"
    assert loan["destination_zone"] == "North Community Hub"
    assert loan["due_back"] == "2026-01-19"
    assert loan["asset_next_ppm_due"] == "2026-07-04"
    assert loan["created_by"] == "test-staff"
    assert await _state(floki, pump) == "on_loan"
    assert await floki.core.workflow.loans.open_loan_asset_ids() == {pump}

    floki.advance(3 * 86400)
    resp = await floki.client.post(
        f"{API}/loans/{loan['id']}/return",
        json={"notes": "collected by driver"},
        headers=await floki.headers("staff"),
    )
    returned = await resp.json()
    assert resp.status == 200, returned
    assert returned["status"] == "returned"
    assert returned["returned_by"] == "test-staff"
    assert returned["returned_at"].startswith("2026-01-08")
    assert returned["return_state"] == "dirty"
    assert returned["state_change_refused"] is None
    assert "collected by driver" in returned["notes"]
    # Back from a home: decontaminated before anyone else uses it.
    assert await _state(floki, pump) == "dirty"
    assert await floki.core.workflow.loans.open_loan_asset_ids() == set()

    # Decontaminated, it can go out again; the history lists both, newest first.
    await floki.core.workflow.states.change(pump, "available", actor=None, source="test")
    second = await post(floki, "/loans", loan_body(pump, reference="L-124"), role="staff")
    history = await get(floki, f"/assets/{pump}/loans")
    assert [item["reference"] for item in history["items"]] == ["L-124", "L-123"]
    assert history["total"] == 2
    assert (await get(floki, f"/loans/{second['id']}"))["status"] == "open"

    assert [(e.type, e.entity_id) for e in loan_events] == [
        ("loan.created", loan["id"]),
        ("loan.returned", loan["id"]),
        ("loan.created", second["id"]),
    ]
    assert loan_events[0].data["reference"] == "L-123"

    entries, _ = await floki.core.read(list_audit, entity="loans", entity_id=str(loan["id"]))
    assert [e.action for e in entries] == ["return", "create"]
    assert entries[0].actor == "test-staff"


async def test_return_can_say_the_device_came_back_faulty(floki: Floki, fleet: Fleet) -> None:
    pump = fleet.assets["PUMP-002"]
    loan = await post(floki, "/loans", loan_body(pump), role="staff")
    resp = await floki.client.post(
        f"{API}/loans/{loan['id']}/return",
        json={"state": "faulty"},
        headers=await floki.headers("staff"),
    )
    assert resp.status == 200
    assert await _state(floki, pump) == "faulty"


@pytest.mark.parametrize(
    ("change", "status", "reason"),
    [
        ({"asset_id": 999}, 404, "asset 999 not found"),
        ({"due_back": "2026-01-04"}, 422, "in the past"),
        ({"due_back": "2028-01-04"}, 422, "more than 366 days away"),
        ({"reference": "John Smith"}, 422, "reference"),
        ({"reference": ""}, 422, "reference"),
        ({"reference": "L-1\u0000"}, 422, "reference"),
        ({"reference": "L" * 65}, 422, "reference"),
        ({"destination_type": "pub"}, 422, "destination_type"),
        ({"destination_zone_id": 999}, 422, "zone 999 does not exist"),
        ({"notes": "x" * 1001}, 422, "notes"),
        ({"colour": "red"}, 422, "colour"),
    ],
)
async def test_bad_loans_are_refused_with_a_reason(
    floki: Floki, fleet: Fleet, change: dict[str, object], status: int, reason: str
) -> None:
    body = {**loan_body(fleet.assets["PUMP-001"]), **change}
    data = await post(floki, "/loans", body, role="staff", status=status)
    assert reason in data["error"]
    assert await _state(floki, fleet.assets["PUMP-001"]) == "available"


async def test_assets_that_must_not_go_out_are_refused_409(floki: Floki) -> None:
    today = floki.clock.now().date()
    fleet = await build_fleet(floki, 3, next_ppm_due=today + dt.timedelta(days=100))
    faulty, overdue, loaned = (fleet.assets[f"PUMP-00{i}"] for i in (1, 2, 3))
    await floki.core.workflow.states.change(faulty, "faulty", actor=None, source="test")
    resp = await floki.client.patch(
        f"{API}/assets/{overdue}",
        json={"next_ppm_due": (today - dt.timedelta(days=1)).isoformat()},
        headers=await floki.headers("engineer"),
    )
    assert resp.status == 200, await resp.text()
    await post(floki, "/loans", loan_body(loaned), role="staff")

    refused = await post(floki, "/loans", loan_body(faulty), role="staff", status=409)
    assert "PUMP-001 cannot go on loan" in refused["error"]
    assert "faulty" in refused["error"]
    refused = await post(floki, "/loans", loan_body(overdue), role="staff", status=409)
    assert "overdue for PPM" in refused["error"]
    refused = await post(
        floki, "/loans", loan_body(loaned, reference="L-9"), role="staff", status=409
    )
    assert "already on loan (L-123)" in refused["error"]

    assert await _state(floki, faulty) == "faulty"
    assert await _state(floki, overdue) != "on_loan"
    assert (await get(floki, "/loans"))["total"] == 1


async def test_a_loan_is_returned_once(floki: Floki, fleet: Fleet) -> None:
    loan = await post(floki, "/loans", loan_body(fleet.assets["PUMP-001"]), role="staff")
    path = f"{API}/loans/{loan['id']}/return"
    headers = await floki.headers("staff")
    assert (await floki.client.post(path, json={}, headers=headers)).status == 200
    again = await floki.client.post(path, json={}, headers=headers)
    assert again.status == 409
    assert "already returned" in (await again.json())["error"]
    missing = await floki.client.post(f"{API}/loans/999/return", json={}, headers=headers)
    assert missing.status == 404
    bad_state = await floki.client.post(
        f"{API}/loans/{loan['id']}/return", json={"state": "in_use"}, headers=headers
    )
    assert bad_state.status == 422


async def test_role_policy(floki: Floki, fleet: Fleet) -> None:
    body = loan_body(fleet.assets["PUMP-001"])
    viewer = await floki.headers("viewer")
    resp = await floki.client.post(f"{API}/loans", json=body, headers=viewer)
    assert resp.status == 403
    loan = await post(floki, "/loans", body, role="staff")
    resp = await floki.client.post(f"{API}/loans/{loan['id']}/return", json={}, headers=viewer)
    assert resp.status == 403
    assert (await floki.client.get(f"{API}/loans")).status == 401
    assert (await get(floki, "/loans", role="viewer"))["total"] == 1


async def test_listing_by_status(floki: Floki, fleet: Fleet) -> None:
    a, b, c = (fleet.assets[f"PUMP-00{i}"] for i in (1, 2, 3))
    returned = await post(floki, "/loans", loan_body(a, reference="L-1"), role="staff")
    await post(floki, "/loans", loan_body(b, reference="L-2", due_back="2026-01-06"))
    await post(floki, "/loans", loan_body(c, reference="L-3", due_back="2026-01-30"))
    await floki.client.post(
        f"{API}/loans/{returned['id']}/return", json={}, headers=await floki.headers("staff")
    )
    floki.advance(2 * 86400)  # 7 January: L-2 (due the 6th) is overdue

    def refs(page: dict[str, object]) -> list[str]:
        return [item["reference"] for item in page["items"]]  # type: ignore[attr-defined, index]

    assert refs(await get(floki, "/loans", status="open")) == ["L-2", "L-3"]
    assert refs(await get(floki, "/loans", status="overdue")) == ["L-2"]
    assert refs(await get(floki, "/loans", status="returned")) == ["L-1"]
    assert refs(await get(floki, "/loans")) == ["L-3", "L-2", "L-1"]
    overdue = (await get(floki, "/loans", status="overdue"))["items"][0]
    assert overdue["status"] == "overdue"
    resp = await floki.client.get(
        f"{API}/loans", params={"status": "lost"}, headers=await floki.headers("viewer")
    )
    assert resp.status == 400
    assert "open, overdue, returned" in (await resp.json())["error"]


async def test_overdue_sweep_announces_each_loan_once(
    floki: Floki, fleet: Fleet, loan_events: list[DomainEvent]
) -> None:
    pump = fleet.assets["PUMP-001"]
    loan = await post(floki, "/loans", loan_body(pump), role="staff")  # due 19 January
    loans = floki.core.workflow.loans

    floki.clock.advance(14 * 86400)  # 19 January, 09:00: due today, not yet overdue
    assert await loans.sweep_overdue() == []
    assert await loans.overdue(floki.clock.now()) == []

    floki.clock.advance(86400)  # 20 January
    found = await loans.sweep_overdue()
    assert [item.id for item in found] == [loan["id"]]
    assert await loans.sweep_overdue() == []
    floki.clock.advance(3 * 86400)
    assert await loans.sweep_overdue() == []

    overdue = [e for e in loan_events if e.type == "loan.overdue"]
    assert len(overdue) == 1
    assert overdue[0].entity_id == loan["id"]
    assert overdue[0].data["reference"] == "L-123"

    rows = await loans.overdue(floki.clock.now())
    assert len(rows) == 1
    row = rows[0]
    assert (row["id"], row["reference"], row["asset_id"]) == (loan["id"], "L-123", pump)
    assert row["due_back"] == dt.date(2026, 1, 19)
    assert row["destination"] == "home"
    assert row["days_overdue"] == 4

    shown = await get(floki, f"/loans/{loan['id']}")
    assert shown["status"] == "overdue"
    assert shown["overdue_since"].startswith("2026-01-20")
    entries, _ = await floki.core.read(list_audit, entity="loans", action="overdue")
    assert len(entries) == 1

    # Returned, it is no longer overdue.
    await floki.client.post(
        f"{API}/loans/{loan['id']}/return", json={}, headers=await floki.headers("staff")
    )
    assert await loans.overdue(floki.clock.now()) == []
