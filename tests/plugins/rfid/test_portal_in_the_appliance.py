"""Portals as the appliance runs them, over a real LLRP connection on loopback (the
emulated reader ``library-door``, its antenna 1 inside the Equipment Library, 2 in the
corridor outside): tags passing in each direction are *entered* / *left* events for the
right asset (on the events WebSocket and ``GET /api/v1/rfid/portal-events``) and move the asset;
a tag read only at the door does not move; a portal whose antenna is not a registered
receiver is reported, not a failure.

Cost: each test starts an appliance and an emulated reader (about a second each)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import pytest

from floki_core.config import AppConfig, parse_config
from floki_core.testing import Floki
from tests.plugins.rfid.llrp_peer import READER_US, EmulatedReader, tag_report

pytestmark = pytest.mark.floki_entry_points("rfid")
FAST = {"backoff_initial": 0.02, "backoff_max": 0.1, "max_failures": 1000}
API = "/api/v1"
EVENTS = f"{API}/rfid/portal-events"
INNER, OUTER = 1, 2
PUMP_EPC = "E28011700000020A1B2C3D4E"
HOIST_EPC = "E28011700000020A1B2C3D4F"
SCANNER_EPC = "E28011700000020A1B2C3D50"


@pytest.fixture
def portals() -> list[dict[str, Any]]:
    return [{"name": "library-door", "inner": "library-door:1", "outer": "library-door:2"}]


@pytest.fixture
def floki_config(llrp_reader: EmulatedReader, portals: list[dict[str, Any]]) -> AppConfig:
    reader = {"name": "library-door", "host": "127.0.0.1", "port": llrp_reader.port}
    return parse_config(
        {
            "discovery": {"enabled": False},
            "server": {"tls": False},
            "plugins": {"supervision": FAST},
            "plugin": {"rfid": {"readers": [reader], "portals": portals, "batch_seconds": 0.05}},
        }
    )


async def call(floki: Floki, method: str, path: str, **kwargs: Any) -> tuple[int, Any]:
    resp = await floki.client.request(method, path, headers=await floki.headers(), **kwargs)
    return resp.status, await resp.json()


async def made(floki: Floki, path: str, body: dict[str, Any]) -> int:
    status, answer = await call(floki, "POST", API + path, json=body)
    assert status == 201, (path, answer)
    return int(answer["id"])


async def library(floki: Floki) -> dict[str, int]:
    """The Equipment Library and the corridor outside, the door's two antennas, and three
    assets with RFID labels; ids by name."""
    site = await made(floki, "/sites", {"name": "St Elsewhere"})
    ids = {
        "library": await made(
            floki, "/zones", {"site_id": site, "name": "Equipment Library", "type": "room"}
        ),
        "corridor": await made(
            floki, "/zones", {"site_id": site, "name": "Corridor 3", "type": "corridor"}
        ),
    }
    for port, zone in ((INNER, "library"), (OUTER, "corridor")):
        await made(
            floki,
            "/receivers",
            {
                "name": f"Library door antenna {port}",
                "technology": "rfid",
                "identifier": f"library-door:{port}",
                "zone_id": ids[zone],
            },
        )
    pumps = await made(floki, "/asset-classes", {"name": "Infusion pump"})
    for number, epc in (("E10001", PUMP_EPC), ("E10002", HOIST_EPC), ("E10003", SCANNER_EPC)):
        ids[number] = await made(
            floki, "/assets", {"asset_number": number, "description": "pump", "class_id": pumps}
        )
        await made(
            floki, "/identifiers", {"asset_id": ids[number], "technology": "rfid", "value": epc}
        )
    await floki.core.locations.reindex()
    return ids


async def crossings(floki: Floki, query: str = "") -> list[dict[str, Any]]:
    status, answer = await call(floki, "GET", EVENTS + query)
    assert status == 200, answer
    items: list[dict[str, Any]] = answer["items"]
    return items


async def zone_of(floki: Floki, asset_id: int) -> str | None:
    status, where = await call(floki, "GET", f"{API}/assets/{asset_id}/location")
    assert status == 200, where
    return None if where.get("zone") is None else str(where["zone"]["name"])


def ms(n: float) -> int:
    """The reader's clock, n milliseconds after the tests' reference."""
    return READER_US + int(n * 1000)


async def passing(reader: EmulatedReader, epc: str, ports: Sequence[int], start_ms: float) -> None:
    """A tag read at ``ports`` in turn, 400 ms apart by the reader's clock, one report each."""
    for n, port in enumerate(ports):
        await reader.report(tag_report(epc, port, -55, at_us=ms(start_ms + 400 * n)))


async def count(floki: Floki, n: int, query: str = "") -> bool:
    return len(await crossings(floki, query)) >= n


async def test_tags_passing_the_portal_enter_and_leave_the_library(
    floki: Floki, llrp_reader: EmulatedReader
) -> None:
    ids = await library(floki)
    socket = await floki.client.ws_connect(f"{API}/events", headers=await floki.headers("viewer"))
    await floki.eventually(lambda: llrp_reader.inventorying, "the reader to inventory")

    await passing(llrp_reader, PUMP_EPC, (OUTER, INNER), 0)
    await floki.eventually(lambda: count(floki, 1), "the pump's crossing to be listed")
    (entered,) = await crossings(floki)
    assert entered == {
        "asset_id": ids["E10001"],
        "portal": "library-door",
        "direction": "entered",
        "zone_id": ids["library"],
        "zone": "Equipment Library",
        "read_at": "2025-12-29T09:20:00.400000+00:00",
        "epc": PUMP_EPC,
        "antenna": "library-door:1",
        "at": floki.clock.now().isoformat(),
    }
    assert await zone_of(floki, ids["E10001"]) == "Equipment Library"

    floki.advance(30)
    await passing(llrp_reader, PUMP_EPC, (INNER, OUTER), 30_000)
    await floki.eventually(lambda: count(floki, 2), "the pump's second crossing")
    left, _ = await crossings(floki)
    assert (left["asset_id"], left["direction"], left["zone_id"], left["antenna"]) == (
        ids["E10001"],
        "left",
        ids["library"],
        "library-door:2",
    )
    assert await zone_of(floki, ids["E10001"]) == "Corridor 3"

    published: list[dict[str, Any]] = []
    while len(published) < 2:
        batch = await socket.receive_json(timeout=10)
        published += [e for e in batch if e["type"] == "rfid.portal"]
    await socket.close()
    assert [(e["entity"], e["entity_id"], e["data"]["direction"]) for e in published] == [
        ("asset", ids["E10001"], "entered"),
        ("asset", ids["E10001"], "left"),
    ]
    assert published[0]["data"] == {k: v for k, v in entered.items() if k not in ("asset_id", "at")}


async def test_a_tag_read_only_at_the_door_does_not_move(
    floki: Floki, llrp_reader: EmulatedReader
) -> None:
    ids = await library(floki)
    await floki.eventually(lambda: llrp_reader.inventorying, "the reader to inventory")
    await passing(llrp_reader, HOIST_EPC, (OUTER, INNER), 0)
    await floki.eventually(lambda: count(floki, 1), "the hoist to enter")
    floki.advance(30)

    # At the inner antenna only, for seconds; then at both, turn about, with no clear order.
    await passing(llrp_reader, HOIST_EPC, (INNER,) * 6, 30_000)
    for n in range(6):
        await llrp_reader.report(
            tag_report(HOIST_EPC, OUTER, -60, at_us=ms(40_000 + 200 * n)),
            tag_report(HOIST_EPC, INNER, -60, at_us=ms(40_000 + 200 * n + 50)),
        )
    # A crossing of another tag, read after them, says they have all been handled.
    await passing(llrp_reader, SCANNER_EPC, (OUTER, INNER), 42_000)
    await floki.eventually(lambda: count(floki, 2), "the scanner to enter")

    assert [c["direction"] for c in await crossings(floki, f"?asset_id={ids['E10002']}")] == [
        "entered"
    ]
    assert await zone_of(floki, ids["E10002"]) == "Equipment Library"
    status, _ = await call(floki, "GET", f"{API}/assets/{ids['E10002']}/location")
    assert status == 200


async def test_portal_events_are_filtered_and_limited(
    floki: Floki, llrp_reader: EmulatedReader
) -> None:
    ids = await library(floki)
    await floki.eventually(lambda: llrp_reader.inventorying, "the reader to inventory")
    # Passes seconds apart, each handed over before the next (one window of the reader's
    # reads holds one tally per tag and antenna: a return within it is no crossing).
    for n, (epc, ports) in enumerate(
        ((PUMP_EPC, (OUTER, INNER)), (HOIST_EPC, (OUTER, INNER)), (PUMP_EPC, (INNER, OUTER)))
    ):
        await passing(llrp_reader, epc, ports, 5_000 * n)
        await floki.eventually(lambda n=n: count(floki, n + 1), f"crossing {n + 1}")

    pump = await crossings(floki, f"?asset_id={ids['E10001']}")
    assert [c["direction"] for c in pump] == ["left", "entered"], "newest first"
    assert [c["asset_id"] for c in await crossings(floki, "?limit=1")] == [ids["E10001"]]
    assert await crossings(floki, "?portal=back-door") == []
    assert len(await crossings(floki, "?portal=library-door")) == 3


@pytest.mark.parametrize(
    ("query", "says"),
    [
        ("?limit=0", "query parameter limit must be between 1 and 500"),
        ("?limit=many", "query parameter limit must be an integer, got 'many'"),
        ("?asset_id=-3", "query parameter asset_id must be between 1 and"),
    ],
)
async def test_a_bad_query_is_answered_400_with_the_reason(
    floki: Floki, query: str, says: str
) -> None:
    status, answer = await call(floki, "GET", EVENTS + query)
    assert status == 400 and says in answer["error"], answer


async def test_the_routes_need_a_signed_in_viewer(floki: Floki) -> None:
    for path in (EVENTS, f"{API}/rfid/portals"):
        assert (await floki.client.get(path)).status == 401
        resp = await floki.client.get(path, headers=await floki.headers("viewer"))
        assert resp.status == 200, path


class TestAPortalNamingAnUnregisteredAntenna:
    @pytest.fixture
    def portals(self) -> list[dict[str, Any]]:
        return [
            {"name": "library-door", "inner": "library-door:1", "outer": "library-door:2"},
            {"name": "stores-door", "inner": "stores-door:1", "outer": "library-door:3"},
        ]

    async def test_is_reported_by_the_route_and_the_plugin_runs(self, floki: Floki) -> None:
        ids = await library(floki)
        status, answer = await call(floki, "GET", f"{API}/rfid/portals")
        assert status == 200, answer
        door, stores = answer["items"]
        assert door["problems"] == []
        assert door["inside"] == {"id": ids["library"], "name": "Equipment Library"}
        assert door["outside"] == {"id": ids["corridor"], "name": "Corridor 3"}
        assert stores["inside"] is None and stores["outside"] is None
        assert stores["problems"] == [
            "inner antenna stores-door:1 is not a registered receiver: add a receiver of "
            "technology rfid with identifier stores-door:1",
            "outer antenna library-door:3 is not a registered receiver: add a receiver of "
            "technology rfid with identifier library-door:3",
        ]
        status, plugins = await call(floki, "GET", f"{API}/plugins")
        (rfid,) = [p for p in plugins["items"] if p["name"] == "rfid"]
        assert rfid["status"] == "running", rfid


@pytest.fixture
def unregistered_at_start(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.WARNING)
    return caplog


class TestAtStart:
    @pytest.fixture
    def portals(self) -> list[dict[str, Any]]:
        return [{"name": "stores-door", "inner": "stores-door:1", "outer": "stores-door:2"}]

    async def test_a_portal_whose_antennas_are_not_registered_is_logged(
        self, unregistered_at_start: pytest.LogCaptureFixture, floki: Floki
    ) -> None:
        logged = [r.getMessage() for r in unregistered_at_start.get_records("setup")]
        assert (
            "portal stores-door: inner antenna stores-door:1 is not a registered receiver: "
            "add a receiver of technology rfid with identifier stores-door:1"
        ) in logged, logged
