"""One spelling per tag identity, whichever way it is typed: identifiers are normalised by
their kind on the way in, a value that is not of its kind is refused with the form
expected, and a tag entered in any accepted spelling is found when a decoder reports it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert

from floki_core.observations import Observation
from floki_core.schemas import identifier_problem, normalise_identifier
from floki_core.storage.models import IdentifierRow
from floki_core.testing import Floki

API = "/api/v1"
UUID = "F7826DA6-4FA2-4E98-8024-BC5B71E0893E"
ALTBEACON = "F7826DA64FA24E988024BC5B71E0893E00010102"  # how the BLE decoder spells it
GATEWAY = "AC:23:3F:C0:00:01"
MAC_FORM = "a MAC address of 6 bytes in hex, e.g. C0:FF:EE:00:AA:01"

# (name, technology, as typed, as stored)
SPELLINGS: list[tuple[str, str, str, str]] = [
    ("altbeacon_lower", "altbeacon", ALTBEACON.lower(), ALTBEACON),
    ("altbeacon_grouped", "altbeacon", "f7826da6-4fa2-4e98-8024-bc5b71e0893e-0001-0102", ALTBEACON),
    (
        "altbeacon_espresense_id",
        "altbeacon",
        "altBeacon:f7826da6-4fa2-4e98-8024-bc5b71e0893e-1-258",
        ALTBEACON,
    ),
    ("ibeacon_lower", "ibeacon", f"{UUID.lower()}:100:7", f"{UUID}:100:7"),
    ("ibeacon_uuid_digits_only", "ibeacon", f"{UUID.replace('-', '')}:100:7", f"{UUID}:100:7"),
    ("ibeacon_leading_zeros", "ibeacon", f" {UUID}:0100:007 ", f"{UUID}:100:7"),
    ("ibeacon_espresense_id", "ibeacon", f"iBeacon:{UUID.lower()}-100-7", f"{UUID}:100:7"),
    (
        "eddystone_lower",
        "eddystone",
        "edd1ebeac04e5defa017:0123456789ab",
        "EDD1EBEAC04E5DEFA017:0123456789AB",
    ),
    (
        "eddystone_espresense_id",
        "eddystone",
        "eddy:edd1ebeac04e5defa017-0123456789ab",
        "EDD1EBEAC04E5DEFA017:0123456789AB",
    ),
    ("ble_mac_hyphens", "ble", "c3-a1-b2-c3-d4-e5", "C3:A1:B2:C3:D4:E5"),
    ("ble_mac_dotted", "ble", "c3a1.b2c3.d4e5", "C3:A1:B2:C3:D4:E5"),
    ("wifi_mac_bare", "wifi", "0011223344aa", "00:11:22:33:44:AA"),
    ("qr_label_code", "qr", "flk-ce-0001", "FLK-CE-0001"),
    ("epc_spaced", "rfid_epc", "3034 257b f719 4e40 0000 1a85", "3034257BF7194E4000001A85"),
    ("espresense_alias_as_reported", "espresense", " Pump-0042 ", "Pump-0042"),
    ("bt_mac_spaced", "bt_mac", "c3 a1 b2 c3 d4 e5", "C3:A1:B2:C3:D4:E5"),
    # A UDI as a scan of its label is looked up: (01)<GTIN-14>(21)<serial>.
    ("udi_gtin13", "udi", "(01)5012345678900(21)SN1001", "(01)05012345678900(21)SN1001"),
    ("udi_spaced", "udi", " (01) 05012345678900 (21) SN1001", "(01)05012345678900(21)SN1001"),
    ("udi_element_string", "udi", "010501234567890021SN1001", "(01)05012345678900(21)SN1001"),
    ("giai_as_typed", "giai", " 5012345ABC-7 ", "5012345ABC-7"),
]

# (name, technology, value, words the reason must carry)
REFUSED: list[tuple[str, str, str, str]] = [
    ("ibeacon_words", "ibeacon", "pump 7", "UUID:major:minor"),
    ("ibeacon_major_too_big", "ibeacon", f"{UUID}:65536:7", "UUID:major:minor"),
    ("ibeacon_short_uuid", "ibeacon", "F7826DA6-4FA2:1:2", "UUID:major:minor"),
    ("eddystone_instance_short", "eddystone", "EDD1EBEAC04E5DEFA017:0123", "NAMESPACE:INSTANCE"),
    ("altbeacon_39_digits", "altbeacon", ALTBEACON[:-1], "40 hex digits"),
    # MACs: six bytes, or the tag is never located (decoders report AA:BB:CC:DD:EE:FF).
    ("ble_mac_0x", "ble", "0xC0FFEE00AA01", MAC_FORM),
    ("ble_mac_trailing_colon", "ble", "c0:ff:ee:00:aa:01:", MAC_FORM),
    ("ble_mac_11_digits", "ble", "c0:ff:ee:00:aa:0", MAC_FORM),
    ("ble_mac_mixed_separators", "ble", "c0:ff-ee:00:aa:01", MAC_FORM),
    ("wifi_words", "wifi", "nurses station", MAC_FORM),
    ("wifi_mac_13_digits", "wifi_mac", "C0FFEE00AA011", MAC_FORM),
    ("udi_words", "udi", "SN1001", "(01)<GTIN>(21)<serial>"),
    ("udi_with_batch", "udi", "(01)05012345678900(21)SN1(10)LOT7", "(01)<GTIN>(21)<serial>"),
    ("giai_brackets", "giai", "50123456(10)ABC", "would be ambiguous in the bracketed form"),
]


async def call(floki: Floki, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    resp = await floki.client.request(
        method, API + path, json=body, headers=await floki.headers("admin")
    )
    return resp.status, (await resp.json() if resp.status != 204 else None)


async def new_asset(floki: Floki, number: str = "E1") -> int:
    status, asset = await call(floki, "POST", "/assets", {"asset_number": number})
    assert status == 201, asset
    return int(asset["id"])


async def test_an_identifier_is_stored_in_its_kinds_one_spelling(floki: Floki) -> None:
    asset = await new_asset(floki)
    stored: dict[str, str] = {}
    clashes: dict[str, int] = {}
    for name, technology, typed, _ in SPELLINGS:
        body = {"asset_id": asset, "technology": technology, "value": typed}
        status, made = await call(floki, "POST", "/identifiers", body)
        assert status == 201, (name, made)
        stored[name] = made["value"]
        # The same tag typed as stored is the same tag.
        body = {**body, "value": made["value"]}
        clashes[name], _ = await call(floki, "POST", "/identifiers", body)
        status, _ = await call(floki, "DELETE", f"/identifiers/{made['id']}")
        assert status == 204
    assert stored == {name: spelled for name, _, _, spelled in SPELLINGS}
    assert clashes == {name: 409 for name, *_ in SPELLINGS}


async def test_a_value_that_is_not_of_its_kind_is_refused_with_the_form_expected(
    floki: Floki,
) -> None:
    asset = await new_asset(floki)
    for name, technology, value, expected in REFUSED:
        body = {"asset_id": asset, "technology": technology, "value": value}
        status, refused = await call(floki, "POST", "/identifiers", body)
        assert status == 422, (name, refused)
        assert refused["error"].startswith("value: "), (name, refused)
        assert expected in refused["error"], (name, refused)
    status, listed = await call(floki, "GET", f"/identifiers?asset_id={asset}")
    assert listed["items"] == []


async def located_zone(floki: Floki, asset: int) -> str | None:
    status, where = await call(floki, "GET", f"/assets/{asset}/location")
    assert status == 200
    return where["zone"]["name"] if where.get("located") else None


async def bay_with_gateway(floki: Floki) -> None:
    status, site = await call(floki, "POST", "/sites", {"name": "General"})
    status, zone = await call(
        floki, "POST", "/zones", {"site_id": site["id"], "name": "Bay 1", "type": "bay"}
    )
    receiver = {"name": "gw", "technology": "ble", "identifier": GATEWAY, "zone_id": zone["id"]}
    status, made = await call(floki, "POST", "/receivers", receiver)
    assert status == 201, made


def heard(technology: str, tag: str, at: Any) -> Observation:
    return Observation(technology=technology, tag=tag, receiver=GATEWAY, rssi=-60.0, observed_at=at)


async def test_an_altbeacon_typed_in_lower_case_is_found_when_the_decoder_reports_it(
    floki: Floki,
) -> None:
    await bay_with_gateway(floki)
    asset = await new_asset(floki)
    body = {"asset_id": asset, "technology": "altbeacon", "value": ALTBEACON.lower()}
    status, made = await call(floki, "POST", "/identifiers", body)
    assert status == 201, made
    await floki.core.locations.reindex()
    await floki.inject([heard("altbeacon", ALTBEACON, floki.clock.now())])
    assert await located_zone(floki, asset) == "Bay 1"
    status, unknown = await call(floki, "GET", "/unknown-tags")
    assert unknown["items"] == []


async def test_identifiers_stored_before_spelling_was_enforced_are_still_found(
    floki: Floki,
) -> None:
    await bay_with_gateway(floki)
    asset = await new_asset(floki)

    def legacy(session: Any) -> None:
        # As an older release stored what was typed.
        session.execute(
            insert(IdentifierRow).values(
                asset_id=asset, technology="altbeacon", value=ALTBEACON.lower()
            )
        )

    await floki.core.write(legacy)
    await floki.core.locations.reindex()
    await floki.inject([heard("altbeacon", ALTBEACON, floki.clock.now())])
    assert await located_zone(floki, asset) == "Bay 1"


async def test_a_row_left_in_an_old_spelling_never_hides_the_register_spelling(
    floki: Floki,
) -> None:
    # The upgrade leaves an old-spelling row alone when another row holds its spelling;
    # sightings must then name the asset a scan names: the row in the register's spelling.
    await bay_with_gateway(floki)
    registered = await new_asset(floki, "E1")
    left_over = await new_asset(floki, "E2")

    def both(session: Any) -> None:
        session.execute(
            insert(IdentifierRow).values(
                asset_id=registered, technology="altbeacon", value=ALTBEACON
            )
        )
        session.execute(
            insert(IdentifierRow).values(
                asset_id=left_over, technology="altbeacon", value=ALTBEACON.lower()
            )
        )

    await floki.core.write(both)
    await floki.core.locations.reindex()
    await floki.inject([heard("altbeacon", ALTBEACON, floki.clock.now())])
    assert await located_zone(floki, registered) == "Bay 1"
    assert await located_zone(floki, left_over) is None


# (technology, value, the reason it is refused, exactly)
REASONS: list[tuple[str, str, str]] = [
    (
        "ble",
        "0xC0FFEE00AA01",
        "'0xC0FFEE00AA01' is not a MAC address of 6 bytes in hex, e.g. C0:FF:EE:00:AA:01 "
        "(any case; also with -, . or a space between the bytes, or as C0FF.EE00.AA01 or "
        "C0FFEE00AA01)",
    ),
    (
        "udi",
        "(01)05012345678901(21)SN1",
        "'(01)05012345678901(21)SN1' is not a UDI: GTIN 05012345678901 has a wrong check "
        "digit: expected 0, got 1",
    ),
    (
        "udi",
        "SN1001",
        "'SN1001' is not a UDI (01)<GTIN>(21)<serial>, e.g. (01)05012345678900(21)SN1001 "
        "or 010501234567890021SN1001: a GTIN of 8, 12, 13 or 14 digits with its check "
        "digit, a serial number of 1 to 20 letters, digits or !\"%&'*+,-./:;<=>?_",
    ),
    (
        "giai",
        "PUMP-7",
        "GIAI 'PUMP-7' does not start with a GS1 Company Prefix (4 digits or more)",
    ),
]


def test_the_reason_a_value_is_refused_names_the_form_expected() -> None:
    assert [identifier_problem(t, v) for t, v, _ in REASONS] == [r for *_, r in REASONS]


def test_every_accepted_spelling_is_of_its_kind_and_spelled_once() -> None:
    for name, technology, typed, spelled in SPELLINGS:
        assert identifier_problem(technology, typed) is None, name
        assert normalise_identifier(technology, typed) == spelled, name
        assert normalise_identifier(technology, spelled) == spelled, name


async def test_a_receiver_may_still_be_named_by_a_room_not_a_mac(floki: Floki) -> None:
    # ESPresense nodes report their room name as the receiver, under technology ble.
    status, site = await call(floki, "POST", "/sites", {"name": "General"})
    status, zone = await call(floki, "POST", "/zones", {"site_id": site["id"], "name": "Bay 1"})
    for name, identifier in (("node", "kitchen"), ("gateway", "ac233fc00002")):
        body = {"name": name, "technology": "ble", "identifier": identifier, "zone_id": zone["id"]}
        status, made = await call(floki, "POST", "/receivers", body)
        assert status == 201, made
    status, listed = await call(floki, "GET", "/receivers")
    assert {r["identifier"] for r in listed["items"]} == {"kitchen", "AC:23:3F:C0:00:02"}
