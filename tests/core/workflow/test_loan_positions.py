"""A loaned asset's raw positions: kept apart from the location tables, shown only by an
audited recall with a reason (recorded in the loan's history), purged after the
retention period, and never in the raw capture."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from sqlalchemy import func, select

from floki_core.config import AppConfig, parse_config
from floki_core.storage.models import AuditRow
from floki_core.storage.models_loans import LoanRawFixRow
from floki_core.testing import Floki
from tests.core.location.register_builder import Register, fix
from tests.core.workflow.loans_builder import API, get, loan_body, post

HOME = (52.95, -1.15)  # a patient's home: in no zone of the trust
NEARER_HOME = (52.9501, -1.1502)
RETENTION_DAYS = 3


@pytest.fixture
def floki_config() -> AppConfig:
    return parse_config(
        {
            "discovery": {"enabled": False},
            "server": {"tls": False},
            "workflow": {"loans": {"raw_fix_retention_days": RETENTION_DAYS}},
            "location": {"capture_sample": 1.0},
        }
    )


async def _loaned_kit(floki: Floki, reg: Register) -> tuple[Any, int, dict[str, Any]]:
    kit = reg.assets["VAN-KIT-001"]
    loan = await post(floki, "/loans", loan_body(kit, reference="L-900"), role="staff")
    return reg, kit, loan


async def _recall(floki: Floki, loan_id: int, body: Any, role: str = "engineer") -> Any:
    resp = await floki.client.post(
        f"{API}/loans/{loan_id}/recall-position", json=body, headers=await floki.headers(role)
    )
    return resp.status, await resp.json()


async def _raw_count(floki: Floki) -> int:
    def count(session: Any) -> int:
        return int(session.scalar(select(func.count()).select_from(LoanRawFixRow)))

    return await floki.core.read(count)


async def test_an_engineer_recalls_the_last_fix_with_a_reason_recorded_and_audited(
    floki: Floki,
    reg: Register,
) -> None:
    reg, kit, loan = await _loaned_kit(floki, reg)
    floki.advance(60)
    await floki.inject([fix(reg, "VAN-KIT-001", *HOME, floki.clock.now(), accuracy_m=12.0)])
    floki.advance(60)
    last_at = floki.clock.now()
    await floki.inject([fix(reg, "VAN-KIT-001", *NEARER_HOME, last_at, accuracy_m=6.0)])
    await floki.core.locations.flush()

    # Everyone else still sees the zone level only.
    shown = await get(floki, f"/assets/{kit}/location")
    assert shown["lat"] is None and shown["label"] == "in community, loan L-900"

    status, recall = await _recall(
        floki, loan["id"], {"reason": "overdue, collection booked for Tuesday"}
    )
    assert status == 200, recall
    assert (recall["lat"], recall["lon"], recall["accuracy_m"]) == (*NEARER_HOME, 6.0)
    assert dt.datetime.fromisoformat(recall["observed_at"]) == last_at
    assert recall["recalled_by"] == "test-engineer"  # who asked
    assert recall["reason"] == "overdue, collection booked for Tuesday"

    history = await get(floki, f"/loans/{loan['id']}/recalls", role="engineer")
    [entry] = history["items"]
    assert entry["reason"] == "overdue, collection booked for Tuesday"
    assert entry["recalled_by"] == recall["recalled_by"]
    assert "lat" not in entry and "lon" not in entry

    def audit(session: Any) -> list[AuditRow]:
        return list(session.scalars(select(AuditRow).where(AuditRow.action == "recall_position")))

    [row] = await floki.core.read(audit)
    assert "overdue, collection booked for Tuesday" in row.detail
    assert row.actor == "test-engineer"
    trail = json.dumps([row.before, row.after, row.detail])
    assert str(NEARER_HOME[0]) not in trail and str(NEARER_HOME[1]) not in trail


async def test_a_recall_needs_a_reason_an_engineer_and_an_open_loan(
    floki: Floki, reg: Register
) -> None:
    reg, _kit, loan = await _loaned_kit(floki, reg)
    status, refused = await _recall(floki, loan["id"], {"reason": "x"})
    assert status == 422 and "reason" in refused["error"]
    status, refused = await _recall(floki, loan["id"], {"reason": "overdue, to collect"}, "staff")
    assert status == 403
    status, refused = await _recall(floki, loan["id"], {"reason": "overdue, to collect"})
    assert status == 404 and "no position is kept for loan L-900" in refused["error"]

    await floki.inject([fix(reg, "VAN-KIT-001", *HOME, floki.clock.now())])
    await floki.core.locations.flush()
    await post(floki, f"/loans/{loan['id']}/return", {}, role="staff", status=200)
    status, refused = await _recall(floki, loan["id"], {"reason": "overdue, to collect"})
    assert status == 409 and "returned" in refused["error"]
    assert (await get(floki, f"/loans/{loan['id']}/recalls", role="engineer"))["items"] == []


async def test_raw_fixes_older_than_the_retention_are_purged(floki: Floki, reg: Register) -> None:
    reg, _kit, loan = await _loaned_kit(floki, reg)
    await floki.inject([fix(reg, "VAN-KIT-001", *HOME, floki.clock.now())])
    await floki.core.locations.flush()
    assert await _raw_count(floki) == 1
    floki.advance(RETENTION_DAYS * 86400 - 60)
    assert await floki.core.workflow.loans.purge_raw_fixes() == 0
    floki.advance(120)
    assert await floki.core.workflow.loans.purge_raw_fixes() == 1
    assert await _raw_count(floki) == 0
    status, refused = await _recall(floki, loan["id"], {"reason": "overdue, to collect"})
    assert status == 404 and "purged" in refused["error"]


async def test_fixes_of_assets_not_on_loan_stay_out_of_the_loan_table(
    floki: Floki, reg: Register
) -> None:
    await floki.inject([fix(reg, "VAN-KIT-001", *HOME, floki.clock.now())])
    await floki.core.locations.flush()
    assert await _raw_count(floki) == 0


async def test_the_raw_capture_never_holds_coordinates(floki: Floki, reg: Register) -> None:
    reg, _kit, _loan = await _loaned_kit(floki, reg)
    await floki.inject([fix(reg, "VAN-KIT-001", *HOME, floki.clock.now())])
    await floki.core.locations.flush()
    captured = b"".join(p.read_bytes() for p in (floki.core.data_dir / "capture").glob("*.jsonl"))
    assert reg.tags["VAN-KIT-001"]["gps"].encode() in captured  # the sighting was captured
    assert str(HOME[0]).encode() not in captured and b'"lat"' not in captured


async def test_a_returned_loan_leaves_no_position_from_its_time_out(
    floki: Floki, reg: Register
) -> None:
    """Once returned, the loan no longer hides the asset: the fixes taken while it was out
    (a patient's home) must not be shown then either; the next fix gives a position."""
    reg, kit, loan = await _loaned_kit(floki, reg)
    await floki.inject([fix(reg, "VAN-KIT-001", *HOME, floki.clock.now())])
    await floki.core.locations.flush()
    await post(floki, f"/loans/{loan['id']}/return", {}, role="staff", status=200)
    shown = await get(floki, f"/assets/{kit}/location")
    assert (shown["lat"], shown["lon"]) == (None, None), shown
    floki.advance(60)
    await floki.inject([fix(reg, "VAN-KIT-001", *NEARER_HOME, floki.clock.now())])
    shown = await get(floki, f"/assets/{kit}/location")
    assert (shown["lat"], shown["lon"]) == NEARER_HOME
