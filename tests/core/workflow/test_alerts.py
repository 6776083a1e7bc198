"""Alerts raised by rules, one per condition, acknowledged and resolved (issue §3).

Tags are moved with QR scans (believed at once) and time with the manual clock; the
background evaluation is held off (long settle and sweep) so each test calls
``evaluate()`` itself, as the sweep would.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import aiohttp
import pytest

from floki_core.config import AppConfig, parse_config
from floki_core.testing import Floki
from tests.core.location.register_builder import (
    API,
    Register,
    build_register,
    get_json,
    post,
    scan,
)

DWELL = 300.0
GEOFENCE = {
    "name": "Ward 7 kit stays on Ward 7",
    "type": "geofence_exit",
    "params": {"dwell_seconds": DWELL},
}


def alerts_config(*rules: dict[str, Any], **alerts: Any) -> AppConfig:
    return parse_config(
        {
            "discovery": {"enabled": False},
            "server": {"tls": False},
            "location": {"flush_seconds": 10.0},
            "workflow": {
                "alerts": {
                    # Held off, so only the test evaluates.
                    "sweep_seconds": 3600,
                    "settle_seconds": 60,
                    "rules": list(rules),
                    **alerts,
                }
            },
        }
    )


@pytest.fixture
def floki_config() -> AppConfig:
    return alerts_config(GEOFENCE)


async def ward_world(floki: Floki, reg: Register | None = None) -> Register:
    """The location tests' register (``reg``, the prepared one the appliance started on,
    or else built here), a QR reader in Room 2D (off the ward), and the pumps and the
    scanner homed on Ward 7."""
    if reg is None:
        reg = await build_register(floki)
    reg.receivers["qr-2d"] = await post(
        floki,
        "/receivers",
        {
            "name": "qr-2d",
            "technology": "qr",
            "identifier": "QR-READER-2D",
            "zone_id": reg.zones["room_d"],
        },
    )
    for number in ("PUMP-001", "PUMP-002", "SCAN-001"):
        await patch_asset(floki, reg, number, home_zone_id=reg.zones["ward"])
    await floki.core.locations.reindex()
    return reg


async def patch_asset(floki: Floki, reg: Register, number: str, **changes: Any) -> None:
    resp = await floki.client.patch(
        f"{API}/assets/{reg.assets[number]}", json=changes, headers=await floki.headers("admin")
    )
    assert resp.status == 200, await resp.text()


async def put_at(floki: Floki, reg: Register, number: str, reader: str) -> None:
    """A porter scans the device's label at a reader: it is there at once."""
    await floki.inject([scan(reg, number, reader, floki.clock.now())], source="ward-phone")


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


async def evaluate(floki: Floki) -> None:
    await floki.core.workflow.alerts.evaluate()


async def listed(floki: Floki, **params: Any) -> list[dict[str, Any]]:
    items = (await get_json(floki, "/alerts", **params))["items"]
    assert isinstance(items, list)
    return items


async def act(floki: Floki, alert_id: int, action: str, role: str, **body: Any) -> Any:
    resp = await floki.client.post(
        f"{API}/alerts/{alert_id}/{action}", json=body, headers=await floki.headers(role)
    )
    return resp.status, await resp.json()


# --- geofence: the whole lifecycle -----------------------------------------------------


async def test_leaving_the_ward_raises_one_alert_after_the_dwell_then_ack_then_return(
    floki: Floki,
    reg: Register,
) -> None:
    reg = await ward_world(floki, reg)
    await put_at(floki, reg, "PUMP-001", "qr-7a")
    await evaluate(floki)
    assert await listed(floki) == []

    floki.clock.advance(60)
    await put_at(floki, reg, "PUMP-001", "qr-2d")  # off the ward, no loan
    left_at = floki.clock.now()
    floki.clock.advance(DWELL - 1)
    await evaluate(floki)
    assert await listed(floki) == [], "raised before the dwell was over"

    floki.clock.advance(2)
    for _ in range(5):  # the sweep judging the same condition again and again
        await evaluate(floki)
        floki.clock.advance(30)
    [alert] = await listed(floki, status="open")
    assert alert["status"] == "raised"
    assert alert["severity"] == "warning"  # the rule type's default
    assert alert["asset_id"] == reg.assets["PUMP-001"]
    assert alert["rule_name"] == GEOFENCE["name"]
    assert "PUMP-001" in alert["title"] and "Ward 7" in alert["title"]
    assert "Room 2D" in alert["title"]
    assert alert["occurrences"] == 1
    assert at(alert["detail"]["left_at"]) == left_at

    # A staff member acknowledges it: who and when are kept, and audited.
    status, acked = await act(floki, alert["id"], "ack", "staff", note="porter fetching it")
    assert status == 200, acked
    assert acked["status"] == "acknowledged"
    assert acked["acknowledged_by"] == "test-staff"
    assert at(acked["acknowledged_at"]) == floki.clock.now()
    audit = await get_json(floki, "/audit", "admin", entity="alerts", entity_id=alert["id"])
    [entry] = audit["items"]
    assert (entry["action"], entry["actor"]) == ("acknowledge", "test-staff")
    assert entry["detail"] == "porter fetching it"
    assert entry["before"]["status"] == "raised"
    assert entry["after"]["status"] == "acknowledged"
    status, again = await act(floki, alert["id"], "ack", "engineer")
    assert status == 409 and "already acknowledged by test-staff" in again["error"]

    # Back on the ward (another room of it): resolved by the system, no new alert.
    floki.clock.advance(60)
    await put_at(floki, reg, "PUMP-001", "qr-7b")
    await evaluate(floki)
    assert await listed(floki, status="open") == []
    [resolved] = await listed(floki)
    assert resolved["id"] == alert["id"]
    assert resolved["status"] == "resolved"
    assert resolved["resolved_by"] == "system"
    assert resolved["resolution"] == "condition cleared"
    assert resolved["acknowledged_by"] == "test-staff"


async def test_no_alert_inside_the_home_tree_nor_for_assets_without_a_home(
    floki: Floki,
    reg: Register,
) -> None:
    reg = await ward_world(floki, reg)
    await patch_asset(floki, reg, "PUMP-002", home_zone_id=None)
    for reader in ("qr-7a", "qr-bay", "qr-7b"):
        await put_at(floki, reg, "PUMP-001", reader)
        floki.clock.advance(DWELL * 2)
    await put_at(floki, reg, "PUMP-002", "qr-2d")
    floki.clock.advance(DWELL * 2)
    await evaluate(floki)
    assert await listed(floki) == []


async def test_an_open_loan_exempts_the_asset(
    floki: Floki, reg: Register, monkeypatch: pytest.MonkeyPatch
) -> None:
    reg = await ward_world(floki, reg)
    on_loan = {reg.assets["PUMP-001"]}

    async def open_loan_asset_ids() -> set[int]:
        return on_loan

    # The loans part's contract: the assets out on an open loan.
    monkeypatch.setattr(
        floki.core.workflow.loans, "open_loan_asset_ids", open_loan_asset_ids, raising=False
    )
    await put_at(floki, reg, "PUMP-001", "qr-7a")
    await put_at(floki, reg, "PUMP-001", "qr-2d")
    floki.clock.advance(DWELL * 3)
    await evaluate(floki)
    assert await listed(floki) == []

    on_loan.clear()  # returned, but left off the ward
    await evaluate(floki)
    [alert] = await listed(floki, status="open")
    assert alert["asset_id"] == reg.assets["PUMP-001"]


async def test_a_device_in_maintenance_may_leave_its_ward(floki: Floki, reg: Register) -> None:
    reg = await ward_world(floki, reg)
    await patch_asset(floki, reg, "PUMP-001", state="in_maintenance")
    await put_at(floki, reg, "PUMP-001", "qr-2d")
    floki.clock.advance(DWELL * 3)
    await evaluate(floki)
    assert await listed(floki) == []


async def test_resolving_by_hand_while_still_away_raises_nothing_new_until_it_returns(
    floki: Floki,
    reg: Register,
) -> None:
    reg = await ward_world(floki, reg)
    await put_at(floki, reg, "PUMP-001", "qr-2d")
    floki.clock.advance(DWELL + 1)
    await evaluate(floki)
    [alert] = await listed(floki, status="open")

    status, done = await act(floki, alert["id"], "resolve", "engineer", note="lent to ward 2D")
    assert status == 200, done
    assert (done["status"], done["resolved_by"]) == ("resolved", "test-engineer")
    assert done["resolution"] == "lent to ward 2D"
    status, again = await act(floki, alert["id"], "resolve", "engineer")
    assert status == 409 and "already resolved" in again["error"]

    for _ in range(3):
        floki.clock.advance(DWELL)
        await evaluate(floki)
    assert await listed(floki, status="open") == []

    # Home, then away again: that is a new departure, so a new alert.
    await put_at(floki, reg, "PUMP-001", "qr-7a")
    await evaluate(floki)
    await put_at(floki, reg, "PUMP-001", "qr-2d")
    floki.clock.advance(DWELL + 1)
    await evaluate(floki)
    [fresh] = await listed(floki, status="open")
    assert fresh["id"] != alert["id"]
    audit = await get_json(floki, "/audit", "admin", entity="alerts", action="resolve")
    assert [e["actor"] for e in audit["items"]] == ["test-engineer"]


async def test_ack_and_resolve_need_staff_and_an_open_alert(floki: Floki, reg: Register) -> None:
    reg = await ward_world(floki, reg)
    await put_at(floki, reg, "PUMP-001", "qr-2d")
    floki.clock.advance(DWELL + 1)
    await evaluate(floki)
    [alert] = await listed(floki)
    for action in ("ack", "resolve"):
        status, body = await act(floki, alert["id"], action, "viewer")
        assert status == 403, body
    status, body = await act(floki, 999_999, "ack", "staff")
    assert status == 404
    # No body at all is fine: the note is optional.
    resp = await floki.client.post(
        f"{API}/alerts/{alert['id']}/ack", headers=await floki.headers("staff")
    )
    assert resp.status == 200, await resp.text()
    status, body = await act(floki, alert["id"], "resolve", "staff", reason="wrong field")
    assert status == 422 and "reason" in body["error"]


async def test_listing_filters_by_status_and_severity(floki: Floki, reg: Register) -> None:
    reg = await ward_world(floki, reg)
    for number in ("PUMP-001", "PUMP-002"):
        await put_at(floki, reg, number, "qr-2d")
    floki.clock.advance(DWELL + 1)
    await evaluate(floki)
    by_asset = {a["asset_id"]: a for a in await listed(floki)}
    first, second = by_asset[reg.assets["PUMP-001"]], by_asset[reg.assets["PUMP-002"]]
    await act(floki, first["id"], "ack", "staff")
    assert [a["id"] for a in await listed(floki, status="acknowledged")] == [first["id"]]
    assert [a["id"] for a in await listed(floki, status="raised")] == [second["id"]]
    assert len(await listed(floki, status="open")) == 2
    assert len(await listed(floki, status="raised,acknowledged", severity="warning")) == 2
    assert await listed(floki, severity="critical") == []
    assert [a["id"] for a in await listed(floki, asset_id=reg.assets["PUMP-002"])] == [second["id"]]
    for bad in ({"status": "closed"}, {"severity": "urgent"}, {"limit": "many"}):
        resp = await floki.client.get(
            f"{API}/alerts", params=bad, headers=await floki.headers("viewer")
        )
        assert resp.status == 400, bad
        assert next(iter(bad)) in (await resp.json())["error"]
    one = await get_json(floki, f"/alerts/{first['id']}")
    assert one["status"] == "acknowledged" and one["deliveries"] == []


async def test_alert_changes_reach_websocket_clients(floki: Floki, reg: Register) -> None:
    reg = await ward_world(floki, reg)
    ws = await floki.client.ws_connect(f"{API}/events", headers=await floki.headers("viewer"))
    try:
        await put_at(floki, reg, "PUMP-001", "qr-2d")
        floki.clock.advance(DWELL + 1)
        await evaluate(floki)
        raised = await next_alert_event(ws)
        assert raised["type"] == "alert.raised"
        assert raised["data"]["asset_id"] == reg.assets["PUMP-001"]
        await act(floki, raised["entity_id"], "ack", "staff")
        acked = await next_alert_event(ws)
        assert acked["type"] == "alert.acknowledged"
        assert acked["data"]["acknowledged_by"] == "test-staff"
        await put_at(floki, reg, "PUMP-001", "qr-7a")
        await evaluate(floki)
        resolved = await next_alert_event(ws)
        assert (resolved["type"], resolved["entity_id"]) == ("alert.resolved", raised["entity_id"])
    finally:
        await ws.close()


async def next_alert_event(ws: aiohttp.ClientWebSocketResponse) -> dict[str, Any]:
    """The next alert.* event, skipping the location and register events around it."""
    while True:
        msg = await ws.receive(timeout=5)
        assert msg.type == aiohttp.WSMsgType.TEXT, msg
        for event in json.loads(msg.data):
            if event["type"].startswith("alert."):
                assert isinstance(event, dict)
                return event


# --- missing ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "floki_config",
    [alerts_config({"name": "Not seen for a day", "type": "missing", "params": {"hours": 24}})],
)
async def test_missing_after_the_hours_by_the_clock_and_found_again(
    floki: Floki, reg: Register
) -> None:
    reg = await ward_world(floki, reg)
    await put_at(floki, reg, "PUMP-001", "qr-7a")
    seen_at = floki.clock.now()
    floki.clock.advance(23 * 3600)
    await put_at(floki, reg, "PUMP-002", "qr-7b")  # the other pump keeps being seen
    await evaluate(floki)
    assert await listed(floki) == []

    floki.clock.advance(3600 + 1)
    await evaluate(floki)
    [alert] = await listed(floki, status="open")
    assert alert["asset_id"] == reg.assets["PUMP-001"]
    assert at(alert["detail"]["last_seen"]) == seen_at
    assert "Room 7A" in alert["title"]

    await put_at(floki, reg, "PUMP-001", "qr-bay")
    await evaluate(floki)
    assert await listed(floki, status="open") == []
    # Never seen is not missing: SPARE-001 has no tag at all.
    assert all(a["asset_id"] != reg.assets["SPARE-001"] for a in await listed(floki))


# --- par level -------------------------------------------------------------------------


async def create_rule(floki: Floki, **rule: Any) -> dict[str, Any]:
    resp = await floki.client.post(
        f"{API}/alert-rules", json=rule, headers=await floki.headers("admin")
    )
    body = await resp.json()
    assert resp.status == 201, body
    assert isinstance(body, dict)
    return body


@pytest.mark.parametrize("floki_config", [alerts_config()])
async def test_par_level_fires_when_the_ward_runs_short_and_resolves_when_restored(
    floki: Floki,
    reg: Register,
) -> None:
    reg = await ward_world(floki, reg)
    rule = await create_rule(
        floki,
        name="Ward 7 needs two pumps ready",
        type="par_level",
        severity="critical",
        params={
            "zone_id": reg.zones["ward"],
            "class_id": reg.classes["Infusion pump"],
            "minimum": 2,
        },
    )
    await put_at(floki, reg, "PUMP-001", "qr-7a")
    await put_at(floki, reg, "PUMP-002", "qr-bay")
    await evaluate(floki)
    assert await listed(floki) == []

    # One pump goes down the corridor: the ward is short.
    await put_at(floki, reg, "PUMP-002", "qr-2d")
    await evaluate(floki)
    [short] = await listed(floki, status="open")
    assert short["rule_id"] == rule["id"] and short["severity"] == "critical"
    assert short["zone_id"] == reg.zones["ward"]
    assert "Ward 7" in short["title"] and "Infusion pump" in short["title"]
    assert (short["detail"]["ready"], short["detail"]["minimum"]) == (1, 2)
    await evaluate(floki)
    assert len(await listed(floki)) == 1

    await put_at(floki, reg, "PUMP-002", "qr-7b")
    await evaluate(floki)
    assert await listed(floki, status="open") == []

    # On the ward but faulty: not ready, so short again.
    await patch_asset(floki, reg, "PUMP-002", state="faulty")
    await evaluate(floki)
    [faulty] = await listed(floki, status="open")
    assert faulty["id"] != short["id"] and faulty["detail"]["ready_assets"] == ["PUMP-001"]
    await patch_asset(floki, reg, "PUMP-002", state="available")
    await evaluate(floki)
    assert await listed(floki, status="open") == []

    # On the ward, available, but past its PPM date: never counted as ready.
    yesterday = floki.clock.now().date() - dt.timedelta(days=1)
    await patch_asset(floki, reg, "PUMP-001", next_ppm_due=yesterday.isoformat())
    await evaluate(floki)
    [overdue] = await listed(floki, status="open")
    assert overdue["detail"]["ready_assets"] == ["PUMP-002"]


# --- storm suppression -----------------------------------------------------------------


async def test_many_evaluations_and_many_assets_away_give_one_alert_each(
    floki: Floki, reg: Register
) -> None:
    reg = await ward_world(floki, reg)
    await put_at(floki, reg, "PUMP-001", "qr-2d")
    await put_at(floki, reg, "SCAN-001", "qr-2d")
    floki.clock.advance(DWELL + 1)
    for _ in range(50):
        await evaluate(floki)
    open_alerts = await listed(floki, status="open")
    assert sorted(a["asset_id"] for a in open_alerts) == sorted(
        [reg.assets["PUMP-001"], reg.assets["SCAN-001"]]
    )
    assert all(a["occurrences"] == 1 for a in open_alerts)


@pytest.mark.parametrize("floki_config", [alerts_config({**GEOFENCE, "auto_resolve": False})])
async def test_without_auto_resolve_a_return_and_a_new_departure_count_on_the_open_alert(
    floki: Floki,
    reg: Register,
) -> None:
    reg = await ward_world(floki, reg)
    await put_at(floki, reg, "PUMP-001", "qr-2d")
    floki.clock.advance(DWELL + 1)
    await evaluate(floki)
    [alert] = await listed(floki)

    await put_at(floki, reg, "PUMP-001", "qr-7a")
    await evaluate(floki)
    [still] = await listed(floki, status="open")
    assert still["id"] == alert["id"] and still["cleared_at"] is not None

    await put_at(floki, reg, "PUMP-001", "qr-2d")
    floki.clock.advance(DWELL + 1)
    await evaluate(floki)
    [counted] = await listed(floki)
    assert counted["id"] == alert["id"]
    assert counted["occurrences"] == 2
    assert at(counted["last_occurred_at"]) == floki.clock.now()
    assert counted["cleared_at"] is None
