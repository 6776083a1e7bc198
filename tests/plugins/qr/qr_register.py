"""A small register for the QR plugin's tests, built through the API like a user's."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from floki_core.testing import Floki

API = "/api/v1"
BASE_URL = "https://floki.ward7.example.nhs.uk"

# GLNs and GIAIs under the (made-up) GS1 UK company prefix 5012345.
GLN_WARD = "5012345000015"
GLN_ROOM_A = "5012345000022"
GLN_LIBRARY = "5012345000039"
GLN_UNUSED = "5012345000046"  # a valid GLN no zone has
GIAI_E1001 = "50123451001"
GIAI_E1003 = "50123451003"
GTIN_PUMP = "05012345678900"
UDI_E1001 = f"(01){GTIN_PUMP}(21)SN1001"
SCANNER_RECEIVER = "SCANNER-LIBRARY"


@dataclass
class QrRegister:
    """One site: Ward 7 (with GLN) holding Room 7A (with GLN) and Bay 7C (none), and an
    equipment library (with GLN) where a fixed scanner stands. Assets:

    - E1001 infusion pump: GIAI, a ``qr`` code equal to its number (as the demo gives),
      a UDI; home Ward 7.
    - E1002 infusion pump: nothing but its number; home Room 7A.
    - E1003 bladder scanner: GIAI, no code; home Bay 7C.
    - 01234567 hoist: an all-digit asset number that starts like a GS1 GTIN; no home.
    """

    site: int
    zones: dict[str, int] = field(default_factory=dict)
    classes: dict[str, int] = field(default_factory=dict)
    assets: dict[str, int] = field(default_factory=dict)
    receivers: dict[str, int] = field(default_factory=dict)


async def post(floki: Floki, path: str, body: dict[str, Any]) -> dict[str, Any]:
    resp = await floki.client.post(API + path, json=body, headers=await floki.headers("admin"))
    data = await resp.json()
    assert resp.status == 201, (path, body, data)
    assert isinstance(data, dict)
    return data


async def build_qr_register(floki: Floki) -> QrRegister:
    site = await post(floki, "/sites", {"name": "St Elsewhere"})
    reg = QrRegister(site=site["id"])

    async def zone(key: str, name: str, type_: str, **extra: Any) -> None:
        body = {"site_id": reg.site, "name": name, "type": type_, **extra}
        reg.zones[key] = (await post(floki, "/zones", body))["id"]

    await zone("ward", "Ward 7", "ward", gln=GLN_WARD)
    await zone("room_a", "Room 7A", "room", parent_id=reg.zones["ward"], gln=GLN_ROOM_A)
    await zone("bay", "Bay 7C", "bay", parent_id=reg.zones["ward"])
    await zone("library", "Equipment library", "equipment_library", gln=GLN_LIBRARY)
    scanner = {
        "name": "library-door-scanner",
        "technology": "qr_scanner",
        "identifier": SCANNER_RECEIVER,
        "zone_id": reg.zones["library"],
    }
    reg.receivers["scanner"] = (await post(floki, "/receivers", scanner))["id"]

    for name in ("Infusion pump", "Bladder scanner", "Hoist"):
        reg.classes[name] = (await post(floki, "/asset-classes", {"name": name}))["id"]

    async def asset(number: str, class_name: str, home: str | None, **extra: Any) -> None:
        body = {
            "asset_number": number,
            "description": f"{class_name} {number}",
            "class_id": reg.classes[class_name],
            "home_zone_id": reg.zones[home] if home else None,
            **extra,
        }
        reg.assets[number] = (await post(floki, "/assets", body))["id"]

    await asset("E1001", "Infusion pump", "ward", giai=GIAI_E1001)
    await asset("E1002", "Infusion pump", "room_a")
    await asset("E1003", "Bladder scanner", "bay", giai=GIAI_E1003)
    await asset("01234567", "Hoist", None)
    for technology, value in (("qr", "E1001"), ("udi", UDI_E1001)):
        identifier = {"asset_id": reg.assets["E1001"], "technology": technology, "value": value}
        await post(floki, "/identifiers", identifier)
    await floki.core.locations.reindex()
    return reg
