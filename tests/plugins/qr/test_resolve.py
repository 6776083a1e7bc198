"""Codes already on the equipment and the walls (Scan4Safety) name the right asset or
place; a code that names nothing says why."""

from __future__ import annotations

from typing import Any

import pytest

from floki_core.testing import Floki
from floki_qr.resolve import resolve_code
from tests.plugins.qr.qr_register import (
    API,
    BASE_URL,
    GIAI_E1001,
    GIAI_E1003,
    GLN_LIBRARY,
    GLN_ROOM_A,
    GLN_UNUSED,
    GLN_WARD,
    GTIN_PUMP,
    UDI_E1001,
    QrRegister,
    post,
)

GS = "\x1d"
# A GIAI of the longest length GS1 allows (30), and a scan four characters longer that
# begins with it: cut to 30 characters, the scan would name the asset with the first.
GIAI_30 = "501234500000000000000000000001"
GIAI_34 = GIAI_30 + "1001"

# (scan, kind, asset number or zone name, read as)
NAMED = [
    (f"{BASE_URL}/q/E1001", "asset", "E1001", "label code"),
    ("https://another-name.example/q/e1001", "asset", "E1001", "label code"),
    (f"]C18004{GIAI_E1001}", "asset", "E1001", "GIAI"),
    (f"8004{GIAI_E1003}", "asset", "E1003", "GIAI"),
    (f"]d2{GS}01{GTIN_PUMP}17280131{GS}21SN1001", "asset", "E1001", "UDI"),
    (f"(01){GTIN_PUMP}(21)SN1001", "asset", "E1001", "UDI"),
    (f"https://id.gs1.org/8004/{GIAI_E1003}", "asset", "E1003", "GIAI"),
    (f"{BASE_URL}/8004/{GIAI_E1001}", "asset", "E1001", "GIAI"),
    (f"https://id.gs1.org/01/{GTIN_PUMP}/21/SN1001", "asset", "E1001", "UDI"),
    ("E1002", "asset", "E1002", "asset number or code"),
    ("]C0E1003\r\n", "asset", "E1003", "asset number or code"),
    ("e1002", "asset", "E1002", "asset number or code"),
    # All digits, starting like a GTIN, but no GS1 marker: the asset number wins.
    ("01234567", "asset", "01234567", "asset number or code"),
    (f"]C1414{GLN_WARD}", "zone", "Ward 7", "GLN"),
    (f"414{GLN_ROOM_A}", "zone", "Room 7A", "GLN"),
    (f"https://id.gs1.org/414/{GLN_LIBRARY}", "zone", "Equipment library", "GLN"),
    (f"{BASE_URL}/414/{GLN_ROOM_A}", "zone", "Room 7A", "GLN"),
]

# (scan, read as, error)
UNKNOWN = [
    (f"{BASE_URL}/q/ZZZZ9999", "label code", "no asset or location has the label code ZZZZ9999"),
    ("]C18004501234599999", "GIAI", "no asset has GIAI 501234599999"),
    (f"]C1414{GLN_UNUSED}", "GLN", f"no location has GLN {GLN_UNUSED}"),
    (
        f"]d201{GTIN_PUMP}21SN9999",
        "UDI",
        f"no asset has UDI (01){GTIN_PUMP}(21)SN9999",
    ),
    (
        "E9999",
        "asset number or code",
        "'E9999' is neither an asset number nor a label code in the register",
    ),
    # A fixed scanner's receiver is no location label.
    (
        "SCANNER-LIBRARY",
        "asset number or code",
        "'SCANNER-LIBRARY' is neither an asset number nor a label code in the register",
    ),
    (
        "]C14145012345000016",
        "unreadable",
        "GLN 5012345000016 has a wrong check digit: expected 5, got 6",
    ),
    # Unmarked digits with a bad check digit that are no asset number either: the GS1
    # fault is what the user is told.
    (
        "4145012345000016",
        "unreadable",
        "GLN 5012345000016 has a wrong check digit: expected 5, got 6",
    ),
    ("]", "unreadable", "unknown symbology identifier ']'"),
    ("]C12312345", "unreadable", 'unknown GS1 Application Identifier (231) at "2312345"'),
    ("]C141450123", "unreadable", "(414) GLN is 5 characters; exactly 13"),
    # Too long for a GIAI: refused, never cut to 30 characters.
    (f"]C18004{GIAI_E1001}{'0' * 20}", "unreadable", "(8004) GIAI is 31 characters; at most 30"),
]


@pytest.mark.parametrize(("scan", "kind", "name", "read_as"), NAMED)
async def test_scans_name_assets_and_places(
    floki: Floki, qr_register: QrRegister, scan: str, kind: str, name: str, read_as: str
) -> None:
    found = await resolve_code(floki.core.plugins.contexts["qr"], scan)
    assert (found.kind, found.read_as, found.error) == (kind, read_as, None)
    if kind == "asset":
        assert found.asset_number == name
        assert found.asset_id == qr_register.assets[name]
        assert found.tag == ("E1001" if name == "E1001" else None)  # only E1001 has a code
    else:
        assert found.zone_name == name
        zone_ids = {"Ward 7": "ward", "Room 7A": "room_a", "Equipment library": "library"}
        assert found.zone_id == qr_register.zones[zone_ids[name]]


@pytest.mark.parametrize(("scan", "read_as", "error"), UNKNOWN)
async def test_a_code_that_names_nothing_says_why(
    floki: Floki, qr_register: QrRegister, scan: str, read_as: str, error: str
) -> None:
    found = await resolve_code(floki.core.plugins.contexts["qr"], scan)
    assert (found.kind, found.read_as, found.error) == ("unknown", read_as, error)
    assert found.asset_id is None and found.zone_id is None


async def test_a_gln_on_a_receiver_names_the_receivers_zone(
    floki: Floki, qr_register: QrRegister
) -> None:
    # A GLN that marks a spot inside a zone (a bed space) is registered as a receiver.
    bed = "5012345000053"
    await post(
        floki,
        "/receivers",
        {
            "name": "Bed 4",
            "technology": "gln",
            "identifier": bed,
            "zone_id": qr_register.zones["bay"],
        },
    )
    found = await resolve_code(floki.core.plugins.contexts["qr"], f"]C1414{bed}")
    assert (found.kind, found.zone_name, found.receiver) == ("zone", "Bay 7C", bed)


async def test_a_place_names_its_label_receiver_for_sightings(
    floki: Floki, qr_register: QrRegister
) -> None:
    before = await resolve_code(floki.core.plugins.contexts["qr"], f"414{GLN_ROOM_A}")
    assert before.receiver is None  # no location label printed yet
    resp = await floki.client.get(
        f"{API}/qr/labels.pdf",
        params={"zones": str(qr_register.zones["room_a"])},
        headers=await floki.headers("engineer"),
    )
    assert resp.status == 200
    after = await resolve_code(floki.core.plugins.contexts["qr"], f"414{GLN_ROOM_A}")
    label = await resolve_code(floki.core.plugins.contexts["qr"], f"{BASE_URL}/q/{after.receiver}")
    assert (label.kind, label.zone_name, label.receiver) == ("zone", "Room 7A", after.receiver)


async def _resolve_api(floki: Floki, role: str, **params: str) -> tuple[int, dict[str, Any]]:
    resp = await floki.client.get(
        f"{API}/qr/resolve", params=params, headers=await floki.headers(role)
    )
    data: dict[str, Any] = await resp.json()
    return resp.status, data


async def test_resolving_over_the_api(floki: Floki, qr_register: QrRegister) -> None:
    status, data = await _resolve_api(floki, "viewer", text=f"]C18004{GIAI_E1001}")
    assert status == 200
    assert data == {
        "kind": "asset",
        "read_as": "GIAI",
        "value": GIAI_E1001,
        "asset_id": qr_register.assets["E1001"],
        "asset_number": "E1001",
        "description": "Infusion pump E1001",
        "tag": "E1001",
    }
    status, data = await _resolve_api(floki, "viewer", text=UDI_E1001.replace("(21)", "(21)X"))
    assert (status, data["kind"], data["error"]) == (
        200,
        "unknown",
        f"no asset has UDI (01){GTIN_PUMP}(21)XSN1001",
    )
    status, data = await _resolve_api(floki, "viewer")
    assert (status, data["error"]) == (400, "query parameter text is required: the scanned code")
    status, data = await _resolve_api(floki, "viewer", text="x" * 501)
    assert (status, data["error"]) == (400, "query parameter text is longer than 500 characters")
    anonymous = await floki.client.get(f"{API}/qr/resolve", params={"text": "E1001"})
    assert anonymous.status == 401


async def test_an_over_long_giai_is_refused_not_taken_for_the_giai_it_begins_with(
    floki: Floki, qr_register: QrRegister
) -> None:
    driver = {"asset_number": "E2030", "description": "Syringe driver E2030", "giai": GIAI_30}
    await post(floki, "/assets", driver)
    over_long = (
        f"(8004){GIAI_34}",  # typed, or printed under the barcode
        f"(8004) {GIAI_34}",
        f"]C18004{GIAI_34}",  # GS1-128 through a scanner
        f"]d2{GS}8004{GIAI_34}{GS}",
        f"8004{GIAI_34}",
        f"https://id.gs1.org/8004/{GIAI_34}",  # GS1 Digital Link
    )
    for text in over_long:
        status, data = await _resolve_api(floki, "viewer", text=text)
        assert (status, data["kind"], data.get("error")) == (
            422,
            "unknown",
            "(8004) GIAI is 34 characters; at most 30",
        ), text
        assert "asset_id" not in data and "asset_number" not in data
    # The asset itself is still found by its own GIAI.
    status, data = await _resolve_api(floki, "viewer", text=f"(8004){GIAI_30}")
    assert (status, data["asset_number"], data["read_as"]) == (200, "E2030", "GIAI")


async def test_a_trailing_separator_keeps_a_scan_gs1(floki: Floki, qr_register: QrRegister) -> None:
    # Asset numbers that are all digits are common; a GS1 batch number is not one.
    await post(floki, "/assets", {"asset_number": "10023", "description": "Hoist 10023"})
    for text in (
        f"8004{GIAI_E1003}{GS}",
        f"{GS}8004{GIAI_E1003}",
        f"{GS}{GS}8004{GIAI_E1003}{GS}{GS}\r\n",
        f"]C18004{GIAI_E1003}{GS}",
    ):
        status, data = await _resolve_api(floki, "viewer", text=text)
        assert (status, data["asset_number"], data["read_as"]) == (200, "E1003", "GIAI"), text
    status, data = await _resolve_api(floki, "viewer", text=f"10023{GS}")
    assert (status, data["kind"], data["read_as"], data.get("error")) == (
        422,
        "unknown",
        "unreadable",
        "GS1 code carries no GIAI (8004), GLN (414) or GTIN + serial (01 + 21); it has (10)",
    )
    status, data = await _resolve_api(floki, "viewer", text="10023")  # Code 128, no FNC1
    assert (status, data["asset_number"]) == (200, "10023")
