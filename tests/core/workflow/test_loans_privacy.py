"""What a loan keeps about people and places (workflow issue §4): personal fields off by
default, shown only to engineers and admins when on, purged on schedule after the
return; loaned equipment located at zone level, not at a patient's home."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from floki_core.config import AppConfig, parse_config
from floki_core.storage.audit import list_audit
from floki_core.storage.models import AuditRow
from floki_core.storage.models_loans import LoanContactRow
from floki_core.testing import Floki
from floki_core.workflow.loan_privacy import loan_location_view
from floki_core.workflow.loan_records import Loan
from tests.core.location.register_builder import INSIDE_HUB, build_register, fix, location
from tests.core.workflow.loans_builder import API, build_fleet, get, loan_body, post

PURGE_DAYS = 30
PERSONAL = {"contact_name": "Ada Lovelace", "address": "1 Analytical Row", "phone": "0115 496 0000"}
HOME = (52.95, -1.15)  # a patient's home: in no zone of the trust


def _config(**loans: object) -> AppConfig:
    return parse_config(
        {
            "discovery": {"enabled": False},
            "server": {"tls": False},
            "workflow": {"loans": loans},
        }
    )


@pytest.fixture
def floki_config(request: pytest.FixtureRequest) -> AppConfig:
    """Default settings, or ``[workflow.loans]`` given by indirect parametrisation."""
    return _config(**getattr(request, "param", {}))


def loans_config(**settings: object) -> pytest.MarkDecorator:
    return pytest.mark.parametrize("floki_config", [settings], indirect=True, ids=["configured"])


def _audit_text(session: Session) -> str:
    rows = session.scalars(select(AuditRow)).all()
    return json.dumps([[r.before, r.after, r.detail] for r in rows])


async def test_personal_fields_are_refused_by_default(floki: Floki) -> None:
    fleet = await build_fleet(floki, 1)
    body = loan_body(fleet.assets["PUMP-001"], personal={"contact_name": "Ada Lovelace"})
    refused = await post(floki, "/loans", body, role="staff", status=422)
    assert "personal fields are switched off" in refused["error"]
    assert "personal_fields" in refused["error"]
    assert (await get(floki, "/loans"))["total"] == 0
    assert (await get(floki, f"/assets/{fleet.assets['PUMP-001']}"))["state"] == "available"


@loans_config(personal_fields=True, purge_after_days=PURGE_DAYS)
async def test_personal_fields_shown_only_to_engineers_and_admins(floki: Floki) -> None:
    fleet = await build_fleet(floki, 1)
    body = loan_body(fleet.assets["PUMP-001"], personal=PERSONAL)
    created = await post(floki, "/loans", body, role="staff")
    assert "personal" not in created  # staff recorded it, but do not read it back
    assert created["has_personal_data"] is True

    for role in ("viewer", "staff"):
        one = await get(floki, f"/loans/{created['id']}", role=role)
        listed = (await get(floki, "/loans", role=role))["items"][0]
        assert "personal" not in one and "personal" not in listed, role
    for role in ("engineer", "admin"):
        one = await get(floki, f"/loans/{created['id']}", role=role)
        assert one["personal"]["contact_name"] == "Ada Lovelace", role
        assert one["personal"]["phone"] == "0115 496 0000"
        listed = (await get(floki, "/loans", role=role))["items"][0]
        assert listed["personal"]["address"] == "1 Analytical Row"

    # Each disclosure is in the audit trail; no audit entry holds the details themselves.
    shown, _ = await floki.core.read(list_audit, entity="loans", action="read_personal")
    assert {e.actor for e in shown} == {"test-engineer", "test-admin"}
    creation, _ = await floki.core.read(list_audit, entity="loans", action="create")
    assert creation[0].after is not None
    assert creation[0].after["personal_fields"] == ["contact_name", "address", "phone"]
    text = await floki.core.read(_audit_text)
    assert "Ada Lovelace" not in text and "Analytical" not in text and "496" not in text


@loans_config(personal_fields=True)
async def test_personal_fields_are_validated(floki: Floki) -> None:
    fleet = await build_fleet(floki, 1)
    for bad in ({"phone": "call me"}, {"contact_name": "x" * 201}, {"address": "a\u0000b"}):
        body = loan_body(fleet.assets["PUMP-001"], personal=bad)
        await post(floki, "/loans", body, role="staff", status=422)


@loans_config(personal_fields=True, purge_after_days=PURGE_DAYS)
async def test_personal_fields_are_purged_on_schedule_after_the_return(floki: Floki) -> None:
    fleet = await build_fleet(floki, 2)
    returned = await post(
        floki, "/loans", loan_body(fleet.assets["PUMP-001"], personal=PERSONAL), role="staff"
    )
    still_out = await post(
        floki,
        "/loans",
        loan_body(
            fleet.assets["PUMP-002"],
            reference="L-200",
            due_back="2026-06-30",
            personal={"contact_name": "Charles Babbage"},
        ),
        role="staff",
    )
    floki.advance(5 * 86400)
    resp = await floki.client.post(
        f"{API}/loans/{returned['id']}/return", json={}, headers=await floki.headers("staff")
    )
    assert resp.status == 200
    loans = floki.core.workflow.loans

    floki.advance(PURGE_DAYS * 86400 - 60)  # a minute short of the purge
    assert await loans.purge() == []
    assert "personal" in await get(floki, f"/loans/{returned['id']}", role="engineer")

    floki.advance(120)
    assert await loans.purge() == [returned["id"]]
    assert await loans.purge() == []  # once

    def contacts(session: Session) -> dict[int, str | None]:
        return {r.loan_id: r.contact_name for r in session.scalars(select(LoanContactRow))}

    # Gone from the database; the loan (and the open one's details) remain.
    assert await floki.core.read(contacts) == {still_out["id"]: "Charles Babbage"}
    shown = await get(floki, f"/loans/{returned['id']}", role="admin")
    assert "personal" not in shown
    assert shown["has_personal_data"] is False
    assert shown["personal_data_purged_at"].startswith("2026-02-09")
    assert shown["reference"] == "L-123"
    history = await get(floki, f"/assets/{fleet.assets['PUMP-001']}/loans", role="admin")
    assert history["total"] == 1 and "personal" not in history["items"][0]

    purges, _ = await floki.core.read(list_audit, entity="loans", action="purge_personal")
    assert len(purges) == 1
    assert purges[0].entity_id == str(returned["id"])
    assert purges[0].actor == "system"
    assert purges[0].before == {"personal_fields": ["contact_name", "address", "phone"]}
    text = await floki.core.read(_audit_text)
    assert "Ada Lovelace" not in text and "Analytical" not in text

    # An open loan keeps its details: the equipment still has to come back.
    floki.advance(365 * 86400)
    assert await loans.purge() == []


# --- location at zone level while on loan -----------------------------------------


def _loan(**overrides: object) -> Loan:
    values: dict[str, object] = {
        "id": 7,
        "asset_id": 3,
        "asset_number": "PUMP-003",
        "asset_next_ppm_due": None,
        "reference": "L-123",
        "destination_type": "home",
        "destination_zone_id": None,
        "destination_zone": None,
        "loaned_at": dt.datetime(2026, 1, 5, 9, tzinfo=dt.UTC),
        "due_back": dt.date(2026, 1, 19),
        "returned_at": None,
        "returned_by": None,
        "return_state": None,
        "created_by": "nurse",
        "notes": "",
        "overdue_since": None,
        "personal_data_purged_at": None,
        "has_personal_data": False,
        "status": "open",
        **overrides,
    }
    return Loan(**values)  # type: ignore[arg-type]


def _answer(**overrides: object) -> dict[str, object]:
    return {
        "asset_id": 3,
        "zone": None,
        "off_site": True,
        "path": [],
        "x": None,
        "y": None,
        "lat": HOME[0],
        "lon": HOME[1],
        "confidence": 0.8,
        "method": "geofence",
        **overrides,
    }


def test_loaned_asset_off_site_is_shown_in_community_without_coordinates() -> None:
    view = loan_location_view(_answer(), _loan())
    assert view["label"] == "in community, loan L-123"
    assert view["lat"] is None and view["lon"] is None
    assert view["precise"] is False
    assert view["on_loan"]["reference"] == "L-123"
    assert view["confidence"] == 0.8 and view["method"] == "geofence"


def test_loaned_asset_in_a_trust_zone_keeps_the_zone_but_not_coordinates() -> None:
    hub = {"id": 4, "name": "North Community Hub", "type": "community_hub"}
    view = loan_location_view(_answer(zone=hub, off_site=False), _loan())
    assert view["zone"] == hub
    assert view["label"] == "North Community Hub, on loan L-123"
    assert view["lat"] is None


def test_precise_location_when_the_trust_chooses_it() -> None:
    view = loan_location_view(_answer(), _loan(), precise=True)
    assert (view["lat"], view["lon"]) == HOME
    assert view["label"] == "in community, loan L-123"


def test_assets_not_on_loan_are_shown_as_they_are() -> None:
    answer = _answer()
    assert loan_location_view(answer, None) == answer
    returned = _loan(returned_at=dt.datetime(2026, 1, 6, tzinfo=dt.UTC), status="returned")
    assert loan_location_view(answer, returned) == answer


async def test_present_uses_the_open_loan_and_the_setting(floki: Floki) -> None:
    fleet = await build_fleet(floki, 1)
    pump = fleet.assets["PUMP-001"]
    loans = floki.core.workflow.loans
    answer = _answer(asset_id=pump)
    assert loans.present(answer) == answer
    loan = await post(floki, "/loans", loan_body(pump), role="staff")
    shown = loans.present(answer)
    assert shown["lat"] is None and shown["on_loan"]["loan_id"] == loan["id"]
    summary = {"zone": None, "off_site": True, "confidence": 0.8, "method": "geofence"}
    assert loans.present(summary, asset_id=pump)["label"] == "in community, loan L-123"
    assert loans.is_on_loan(pump)
    await floki.client.post(
        f"{API}/loans/{loan['id']}/return", json={}, headers=await floki.headers("staff")
    )
    assert loans.present(answer) == answer


async def test_location_api_shows_a_loaned_asset_at_zone_level(floki: Floki) -> None:
    reg = await build_register(floki)
    kit = reg.assets["VAN-KIT-001"]
    await post(floki, "/loans", loan_body(kit, reference="L-777"), role="staff")
    floki.advance(1)
    await floki.inject([fix(reg, "VAN-KIT-001", *HOME, floki.clock.now())])
    answer = await location(floki, reg, "VAN-KIT-001")
    assert answer["located"] is True
    assert answer["label"] == "in community, loan L-777"
    assert answer["lat"] is None and answer["lon"] is None
    for _ in range(2):  # the second fix, after the dwell time, confirms the move
        floki.advance(60)
        await floki.inject([fix(reg, "VAN-KIT-001", *INSIDE_HUB, floki.clock.now())])
    answer = await location(floki, reg, "VAN-KIT-001")
    assert answer["label"] == "North Community Hub, on loan L-777"
    assert answer["lat"] is None

    # Nor is the home fix kept in the database.
    def stored(session: Any) -> tuple[Any, ...]:
        from floki_core.storage.models import AssetLocationRow

        row = session.get(AssetLocationRow, kit)
        return (row.lat, row.lon, [(e.get("lat"), e.get("lon")) for e in row.evidence])

    lat, lon, evidence = await floki.core.read(stored)
    assert (lat, lon) == (None, None)
    assert all(pair == (None, None) for pair in evidence)


@loans_config(precise_location=True)
async def test_precise_location_setting_keeps_coordinates(floki: Floki) -> None:
    fleet = await build_fleet(floki, 1)
    pump = fleet.assets["PUMP-001"]
    await post(floki, "/loans", loan_body(pump), role="staff")
    shown = floki.core.workflow.loans.present(_answer(asset_id=pump))
    assert (shown["lat"], shown["lon"]) == HOME
    assert shown["precise"] is True and shown["label"] == "in community, loan L-123"
