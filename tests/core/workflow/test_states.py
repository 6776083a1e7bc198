"""Equipment states (workflow issue §1): the transition table and its roles over the API,
history and audit of every change, and the states that location suggests or sets.
Time moves only with the manual clock; dwell is checked by calling ``check_dwell``."""

from __future__ import annotations

from pathlib import Path

import pytest

from floki_core.config import AppConfig, parse_config
from floki_core.domain import AssetState
from floki_core.errors import ConfigError
from floki_core.testing import Floki
from floki_core.workflow.states_table import TRANSITIONS
from tests.core.workflow.workflow_builder import (
    EventLog,
    Hospital,
    add_asset,
    audit,
    call,
    ok,
    scan,
    set_state,
)
from tests.fixtures.prepared import Prepared

STATES = {
    "available",
    "in_use",
    "dirty",
    "faulty",
    "quarantined",
    "in_maintenance",
    "on_loan",
    "missing",
    "condemned",
}


@pytest.fixture
def hospital(floki: Floki, prepared_hospital: Prepared[Hospital]) -> Hospital:
    return prepared_hospital.on(floki)  # built by build_hospital (conftest.py)


async def history(floki: Floki, asset_id: int) -> list[dict[str, object]]:
    body = await ok(floki, "GET", f"/assets/{asset_id}/states", role="viewer")
    assert body["total"] == len(body["items"])
    return list(body["items"])


async def state_of(floki: Floki, asset_id: int) -> str:
    return str((await ok(floki, "GET", f"/assets/{asset_id}", role="viewer"))["state"])


# --- the table ----------------------------------------------------------------


async def test_the_table_says_which_changes_exist_and_who_may_make_them(floki: Floki) -> None:
    table = await ok(floki, "GET", "/states", role="viewer")
    recorded = {s["name"] for s in table["states"] if s["recorded"]}
    assert recorded == STATES
    assert {s["name"] for s in table["states"] if not s["recorded"]} == {"ppm_overdue"}
    moves = {(t["from_state"], t["to_state"]): t for t in table["transitions"]}
    assert moves[("available", "dirty")]["role"] == "staff"
    assert moves[("dirty", "available")]["role"] == "staff"
    assert moves[("faulty", "available")]["role"] == "engineer"
    assert moves[("available", "condemned")]["role"] == "engineer"
    assert moves[("available", "condemned")]["reason_required"] is True
    assert ("dirty", "in_use") not in moves
    # Condemned is final except for an admin's correction.
    assert {t["role"] for (f, _), t in moves.items() if f == "condemned"} == {"admin"}


# --- changes over the API -----------------------------------------------------


async def test_staff_mark_dirty_and_clean_with_history_audit_and_events(
    floki: Floki, hospital: Hospital
) -> None:
    log = EventLog(floki)
    pump = await add_asset(floki, hospital, "E1001")
    status, done = await set_state(floki, pump, "dirty", reason="used on bay 7A")
    assert status == 200, done
    assert (done["from_state"], done["to_state"], done["actor"]) == (
        "available",
        "dirty",
        "test-staff",
    )
    floki.clock.advance(3600)
    status, _ = await set_state(floki, pump, "available", reason="decontaminated")
    assert status == 200
    assert await state_of(floki, pump) == "available"

    changes = await history(floki, pump)
    assert [(c["from_state"], c["to_state"]) for c in changes] == [
        ("dirty", "available"),
        ("available", "dirty"),
    ]
    assert all(c["actor"] == "test-staff" and c["source"] == "api" for c in changes)
    assert changes[1]["reason"] == "used on bay 7A"
    assert changes[0]["at"] > changes[1]["at"]

    entries = await audit(floki, entity="assets", entity_id=str(pump), action="update")
    assert [(e["actor"], e["before"]["state"], e["after"]["state"]) for e in entries] == [
        ("test-staff", "dirty", "available"),
        ("test-staff", "available", "dirty"),
    ]
    announced = [(e.data["from_state"], e.data["to_state"]) for e in log.of("asset.state_changed")]
    assert announced == [("available", "dirty"), ("dirty", "available")]
    assert log.of("asset.state_changed")[0].data["actor"] == "test-staff"


@pytest.mark.parametrize(
    ("start", "target", "reason"),
    [
        ("dirty", "in_use", "must be decontaminated"),
        ("faulty", "in_use", "repaired and released by an engineer"),
        ("quarantined", "on_loan", "from quarantined the asset can go to"),
        ("available", "available", "already available"),
    ],
)
async def test_a_change_the_table_does_not_allow_is_409_with_the_reason(
    floki: Floki, hospital: Hospital, start: str, target: str, reason: str
) -> None:
    pump = await add_asset(floki, hospital, "E1002", state=start)
    before = await history(floki, pump)
    trail = await audit(floki, entity="assets", entity_id=str(pump))
    status, body = await set_state(floki, pump, target, role="admin")
    assert status == 409
    assert reason in body["error"]
    # A refused change leaves nothing behind.
    assert await state_of(floki, pump) == start
    assert await history(floki, pump) == before
    assert await audit(floki, entity="assets", entity_id=str(pump)) == trail


async def test_roles_per_change_are_enforced_with_403(floki: Floki, hospital: Hospital) -> None:
    pump = await add_asset(floki, hospital, "E1003", state="faulty")
    status, body = await set_state(floki, pump, "available", role="staff")
    assert status == 403
    assert body["error"] == "moving an asset from faulty to available needs the engineer role"
    status, body = await set_state(floki, pump, "available", role="viewer")
    assert (status, body["error"]) == (403, "this needs the staff role")
    status, _ = await set_state(floki, pump, "available", role="engineer", reason="no fault found")
    assert status == 200

    status, body = await set_state(floki, pump, "condemned", role="staff", reason="dropped")
    assert status == 403
    status, body = await set_state(floki, pump, "condemned", role="engineer")
    assert (status, body["error"]) == (422, "reason: say why the asset is condemned")
    status, _ = await set_state(floki, pump, "condemned", role="engineer", reason="cracked case")
    assert status == 200

    # Condemned is final; an admin may correct a mistake, with a reason.
    status, body = await set_state(floki, pump, "available", role="engineer", reason="oops")
    assert status == 403 and "admin" in body["error"]
    status, body = await set_state(floki, pump, "in_use", role="admin", reason="oops")
    assert status == 409 and "condemned is final" in body["error"]
    status, _ = await set_state(floki, pump, "quarantined", role="admin", reason="wrong asset")
    assert status == 200
    assert [c["actor"] for c in await history(floki, pump)] == [
        "test-admin",
        "test-engineer",
        "test-engineer",
    ]


async def test_unknown_states_and_assets_are_refused_clearly(
    floki: Floki, hospital: Hospital
) -> None:
    pump = await add_asset(floki, hospital, "E1004")
    status, body = await set_state(floki, pump, "lost")
    assert status == 422 and "'lost' is not a state" in body["error"]
    status, body = await set_state(floki, 99999, "dirty")
    assert status == 404
    status, body = await call(floki, "POST", f"/assets/{pump}/state", role="staff", json={})
    assert status == 422


async def test_a_register_edit_of_the_state_is_held_to_the_table(
    floki: Floki, hospital: Hospital
) -> None:
    pump = await add_asset(floki, hospital, "E1005", state="dirty")
    status, body = await call(
        floki, "PATCH", f"/assets/{pump}", role="engineer", json={"state": "in_use"}
    )
    assert status == 409 and "decontaminated" in body["error"]
    status, body = await call(
        floki,
        "PATCH",
        f"/assets/{pump}",
        role="engineer",
        json={"state": "available", "department": "Ward 7"},
    )
    assert status == 200 and body["state"] == "available" and body["department"] == "Ward 7"
    [change] = await history(floki, pump)
    assert (change["from_state"], change["source"], change["reason"]) == (
        "dirty",
        "api",
        "register edit",
    )


# --- location suggests ------------------------------------------------------------


async def test_a_stay_in_the_dirty_utility_suggests_dirty_and_one_action_confirms_it(
    floki: Floki, hospital: Hospital
) -> None:
    log = EventLog(floki)
    states = floki.core.workflow.states
    pump = await add_asset(floki, hospital, "E2001")
    await scan(floki, hospital, "E2001", "dirty7")
    floki.clock.advance(240)
    assert await states.check_dwell() == 0  # not there five minutes yet

    floki.clock.advance(61)
    assert await states.check_dwell() == 1
    open_ = await ok(floki, "GET", "/states/suggestions", role="viewer")
    [suggestion] = open_["items"]
    assert suggestion["asset_number"] == "E2001"
    assert (suggestion["from_state"], suggestion["to_state"]) == ("available", "dirty")
    assert (suggestion["zone"], suggestion["zone_type"]) == (
        "Ward 7 Dirty Utility",
        "dirty_utility",
    )
    assert await state_of(floki, pump) == "available"  # suggested, not set
    [event] = log.of("asset.state_suggested")
    assert event.data["suggestion_id"] == suggestion["id"]

    done = await ok(floki, "POST", f"/states/suggestions/{suggestion['id']}/confirm", role="staff")
    assert (done["to_state"], done["source"], done["actor"]) == ("dirty", "location", "test-staff")
    assert await state_of(floki, pump) == "dirty"
    assert (await ok(floki, "GET", "/states/suggestions", role="viewer"))["total"] == 0
    confirmed = await ok(
        floki, "GET", "/states/suggestions", role="viewer", params={"status": "confirmed"}
    )
    assert [s["resolved_by"] for s in confirmed["items"]] == ["test-staff"]
    status, body = await call(
        floki, "POST", f"/states/suggestions/{suggestion['id']}/confirm", role="staff"
    )
    assert status == 409 and "already confirmed" in body["error"]
    # One decision per stay: staying longer raises nothing new.
    floki.clock.advance(3600)
    assert await states.check_dwell() == 0


async def test_leaving_before_the_dwell_suggests_nothing(floki: Floki, hospital: Hospital) -> None:
    await add_asset(floki, hospital, "E2002")
    await scan(floki, hospital, "E2002", "dirty7")
    floki.clock.advance(120)
    await scan(floki, hospital, "E2002", "bay7a")
    floki.clock.advance(600)
    assert await floki.core.workflow.states.check_dwell() == 0
    body = await ok(floki, "GET", "/states/suggestions", role="viewer", params={"status": "all"})
    assert body["total"] == 0


async def test_a_dismissed_suggestion_stays_dismissed_and_a_direct_change_supersedes(
    floki: Floki, hospital: Hospital
) -> None:
    states = floki.core.workflow.states
    a = await add_asset(floki, hospital, "E2003")
    b = await add_asset(floki, hospital, "E2004")
    for number in ("E2003", "E2004"):
        await scan(floki, hospital, number, "dirty7")
    floki.clock.advance(301)
    assert await states.check_dwell() == 2
    items = (await ok(floki, "GET", "/states/suggestions", role="viewer"))["items"]
    by_asset = {s["asset_id"]: s["id"] for s in items}

    dismissed = await ok(
        floki,
        "POST",
        f"/states/suggestions/{by_asset[a]}/dismiss",
        role="staff",
        json={"reason": "only passing through"},
    )
    assert (dismissed["status"], dismissed["resolved_by"]) == ("dismissed", "test-staff")
    assert await audit(floki, entity="state_suggestions", action="dismiss")
    status, _ = await set_state(floki, b, "faulty", reason="alarm E37")
    assert status == 200
    everything = await ok(
        floki, "GET", "/states/suggestions", role="viewer", params={"status": "all"}
    )
    assert {s["asset_id"]: s["status"] for s in everything["items"]} == {
        a: "dismissed",
        b: "superseded",
    }
    # A restart re-reads stays under way; the same stay does not raise it again.
    await states.stop()
    await states.start()
    floki.clock.advance(60)
    assert await states.check_dwell() == 0


async def test_the_library_suggests_available_only_after_decontamination(
    floki: Floki, hospital: Hospital
) -> None:
    await add_asset(floki, hospital, "E2005", state="dirty")
    await add_asset(floki, hospital, "E2006", state="faulty")
    for number in ("E2005", "E2006"):
        await scan(floki, hospital, number, "library")
    floki.clock.advance(121)
    assert await floki.core.workflow.states.check_dwell() == 1
    [suggestion] = (await ok(floki, "GET", "/states/suggestions", role="viewer"))["items"]
    assert (suggestion["asset_number"], suggestion["to_state"]) == ("E2005", "available")


async def test_the_workshop_suggests_maintenance_which_an_engineer_confirms_from_faulty(
    floki: Floki, hospital: Hospital
) -> None:
    pump = await add_asset(floki, hospital, "E2007", state="faulty")
    await scan(floki, hospital, "E2007", "workshop")
    floki.clock.advance(301)
    await floki.core.workflow.states.check_dwell()
    [suggestion] = (await ok(floki, "GET", "/states/suggestions", role="viewer"))["items"]
    path = f"/states/suggestions/{suggestion['id']}/confirm"
    status, body = await call(floki, "POST", path, role="staff")
    assert status == 403 and "engineer" in body["error"]
    await ok(floki, "POST", path, role="engineer")
    assert await state_of(floki, pump) == "in_maintenance"


class TestSetMode:
    @pytest.fixture
    def floki_config(self) -> AppConfig:
        return parse_config(
            {
                "discovery": {"enabled": False},
                "server": {"tls": False},
                "workflow": {
                    "states": {
                        "location_rules": {
                            "dirty_utility": {
                                "to_state": "dirty",
                                "from_states": ["available", "in_use"],
                                "dwell_seconds": 60,
                                "mode": "set",
                            },
                            "workshop": {
                                "to_state": "in_maintenance",
                                "from_states": ["faulty"],
                                "dwell_seconds": 0,
                                "mode": "set",
                            },
                        }
                    }
                },
            }
        )

    async def test_set_mode_changes_the_state_without_asking(
        self, floki: Floki, hospital: Hospital
    ) -> None:
        pump = await add_asset(floki, hospital, "E3001", state="in_use")
        await scan(floki, hospital, "E3001", "dirty7")
        floki.clock.advance(61)
        assert await floki.core.workflow.states.check_dwell() == 1
        assert await state_of(floki, pump) == "dirty"
        [change] = await history(floki, pump)
        assert (change["actor"], change["source"]) == ("system", "location")
        assert "Ward 7 Dirty Utility" in change["reason"]
        entries = await audit(floki, entity="assets", entity_id=str(pump), action="update")
        assert entries[0]["actor"] == "system"

    async def test_a_rule_without_dwell_acts_on_arrival(
        self, floki: Floki, hospital: Hospital
    ) -> None:
        pump = await add_asset(floki, hospital, "E3002", state="faulty")
        await scan(floki, hospital, "E3002", "workshop")
        assert await state_of(floki, pump) == "in_maintenance"
        # The library has no rule in this configuration.
        body = await ok(
            floki, "GET", "/states/suggestions", role="viewer", params={"status": "all"}
        )
        assert body["total"] == 0


def test_a_location_rule_the_table_does_not_allow_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match=r"workflow\.states\.location_rules") as err:
        parse_config(
            {
                "workflow": {
                    "states": {
                        "location_rules": {
                            "dirty_utility": {"to_state": "in_use", "from_states": ["dirty"]}
                        }
                    }
                }
            }
        )
    assert "dirty -> in_use is not an allowed state change" in str(err.value)


def test_the_documented_table_is_the_table_in_force() -> None:
    doc = (Path(__file__).parents[3] / "docs" / "ppm.md").read_text()
    names = {s.value for s in AssetState}
    documented = set()
    for line in doc.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 4 and cells[0] in names and cells[1] in names:
            documented.add((cells[0], cells[1], cells[2]))
    in_force = {
        (f.value, t.value, r.value) for f, moves in TRANSITIONS.items() for t, r in moves.items()
    }
    assert documented == in_force
