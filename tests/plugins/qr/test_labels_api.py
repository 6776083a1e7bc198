"""GET /api/v1/qr/labels.pdf: labels whose codes decode to URLs that name the right
asset or place, the same codes on every reprint, and every new code audited."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import update

from floki_core.observations import Observation
from floki_core.storage.models import AssetRow
from floki_core.testing import Floki
from floki_qr.label_sheets import LAYOUTS
from floki_qr.resolve import resolve_code
from tests.plugins.qr.label_decoding import decode_labels
from tests.plugins.qr.qr_register import (
    API,
    BASE_URL,
    GIAI_E1001,
    GLN_ROOM_A,
    QrRegister,
)

LABELS = f"{API}/qr/labels.pdf"


async def _pdf(floki: Floki, query: str, role: str = "engineer") -> tuple[bytes, Any]:
    resp = await floki.client.get(f"{LABELS}?{query}", headers=await floki.headers(role))
    body = await resp.read()
    assert resp.status == 200, body
    assert resp.content_type == "application/pdf"
    return body, resp.headers


async def _error(floki: Floki, query: str, status: int, role: str = "engineer") -> str:
    resp = await floki.client.get(f"{LABELS}?{query}", headers=await floki.headers(role))
    data = await resp.json()
    assert resp.status == status, data
    return str(data["error"])


async def _audit(floki: Floki, **query: str) -> list[dict[str, Any]]:
    resp = await floki.client.get(
        f"{API}/audit", params={"limit": "500", **query}, headers=await floki.headers("admin")
    )
    data = await resp.json()
    assert resp.status == 200, data
    items: list[dict[str, Any]] = data["items"]
    return items


async def test_asset_labels_decode_to_urls_that_name_their_assets(
    floki: Floki, qr_register: QrRegister
) -> None:
    ids = [qr_register.assets[n] for n in ("E1001", "E1002", "E1003")]
    pdf, headers = await _pdf(floki, f"assets={','.join(map(str, ids))}&layout=21")
    assert headers["X-Floki-Labels"] == "3"
    assert headers["X-Floki-Codes-Created"] == "2"  # E1001 had its code already
    urls = decode_labels(pdf, LAYOUTS["21"], 3)
    assert urls[0] == f"{BASE_URL}/q/E1001"
    for url, number in zip(urls, ("E1001", "E1002", "E1003"), strict=True):
        assert url.startswith(f"{BASE_URL}/q/")
        found = await resolve_code(floki.core.plugins.contexts["qr"], url)
        assert (found.kind, found.asset_number, found.asset_id) == (
            "asset",
            number,
            qr_register.assets[number],
        )
        assert found.tag == url.rsplit("/", 1)[1]

    # New codes: 8 characters of Crockford base 32.
    for url in urls[1:]:
        code = url.rsplit("/", 1)[1]
        assert len(code) == 8 and set(code) <= set("0123456789ABCDEFGHJKMNPQRSTVWXYZ")

    # Reprinting (another layout, another day) never changes a code.
    again, headers = await _pdf(floki, f"assets={','.join(map(str, ids))}&layout=65&skip=4")
    assert headers["X-Floki-Codes-Created"] == "0"
    assert decode_labels(again, LAYOUTS["65"], 3, skip=4) == urls


async def test_new_codes_are_audited_like_any_identifier(
    floki: Floki, qr_register: QrRegister
) -> None:
    e1002 = qr_register.assets["E1002"]
    await _pdf(floki, f"assets={e1002}")
    created = await _audit(floki, entity="identifiers", action="create")
    made = [e for e in created if e["after"]["asset_id"] == e1002]
    assert len(made) == 1
    assert made[0]["actor"] == "test-engineer"
    assert made[0]["after"]["technology"] == "qr"
    printed = await _audit(floki, entity="labels", action="export")
    assert printed[0]["after"] == {"assets": 1, "zones": 0, "codes_created": 1, "gs1": False}
    assert printed[0]["detail"] == "1 QR labels printed, 1 new codes"

    # The identifier is there for the register's own API too.
    resp = await floki.client.get(
        f"{API}/identifiers",
        params={"asset_id": str(e1002)},
        headers=await floki.headers("viewer"),
    )
    assert [i["technology"] for i in (await resp.json())["items"]] == ["qr"]


async def test_location_labels_are_receivers_that_place_scanned_assets(
    floki: Floki, qr_register: QrRegister
) -> None:
    zones = [qr_register.zones["room_a"], qr_register.zones["bay"]]
    pdf, headers = await _pdf(floki, f"zones={zones[0]},{zones[1]}&layout=single")
    assert headers["X-Floki-Codes-Created"] == "2"
    urls = decode_labels(pdf, LAYOUTS["single"], 2)
    places = [await resolve_code(floki.core.plugins.contexts["qr"], url) for url in urls]
    assert [(p.kind, p.zone_name) for p in places] == [("zone", "Room 7A"), ("zone", "Bay 7C")]
    receivers = await _audit(floki, entity="receivers", action="create")
    made = {e["after"]["identifier"]: e["after"] for e in receivers}
    for place in places:
        assert place.receiver is not None
        assert made[place.receiver]["zone_id"] == place.zone_id
        assert made[place.receiver]["technology"] == "qr"

    # A phone scans the pump, then the location label: the pump is in Bay 7C.
    pump = await resolve_code(floki.core.plugins.contexts["qr"], f"{BASE_URL}/q/E1001")
    assert pump.tag is not None and places[1].receiver is not None
    await floki.inject(
        [
            Observation(
                technology="qr",
                tag=pump.tag,
                receiver=places[1].receiver,
                observed_at=floki.clock.now() - dt.timedelta(seconds=1),
            )
        ]
    )
    resp = await floki.client.get(
        f"{API}/assets/{pump.asset_id}/location", headers=await floki.headers("viewer")
    )
    location = await resp.json()
    assert location["zone"]["id"] == qr_register.zones["bay"], location
    assert location["method"] == "fixed_point"

    # The second print reuses the receivers.
    again, headers = await _pdf(floki, f"zones={zones[0]},{zones[1]}&layout=single")
    assert headers["X-Floki-Codes-Created"] == "0"
    assert decode_labels(again, LAYOUTS["single"], 2) == urls


async def test_gs1_labels_carry_digital_links_where_the_key_is_known(
    floki: Floki, qr_register: QrRegister
) -> None:
    a = qr_register.assets
    pdf, _ = await _pdf(floki, f"assets={a['E1001']},{a['E1002']}&gs1=true")
    urls = decode_labels(pdf, LAYOUTS["21"], 2)
    assert urls[0] == f"{BASE_URL}/8004/{GIAI_E1001}"
    assert urls[1].startswith(f"{BASE_URL}/q/")  # no GIAI: the short-code URL
    zones, _ = await _pdf(
        floki, f"zones={qr_register.zones['room_a']},{qr_register.zones['bay']}&gs1=true"
    )
    urls += decode_labels(zones, LAYOUTS["21"], 2)
    assert urls[2] == f"{BASE_URL}/414/{GLN_ROOM_A}"
    assert urls[3].startswith(f"{BASE_URL}/q/")
    named = [await resolve_code(floki.core.plugins.contexts["qr"], url) for url in urls]
    assert [(n.kind, n.asset_number or n.zone_name) for n in named] == [
        ("asset", "E1001"),
        ("asset", "E1002"),
        ("zone", "Room 7A"),
        ("zone", "Bay 7C"),
    ]
    printed = await _audit(floki, entity="labels", action="export")
    assert printed[0]["after"]["gs1"] is True


async def test_a_giai_stored_before_it_was_checked_gets_a_short_code_label(
    floki: Floki, qr_register: QrRegister
) -> None:
    pump = qr_register.assets["E1002"]

    def legacy(session: Any) -> None:
        # As an earlier release stored it: a GIAI no scanner reads back.
        session.execute(update(AssetRow).where(AssetRow.id == pump).values(giai="PUMP 2"))

    await floki.core.write(legacy)
    pdf, _ = await _pdf(floki, f"assets={pump}&gs1=true")
    [url] = decode_labels(pdf, LAYOUTS["21"], 1)
    assert url.startswith(f"{BASE_URL}/q/")
    found = await resolve_code(floki.core.plugins.contexts["qr"], url)
    assert (found.kind, found.asset_number) == ("asset", "E1002")


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("class_id={pump}", ["E1001", "E1002"]),
        ("zone_id={ward}", ["E1001", "E1002", "E1003"]),
        ("zone_id={bay}", ["E1003"]),
        ("all=true", ["01234567", "E1001", "E1002", "E1003"]),
        ("assets={e3}&class_id={pump}", ["E1003", "E1001", "E1002"]),
    ],
)
async def test_labels_for_a_class_a_zone_or_everything(
    floki: Floki, qr_register: QrRegister, query: str, expected: list[str]
) -> None:
    values = {
        "pump": qr_register.classes["Infusion pump"],
        "ward": qr_register.zones["ward"],
        "bay": qr_register.zones["bay"],
        "e3": qr_register.assets["E1003"],
    }
    pdf, headers = await _pdf(floki, query.format(**values) + "&layout=65")
    assert headers["X-Floki-Labels"] == str(len(expected))
    urls = decode_labels(pdf, LAYOUTS["65"], len(expected))
    named = [await resolve_code(floki.core.plugins.contexts["qr"], url) for url in urls]
    assert [n.asset_number for n in named] == expected


async def test_every_location_of_a_ward(floki: Floki, qr_register: QrRegister) -> None:
    pdf, headers = await _pdf(floki, f"zones_in={qr_register.zones['ward']}")
    assert headers["X-Floki-Labels"] == "3"
    urls = decode_labels(pdf, LAYOUTS["21"], 3)
    named = [await resolve_code(floki.core.plugins.contexts["qr"], url) for url in urls]
    assert sorted(str(n.zone_name) for n in named) == ["Bay 7C", "Room 7A", "Ward 7"]


@pytest.mark.parametrize(
    ("query", "status", "reason"),
    [
        ("", 400, "say which labels: assets=, zones=, class_id=, zone_id=, zones_in= or all=true"),
        ("assets=1,x", 400, "query parameter assets must be a record id, got 'x'"),
        ("assets=0", 400, "query parameter assets must be a record id, got '0'"),
        ("zones=\u00b2", 400, "query parameter zones must be a record id, got '\u00b2'"),
        (
            "zone_id=99999999999999999999",
            400,
            "query parameter zone_id must be a record id, got '99999999999999999999'",
        ),
        ("assets=,", 400, "query parameter assets must be comma-separated ids"),
        ("all=maybe", 400, "query parameter all must be true or false, got 'maybe'"),
        ("all=true&layout=24", 400, "layout must be 21, 65 or single, got '24'"),
        ("all=true&skip=21", 400, "skip must be between 0 and 20 for layout 21"),
        ("all=true&skip=-1", 400, "query parameter skip must be a whole number, got '-1'"),
        (
            "all=true&layout=single&skip=1",
            400,
            "skip applies to sheets of labels, not to single labels",
        ),
        (
            "asset=1",
            400,
            "unknown query parameter asset; known: assets, zones, class_id, zone_id, "
            "zones_in, all, layout, gs1, skip",
        ),
        ("assets=999999", 422, "assets: asset 999999 does not exist"),
        ("zones=999999", 422, "zones: zone 999999 does not exist"),
        ("class_id=999999", 422, "class_id: asset class 999999 does not exist"),
        ("zone_id=999999", 422, "zone_id: zone 999999 does not exist"),
    ],
)
async def test_bad_requests_say_what_is_wrong(
    floki: Floki, qr_register: QrRegister, query: str, status: int, reason: str
) -> None:
    assert await _error(floki, query, status) == reason


async def test_nothing_to_print_is_refused(floki: Floki) -> None:
    assert await _error(floki, "all=true", 422) == "the selection has no assets or zones to label"


@pytest.mark.parametrize(("role", "status"), [("viewer", 403), ("staff", 403), ("admin", 200)])
async def test_printing_labels_needs_an_engineer(
    floki: Floki, qr_register: QrRegister, role: str, status: int
) -> None:
    resp = await floki.client.get(
        f"{LABELS}?assets={qr_register.assets['E1002']}", headers=await floki.headers(role)
    )
    assert resp.status == status
    anonymous = await floki.client.get(f"{LABELS}?all=true")
    assert anonymous.status == 401


class TestLabelLimits:
    @pytest.fixture
    def qr_settings(self) -> dict[str, Any]:
        return {"labels": {"base_url": BASE_URL, "max_labels": 2, "layout": "65"}}

    async def test_too_many_labels_are_refused(self, floki: Floki, qr_register: QrRegister) -> None:
        reason = await _error(floki, "all=true", 422)
        assert reason == "4 labels asked for; at most 2 at a time"
        # Nothing was created for the refused request.
        assert await _audit(floki, entity="labels") == []

    async def test_the_configured_layout_is_the_default(
        self, floki: Floki, qr_register: QrRegister
    ) -> None:
        pdf, _ = await _pdf(floki, f"assets={qr_register.assets['E1001']}")
        assert decode_labels(pdf, LAYOUTS["65"], 1) == [f"{BASE_URL}/q/E1001"]
