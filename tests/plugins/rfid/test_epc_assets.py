"""A read EPC finds its asset: a GIAI EPC the asset carrying that GIAI, an SGTIN the asset
with that UDI, any other EPC an asset with its raw hex as an ``rfid`` identifier; and
what the location pipeline does with an RFID sighting of each."""

from __future__ import annotations

from typing import Any

import pytest
from floki_rfid.encoding import giai_96_epc
from floki_rfid.epc import EpcIdentity, decode_epc_hex
from floki_rfid.epc_assets import asset_for_epc, asset_id_for_epc

from floki_core.observations import Observation
from floki_core.sdk import PluginContext
from floki_core.testing import Floki

API = "/api/v1"
READER_ANTENNA = "library-portal:1"  # a receiver: one antenna of a fixed reader
GIAI_FIELD = "501234510001"  # an asset's own GIAI
GIAI_IDENTIFIER = "501234510002"  # a GIAI held as a ``giai`` identifier
SGTIN = "3074257BF7194E4000001A85"  # TDS example: (01)80614141123458(21)6789
FACTORY_EPC = "E2801160600002054C5F2BC2"

pytestmark = pytest.mark.floki_entry_points("rfid")


async def call(floki: Floki, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    resp = await floki.client.request(
        method, API + path, json=body, headers=await floki.headers("admin")
    )
    return resp.status, (await resp.json() if resp.status != 204 else None)


async def make(floki: Floki, path: str, body: dict[str, Any]) -> int:
    status, made = await call(floki, "POST", path, body)
    assert status == 201, made
    return int(made["id"])


async def register(floki: Floki) -> dict[str, int]:
    """E1 carries a GIAI, E2 a giai identifier, E3 a UDI, E4 the factory EPC typed by
    hand (lower case, spaced), E5 both a GIAI and an rfid identifier for E1's GIAI EPC;
    a library with one reader antenna."""
    site = await make(floki, "/sites", {"name": "General"})
    zone = await make(floki, "/zones", {"site_id": site, "name": "Equipment Library"})
    antenna = {"name": "portal 1", "technology": "rfid", "identifier": READER_ANTENNA}
    await make(floki, "/receivers", {**antenna, "zone_id": zone})
    ids = {
        "E1": await make(floki, "/assets", {"asset_number": "E1", "giai": GIAI_FIELD}),
        "E2": await make(floki, "/assets", {"asset_number": "E2"}),
        "E3": await make(floki, "/assets", {"asset_number": "E3"}),
        "E4": await make(floki, "/assets", {"asset_number": "E4"}),
    }
    tags = [
        (ids["E2"], "giai", GIAI_IDENTIFIER),
        (ids["E3"], "udi", "(01)80614141123458(21)6789"),
        (ids["E4"], "rfid", "e280 1160 6000 0205 4c5f 2bc2"),
    ]
    for asset, technology, value in tags:
        body = {"asset_id": asset, "technology": technology, "value": value}
        await make(floki, "/identifiers", body)
    await floki.core.locations.reindex()
    return ids


def rfid(floki: Floki) -> PluginContext:
    return floki.core.plugins.contexts["rfid"]


def giai_epc(giai: str) -> EpcIdentity:
    return decode_epc_hex(giai_96_epc(giai, "5012345"))


async def named(floki: Floki, identity: EpcIdentity) -> str | None:
    found = await rfid(floki).records.read(asset_for_epc, identity)
    return None if found is None else found.asset_number


async def test_each_kind_of_epc_finds_its_asset_in_the_register(floki: Floki) -> None:
    await register(floki)
    assert await named(floki, giai_epc(GIAI_FIELD)) == "E1"
    assert await named(floki, giai_epc(GIAI_IDENTIFIER)) == "E2"
    assert await named(floki, decode_epc_hex(SGTIN)) == "E3"
    assert await named(floki, decode_epc_hex(FACTORY_EPC)) == "E4"
    # Nothing carries these.
    assert await named(floki, giai_epc("501234599999")) is None
    assert await named(floki, decode_epc_hex("3074257BF7194E4000001A86")) is None
    assert await named(floki, decode_epc_hex("E2801160600002054C5F2BC3")) is None


async def test_an_rfid_identifier_holding_the_hex_wins_over_the_giai_it_carries(
    floki: Floki,
) -> None:
    ids = await register(floki)
    # E1's GIAI EPC, bound by hand to another asset (a label stuck on the wrong pump and
    # corrected in the register): the binding is what a person said.
    relabelled = await make(floki, "/assets", {"asset_number": "E5"})
    epc = giai_epc(GIAI_FIELD)
    await make(
        floki, "/identifiers", {"asset_id": relabelled, "technology": "rfid", "value": epc.hex}
    )
    await floki.core.locations.reindex()
    assert await named(floki, epc) == "E5"
    assert asset_id_for_epc(rfid(floki).register, epc) == relabelled != ids["E1"]


async def test_the_location_index_finds_the_tags_it_holds(floki: Floki) -> None:
    ids = await register(floki)
    view = rfid(floki).register
    assert view is not None
    assert asset_id_for_epc(view, giai_epc(GIAI_IDENTIFIER)) == ids["E2"]
    assert asset_id_for_epc(view, decode_epc_hex(SGTIN)) == ids["E3"]
    assert asset_id_for_epc(view, decode_epc_hex(FACTORY_EPC)) == ids["E4"]
    assert asset_id_for_epc(view, decode_epc_hex("E2801160600002054C5F2BC3")) is None


async def located(floki: Floki, asset: int) -> str | None:
    status, where = await call(floki, "GET", f"/assets/{asset}/location")
    assert status == 200, where
    return where["zone"]["name"] if where.get("located") else None


def read_at_portal(floki: Floki, epc: str) -> Observation:
    """A reader's report as the readers hand it over: the raw hex is the tag."""
    return Observation(
        technology="rfid",
        tag=decode_epc_hex(epc).hex,
        receiver=READER_ANTENNA,
        rssi=-55.0,
        observed_at=floki.clock.now(),
    )


async def test_a_factory_epc_bound_by_its_hex_is_located(floki: Floki) -> None:
    ids = await register(floki)
    await floki.inject([read_at_portal(floki, FACTORY_EPC.lower())])
    assert await located(floki, ids["E4"]) == "Equipment Library"


async def test_a_giai_epc_is_located_as_the_asset_carrying_the_giai(floki: Floki) -> None:
    ids = await register(floki)
    await floki.inject([read_at_portal(floki, giai_epc(GIAI_FIELD).hex)])
    assert await located(floki, ids["E1"]) == "Equipment Library"


async def test_an_sgtin_epc_is_located_as_the_asset_with_the_udi(floki: Floki) -> None:
    ids = await register(floki)
    await floki.inject([read_at_portal(floki, SGTIN)])
    assert await located(floki, ids["E3"]) == "Equipment Library"
