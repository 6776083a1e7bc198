"""The register and the scan reader agree on which asset a GS1 key names, so a code is
never taken for another asset's (hazard H11 in docs/safety/hazard-log.md):

- a GIAI may not hold brackets: in the bracketed form people type, ``(8004)50123456(10)ABC``
  is the GIAI 50123456 and a batch, so an asset whose GIAI were ``50123456(10)ABC``
  would be named by its barcode and the other asset by its printed text;
- white space or a separator inside a bracketed value is refused, never dropped;
- a code carrying two keys is used only when both name the same asset, and a GS1
  Digital Link carries its key in the path, never in the query string;
- a ``udi`` identifier is stored as a scan of its label is looked up, whichever way it
  was typed.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from sqlalchemy import insert, update

from floki_core.storage.identifier_spelling import identifier_spelling_problems
from floki_core.storage.models import AssetRow, IdentifierRow
from floki_core.testing import Floki
from tests.plugins.qr.qr_register import (
    API,
    GIAI_E1001,
    GTIN_PUMP,
    QrRegister,
    post,
)

GS = "\x1d"
GIAI_Y = "50123456"
BRACKETED = "50123456(10)ABC"  # a GIAI GS1 allows, but ambiguous when typed bracketed
UDI_SN9 = f"(01){GTIN_PUMP}(21)SN9"
TWO_ASSETS = (
    f"the code carries GIAI {GIAI_Y} (asset Y1) and UDI {UDI_SN9} (asset Z1); "
    "its keys must name one asset"
)


async def _call(
    floki: Floki, method: str, path: str, body: Any = None, role: str = "admin"
) -> tuple[int, Any]:
    resp = await floki.client.request(
        method, API + path, json=body, headers=await floki.headers(role)
    )
    return resp.status, await resp.json()


async def _resolve(floki: Floki, text: str) -> tuple[int, dict[str, Any]]:
    resp = await floki.client.get(
        f"{API}/qr/resolve", params={"text": text}, headers=await floki.headers("viewer")
    )
    found: dict[str, Any] = await resp.json()
    return resp.status, found


async def _asset_numbers(floki: Floki) -> set[str]:
    status, listed = await _call(floki, "GET", "/assets?limit=500")
    assert status == 200
    return {a["asset_number"] for a in listed["items"]}


async def test_the_register_refuses_brackets_in_a_giai(floki: Floki) -> None:
    reason = (
        f"GIAI {BRACKETED!r} has '(', which would be ambiguous in the bracketed form people "
        f"type ((8004){BRACKETED}): brackets there mark the AIs"
    )
    status, refused = await _call(
        floki, "POST", "/assets", {"asset_number": "X1", "giai": BRACKETED}
    )
    assert status == 422 and reason in refused["error"], refused
    status, made = await _call(floki, "POST", "/assets", {"asset_number": "X1"})
    assert status == 201
    status, refused = await _call(floki, "PATCH", f"/assets/{made['id']}", {"giai": "5012)7"})
    assert status == 422 and "GIAI '5012)7' has ')', which would be ambiguous" in refused["error"]
    status, asset = await _call(floki, "GET", f"/assets/{made['id']}")
    assert asset["giai"] is None
    # The register import refuses the row the same way, and imports nothing.
    headers = {**await floki.headers("engineer"), "Content-Type": "text/csv"}
    rows = f"Asset No,GIAI\r\nX2,{BRACKETED}\r\nX3,50123457\r\n"
    resp = await floki.client.post(f"{API}/assets/import", data=rows, headers=headers)
    error = (await resp.json())["error"]
    assert resp.status == 422 and "line 2" in error and "which would be ambiguous" in error
    assert await _asset_numbers(floki) == {"X1"}


async def test_a_giai_identifier_is_held_to_the_same_rule(floki: Floki) -> None:
    status, asset = await _call(floki, "POST", "/assets", {"asset_number": "X1"})
    body = {"asset_id": asset["id"], "technology": "giai", "value": BRACKETED}
    status, refused = await _call(floki, "POST", "/identifiers", body)
    assert status == 422 and "which would be ambiguous" in refused["error"], refused
    status, listed = await _call(floki, "GET", f"/identifiers?asset_id={asset['id']}")
    assert listed["items"] == []


async def _assets_y_and_z(floki: Floki) -> dict[str, int]:
    """Y1 with GIAI 50123456; Z1 with the UDI (01)<pump GTIN>(21)SN9."""
    y = await post(floki, "/assets", {"asset_number": "Y1", "giai": GIAI_Y})
    z = await post(floki, "/assets", {"asset_number": "Z1"})
    await post(floki, "/identifiers", {"asset_id": z["id"], "technology": "udi", "value": UDI_SN9})
    return {"Y1": y["id"], "Z1": z["id"]}


async def test_a_giai_stored_with_brackets_by_an_earlier_release_is_never_taken_for_another(
    floki: Floki,
) -> None:
    await _assets_y_and_z(floki)
    x = await post(floki, "/assets", {"asset_number": "X1"})

    def as_an_earlier_release_stored_it(session: Any) -> None:
        session.execute(update(AssetRow).where(AssetRow.id == x["id"]).values(giai=BRACKETED))

    await floki.core.write(as_an_earlier_release_stored_it)
    # Typed in the bracketed form: GIAI 50123456 and a batch, or X1's GIAI? Neither.
    for typed in (f"(8004){BRACKETED}", "(8004) 50123456 (10) ABC"):
        status, found = await _resolve(floki, typed)
        assert status == 422, found
        assert found["error"] == (
            f"the bracketed form is ambiguous here: asset X1 has GIAI {BRACKETED!r}, stored "
            "before the register refused brackets in GIAIs; scan its barcode, or correct "
            "that GIAI"
        ), typed
        assert "asset_number" not in found
    # Its barcode and its Digital Link label keep their boundaries: X1, exactly.
    for scanned in (f"]C18004{BRACKETED}", "https://id.gs1.org/8004/50123456%2810%29ABC"):
        status, found = await _resolve(floki, scanned)
        assert (status, found.get("asset_number")) == (200, "X1"), found
    status, found = await _resolve(floki, f"(8004){GIAI_Y}")
    assert (status, found.get("asset_number")) == (200, "Y1")


async def test_white_space_or_a_separator_inside_a_bracketed_value_names_no_asset(
    floki: Floki,
) -> None:
    await _assets_y_and_z(floki)
    for typed, reason in (
        ("(8004)5012 3456", "(8004) GIAI has ' ' at character 5"),
        (f"(8004)5012{GS}3456", "(8004) GIAI has a GS separator at character 5"),
        (f"(01){GTIN_PUMP}(21)S N9", "(21) serial number has ' ' at character 2"),
    ):
        status, found = await _resolve(floki, typed)
        assert status == 422, (typed, found)
        assert found["error"].startswith(reason), found
        assert "asset_number" not in found
    # Between fields, white space is what people type.
    status, found = await _resolve(floki, f" (01) {GTIN_PUMP} (21) SN9 ")
    assert (status, found.get("asset_number")) == (200, "Z1")


async def test_a_code_whose_keys_name_different_assets_is_refused(floki: Floki) -> None:
    await _assets_y_and_z(floki)
    for scanned in (
        f"(01){GTIN_PUMP}(21)SN9(8004){GIAI_Y}",
        f"]d201{GTIN_PUMP}21SN9{GS}8004{GIAI_Y}",
        f"https://id.gs1.org/01/{GTIN_PUMP}/21/SN9/8004/{GIAI_Y}",
    ):
        status, found = await _resolve(floki, scanned)
        assert (status, found["kind"], found["error"]) == (422, "unknown", TWO_ASSETS), scanned
        assert "asset_number" not in found
    # A key that names nothing is no evidence for the other.
    status, found = await _resolve(floki, f"(01){GTIN_PUMP}(21)SN404(8004){GIAI_Y}")
    assert (status, found["error"]) == (
        422,
        f"the code carries GIAI {GIAI_Y} (asset Y1) and UDI (01){GTIN_PUMP}(21)SN404 "
        "(no asset); its keys must name one asset",
    )
    # A Digital Link with a key in its query string is refused before any look-up.
    status, found = await _resolve(floki, f"https://id.gs1.org/01/{GTIN_PUMP}/21/SN9?8004={GIAI_Y}")
    assert (status, found["read_as"], found["error"]) == (
        422,
        "unreadable",
        "(8004) GIAI is a primary key: in a GS1 Digital Link it belongs in the path, not the "
        "query string (which carries only data attributes)",
    )


async def test_a_code_whose_keys_name_one_asset_names_it(
    floki: Floki, qr_register: QrRegister
) -> None:
    # E1001 has both: its GIAI and its UDI, e.g. on one label of the trust's own.
    for scanned in (
        f"(8004){GIAI_E1001}(01){GTIN_PUMP}(21)SN1001",
        f"]d201{GTIN_PUMP}21SN1001{GS}8004{GIAI_E1001}",
    ):
        status, found = await _resolve(floki, scanned)
        assert (status, found["asset_number"], found["read_as"]) == (200, "E1001", "GIAI")


# A UDI as people type it (from the label's text, its barcode, a GTIN-13 on the box) and
# the spelling a scan of that label is looked up by.
UDI_TYPED = [
    (f"(01){GTIN_PUMP[1:]}(21)SN1", f"(01){GTIN_PUMP}(21)SN1"),
    (f"(01) {GTIN_PUMP} (21) SN2", f"(01){GTIN_PUMP}(21)SN2"),
    (f" 01{GTIN_PUMP}21SN3 ", f"(01){GTIN_PUMP}(21)SN3"),
    (f"01{GTIN_PUMP}{GS}21SN4", f"(01){GTIN_PUMP}(21)SN4"),
    (f"(01){GTIN_PUMP}(21)sn-5/a", f"(01){GTIN_PUMP}(21)sn-5/a"),
    ("(01)96385074(21)SN6", "(01)00000096385074(21)SN6"),  # a GTIN-8
]
UDI_EXPECTED = "is not a UDI (01)<GTIN>(21)<serial>"
UDI_REFUSED = [
    (f"(01){GTIN_PUMP[:-1]}1(21)SN1", "GTIN 05012345678901 has a wrong check digit: expected 0"),
    (f"(01){GTIN_PUMP}", UDI_EXPECTED),  # a product, not one device
    (f"(01){GTIN_PUMP}(21)SN1(10)LOT7", UDI_EXPECTED),
    (f"(01){GTIN_PUMP}(21)SN(1)", UDI_EXPECTED),  # brackets in a serial: ambiguous
    (f"(01){GTIN_PUMP}(21)SN 1", UDI_EXPECTED),
    (f"(01){GTIN_PUMP}(21){'S' * 21}", UDI_EXPECTED),
    (f"(21)SN1(01){GTIN_PUMP}", UDI_EXPECTED),
    ("(01)501234567891(21)SN1", "GTIN 00501234567891 has a wrong check digit: expected 0"),
    ("(01)5012345678(21)SN1", UDI_EXPECTED),  # 10 digits: no GTIN
    ("SN1001", UDI_EXPECTED),
]


async def test_a_udi_typed_in_any_accepted_form_is_found_by_a_scan_of_its_label(
    floki: Floki,
) -> None:
    for n, (typed, spelled) in enumerate(UDI_TYPED, 1):
        asset = await post(floki, "/assets", {"asset_number": f"U{n}"})
        body = {"asset_id": asset["id"], "technology": "udi", "value": typed}
        made = await post(floki, "/identifiers", body)
        assert made["value"] == spelled, typed
        gtin, serial = spelled[4:18], spelled[22:]
        status, found = await _resolve(floki, f"]d201{gtin}21{serial}")
        assert (status, found.get("asset_number")) == (200, f"U{n}"), (typed, found)
        link = f"https://id.gs1.org/01/{gtin}/21/{quote(serial, safe='')}"
        status, found = await _resolve(floki, link)
        assert (status, found.get("asset_number")) == (200, f"U{n}"), (typed, found)


async def test_a_udi_of_any_other_form_is_refused_with_the_form_expected(floki: Floki) -> None:
    asset = await post(floki, "/assets", {"asset_number": "U1"})
    for typed, reason in UDI_REFUSED:
        body = {"asset_id": asset["id"], "technology": "udi", "value": typed}
        status, refused = await _call(floki, "POST", "/identifiers", body)
        assert status == 422, (typed, refused)
        assert refused["error"].startswith(f"value: {typed!r} "), refused
        assert reason in refused["error"], (typed, refused)
    status, listed = await _call(floki, "GET", f"/identifiers?asset_id={asset['id']}")
    assert listed["items"] == []


async def test_a_udi_stored_in_another_spelling_is_named_by_the_check(floki: Floki) -> None:
    # As floki-core check reports it: identifiers stored before udi had a spelling.
    asset = await post(floki, "/assets", {"asset_number": "U1"})

    def as_typed(session: Any) -> None:
        session.execute(
            insert(IdentifierRow).values(
                asset_id=asset["id"], technology="udi", value=f"(01){GTIN_PUMP[1:]}(21)SN1"
            )
        )

    await floki.core.write(as_typed)
    problems = await floki.core.read(identifier_spelling_problems)
    assert problems == [
        f"identifier 1 (udi, asset U1) is stored as '(01){GTIN_PUMP[1:]}(21)SN1', not in its "
        f"spelling '(01){GTIN_PUMP}(21)SN1': delete it and add it again "
        "(DELETE /api/v1/identifiers/1)"
    ]
