"""An ESPresense id without a beacon identity (an alias set on the node, a ``name:`` id)
is offered in unknown tags under technology ``espresense``; bound as offered, the next
reports locate it like any other BLE tag. Every technology the built-in plugins emit has
a locator unless the configuration says otherwise.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import pytest

from floki_ble import technologies
from floki_ble.config import BleSettings
from floki_ble.espresense import SOURCE_NAME, EspresenseSource
from floki_core.observations import Observation
from floki_core.testing import Floki

API = "/api/v1"
BAY1, BAY2 = "ward7_bay1", "ward7_bay2"


class CoreSink:
    """The core's ingest queue, as the supervisor hands it to a running source."""

    def __init__(self, floki: Floki) -> None:
        self.floki = floki

    async def submit(self, batch: Sequence[Observation]) -> None:
        await self.floki.inject(batch, source=SOURCE_NAME)


async def call(floki: Floki, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    resp = await floki.client.request(
        method, API + path, json=body, headers=await floki.headers("admin")
    )
    return resp.status, await resp.json()


async def ward(floki: Floki) -> dict[str, int]:
    """Two bays, each heard by its ESPresense room, registered as the docs say (``ble``)."""
    status, site = await call(floki, "POST", "/sites", {"name": "St Elsewhere"})
    assert status == 201, site
    zones: dict[str, int] = {}
    for room, name in ((BAY1, "Ward 7 Bay 1"), (BAY2, "Ward 7 Bay 2")):
        status, zone = await call(
            floki, "POST", "/zones", {"site_id": site["id"], "name": name, "type": "bay"}
        )
        assert status == 201, zone
        zones[room] = zone["id"]
        body = {"name": room, "technology": "ble", "identifier": room, "zone_id": zone["id"]}
        status, made = await call(floki, "POST", "/receivers", body)
        assert status == 201, made
    await floki.core.locations.reindex()
    return zones


def source(floki: Floki) -> EspresenseSource:
    settings = BleSettings(espresense_host="127.0.0.1")
    return EspresenseSource(settings, floki.clock, logging.getLogger("test.espresense"))


async def seconds_of_reports(
    floki: Floki, espresense: EspresenseSource, device_id: str, seconds: int
) -> None:
    """The node in bay 1 hears the tag close by, bay 2's through the curtain."""
    sink = CoreSink(floki)
    for _ in range(seconds):
        floki.advance(1)
        for room, rssi in ((BAY1, -58), (BAY2, -81)):
            topic = f"espresense/devices/{device_id}/{room}"
            espresense.handle(topic, b'{"rssi": %d, "distance": 1.2}' % rssi)
        await espresense.tick(sink)


@pytest.mark.parametrize("device_id", ["pump-0042", "name:Syringe driver 7"])
async def test_an_espresense_alias_offered_in_unknown_tags_is_located_once_bound(
    floki: Floki, device_id: str
) -> None:
    zones = await ward(floki)
    espresense = source(floki)
    status, pump = await call(floki, "POST", "/assets", {"asset_number": "PUMP-0042"})
    assert status == 201, pump

    await seconds_of_reports(floki, espresense, device_id, 3)
    status, unknown = await call(floki, "GET", "/unknown-tags")
    assert status == 200
    [offered] = [t for t in unknown["items"] if t["tag"] == device_id]
    assert offered["technology"] == "espresense"

    body = {"asset_id": pump["id"], "technology": offered["technology"], "value": offered["tag"]}
    status, bound = await call(floki, "POST", "/identifiers", body)
    assert status == 201, bound
    await floki.core.locations.reindex()

    await seconds_of_reports(floki, espresense, device_id, 30)
    status, where = await call(floki, "GET", f"/assets/{pump['id']}/location")
    assert status == 200
    assert where["located"] is True, where
    assert where["zone"]["id"] == zones[BAY1]
    assert (where["technology"], where["method"]) == ("espresense", "rssi")
    status, sources = await call(floki, "GET", "/sources")
    assert sources["unlocatable"] == {}
    status, unknown = await call(floki, "GET", "/unknown-tags")
    assert [t for t in unknown["items"] if t["tag"] == device_id] == []


async def test_every_technology_a_built_in_plugin_emits_has_a_locator(floki: Floki) -> None:
    from floki_qr.label_codes import QR

    for technology in (*technologies.EMITTED, QR):
        assert floki.core.locations.locator_for(technology) is not None, technology


def test_the_emitted_technologies_are_the_ones_the_sources_name() -> None:
    """The list the locator check walks covers every technology the BLE code spells tags
    with: beacon frames, plain MACs and each kind of ESPresense id."""
    from floki_ble.adverts import HeardTag, read_advert
    from floki_ble.decoders import parse_ad_structures
    from floki_ble.espresense import Identity, espresense_identity

    adverts = (
        "0201061AFF4C000215F7826DA64FA24E988024BC5B71E0893E00640007C5",  # iBeacon
        "1BFF1801BEACF7826DA64FA24E988024BC5B71E0893E00640007C500",  # AltBeacon
        "0201060303AAFE1516AAFE00EBEDD1EBEAC04E5DEFA0170123456789AB",  # Eddystone UID
        "020106",  # nothing but flags: the MAC names the tag
    )
    heard: set[str] = set()
    for advert in adverts:
        structures = parse_ad_structures(bytes.fromhex(advert))
        assert isinstance(structures, list)
        tag = read_advert(structures, mac="C3:A1:B2:C3:D4:E5")
        assert isinstance(tag, HeardTag), advert
        heard.add(tag.technology)
    for device in ("pump-0042", "c3a1b2c3d4e5", "eddy:edd1ebeac04e5defa017-0123456789ab"):
        identity = espresense_identity(device)
        assert isinstance(identity, Identity)
        heard.add(identity.technology)
    assert heard == set(technologies.EMITTED)
