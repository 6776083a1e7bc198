"""Utilisation and proof of value (workflow issue §5): time in state, peak use against
fleet size, search effort, idle assets and PPM compliance, from a history built by
moving the clock and changing states as the appliance would."""

from __future__ import annotations

from typing import Any

import pytest

from floki_core.config import AppConfig, parse_config
from floki_core.testing import Floki
from tests.core.location.register_builder import build_register, scan
from tests.core.workflow.loans_builder import API, build_fleet, get, loan_body, post

HOUR = 3600


@pytest.fixture
def floki_config() -> AppConfig:
    return parse_config(
        {
            "discovery": {"enabled": False},
            "server": {"tls": False},
            "workflow": {"utilisation": {"go_live": "2026-01-05", "idle_days": 14}},
        }
    )


async def _history(floki: Floki) -> dict[str, int]:
    """Four pumps over 40 hours from 5 January 09:00 (hours from the start):

    PUMP-001 available 0-10, in use 10-25, dirty 25-30, available 30-40
    PUMP-002 available 0-10, in use 10-40
    PUMP-003 available 0-20, in use 20-30, missing 30-36, available 36-40
    PUMP-004 available 0-12, in maintenance 12-20, available 20-40
    """
    fleet = await build_fleet(floki, 4)
    p1, p2, p3, p4 = (fleet.assets[f"PUMP-00{i}"] for i in range(1, 5))
    steps = [
        (10, [(p1, "in_use"), (p2, "in_use")]),
        (2, [(p4, "in_maintenance")]),
        (8, [(p3, "in_use"), (p4, "available")]),
        (5, [(p1, "dirty")]),
        (5, [(p1, "available"), (p3, "missing")]),
        (6, [(p3, "available")]),
        (4, []),
    ]
    change = floki.core.workflow.states.change
    for hours, moves in steps:
        floki.advance(hours * HOUR)
        for asset_id, state in moves:
            await change(asset_id, state, actor=None, source="test")
    return fleet.assets


async def _report(floki: Floki, role: str = "viewer", **params: Any) -> dict[str, Any]:
    data = await get(floki, "/reports/utilisation", role=role, **params)
    assert isinstance(data, dict)
    return data


async def test_time_in_state_peak_use_and_search_effort(floki: Floki) -> None:
    await _history(floki)
    report = await _report(floki, **{"from": "2026-01-05T09:00:00Z"})
    assert report["period_days"] == pytest.approx(40 / 24, abs=0.01)
    assert report["fleet"] == 4
    (group,) = report["groups"]
    assert (group["class_name"], group["department"], group["fleet"]) == ("Infusion pump", "ICU", 4)
    assert group["asset_hours"] == 160
    assert group["hours"] == {
        "in_use": 55.0,
        "available": 86.0,
        "dirty": 5.0,
        "in_maintenance": 8.0,
        "missing": 6.0,
    }
    assert group["shares"]["in_use"] == pytest.approx(55 / 160, abs=1e-4)
    assert group["shares"]["available"] == pytest.approx(86 / 160, abs=1e-4)
    assert sum(group["shares"].values()) == pytest.approx(1.0, abs=1e-3)

    assert group["peak_in_use"] == 3
    assert group["peak_at"].startswith("2026-01-06T05:00")  # hour 20
    assert group["never_needed_at_peak"] == 1
    assert group["recommendation"] == (
        "1 of 4 Infusion pumps in ICU were never needed at peak in the last 2 days "
        "(at most 3 in use at once)"
    )
    assert report["never_needed_at_peak"] == 1

    assert (group["reported_missing"], group["found"], group["still_missing"]) == (1, 1, 0)
    assert group["median_hours_to_find"] == 6.0


async def test_period_clips_the_history(floki: Floki) -> None:
    await _history(floki)
    # Hours 10 to 20 only: PUMP-001 and PUMP-002 in use throughout, PUMP-004 in
    # maintenance for 8 of them, PUMP-003 available.
    report = await _report(
        floki, **{"from": "2026-01-05T19:00:00+00:00", "to": "2026-01-06T05:00:00+00:00"}
    )
    (group,) = report["groups"]
    assert group["hours"]["in_use"] == 20.0
    assert group["hours"]["in_maintenance"] == 8.0
    assert group["hours"]["available"] == 12.0
    assert group["peak_in_use"] == 2
    assert group["recommendation"].startswith("2 of 4 Infusion pumps in ICU were never needed")
    assert "in 05 Jan 2026 19:00 to 06 Jan 2026 05:00 UTC" in group["recommendation"]
    assert group["reported_missing"] == 0


async def test_assets_without_changes_count_in_their_state_from_registration(
    floki: Floki,
) -> None:
    floki.advance(24 * HOUR)
    await build_fleet(floki, 2, class_name="Hoist", department="")
    floki.advance(12 * HOUR)
    report = await _report(floki, **{"from": "2026-01-05"})
    (group,) = report["groups"]
    assert group["class_name"] == "Hoist" and group["department"] == ""
    assert group["hours"]["available"] == 24.0  # 12 hours each, since registration
    assert group["peak_in_use"] == 0
    assert group["recommendation"].startswith("2 of 2 Hoists were never needed at peak")


async def test_a_fully_used_fleet_has_no_spare(floki: Floki) -> None:
    fleet = await build_fleet(floki, 2)
    for asset_id in fleet.assets.values():
        await floki.core.workflow.states.change(asset_id, "in_use", actor=None, source="test")
    floki.advance(24 * HOUR)
    (group,) = (await _report(floki, **{"from": "2026-01-05T09:00:00Z"}))["groups"]
    assert group["never_needed_at_peak"] == 0
    assert group["recommendation"] == (
        "all 2 Infusion pumps in ICU were in use at once at peak in the last day: no spare capacity"
    )


async def test_filters_by_class_and_department(floki: Floki) -> None:
    await build_fleet(floki, 2)
    beds = await post(floki, "/asset-classes", {"name": "Bed"})
    await post(
        floki, "/assets", {"asset_number": "BED-1", "class_id": beds["id"], "department": "Ward"}
    )
    floki.advance(HOUR)
    everything = await _report(floki)
    assert [(g["class_name"], g["fleet"]) for g in everything["groups"]] == [
        ("Bed", 1),
        ("Infusion pump", 2),
    ]
    only_beds = await _report(floki, class_id=beds["id"])
    assert [g["class_name"] for g in only_beds["groups"]] == ["Bed"]
    assert only_beds["class_id"] == beds["id"]
    icu = await _report(floki, department="ICU")
    assert [g["class_name"] for g in icu["groups"]] == ["Infusion pump"]
    assert (await _report(floki, department="Nowhere"))["groups"] == []


async def test_idle_assets(floki: Floki) -> None:
    reg = await build_register(floki)
    t0 = floki.clock.now()
    await floki.inject(
        [
            scan(reg, "PUMP-001", "qr-7a", t0),
            scan(reg, "PUMP-002", "qr-7a", t0),
            scan(reg, "SCAN-001", "qr-bay", t0),
        ]
    )
    await post(floki, "/loans", loan_body(reg.assets["SCAN-001"], due_back="2026-03-01"))
    floki.advance(10 * 86400)
    await floki.inject([scan(reg, "PUMP-001", "qr-7b", floki.clock.now())])
    floki.advance(5 * 86400)

    report = await _report(floki)
    idle = {a["asset_number"]: a for g in report["groups"] for a in g["idle"]}
    # PUMP-001 moved 5 days ago; SCAN-001 is on loan (not expected to move here).
    assert set(idle) == {"PUMP-002", "SPARE-001", "VAN-KIT-001"}
    assert idle["PUMP-002"]["zone"] == "Room 7A"
    assert idle["PUMP-002"]["idle_days"] == 15
    assert idle["PUMP-002"]["last_moved"].startswith("2026-01-05T09:00")
    assert idle["SPARE-001"]["last_moved"] is None  # never seen: idle since registered
    pumps = next(g for g in report["groups"] if g["class_name"] == "Infusion pump")
    assert pumps["idle_count"] == 2


async def test_ppm_compliance_before_and_after_go_live(floki: Floki) -> None:
    fleet = await build_fleet(floki, 4)
    dues = {"PUMP-001": "2026-01-01", "PUMP-002": "2026-01-03", "PUMP-003": "2026-03-01"}
    engineer = await floki.headers("engineer")
    for number, due in dues.items():
        resp = await floki.client.patch(
            f"{API}/assets/{fleet.assets[number]}", json={"next_ppm_due": due}, headers=engineer
        )
        assert resp.status == 200, await resp.text()
    # After go-live (5 January) the overdue PUMP-001 has its PPM done.
    floki.advance(3 * 86400)
    resp = await floki.client.patch(
        f"{API}/assets/{fleet.assets['PUMP-001']}",
        json={"next_ppm_due": "2027-01-08"},
        headers=engineer,
    )
    assert resp.status == 200
    floki.advance(HOUR)

    report = await _report(floki, **{"from": "2026-01-01"})
    assert report["go_live"] == "2026-01-05"
    assert report["ppm_before"] == {
        "at": "2026-01-05",
        "scheduled": 4,
        "compliant": 2,
        "share": 0.5,
    }
    assert report["ppm_after"] == {
        "at": "2026-01-08",
        "scheduled": 4,
        "compliant": 3,
        "share": 0.75,
    }
    (group,) = report["groups"]
    assert group["ppm_before"]["share"] == 0.5 and group["ppm_after"]["share"] == 0.75


@pytest.mark.parametrize(
    ("params", "reason"),
    [
        ({"from": "yesterday"}, "from must be a date"),
        ({"to": "2026-13-01"}, "to must be a date"),
        ({"from": "2026-01-05", "to": "2026-01-01"}, "the period is empty"),
        ({"from": "2020-01-01"}, "longer than 800 days"),
        ({"class_id": "pumps"}, "class_id must be an integer"),
    ],
)
async def test_bad_report_queries_are_refused(
    floki: Floki, params: dict[str, str], reason: str
) -> None:
    resp = await floki.client.get(
        f"{API}/reports/utilisation", params=params, headers=await floki.headers("viewer")
    )
    assert resp.status == 400
    assert reason in (await resp.json())["error"]


async def test_report_needs_a_token(floki: Floki) -> None:
    assert (await floki.client.get(f"{API}/reports/utilisation")).status == 401
