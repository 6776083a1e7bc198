"""The equipment register over HTTP: round trips, roles, refusals, search and the audit trail."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select
from sqlalchemy.orm import Session

from floki_core.api.app import create_app
from floki_core.clock import ManualClock
from floki_core.config import AppConfig, parse_config
from floki_core.core import Core
from floki_core.storage.schema import METADATA
from floki_core.testing import Floki

API = "/api/v1"
BODY_LIMIT = 2048
VALID_GLN = "5012345678900"  # GS1 mod-10 check digit 0
WRONG_GLN = "5012345678901"


@pytest.fixture
def floki_config() -> AppConfig:
    return parse_config(
        {
            "discovery": {"enabled": False},
            "server": {"tls": False, "max_body_bytes": BODY_LIMIT},
        }
    )


class Api:
    """Requests as a given role, answering (status, decoded JSON or None)."""

    def __init__(self, floki: Floki) -> None:
        self.floki = floki

    async def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        role: str = "admin",
        raw: bytes | None = None,
        content_type: str = "application/json",
        query: dict[str, str] | None = None,
    ) -> tuple[int, Any]:
        headers = await self.floki.headers(role)
        data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
        if data is not None:
            headers["Content-Type"] = content_type
        resp = await self.floki.client.request(
            method, API + path, data=data, headers=headers, params=query
        )
        text = await resp.text()
        return resp.status, (json.loads(text) if text else None)

    async def create(self, path: str, body: dict[str, Any], role: str = "admin") -> dict[str, Any]:
        status, data = await self.call("POST", path, body, role=role)
        assert status == 201, (path, data)
        assert isinstance(data, dict)
        return data

    async def audit(self, **query: str) -> list[dict[str, Any]]:
        status, data = await self.call("GET", "/audit", query={"limit": "500", **query})
        assert status == 200
        items: list[dict[str, Any]] = data["items"]
        return items


def _dump(session: Session) -> dict[str, list[tuple[Any, ...]]]:
    # Accounts are left out: tests create their users lazily, and using a token stamps
    # last_used_at; neither is a register write. Creating a user moves the audit chain's
    # head, and failed logins are counted: neither is a register write either.
    dump = {}
    for table in METADATA.sorted_tables:
        if table.name in ("users", "tokens", "audit_chain", "login_failures"):
            continue
        rows = session.execute(select(table)).mappings()
        if table.name == "audit_entries":
            rows = [r for r in rows if r["entity"] not in ("users", "tokens")]
        dump[table.name] = sorted((tuple(r.values()) for r in rows), key=repr)
    return dump


async def snapshot(floki: Floki) -> dict[str, list[tuple[Any, ...]]]:
    return await floki.core.read(_dump)


@pytest.fixture
def api(floki: Floki) -> Api:
    return Api(floki)


@pytest.fixture
async def register(api: Api) -> dict[str, dict[str, Any]]:
    """A small site: one building, floor, ward with a bay, receiver, class, asset and tag."""
    site = await api.create("/sites", {"name": "General Hospital", "code": "GH"})
    other = await api.create("/sites", {"name": "Community"})
    building = await api.create("/buildings", {"site_id": site["id"], "name": "Main"})
    floor = await api.create("/floors", {"building_id": building["id"], "name": "Level 2"})
    ward = await api.create(
        "/zones",
        {"site_id": site["id"], "name": "Ward 7", "type": "ward", "floor_id": floor["id"]},
    )
    bay = await api.create(
        "/zones",
        {"site_id": site["id"], "name": "Ward 7 Bay A", "type": "bay", "parent_id": ward["id"]},
    )
    receiver = await api.create(
        "/receivers",
        {
            "name": "W7-1",
            "technology": "ble_mac",
            "identifier": "AA:BB:CC:00:00:01",
            "zone_id": ward["id"],
        },
    )
    cls = await api.create(
        "/asset-classes",
        {"name": "Bladder scanner", "make": "Verathon", "model": "BVI 9400"},
        role="engineer",
    )
    asset = await api.create(
        "/assets",
        {"asset_number": "CE-0001", "class_id": cls["id"], "home_zone_id": ward["id"]},
        role="engineer",
    )
    tag = await api.create(
        "/identifiers",
        {"asset_id": asset["id"], "technology": "ble_mac", "value": "C0:FF:EE:00:00:01"},
        role="engineer",
    )
    return {
        "site": site,
        "other": other,
        "building": building,
        "floor": floor,
        "ward": ward,
        "bay": bay,
        "receiver": receiver,
        "class": cls,
        "asset": asset,
        "tag": tag,
    }


# --- round trips -------------------------------------------------------------

ROUND_TRIPS = [
    # (collection, creator role, lambda of the register -> create body, change)
    ("sites", "admin", lambda r: {"name": "Annexe", "timezone": "Europe/London"}, {"code": "AX"}),
    (
        "buildings",
        "admin",
        lambda r: {"site_id": r["site"]["id"], "name": "East"},
        {"name": "East Wing"},
    ),
    (
        "floors",
        "admin",
        lambda r: {"building_id": r["building"]["id"], "name": "Level 3", "level": 3},
        {"metres_per_pixel": 0.05},
    ),
    (
        "zones",
        "admin",
        lambda r: {
            "site_id": r["site"]["id"],
            "name": "Theatre 1",
            "type": "theatre",
            "polygon": [[0, 0], [10, 0], [10, 10]],
            "gln": VALID_GLN,
        },
        {"type": "store"},
    ),
    (
        "receivers",
        "admin",
        lambda r: {
            "name": "T1-1",
            "technology": "rfid_reader",
            "identifier": "reader-7",
            "zone_id": r["ward"]["id"],
            "x": 12.5,
            "y": 4,
        },
        {"notes": "above the door"},
    ),
    (
        "asset-classes",
        "engineer",
        lambda r: {"name": "Syringe driver", "category": "infusion", "ppm_interval_days": 365},
        {"criticality": "high"},
    ),
    (
        "assets",
        "engineer",
        lambda r: {
            "asset_number": "CE-0002",
            "description": "Syringe driver, ward 7",
            "class_id": r["class"]["id"],
            "last_ppm": "2025-06-01",
            "next_ppm_due": "2026-06-01",
        },
        {"state": "faulty"},
    ),
    (
        "identifiers",
        "engineer",
        lambda r: {"asset_id": r["asset"]["id"], "technology": "qr", "value": "FLK-CE-0001"},
        None,
    ),
]


@pytest.mark.parametrize(
    ("name", "role", "make", "change"), ROUND_TRIPS, ids=[r[0] for r in ROUND_TRIPS]
)
async def test_crud_round_trip_with_audit(
    floki: Floki, api: Api, register: dict[str, Any], name: str, role: str, make: Any, change: Any
) -> None:
    body = make(register)
    created = await api.create(f"/{name}", body, role=role)
    for field, value in body.items():
        assert created[field] == value, field
    rid = created["id"]

    status, fetched = await api.call("GET", f"/{name}/{rid}", role="viewer")
    assert (status, fetched) == (200, created)
    if name != "assets":
        status, listing = await api.call("GET", f"/{name}", role="viewer")
        assert status == 200 and created in listing["items"]

    audit = await api.audit(entity=name, entity_id=str(rid))
    assert [(e["action"], e["actor"]) for e in audit] == [("create", f"test-{role}")]
    assert audit[0]["after"] == created and audit[0]["before"] is None

    if change is not None:
        floki.clock.advance(60)
        status, updated = await api.call("PATCH", f"/{name}/{rid}", change, role=role)
        assert status == 200, updated
        assert {
            **created,
            **change,
            **({"updated_at": updated["updated_at"]} if name == "assets" else {}),
        } == updated
        status, fetched = await api.call("GET", f"/{name}/{rid}", role="viewer")
        assert fetched == updated
        entry = (await api.audit(entity=name, entity_id=str(rid), action="update"))[0]
        assert (entry["actor"], entry["before"], entry["after"]) == (
            f"test-{role}",
            created,
            updated,
        )
        # The same change again is no change: nothing more in the trail.
        status, _ = await api.call("PATCH", f"/{name}/{rid}", change, role=role)
        assert status == 200
        assert len(await api.audit(entity=name, entity_id=str(rid))) == 2
        created = updated

    status, _ = await api.call("DELETE", f"/{name}/{rid}", role=role)
    assert status == 204
    status, gone = await api.call("GET", f"/{name}/{rid}", role="viewer")
    assert status == 404 and gone["status"] == 404
    entry = (await api.audit(entity=name, entity_id=str(rid), action="delete"))[0]
    assert (entry["actor"], entry["before"], entry["after"]) == (f"test-{role}", created, None)


async def test_asset_timestamps(floki: Floki, api: Api, register: dict[str, Any]) -> None:
    asset = register["asset"]
    assert asset["created_at"] == asset["updated_at"]
    floki.clock.advance(3600)
    status, updated = await api.call(
        "PATCH", f"/assets/{asset['id']}", {"department": "Surgery"}, role="engineer"
    )
    assert status == 200
    assert updated["created_at"] == asset["created_at"]
    assert updated["updated_at"] > asset["updated_at"]


async def test_filters_narrow_listings(api: Api, register: dict[str, Any]) -> None:
    site = register["site"]["id"]
    status, zones = await api.call(
        "GET", "/zones", query={"parent_id": str(register["ward"]["id"])}, role="viewer"
    )
    assert status == 200
    assert [z["name"] for z in zones["items"]] == ["Ward 7 Bay A"]
    status, zones = await api.call(
        "GET", "/zones", query={"type": "ward", "site_id": str(site)}, role="viewer"
    )
    assert [z["name"] for z in zones["items"]] == ["Ward 7"]
    status, _ = await api.call("GET", "/zones", query={"site_id": "main"}, role="viewer")
    assert status == 400


# --- roles -----------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/sites", "/buildings", "/floors", "/zones", "/receivers"])
async def test_engineer_cannot_change_places(
    floki: Floki, api: Api, register: dict[str, Any], path: str
) -> None:
    before = await snapshot(floki)
    status, body = await api.call("POST", path, {"name": "x"}, role="engineer")
    assert (status, body["error"]) == (403, "this needs the admin role")
    existing = (await api.call("GET", path, role="viewer"))[1]["items"][0]["id"]
    status, _ = await api.call("PATCH", f"{path}/{existing}", {"name": "y"}, role="engineer")
    assert status == 403
    status, _ = await api.call("DELETE", f"{path}/{existing}", role="engineer")
    assert status == 403
    assert await snapshot(floki) == before


async def test_staff_and_viewers_cannot_change_equipment(
    floki: Floki, api: Api, register: dict[str, Any]
) -> None:
    before = await snapshot(floki)
    for role in ("viewer", "staff"):
        for path, body in (
            ("/assets", {"asset_number": "CE-9"}),
            ("/asset-classes", {"name": "Hoist"}),
            (
                "/identifiers",
                {"asset_id": register["asset"]["id"], "technology": "qr", "value": "x"},
            ),
        ):
            status, reply = await api.call("POST", path, body, role=role)
            assert (status, reply["error"]) == (403, "this needs the engineer role"), (role, path)
        status, _ = await api.call("DELETE", f"/assets/{register['asset']['id']}", role=role)
        assert status == 403
    assert await snapshot(floki) == before


# --- refused input: a precise reason and nothing written --------------------------


def _refusals(r: dict[str, Any]) -> list[tuple[str, str, dict[str, Any], int, str]]:
    site, ward, bay = r["site"]["id"], r["ward"]["id"], r["bay"]["id"]
    asset, cls = r["asset"]["id"], r["class"]["id"]
    return [
        # wrong types and unknown fields name the field
        ("POST", "/sites", {"name": 5}, 422, "$.name"),
        ("POST", "/sites", {"name": "Annexe", "colour": "red"}, 422, "colour"),
        ("POST", "/sites", {}, 422, "name"),
        ("POST", "/sites", {"name": ""}, 422, "$.name"),
        (
            "POST",
            "/zones",
            {"site_id": site, "name": "Z", "polygon": [[0, 0], [1, "a"], [2, 2]]},
            422,
            "$.polygon[1][1]",
        ),
        (
            "POST",
            "/zones",
            {"site_id": site, "name": "Z", "polygon": [[0, 0], [1, 1]]},
            422,
            "$.polygon",
        ),
        ("POST", "/zones", {"site_id": site, "name": "Z", "type": "car park"}, 422, "$.type"),
        ("POST", "/assets", {"asset_number": "CE 0009"}, 422, "$.asset_number"),
        ("POST", "/assets", {"asset_number": "CE-0009", "state": "lost"}, 422, "$.state"),
        (
            "POST",
            "/assets",
            {"asset_number": "CE-0009", "last_ppm": "2026-02-30"},
            422,
            "$.last_ppm",
        ),
        ("POST", "/assets", {"asset_number": "CE-0009", "class_id": "1"}, 422, "$.class_id"),
        (
            "POST",
            "/receivers",
            {"name": "R", "technology": "BLE MAC", "identifier": "x", "zone_id": ward},
            422,
            "$.technology",
        ),
        (
            "POST",
            "/identifiers",
            {"asset_id": asset, "technology": "qr", "value": "v", "id": 99},
            422,
            "`id`",
        ),
        # an empty or unknown change
        ("PATCH", f"/sites/{site}", {}, 422, "no fields to change"),
        ("PATCH", f"/assets/{asset}", {"asset_number": "CE-7"}, 422, "asset_number"),
        ("PATCH", f"/sites/{site}", {"name": None}, 422, "$.name"),
        ("PATCH", f"/receivers/{r['receiver']['id']}", {"zone_id": None}, 422, "$.zone_id"),
        # rules of the domain
        (
            "POST",
            "/zones",
            {"site_id": site, "name": "Store", "gln": WRONG_GLN},
            422,
            "check digit",
        ),
        ("POST", "/zones", {"site_id": site, "name": "Store", "gln": "50123"}, 422, "$.gln"),
        ("PATCH", f"/zones/{ward}", {"gln": WRONG_GLN}, 422, "check digit"),
        ("PATCH", f"/zones/{ward}", {"parent_id": bay}, 422, "inside itself"),
        ("PATCH", f"/zones/{ward}", {"parent_id": ward}, 422, "inside itself"),
        (
            "POST",
            "/zones",
            {"site_id": r["other"]["id"], "name": "Hub", "parent_id": ward},
            422,
            "another site",
        ),
        (
            "POST",
            "/assets",
            {"asset_number": "CE-0009", "last_ppm": "2026-01-01", "next_ppm_due": "2025-01-01"},
            422,
            "next_ppm_due",
        ),
        (
            "PATCH",
            f"/assets/{asset}",
            {"next_ppm_due": "2000-01-01", "last_ppm": "2001-01-01"},
            422,
            "next_ppm_due",
        ),
        # references to records that do not exist
        (
            "POST",
            "/buildings",
            {"site_id": 999, "name": "Ghost"},
            422,
            "site_id: site 999 does not exist",
        ),
        ("POST", "/floors", {"building_id": 999, "name": "Ghost"}, 422, "building_id"),
        ("POST", "/zones", {"site_id": site, "name": "Ghost", "parent_id": 999}, 422, "parent_id"),
        ("POST", "/zones", {"site_id": site, "name": "Ghost", "floor_id": 999}, 422, "floor_id"),
        (
            "POST",
            "/receivers",
            {"name": "R", "technology": "ble_mac", "identifier": "x", "zone_id": 999},
            422,
            "zone_id",
        ),
        ("POST", "/assets", {"asset_number": "CE-0009", "class_id": 999}, 422, "class_id"),
        ("POST", "/assets", {"asset_number": "CE-0009", "home_zone_id": 999}, 422, "home_zone_id"),
        ("PATCH", f"/assets/{asset}", {"class_id": 999}, 422, "class_id"),
        # dates no PPM plan can mean (date arithmetic on them overflowed into 500s)
        (
            "POST",
            "/assets",
            {"asset_number": "CE-0009", "next_ppm_due": "9999-12-31"},
            422,
            "next_ppm_due: 9999-12-31 is out of range",
        ),
        ("PATCH", f"/assets/{asset}", {"last_ppm": "0001-01-01"}, 422, "last_ppm: 0001-01-01"),
        # a GIAI no scanner would read back from its label (hazard H11)
        (
            "POST",
            "/assets",
            {"asset_number": "CE-0009", "giai": "PUMP-7"},
            422,
            "GIAI 'PUMP-7' does not start with a GS1 Company Prefix",
        ),
        ("PATCH", f"/assets/{asset}", {"giai": "5012345#7"}, 422, "has '#', which GS1"),
        (
            "POST",
            "/identifiers",
            {"asset_id": 999, "technology": "qr", "value": "x"},
            422,
            "asset_id",
        ),
        # duplicates
        ("POST", "/sites", {"name": "General Hospital"}, 409, "already exists"),
        ("POST", "/buildings", {"site_id": site, "name": "Main"}, 409, "already exists"),
        ("POST", "/zones", {"site_id": site, "name": "Ward 7"}, 409, "already exists"),
        ("PATCH", f"/zones/{bay}", {"name": "Ward 7"}, 409, "already exists"),
        ("POST", "/asset-classes", {"name": "Bladder scanner"}, 409, "already exists"),
        ("POST", "/assets", {"asset_number": "CE-0001"}, 409, "already exists"),
        (
            "POST",
            "/receivers",
            {"name": "W7-1", "technology": "qr", "identifier": "other", "zone_id": ward},
            409,
            "already exists",
        ),
        # the same tag spelled another way is the same tag
        (
            "POST",
            "/identifiers",
            {"asset_id": asset, "technology": "ble_mac", "value": "c0ffee000001"},
            409,
            "already exists",
        ),
        (
            "POST",
            "/receivers",
            {
                "name": "W7-2",
                "technology": "ble_mac",
                "identifier": "aa-bb-cc-00-00-01",
                "zone_id": ward,
            },
            409,
            "already exists",
        ),
        # deletes that would orphan records
        ("DELETE", f"/sites/{site}", {}, 409, "buildings still refer to it"),
        ("DELETE", f"/buildings/{r['building']['id']}", {}, 409, "floors"),
        ("DELETE", f"/floors/{r['floor']['id']}", {}, 409, "zones"),
        ("DELETE", f"/zones/{ward}", {}, 409, "child zones"),
        ("DELETE", f"/asset-classes/{cls}", {}, 409, "assets"),
        ("DELETE", f"/assets/{asset}", {}, 409, "identifiers"),
        # records that do not exist
        ("GET", "/sites/999", {}, 404, "site 999 not found"),
        ("PATCH", "/assets/999", {"department": "x"}, 404, "asset 999 not found"),
        ("DELETE", "/zones/999", {}, 404, "zone 999 not found"),
        ("GET", "/sites/main", {}, 404, "not a valid id"),
    ]


async def test_refusals_give_a_reason_and_write_nothing(
    floki: Floki, api: Api, register: dict[str, Any]
) -> None:
    before = await snapshot(floki)
    problems = []
    for method, path, body, status, reason in _refusals(register):
        got, reply = await api.call(method, path, body if method in ("POST", "PATCH") else None)
        if got != status or reason not in reply.get("error", "") or reply.get("status") != status:
            problems.append(f"{method} {path} {body}: {got} {reply}, expected {status} {reason!r}")
        # Checked after every request, so a partial write is pinned to its cause.
        if await snapshot(floki) != before:
            problems.append(f"{method} {path} {body}: changed the database")
            before = await snapshot(floki)
    assert not problems, "\n".join(problems)
    status, site = await api.call("GET", f"/sites/{register['site']['id']}", role="viewer")
    assert (status, site) == (200, register["site"])


async def test_malformed_bodies_are_refused(
    floki: Floki, api: Api, register: dict[str, Any]
) -> None:
    before = await snapshot(floki)
    cases = [
        (b'{"name": ', "application/json", 400, "malformed JSON"),
        (b'{"name": "A",}', "application/json", 400, "malformed JSON"),
        (b"\xff\xfe{}", "application/json", 400, "malformed JSON"),
        (b"", "application/json", 400, "request body is empty"),
        (b"[]", "application/json", 422, "Expected `object`"),
        (b'{"name": "Annexe"}', "text/plain", 415, "expected Content-Type application/json"),
        (b"name=Annexe", "application/x-www-form-urlencoded", 415, "application/json"),
    ]
    for raw, ctype, status, reason in cases:
        got, reply = await api.call("POST", "/sites", raw=raw, content_type=ctype)
        assert (got, reply["status"]) == (status, status), raw
        assert reason in reply["error"], (raw, reply)
    got, reply = await api.call(
        "PATCH", f"/sites/{register['site']['id']}", raw=b"{", content_type="application/json"
    )
    assert got == 400 and "malformed JSON" in reply["error"]
    # A charset parameter is still JSON.
    got, _ = await api.call(
        "POST", "/sites", raw=b'{"name": "Annexe"}', content_type="application/json; charset=utf-8"
    )
    assert got == 201
    after = await snapshot(floki)
    assert len(after["sites"]) == len(before["sites"]) + 1


async def test_oversized_bodies_are_refused_before_reading(
    floki: Floki, api: Api, register: dict[str, Any]
) -> None:
    before = await snapshot(floki)
    big = {"asset_number": "CE-0100", "description": "x" * (BODY_LIMIT + 10)}
    status, reply = await api.call("POST", "/assets", big, role="engineer")
    assert status == 413
    assert str(BODY_LIMIT) in reply["error"]

    async def chunks() -> AsyncIterator[bytes]:
        # No Content-Length: the limit must hold for a streamed body too.
        yield b'{"asset_number": "CE-0101", "description": "'
        for _ in range(BODY_LIMIT // 100 + 1):
            yield b"y" * 100
        yield b'"}'

    headers = {**await floki.headers("engineer"), "Content-Type": "application/json"}
    resp = await floki.client.post(f"{API}/assets", data=chunks(), headers=headers)
    assert resp.status == 413
    assert (await resp.json())["status"] == 413
    assert await snapshot(floki) == before
    # Just under the limit is fine.
    status, _ = await api.call(
        "POST", "/assets", {"asset_number": "CE-0102", "description": "z" * 400}, role="engineer"
    )
    assert status == 201


async def test_out_of_range_ids_are_refused_not_server_errors(
    floki: Floki, api: Api, register: dict[str, Any]
) -> None:
    """Ids past the database's 64-bit integers are client mistakes, not crashes."""
    before = await snapshot(floki)
    huge = 2**63
    problems = []
    for method, path, body, query, status in (
        ("POST", "/buildings", {"site_id": huge, "name": "Far"}, None, 422),
        ("POST", "/assets", {"asset_number": "CE-0200", "class_id": huge}, None, 422),
        (
            "POST",
            "/floors",
            {"building_id": register["building"]["id"], "name": "Deep", "level": huge},
            None,
            422,
        ),
        ("GET", f"/sites/{huge}", None, None, 404),
        ("DELETE", f"/assets/{huge}", None, None, 404),
        ("GET", "/buildings", None, {"site_id": str(huge)}, 400),
        ("GET", "/assets", None, {"class_id": str(huge)}, 400),
    ):
        got, reply = await api.call(method, path, body, query=query)
        if got != status:
            problems.append(f"{method} {path} {body or query or ''}: {got} {reply}")
    assert await snapshot(floki) == before
    assert not problems, "\n".join(problems)


async def test_receiver_identifier_change_is_normalised_and_checked(
    floki: Floki, api: Api, register: dict[str, Any]
) -> None:
    """Renaming a receiver's tag must not let one radio be registered twice."""
    second = await api.create(
        "/receivers",
        {
            "name": "W7-2",
            "technology": "ble_mac",
            "identifier": "AA:BB:CC:00:00:02",
            "zone_id": register["ward"]["id"],
        },
    )
    before = await snapshot(floki)
    status, reply = await api.call(
        "PATCH", f"/receivers/{second['id']}", {"identifier": "aa-bb-cc-00-00-01"}
    )
    assert status == 409, reply
    assert await snapshot(floki) == before
    status, reply = await api.call(
        "PATCH", f"/receivers/{second['id']}", {"identifier": "aabbcc000003"}
    )
    assert status == 200
    assert reply["identifier"] == "AA:BB:CC:00:00:03"


async def test_site_timezone_must_be_a_real_zone(floki: Floki, api: Api) -> None:
    """Due dates and shift boundaries are worked out in the site's zone; a typo must not land."""
    before = await snapshot(floki)
    status, reply = await api.call("POST", "/sites", {"name": "Annexe", "timezone": "Europe/Londn"})
    assert status == 422, reply
    assert "timezone" in reply["error"]
    assert await snapshot(floki) == before
    status, reply = await api.call(
        "POST", "/sites", {"name": "Annexe", "timezone": "Europe/Dublin"}
    )
    assert status == 201


async def test_site_with_buildings_survives_a_delete(api: Api, register: dict[str, Any]) -> None:
    site = register["site"]["id"]
    status, reply = await api.call("DELETE", f"/sites/{site}")
    assert status == 409
    assert reply["error"] == f"cannot delete site {site}: 1 buildings still refer to it"
    status, still = await api.call("GET", f"/sites/{site}", role="viewer")
    assert (status, still) == (200, register["site"])
    assert await api.audit(entity="sites", action="delete") == []


async def test_zone_cycles_through_grandchildren_are_refused(
    api: Api, register: dict[str, Any]
) -> None:
    site, ward, bay = register["site"]["id"], register["ward"]["id"], register["bay"]["id"]
    bed = await api.create("/zones", {"site_id": site, "name": "Bed 1", "parent_id": bay})
    status, reply = await api.call("PATCH", f"/zones/{ward}", {"parent_id": bed["id"]})
    assert status == 422 and "inside itself" in reply["error"]
    status, fetched = await api.call("GET", f"/zones/{ward}", role="viewer")
    assert fetched["parent_id"] is None
    # Moving a leaf under another branch is fine.
    status, moved = await api.call("PATCH", f"/zones/{bed['id']}", {"parent_id": ward})
    assert (status, moved["parent_id"]) == (200, ward)


async def test_zone_on_a_floor_of_another_site_is_refused(
    floki: Floki, api: Api, register: dict[str, Any]
) -> None:
    """A zone drawn on a floor plan belongs to that floor's site."""
    before = await snapshot(floki)
    status, reply = await api.call(
        "POST",
        "/zones",
        {"site_id": register["other"]["id"], "name": "Hub", "floor_id": register["floor"]["id"]},
    )
    assert status == 422, reply
    assert await snapshot(floki) == before


# --- search ---------------------------------------------------------------------


@pytest.fixture
async def equipment(api: Api, register: dict[str, Any]) -> dict[str, Any]:
    pump = await api.create(
        "/asset-classes",
        {"name": "Volumetric infusion pump", "make": "BD", "model": "Alaris GP"},
        role="engineer",
    )
    scanner = register["class"]["id"]
    made = {}
    for number, body in (
        ("CE-0002", {"class_id": scanner, "department": "Urology"}),
        ("CE-0003", {"description": "Portable BLADDER scanner, loan pool"}),  # no class
        ("CE-0004", {"class_id": pump["id"], "description": "Pump for ward 7"}),
        ("CE-0005", {"class_id": pump["id"], "serial": "AGP-5541"}),
        ("MED_99", {"description": "Hoist sling 50% worn"}),
    ):
        made[number] = await api.create(
            "/assets", {"asset_number": number, **body}, role="engineer"
        )
    return made


async def _search(api: Api, **query: str) -> tuple[list[str], dict[str, Any]]:
    status, body = await api.call("GET", "/assets", query=query, role="viewer")
    assert status == 200, body
    return [a["asset_number"] for a in body["items"]], body


SEARCHES = [
    ("bladder scanner", ["CE-0001", "CE-0002", "CE-0003"]),  # class name and description
    ("BLADDER SCANNER", ["CE-0001", "CE-0002", "CE-0003"]),
    ("scanner bladder", ["CE-0001", "CE-0002", "CE-0003"]),
    ("verathon bvi", ["CE-0001", "CE-0002"]),  # make and model
    ("alaris", ["CE-0004", "CE-0005"]),
    ("ce-0004", ["CE-0004"]),  # asset number
    ("agp-5541", ["CE-0005"]),  # serial
    ("urology", ["CE-0002"]),  # department
    ("pump ward", ["CE-0004"]),  # every word must match
    ("loan pool bladder", ["CE-0003"]),
    ("defibrillator", []),
    ("50%", ["MED_99"]),
    ("%", ["MED_99"]),  # wildcards are matched literally
    ("_", ["MED_99"]),
    ("", ["CE-0001", "CE-0002", "CE-0003", "CE-0004", "CE-0005", "MED_99"]),
]


async def test_search_finds_assets(api: Api, equipment: dict[str, Any]) -> None:
    problems = []
    for q, found in SEARCHES:
        numbers, body = await _search(api, q=q)
        if numbers != found or body["total"] != len(found):
            problems.append(f"q={q!r}: {numbers} (total {body['total']}), expected {found}")
    assert not problems, "\n".join(problems)


async def test_search_items_carry_class_and_home_zone(api: Api, equipment: dict[str, Any]) -> None:
    _, body = await _search(api, q="CE-0001")
    item = body["items"][0]
    assert item["class_name"] == "Bladder scanner"
    assert item["home_zone"] == "Ward 7"
    assert "location" in item


async def test_search_is_paginated(api: Api, equipment: dict[str, Any]) -> None:
    pages = []
    for offset in (0, 2, 4, 6):
        numbers, body = await _search(api, q="ce", limit="2", offset=str(offset))
        assert (body["total"], body["limit"], body["offset"]) == (5, 2, offset)
        pages.append(numbers)
    assert pages == [["CE-0001", "CE-0002"], ["CE-0003", "CE-0004"], ["CE-0005"], []]
    numbers, body = await _search(api, q="bladder", class_id=str(equipment["CE-0002"]["class_id"]))
    assert numbers == ["CE-0001", "CE-0002"] and body["total"] == 2


BAD_QUERIES = [
    ({"limit": "0"}, "limit must be between 1 and 500"),
    ({"limit": "501"}, "limit must be between 1 and 500"),
    ({"limit": "ten"}, "limit must be an integer"),
    ({"offset": "-1"}, "offset must be between"),
    ({"q": "x" * 201}, "longer than 200"),
    ({"class_id": "pumps"}, "class_id must be an integer"),
]


async def test_bad_search_queries_are_400(api: Api) -> None:
    for query, reason in BAD_QUERIES:
        status, body = await api.call("GET", "/assets", query=query, role="viewer")
        assert (status, body["status"]) == (400, 400), query
        assert reason in body["error"], query


# --- both database backends ------------------------------------------------------

# Text the request schemas accept but a narrower column might not hold, and a NUL
# character that PostgreSQL refuses in text columns.
EDGE_TEXT = [
    ("/asset-classes", {"name": "Hoist", "make": "m" * 300}, "make"),
    ("/asset-classes", {"name": "Sling", "model": "m" * 300}, "model"),
    ("/sites", {"name": "Annexe", "code": "c" * 60}, "code"),
    ("/sites", {"name": "Hub", "timezone": "t" * 70}, "timezone"),
    ("/assets", {"asset_number": "CE-0300", "serial": "s" * 300}, "serial"),
    ("/assets", {"asset_number": "CE-0301", "department": "d" * 300}, "department"),
    ("/sites", {"name": "Ward\u00007"}, "name"),
]


@pytest.fixture(params=["sqlite", "postgresql"])
async def any_backend(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Floki]:
    url = None
    if request.param == "postgresql":
        url = request.getfixturevalue("postgres_url")
    config = parse_config(
        {"discovery": {"enabled": False}, "server": {"tls": False}, "database": {"url": url}}
    )
    clock = ManualClock()
    core = Core(tmp_path / request.param, config, clock=clock)
    await core.start()
    try:
        async with TestClient(TestServer(create_app(core))) as client:
            yield Floki(core, client, clock)
    finally:
        await core.stop()


async def test_accepted_text_is_stored_whole_on_every_backend(any_backend: Floki) -> None:
    """The API either refuses a value with a reason or keeps all of it; it never crashes."""
    api = Api(any_backend)
    problems = []
    for path, body, field in EDGE_TEXT:
        before = await snapshot(any_backend)
        status, reply = await api.call("POST", path, body)
        if status == 201:
            _, fetched = await api.call("GET", f"{path}/{reply['id']}")
            if fetched[field] != body[field]:
                problems.append(f"{path} {field}: stored {fetched[field]!r}")
        elif status == 422 and field in reply["error"]:
            if await snapshot(any_backend) != before:
                problems.append(f"{path} {field}: refused but written")
        else:
            problems.append(f"{path} {field}: {status} {reply}")
    assert not problems, "\n".join(problems)
