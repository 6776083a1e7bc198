"""Dates a PPM record or a loan takes in are the register's dates, 1970-01-01 to
2999-12-31: a completion typed as 0025 for 2025, or a next-due date of 9999, is a 422
naming the field and the range, and nothing is recorded - never an asset made overdue
for ever, or a register export that cannot be imported again."""

from __future__ import annotations

from typing import Any

import pytest

from floki_core.testing import Floki
from tests.core.workflow.loans_builder import loan_body
from tests.core.workflow.workflow_builder import (
    Hospital,
    add_asset,
    call,
    ok,
)
from tests.fixtures.prepared import Prepared

RANGE = "is out of range; 1970-01-01 to 2999-12-31"


@pytest.fixture
def hospital(floki: Floki, prepared_hospital: Prepared[Hospital]) -> Hospital:
    return prepared_hospital.on(floki)  # built by build_hospital (conftest.py)


async def test_a_work_order_completion_outside_the_range_is_refused_and_records_nothing(
    floki: Floki, hospital: Hospital
) -> None:
    pump = await add_asset(floki, hospital, "D1", due_in_days=-3)
    before = await ok(floki, "GET", f"/assets/{pump}")
    order = await ok(
        floki, "POST", "/work-orders", role="engineer", json={"asset_id": pump, "kind": "ppm"}
    )

    for field, value in (
        ("completed_on", "0025-12-01"),  # 2025 mistyped
        ("completed_on", "1969-12-31"),
        ("next_due", "9999-12-31"),
        ("next_due", "3000-01-01"),
    ):
        status, body = await call(
            floki,
            "POST",
            f"/work-orders/{order['id']}/complete",
            role="engineer",
            json={"outcome": "pass", field: value},
        )
        assert status == 422, (field, value, body)
        assert f"{field}: {value} {RANGE}" in body["error"]

    after = await ok(floki, "GET", f"/assets/{pump}")
    assert (after["last_ppm"], after["next_ppm_due"]) == (
        before["last_ppm"],
        before["next_ppm_due"],
    )
    assert (await ok(floki, "GET", f"/work-orders/{order['id']}"))["status"] == "open"
    # The boundaries themselves are dates a register can hold.
    status, done = await call(
        floki,
        "POST",
        f"/work-orders/{order['id']}/complete",
        role="engineer",
        json={"outcome": "pass", "next_due": "2999-12-31"},
    )
    assert status == 200 and done["next_due"] == "2999-12-31"


async def test_a_loan_due_back_outside_the_range_is_refused_naming_the_range(
    floki: Floki, hospital: Hospital
) -> None:
    pump = await add_asset(floki, hospital, "D2")
    body: dict[str, Any] = loan_body(pump, due_back="9999-12-31")

    status, answer = await call(floki, "POST", "/loans", role="staff", json=body)

    assert status == 422, answer
    assert f"due_back: 9999-12-31 {RANGE}" in answer["error"]
    assert (await ok(floki, "GET", "/loans"))["items"] == []
