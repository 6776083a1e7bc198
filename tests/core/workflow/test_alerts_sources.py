"""Rules fed by other parts of the appliance: tag batteries, gateway health, PPM dates in
clinical areas, community loans (issue §3)."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import pytest

from floki_core.events import DomainEvent
from floki_core.observations import Observation
from floki_core.testing import Floki
from tests.core.location.register_builder import API, Register, post
from tests.core.workflow.test_alerts import (
    alerts_config,
    evaluate,
    listed,
    patch_asset,
    put_at,
    ward_world,
)

# --- low tag battery -------------------------------------------------------------------


def battery(reg: Register, number: str, at: dt.datetime, percent: float) -> Observation:
    return Observation(
        technology="ble",
        tag=reg.tags[number]["ble"],
        receiver=reg.identifier("gw-7a"),
        rssi=-60.0,
        observed_at=at,
        extras={"battery_pct": percent},
    )


@pytest.mark.parametrize(
    "floki_config", [alerts_config({"name": "Tag batteries", "type": "low_battery"})]
)
async def test_a_low_tag_battery_raises_an_alert_until_the_battery_is_replaced(
    floki: Floki,
) -> None:
    reg = await ward_world(floki)
    batteries = floki.core.locations.batteries
    await floki.inject([battery(reg, "PUMP-001", floki.clock.now(), 64.0)])
    await batteries.flush()
    await evaluate(floki)
    assert await listed(floki) == []

    floki.clock.advance(3600)
    await floki.inject([battery(reg, "PUMP-001", floki.clock.now(), 12.0)])
    await batteries.flush()  # written, then tag.battery_low announced
    await evaluate(floki)
    [alert] = await listed(floki, status="open")
    assert alert["severity"] == "info"
    assert alert["asset_id"] == reg.assets["PUMP-001"]
    assert alert["detail"]["level"] == 12.0
    assert "PUMP-001" in alert["title"] and "12.0%" in alert["title"]

    floki.clock.advance(3600)
    await floki.inject([battery(reg, "PUMP-001", floki.clock.now(), 10.0)])
    await batteries.flush()
    await evaluate(floki)
    assert len(await listed(floki)) == 1  # lower still: the same alert

    floki.clock.advance(3600)
    await floki.inject([battery(reg, "PUMP-001", floki.clock.now(), 100.0)])  # new cell
    await batteries.flush()
    await evaluate(floki)
    assert await listed(floki, status="open") == []
    [resolved] = await listed(floki)
    assert resolved["resolved_by"] == "system"


# --- gateway offline -------------------------------------------------------------------


async def gateway_event(floki: Floki, kind: str, room: str, cause: str) -> None:
    """What the BLE plugin's ESPresense source publishes about a room's gateway."""
    await floki.core.events.publish(
        [
            DomainEvent(
                type=kind,
                at=floki.clock.now(),
                entity="gateways",
                entity_id=room,
                data={
                    "room": room,
                    "receiver": room,
                    "source": "espresense",
                    "online": kind == "gateway.online",
                    "last_heard": None,
                    "cause": cause,
                },
            )
        ]
    )


@pytest.mark.parametrize(
    "floki_config",
    [
        alerts_config(
            {"name": "Gateways", "type": "gateway_offline", "params": {"after_seconds": 120}}
        )
    ],
)
async def test_a_gateway_offline_for_long_enough_raises_an_alert_and_back_online_resolves(
    floki: Floki,
) -> None:
    await gateway_event(floki, "gateway.online", "ward7-bay", "status")
    await gateway_event(floki, "gateway.offline", "ward7-bay", "last_will")
    went_at = floki.clock.now()
    floki.clock.advance(60)
    await gateway_event(floki, "gateway.offline", "ward7-bay", "last_will")  # said again
    await evaluate(floki)
    assert await listed(floki) == [], "a reboot's minute offline is no alert"

    floki.clock.advance(61)
    await evaluate(floki)
    [alert] = await listed(floki, status="open")
    assert alert["title"].startswith("Gateway ward7-bay offline")
    assert dt.datetime.fromisoformat(alert["detail"]["since"]) == went_at
    assert alert["detail"]["cause"] == "last_will"

    await gateway_event(floki, "gateway.online", "ward7-bay", "traffic")
    await evaluate(floki)
    assert await listed(floki, status="open") == []

    # Silence (no last will, just nothing heard) counts as offline too.
    await gateway_event(floki, "gateway.silent", "theatre-1", "silence")
    floki.clock.advance(121)
    await evaluate(floki)
    [silent] = await listed(floki, status="open")
    assert "theatre-1" in silent["title"] and silent["detail"]["cause"] == "silence"


# --- PPM overdue in a clinical area ----------------------------------------------------


@pytest.mark.parametrize(
    "floki_config",
    [alerts_config({"name": "Overdue kit on wards", "type": "ppm_overdue_in_clinical_area"})],
)
async def test_a_ppm_overdue_device_in_a_clinical_area_raises_a_critical_alert(
    floki: Floki,
) -> None:
    reg = await ward_world(floki)
    dirty = await post(
        floki,
        "/zones",
        {
            "site_id": reg.site,
            "name": "Ward 7 Dirty Utility",
            "type": "dirty_utility",
            "parent_id": reg.zones["ward"],
        },
    )
    await post(
        floki,
        "/receivers",
        {"name": "qr-dirty", "technology": "qr", "identifier": "QR-DIRTY", "zone_id": dirty["id"]},
    )
    await floki.core.locations.reindex()
    reg.receivers["qr-dirty"] = {"identifier": "QR-DIRTY"}
    today = floki.clock.now().date()
    await patch_asset(
        floki, reg, "PUMP-001", next_ppm_due=(today - dt.timedelta(days=3)).isoformat()
    )
    await patch_asset(
        floki, reg, "PUMP-002", next_ppm_due=(today + dt.timedelta(days=30)).isoformat()
    )

    await put_at(floki, reg, "PUMP-002", "qr-7a")  # in date: fine anywhere
    await put_at(floki, reg, "PUMP-001", "qr-2d")  # overdue, but not in a clinical area
    await evaluate(floki)
    assert await listed(floki) == []

    await put_at(floki, reg, "PUMP-001", "qr-7a")  # a room of Ward 7: clinical
    await evaluate(floki)
    [alert] = await listed(floki, status="open")
    assert alert["severity"] == "critical"
    assert alert["asset_id"] == reg.assets["PUMP-001"]
    assert "Room 7A" in alert["title"] and "overdue PPM" in alert["title"]

    # Taken to the ward's dirty utility for collection by CE: where it should be.
    await put_at(floki, reg, "PUMP-001", "qr-dirty")
    await evaluate(floki)
    assert await listed(floki, status="open") == []

    # Back on the ward, then its PPM is done: cleared by the new due date.
    await put_at(floki, reg, "PUMP-001", "qr-bay")
    await evaluate(floki)
    assert len(await listed(floki, status="open")) == 1
    await patch_asset(
        floki, reg, "PUMP-001", next_ppm_due=(today + dt.timedelta(days=365)).isoformat()
    )
    await evaluate(floki)
    assert await listed(floki, status="open") == []


# --- loan overdue ----------------------------------------------------------------------


async def loan_out(floki: Floki, reg: Register, number: str, due_back: dt.date) -> dict[str, Any]:
    resp = await floki.client.post(
        f"{API}/loans",
        json={
            "asset_id": reg.assets[number],
            "reference": "CEQ-2026-0042",
            "destination_type": "home",
            "due_back": due_back.isoformat(),
        },
        headers=await floki.headers("staff"),
    )
    body = await resp.json()
    assert resp.status == 201, body
    assert isinstance(body, dict)
    return body


@pytest.mark.parametrize(
    "floki_config",
    [
        alerts_config(
            {"name": "Loans back on time", "type": "loan_overdue"},
            {"name": "Ward kit stays home", "type": "geofence_exit"},
        )
    ],
)
async def test_an_overdue_loan_raises_an_alert_until_returned(floki: Floki) -> None:
    reg = await ward_world(floki)
    await put_at(floki, reg, "PUMP-002", "qr-7a")
    loan = await loan_out(floki, reg, "PUMP-002", floki.clock.now().date() + dt.timedelta(days=1))
    await put_at(floki, reg, "PUMP-002", "qr-2d")  # on its way out: the loan exempts it
    floki.clock.advance(86400)
    await evaluate(floki)
    assert await listed(floki) == [], "due back by the end of tomorrow, and on a loan"

    floki.clock.advance(2 * 86400)
    await evaluate(floki)
    [alert] = await listed(floki, status="open")
    assert alert["rule_type"] == "loan_overdue"
    assert alert["asset_id"] == reg.assets["PUMP-002"]
    assert "CEQ-2026-0042" in alert["title"]

    resp = await floki.client.post(
        f"{API}/loans/{loan['id']}/return", json={}, headers=await floki.headers("staff")
    )
    assert resp.status == 200, await resp.text()
    await evaluate(floki)
    [returned] = [a for a in await listed(floki) if a["id"] == alert["id"]]
    assert (returned["status"], returned["resolved_by"]) == ("resolved", "system")
    # Returned on paper, yet still in Room 2D: now it is off its ward without a loan.
    [away] = await listed(floki, status="open")
    assert (away["rule_type"], away["asset_id"]) == ("geofence_exit", reg.assets["PUMP-002"])


# --- events wake the engine ------------------------------------------------------------


@pytest.mark.parametrize(
    "floki_config",
    [
        alerts_config(
            {"name": "Gateways", "type": "gateway_offline", "params": {"after_seconds": 0}},
            settle_seconds=0,
        )
    ],
)
async def test_an_event_wakes_an_evaluation_without_waiting_for_the_sweep(floki: Floki) -> None:
    """As in production: nobody calls evaluate(); the gateway event alone raises it."""
    bus = floki.core.events.subscribe()
    try:
        await gateway_event(floki, "gateway.offline", "ward7-bay", "last_will")
        async with asyncio.timeout(5):
            raised: list[DomainEvent] = []
            while not raised:
                raised = [e for e in await bus.get() if e.type == "alert.raised"]
    finally:
        floki.core.events.unsubscribe(bus)
    assert raised[0].data["title"].startswith("Gateway ward7-bay offline")
