"""The Meraki Scanning API receiver over loopback: the validator handshake, a v3 post that
places a bound pump in the zone whose polygon holds its position, the shared secret, and
nothing of the clients no asset carries (nor anyone's personal fields) kept anywhere."""

from __future__ import annotations

import copy
import json
import logging
from dataclasses import dataclass
from typing import Any

import pytest

from floki_core.sdk import AppConfig
from floki_core.testing import Floki
from tests.plugins.wifi.locating import API, post, stamp, where, wifi_config
from tests.plugins.wifi.test_meraki_decoder import DOCUMENTED

pytestmark = pytest.mark.floki_entry_points("wifi")
PATH = f"{API}/wifi/meraki"
SECRET = "supersecret"
VALIDATOR = "da6a17c407bb11dfeec7392a5042be0a4cc034b6"
PLAN = "g_643451796760560979"  # the documented example's floorPlanId
PUMP = "00:1B:44:11:3A:B7"
STRANGER = "11:22:33:44:55:66"  # the documented example's client: nobody's asset
RANDOMISED = "22:33:44:55:66:77"  # a phone's random MAC (locally administered bit)
NEAREST_AP = "AA:AA:AA:11:11:11"
PERSONAL = ("192.168.0.251", "fe80::1c2b:3cff:fe4d:5e6f", "j.doe@example.nhs.uk", "Jane Doe")
# The plan's top-left corner at (100, 50) on a floor plan of 5 cm a pixel: the documented
# position (8.59 m, 11.40 m) is pixel (271.8, 278.1), inside Bay 1.
FLOOR_PLANS = [{"id": PLAN, "floor_id": 1, "origin_x_px": 100.0, "origin_y_px": 50.0}]
BAY_1 = [[200, 200], [400, 200], [400, 400], [200, 400]]
WARD = [[0, 0], [1000, 0], [1000, 1000], [0, 1000]]


@pytest.fixture
def floki_config() -> AppConfig:
    return wifi_config(
        meraki={"secret": SECRET, "validator": VALIDATOR, "floor_plans": FLOOR_PLANS}
    )


@dataclass
class Floor:
    floor: int
    ward: int
    bay: int
    corridor: int
    pump: int


async def mapped_floor(floki: Floki, *, mac: str = PUMP) -> Floor:
    """A floor of 5 cm a pixel with Ward 7 drawn on it and Bay 1 inside; the nearest AP
    registered in the corridor (another zone: an association would put the pump there);
    a pump carrying ``mac``."""
    site = await post(floki, "sites", {"name": "General"})
    building = await post(floki, "buildings", {"site_id": site["id"], "name": "Tower"})
    floor = await post(
        floki,
        "floors",
        {"building_id": building["id"], "name": "Level 3", "level": 3, "metres_per_pixel": 0.05},
    )
    zones = {}
    for name, polygon in (("Ward 7", WARD), ("Ward 7 Bay 1", BAY_1), ("Ward 7 Corridor", None)):
        body: dict[str, Any] = {"site_id": site["id"], "name": name, "floor_id": floor["id"]}
        if polygon is not None:
            body["polygon"] = polygon
        zones[name] = (await post(floki, "zones", body))["id"]
    await post(
        floki,
        "receivers",
        {
            "name": "ward7-ap-1",
            "technology": "wifi",
            "identifier": NEAREST_AP,
            "zone_id": zones["Ward 7 Corridor"],
        },
    )
    pump = await post(floki, "assets", {"asset_number": "PUMP-0042", "description": "Pump"})
    await post(floki, "identifiers", {"asset_id": pump["id"], "technology": "wifi", "value": mac})
    await floki.core.locations.reindex()
    return Floor(
        floor["id"], zones["Ward 7"], zones["Ward 7 Bay 1"], zones["Ward 7 Corridor"], pump["id"]
    )


def scanning_post(floki: Floki, *clients: str, secret: str = SECRET) -> dict[str, Any]:
    """The documented post, now, with one copy of its client per MAC in ``clients`` and
    personal fields filled in."""
    body = copy.deepcopy(DOCUMENTED)
    body["secret"] = secret
    template = body["data"]["observations"][0]
    now = stamp(floki.clock.now())
    observations = []
    for mac in clients:
        client = copy.deepcopy(template)
        client.update(
            clientMac=mac.lower(),
            ipv6="fe80::1c2b:3cff:fe4d:5e6f",
            userId="j.doe@example.nhs.uk",
            manufacturer="Jane Doe",  # a device named after its owner, as phones are
        )
        for location in client["locations"]:
            location["time"] = now
        client["latestRecord"]["time"] = now
        observations.append(client)
    body["data"]["observations"] = observations
    return body


async def send(floki: Floki, body: dict[str, Any] | bytes) -> tuple[int, Any]:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    resp = await floki.client.post(PATH, data=raw, headers={"Content-Type": "application/json"})
    text = await resp.text()
    return resp.status, (json.loads(text) if text.startswith("{") else text)


async def counted(floki: Floki) -> dict[str, Any]:
    resp = await floki.client.get(f"{API}/sources", headers=await floki.headers("viewer"))
    for item in (await resp.json())["items"]:
        if item["name"] == "wifi-meraki":
            found: dict[str, Any] = item
            return found
    return {}


async def test_the_validator_is_answered_as_text(floki: Floki) -> None:
    resp = await floki.client.get(PATH)
    assert resp.status == 200 and resp.content_type == "text/plain"
    assert await resp.text() == VALIDATOR


async def test_a_post_places_a_bound_pump_in_the_zone_whose_polygon_holds_it(
    floki: Floki, caplog: pytest.LogCaptureFixture
) -> None:
    floor = await mapped_floor(floki)
    caplog.set_level(logging.DEBUG)
    status, receipt = await send(floki, scanning_post(floki, PUMP, STRANGER, RANDOMISED))
    assert status == 202, receipt
    assert receipt["queued"] == 1
    assert receipt["rejected"] == {"unknown_device": 1, "randomised_device": 1}
    await floki.settle()
    found = await where(floki, floor.pump)
    assert found["located"] and found["zone"]["id"] == floor.bay, found
    # Nothing of the clients no asset carries, nor of anyone's personal fields, is kept.
    viewer = await floki.headers("engineer")
    answers = [json.dumps(receipt), caplog.text]
    for path in (
        "/unknown-tags",
        "/sources",
        "/wifi/access-points",
        f"/assets/{floor.pump}/location",
    ):
        resp = await floki.client.get(f"{API}{path}", headers=viewer)
        answers.append(await resp.text())
    stored = b"".join(f.read_bytes() for f in floki.core.data_dir.rglob("floki.db*"))
    answers.append(stored.decode("utf-8", "replace"))
    everything = "\n".join(answers).upper()
    for secret in (STRANGER, RANDOMISED, STRANGER.replace(":", ""), *PERSONAL):
        assert secret.upper() not in everything, secret


async def test_a_zone_drawn_later_is_used_for_the_next_post(floki: Floki) -> None:
    floor = await mapped_floor(floki)
    status, _ = await send(floki, scanning_post(floki, PUMP))
    assert status == 202
    await floki.settle()
    assert (await where(floki, floor.pump))["zone"]["id"] == floor.bay
    # Bed 3 is drawn round the pump's position (pixel 271.8, 278.1) inside Bay 1.
    bed = await post(
        floki,
        "zones",
        {
            "site_id": 1,
            "name": "Ward 7 Bay 1 Bed 3",
            "floor_id": floor.floor,
            "polygon": [[250, 250], [300, 250], [300, 300], [250, 300]],
        },
    )
    # Meraki posts again a minute later, then again: past the resolver's dwell.
    for _ in range(2):
        floki.advance(30)
        status, _ = await send(floki, scanning_post(floki, PUMP))
        assert status == 202
    await floki.settle()
    assert (await where(floki, floor.pump))["zone"]["id"] == bed["id"]


async def test_a_wrong_secret_is_refused_403_and_counted(floki: Floki) -> None:
    status, body = await send(floki, scanning_post(floki, PUMP, secret="guessed"))
    assert (status, body["error"]) == (403, "wrong or missing secret")
    await floki.settle()
    counters = await counted(floki)
    assert (counters["rejected"], counters["accepted"]) == ({"bad_secret": 1}, 0)


async def test_a_malformed_post_is_refused_400_with_a_reason(floki: Floki) -> None:
    status, body = await send(floki, b'{"secret": "supersecret", "version": "2.0"')
    assert (status, body["error"]) == (400, "the body is not a JSON object")
    old = scanning_post(floki, PUMP)
    old["version"] = "2.0"
    status, body = await send(floki, old)
    assert status == 400 and "Scanning API version 3" in body["error"]
    assert (await counted(floki))["rejected"] == {"bad_post": 1, "bad_version": 1}


class TestSwitchedOff:
    @pytest.fixture
    def floki_config(self) -> AppConfig:
        return wifi_config()

    async def test_no_secret_no_receiver(self, floki: Floki) -> None:
        resp = await floki.client.get(PATH)
        assert resp.status == 404
