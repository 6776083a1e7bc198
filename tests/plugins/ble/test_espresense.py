"""ESPresense gateways over MQTT (issue 4, §2 and §3): reports in ESPresense's real topic
layout, through a real Mosquitto, move an asset bound to an iBeacon identity; a room's last
will flips it offline; malformed messages are counted, not fatal; a lost broker is
reconnected to.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import random
from collections.abc import AsyncIterator, Sequence
from typing import Any

import aiohttp
import aiomqtt
import pytest

from floki_ble.config import BleSettings
from floki_ble.decoders import Rejected
from floki_ble.espresense import (
    MAX_BATCH,
    MAX_VALUE_LENGTH,
    EspresenseSource,
    Identity,
    espresense_identity,
)
from floki_core.clock import ManualClock
from floki_core.config import AppConfig, parse_config
from floki_core.events import DomainEvent, EventBus
from floki_core.observations import Observation
from floki_core.testing import Floki
from tests.fixtures.mosquitto import MosquittoBroker

API = "/api/v1"
PREFIX = "espresense"
SOURCE = "ble-espresense"
BEACON_ID = "iBeacon:f7826da6-4fa2-4e98-8024-bc5b71e0893e-100-7"
BEACON = "F7826DA6-4FA2-4E98-8024-BC5B71E0893E:100:7"  # how the register spells it
BAY1, BAY2 = "ward7_bay1", "ward7_bay2"
WAIT_SECONDS = 10.0


def report(rssi: float, device_id: str = BEACON_ID, **fields: Any) -> bytes:
    """A device report as ESPresense publishes it."""
    body = {
        "id": device_id,
        "idType": 1,
        "rssi@1m": -59,
        "rssi": rssi,
        "raw": 1.2,
        "distance": 1.1,
        "mac": "c3a1b2c3d4e5",
        "interval": 1000,
        **fields,
    }
    return json.dumps(body).encode()


def device_topic(room: str, device_id: str = BEACON_ID) -> str:
    return f"{PREFIX}/devices/{device_id}/{room}"


def status_topic(room: str) -> str:
    return f"{PREFIX}/rooms/{room}/status"


# --- identities (pure) -------------------------------------------------------------------

IDENTITIES: list[tuple[str, str, Identity | Rejected]] = [
    ("ibeacon", BEACON_ID, Identity("ibeacon", BEACON)),
    (
        "ibeacon_uuid_without_hyphens",
        "iBeacon:f7826da64fa24e988024bc5b71e0893e-0-65535",
        Identity("ibeacon", "F7826DA6-4FA2-4E98-8024-BC5B71E0893E:0:65535"),
    ),
    (
        "ibeacon_major_too_big",
        "iBeacon:f7826da6-4fa2-4e98-8024-bc5b71e0893e-65536-1",
        Rejected("bad_ibeacon_id"),
    ),
    (
        "ibeacon_not_hex",
        "iBeacon:zz826da6-4fa2-4e98-8024-bc5b71e0893e-1-1",
        Rejected("bad_ibeacon_id"),
    ),
    (
        "ibeacon_no_minor",
        "iBeacon:f7826da6-4fa2-4e98-8024-bc5b71e0893e-100",
        Rejected("bad_ibeacon_id"),
    ),
    (
        "altbeacon",
        "altBeacon:f7826da6-4fa2-4e98-8024-bc5b71e0893e-1-258",
        Identity("altbeacon", "F7826DA64FA24E988024BC5B71E0893E00010102"),
    ),
    (
        "eddystone",
        "eddy:edd1ebeac04e5defa017-0123456789ab",
        Identity("eddystone", "EDD1EBEAC04E5DEFA017:0123456789AB"),
    ),
    (
        "eddystone_fifth_byte_printed_twice",
        "eddy:edd1ebeac0c04e5defa017-0123456789ab",
        Identity("eddystone", "EDD1EBEAC04E5DEFA017:0123456789AB"),
    ),
    ("eddystone_short", "eddy:edd1eb-0123456789ab", Rejected("bad_eddystone_id")),
    (
        "eddystone_22_digits_without_the_repeat",
        "eddy:edd1ebeac0114e5defa017-0123456789ab",
        Rejected("bad_eddystone_id"),
    ),
    ("public_mac", "c3a1b2c3d4e5", Identity("ble", "C3:A1:B2:C3:D4:E5")),
    ("known_mac", "known:c3a1b2c3d4e5", Identity("ble", "C3:A1:B2:C3:D4:E5")),
    ("tile", "tile:c3a1b2c3d4e5", Identity("espresense", "tile:c3a1b2c3d4e5")),
    ("alias", "pump-0042", Identity("espresense", "pump-0042")),
    ("too_long", "x" * (MAX_VALUE_LENGTH + 1), Rejected("id_too_long")),
]


@pytest.mark.parametrize(
    ("device_id", "expected"), [pytest.param(i, e, id=n) for n, i, e in IDENTITIES]
)
def test_espresense_ids_become_core_identities(
    device_id: str, expected: Identity | Rejected
) -> None:
    assert espresense_identity(device_id) == expected


# --- the source without a broker: batches, health, events ---------------------------------


class Collect:
    """An observation sink that keeps what it is given."""

    def __init__(self) -> None:
        self.batches: list[Sequence[Observation]] = []

    async def submit(self, batch: Sequence[Observation]) -> None:
        self.batches.append(batch)


def offline_source(**settings: Any) -> tuple[EspresenseSource, ManualClock, EventBus]:
    clock = ManualClock(dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC))
    bus = EventBus()
    config = BleSettings(espresense_host="127.0.0.1", **settings)
    return EspresenseSource(config, clock, _log(), bus), clock, bus


def _log() -> logging.Logger:
    return logging.getLogger("test.espresense")


def drained(queue: asyncio.Queue[Sequence[DomainEvent]]) -> list[DomainEvent]:
    events: list[DomainEvent] = []
    while not queue.empty():
        events.extend(queue.get_nowait())
    return events


async def test_reports_become_one_batch_per_tick() -> None:
    source, clock, _ = offline_source()
    sink = Collect()
    source.handle(device_topic(BAY1), report(-61.0, batt=87, mV=2950))
    source.handle(device_topic(BAY2), report(-75.0))
    source.handle(device_topic(BAY1, "c3a1b2c3d4e5"), b'{"rssi": -70}')
    source.handle(device_topic(BAY1), b"{not json")
    source.handle(device_topic(BAY1, "iBeacon:bad-1-2"), b'{"rssi": -70}')
    assert sink.batches == []  # nothing leaves before the tick

    await source.tick(sink)
    assert len(sink.batches) == 1
    first, second, mac = sink.batches[0]
    assert first == Observation(
        technology="ibeacon",
        tag=BEACON,
        receiver=BAY1,
        rssi=-61.0,
        observed_at=clock.now(),
        received_at=clock.now(),
        extras={
            "distance": 1.1,
            "rssi_at_1m": -59.0,
            "battery_pct": 87.0,
            "battery_mv": 2950.0,
            "mac": "C3:A1:B2:C3:D4:E5",
        },
    )
    assert (second.receiver, second.rssi) == (BAY2, -75.0)
    assert (mac.technology, mac.tag, mac.extras) == ("ble", "C3:A1:B2:C3:D4:E5", {})
    assert source.rejections == {"bad_json": 1, "bad_ibeacon_id": 1}
    # A report about an unusable tag still proves the room is up; unreadable JSON does not.
    assert source.rooms[BAY1].messages == 3

    await source.tick(sink)
    assert len(sink.batches) == 1  # an empty tick submits nothing


async def test_identity_by_mac_when_configured() -> None:
    source, _, _ = offline_source(espresense_identity="mac")
    sink = Collect()
    source.handle(device_topic(BAY1), report(-61.0))
    source.handle(device_topic(BAY1, "tile:1"), b'{"rssi": -70}')
    await source.tick(sink)
    [[obs]] = sink.batches
    assert (obs.technology, obs.tag) == ("ble", "C3:A1:B2:C3:D4:E5")
    assert source.rejections == {"no_mac": 1}


async def test_room_status_silence_and_traffic_drive_health_and_events() -> None:
    source, clock, bus = offline_source(gateway_silent_seconds=120.0)
    sink = Collect()
    listener = bus.subscribe()
    start = clock.now()

    # Retained statuses replayed at subscription: an old "online" is not a sign of life.
    source.handle(status_topic(BAY1), b"online", retained=True)
    source.handle(status_topic(BAY2), b"offline", retained=True)
    await source.tick(sink)
    assert source.rooms[BAY1].online and source.rooms[BAY1].last_heard is None
    assert not source.rooms[BAY2].online and source.rooms[BAY2].last_will
    [offline] = drained(listener)
    assert (offline.type, offline.entity_id) == ("gateway.offline", BAY2)
    assert offline.data["cause"] == "last_will"

    # Traffic from the room brings it back.
    clock.advance(5)
    source.handle(device_topic(BAY2), report(-70.0))
    await source.tick(sink)
    [online] = drained(listener)
    assert (online.type, online.entity_id, online.data["was"]) == (
        "gateway.online",
        BAY2,
        "last_will",
    )
    assert source.rooms[BAY2].last_heard == start + dt.timedelta(seconds=5)

    # Two minutes without a word: silent, once.
    clock.advance(121)
    await source.tick(sink)
    silent = drained(listener)
    assert sorted((e.type, e.entity_id) for e in silent) == [
        ("gateway.silent", BAY1),
        ("gateway.silent", BAY2),
    ]
    await source.tick(sink)
    assert drained(listener) == []
    assert [g["online"] for g in source.gateways()] == [False, False]

    # A live "online" (not retained) is a sign of life.
    source.handle(status_topic(BAY1), b"online")
    await source.tick(sink)
    [back] = drained(listener)
    assert (back.type, back.entity_id, back.data["was"]) == ("gateway.online", BAY1, "silent")
    assert source.rooms[BAY1].last_heard == clock.now()


async def test_adverts_per_second_over_the_last_minute() -> None:
    source, clock, _ = offline_source()
    sink = Collect()
    for _second in range(30):
        clock.advance(1)
        for _ in range(4):
            source.handle(device_topic(BAY1), report(-61.0))
        await source.tick(sink)
    [bay1] = source.gateways()
    assert bay1["messages"] == 120
    assert bay1["adverts_per_second"] == pytest.approx(4.0, rel=0.05)
    clock.advance(120)
    await source.tick(sink)
    assert source.gateways()[0]["adverts_per_second"] == 0


# --- through a real broker ---------------------------------------------------------------


@pytest.fixture
def broker(request: pytest.FixtureRequest) -> MosquittoBroker:
    """The session's broker, or one of the test's own when parametrized with "private"."""
    private = getattr(request, "param", "shared") == "private"
    name = "private_mosquitto_broker" if private else "mosquitto_broker"
    found: MosquittoBroker = request.getfixturevalue(name)
    return found


@pytest.fixture
def floki_config(broker: MosquittoBroker) -> AppConfig:
    return parse_config(
        {
            "discovery": {"enabled": False},
            "server": {"tls": False},
            # Reconnects are quick and never give up within a test.
            "plugins": {
                "supervision": {"backoff_initial": 0.05, "backoff_max": 0.2, "max_failures": 100}
            },
            "plugin": {
                "ble": {
                    "espresense_host": broker.host,
                    "espresense_port": broker.port,
                    "espresense_batch_seconds": 0.05,
                }
            },
        }
    )


@pytest.fixture
async def source(floki: Floki) -> EspresenseSource:
    registration = floki.core.plugins.registries.sources.get(SOURCE)
    assert registration is not None
    found = registration.item
    assert isinstance(found, EspresenseSource)
    await floki.eventually(lambda: found.connected, "the source to subscribe")
    return found


@pytest.fixture
async def publisher(broker: MosquittoBroker) -> AsyncIterator[aiomqtt.Client]:
    async with aiomqtt.Client(broker.host, broker.port) as client:
        yield client


async def test_a_burst_is_cut_into_batches_of_5000_and_stop_is_prompt(
    mosquitto_broker: MosquittoBroker, publisher: aiomqtt.Client
) -> None:
    clock = ManualClock()
    settings = BleSettings(
        espresense_host=mosquitto_broker.host,
        espresense_port=mosquitto_broker.port,
        espresense_batch_seconds=30.0,  # only the size limit cuts batches here
    )
    source = EspresenseSource(settings, clock, logging.getLogger("test.espresense"))
    sink = Collect()
    running = asyncio.create_task(source.run(sink))
    try:
        await Floki.eventually(lambda: source.connected, "the source to subscribe")
        for minor in range(MAX_BATCH * 2 + 1):
            device = f"iBeacon:f7826da6-4fa2-4e98-8024-bc5b71e0893e-1-{minor}"
            await publisher.publish(device_topic(BAY1, device), b'{"rssi": -70}')
        await Floki.eventually(lambda: source.received == MAX_BATCH * 2 + 1, "the burst")
        assert [len(b) for b in sink.batches] == [MAX_BATCH, MAX_BATCH]
    finally:
        await source.stop()
        # Stopping does not wait out the batch period, and delivers what is still held.
        await asyncio.wait_for(running, 2.0)
    assert [len(b) for b in sink.batches] == [MAX_BATCH, MAX_BATCH, 1]
    assert source.connected is False


async def post(floki: Floki, path: str, body: dict[str, Any]) -> dict[str, Any]:
    resp = await floki.client.post(API + path, json=body, headers=await floki.headers("admin"))
    data = await resp.json()
    assert resp.status == 201, (path, body, data)
    assert isinstance(data, dict)
    return data


async def get(floki: Floki, path: str) -> Any:
    resp = await floki.client.get(API + path, headers=await floki.headers("viewer"))
    assert resp.status == 200, (path, resp.status, await resp.text())
    return await resp.json()


async def ward_with_a_pump(floki: Floki) -> tuple[int, dict[str, int]]:
    """Two bays heard by one ESPresense room each, and a pump with an iBeacon tag."""
    site = await post(floki, "/sites", {"name": "St Elsewhere"})
    ward = await post(floki, "/zones", {"site_id": site["id"], "name": "Ward 7", "type": "ward"})
    zones: dict[str, int] = {}
    for room, name in ((BAY1, "Ward 7 Bay 1"), (BAY2, "Ward 7 Bay 2")):
        zone = await post(
            floki,
            "/zones",
            {"site_id": site["id"], "name": name, "type": "bay", "parent_id": ward["id"]},
        )
        zones[room] = zone["id"]
        await post(
            floki,
            "/receivers",
            {
                "name": f"ESPresense {room}",
                "technology": "ble",
                "identifier": room,
                "zone_id": zone["id"],
            },
        )
    pump = await post(floki, "/assets", {"asset_number": "PUMP-007", "description": "Pump"})
    await post(
        floki, "/identifiers", {"asset_id": pump["id"], "technology": "ibeacon", "value": BEACON}
    )
    await floki.core.locations.reindex()
    return pump["id"], zones


async def second_of_reports(
    floki: Floki,
    source: EspresenseSource,
    publisher: aiomqtt.Client,
    levels: dict[str, float],
) -> None:
    """One second of simulated time: each room reports the tag once. The clock moves only
    once the source has the reports, so each is stamped with its own second."""
    floki.advance(1)
    expected = source.received + len(levels)
    for room, rssi in levels.items():
        await publisher.publish(device_topic(room), report(round(rssi, 1)))
    await floki.eventually(lambda: source.received >= expected, "the reports to arrive")


async def zone_of(floki: Floki, asset: int) -> int | None:
    answer = await get(floki, f"/assets/{asset}/location")
    zone = answer.get("zone")
    return zone["id"] if zone else None


class Gateway:
    """An ESPresense room's own MQTT session, spoken byte by byte so that it can drop off
    the network without a goodbye: the case its last will exists for."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def connect(cls, broker: MosquittoBroker, room: str) -> Gateway:
        reader, writer = await asyncio.open_connection(broker.host, broker.port)
        will = status_topic(room).encode()
        flags = 0x02 | 0x04 | 0x20  # clean session, a will, retained
        body = (
            _string(b"MQTT")
            + bytes([4, flags])
            + (60).to_bytes(2, "big")
            + _string(f"espresense-{room}".encode())
            + _string(will)
            + _string(b"offline")
        )
        writer.write(_packet(0x10, body))
        connack = await asyncio.wait_for(reader.readexactly(4), WAIT_SECONDS)
        assert connack == b"\x20\x02\x00\x00", connack
        # What ESPresense publishes once connected: retained "online".
        writer.write(_packet(0x31, _string(will) + b"online"))
        await writer.drain()
        return cls(reader, writer)

    def vanish(self) -> None:
        self.writer.transport.abort()


def _string(data: bytes) -> bytes:
    return len(data).to_bytes(2, "big") + data


def _packet(first_byte: int, body: bytes) -> bytes:
    length, size = bytearray(), len(body)
    while True:
        size, digit = divmod(size, 128)
        length.append(digit | (0x80 if size else 0))
        if not size:
            return bytes([first_byte]) + bytes(length) + body


async def test_reports_through_mosquitto_move_the_pump_and_a_last_will_flips_the_room(
    floki: Floki, source: EspresenseSource, publisher: aiomqtt.Client, broker: MosquittoBroker
) -> None:
    pump, zones = await ward_with_a_pump(floki)
    rng = random.Random(7)
    gateway = await Gateway.connect(broker, BAY2)
    try:
        # Half a minute by bay 1's bedside, bay 2 hearing it through the curtain.
        for _ in range(30):
            levels = {BAY1: rng.gauss(-62.0, 2.0), BAY2: rng.gauss(-80.0, 2.0)}
            await second_of_reports(floki, source, publisher, levels)

        async def in_bay(room: str) -> bool:
            return await zone_of(floki, pump) == zones[room]

        await floki.eventually(lambda: in_bay(BAY1), "the pump to be placed in bay 1")
        answer = await get(floki, f"/assets/{pump}/location")
        assert answer["zone"]["name"] == "Ward 7 Bay 1"

        # Wheeled to bay 2 and left there for longer than any dwell.
        for _ in range(40):
            levels = {BAY1: rng.gauss(-81.0, 2.0), BAY2: rng.gauss(-60.0, 2.0)}
            await second_of_reports(floki, source, publisher, levels)
        await floki.eventually(lambda: in_bay(BAY2), "the pump to move to bay 2")
        history = await get(floki, f"/assets/{pump}/history")
        stays = [s["zone_id"] for s in reversed(history["items"])]
        assert stays == [zones[BAY1], zones[BAY2]], history  # one move, no flapping

        # Reports went in as batches, not one hand-over per message.
        counters = floki.core.ingest.counters[SOURCE]
        await floki.eventually(lambda: counters.received == 140, "the last batch")
        assert counters.batches < counters.received
        assert source.rejections == {}

        viewer = floki.auth(await floki.token_for("viewer"))
        listening = await floki.client.ws_connect(f"{API}/events", headers=viewer)
        try:
            await floki.eventually(lambda: floki.core.events.subscriber_count == 1, "the listener")
            # Bay 2's gateway loses power: the broker publishes its last will.
            gateway.vanish()
            offline = await next_event(listening, "gateway.offline")
            assert offline["entity_id"] == BAY2
            assert offline["data"]["cause"] == "last_will"
        finally:
            await listening.close()

        health = await get(floki, "/ble/gateways")
        by_room = {g["room"]: g for g in health["items"]}
        assert set(by_room) == {BAY1, BAY2}
        assert by_room[BAY2]["online"] is False and by_room[BAY2]["last_will"] is True
        assert by_room[BAY1]["online"] is True
        assert by_room[BAY1]["messages"] == by_room[BAY2]["messages"] == 70
        assert by_room[BAY1]["last_heard"] == floki.clock.now().isoformat()
        # Simulated seconds outrun the real batch ticks here, so a tick may hold many
        # seconds of reports: the rate is right to within one tick.
        assert by_room[BAY1]["adverts_per_second"] == pytest.approx(1.0, abs=0.5)
        assert health["connected"] is True
    finally:
        gateway.vanish()
        # The session's broker outlives this test: leave no retained status behind.
        await publisher.publish(status_topic(BAY2), b"", retain=True)


async def next_event(ws: aiohttp.ClientWebSocketResponse, type_: str) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT_SECONDS
    while True:
        remaining = deadline - loop.time()
        assert remaining > 0, f"no {type_} event"
        message = await ws.receive(timeout=remaining)
        assert message.type == aiohttp.WSMsgType.TEXT, message
        for event in json.loads(message.data):
            if event["type"] == type_:
                return dict(event)


async def test_malformed_messages_are_counted_and_the_appliance_runs_on(
    floki: Floki, source: EspresenseSource, publisher: aiomqtt.Client
) -> None:
    await ward_with_a_pump(floki)
    bad = [
        (device_topic(BAY1), b"{not json"),
        (device_topic(BAY1), b"[1, 2]"),
        (f"{PREFIX}/devices//{BAY1}", report(-60.0)),  # no device id: not ESPresense's layout
        (device_topic(BAY1), json.dumps({"id": BEACON_ID, "rssi": "strong"}).encode()),
        (device_topic(BAY1), json.dumps({"id": "someone-else", "rssi": -60}).encode()),
        (device_topic(BAY1, "iBeacon:not-a-uuid-1-2"), b'{"rssi": -60}'),
        (status_topic(BAY1), b"sleeping"),
    ]
    for topic, payload in bad:
        await publisher.publish(topic, payload)
    floki.advance(1)
    await publisher.publish(device_topic(BAY1), report(-60.0))
    await floki.eventually(lambda: source.received == len(bad) + 1, "every message to arrive")
    await floki.eventually(
        lambda: floki.core.ingest.counters[SOURCE].received == 1, "the good report to be handed on"
    )

    assert source.rejections == {
        "bad_json": 1,
        "not_an_object": 1,
        "unsupported_topic": 1,
        "bad_rssi": 1,
        "id_mismatch": 1,
        "bad_ibeacon_id": 1,
        "bad_status": 1,
    }
    health = await get(floki, "/ble/gateways")
    assert health["rejected"] == dict(source.rejections)
    plugins = {p["name"]: p for p in (await get(floki, "/plugins"))["items"]}
    assert plugins["ble"]["status"] == "running"
    assert plugins["ble"]["sources"] == [
        {"name": SOURCE, "status": "running", "restarts": 0, "reason": None, "details": None}
    ]
    await floki.settle()
    sources = await get(floki, "/sources")
    [stats] = [s for s in sources["items"] if s["name"] == SOURCE]
    assert stats["accepted"] == stats["processed"] == 1
    assert sources["unlocatable"] == {}


@pytest.mark.parametrize("broker", ["private"], indirect=True)
async def test_a_lost_broker_is_reconnected_to(
    floki: Floki, source: EspresenseSource, broker: MosquittoBroker
) -> None:
    async with aiomqtt.Client(broker.host, broker.port) as publisher:
        await publisher.publish(device_topic(BAY1), report(-60.0))
        await floki.eventually(lambda: source.received == 1, "the first report")

    broker.stop()
    await floki.eventually(lambda: not source.connected, "the source to notice")
    listing = await plugin_source(floki)
    assert listing["status"] in ("backoff", "running")
    assert listing["reason"] and "ESPresense broker" in listing["reason"]

    broker.start()
    await floki.eventually(lambda: source.connected, "the source to reconnect")
    floki.advance(1)
    async with aiomqtt.Client(broker.host, broker.port) as publisher:
        await publisher.publish(device_topic(BAY1), report(-61.0))
        await floki.eventually(lambda: source.received == 2, "a report after the reconnect")
    listing = await plugin_source(floki)
    assert listing["status"] == "running" and listing["restarts"] >= 1
    plugins = {p["name"]: p for p in (await get(floki, "/plugins"))["items"]}
    assert plugins["ble"]["status"] == "running"
    assert source.rooms[BAY1].messages == 2


async def plugin_source(floki: Floki) -> dict[str, Any]:
    plugins = {p["name"]: p for p in (await get(floki, "/plugins"))["items"]}
    [found] = [s for s in plugins["ble"]["sources"] if s["name"] == SOURCE]
    return dict(found)
