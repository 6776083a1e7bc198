"""Zebra fixed readers through their IoT Connector over MQTT: tag data events published
to a real Mosquitto reach the core aggregated per (tag, antenna); bad events are counted;
a lost broker ends the run with the reason, and the next run reads again."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import aiomqtt
import msgspec
import pytest
from floki_rfid.zebra import ZebraReaderSource, register_zebra_sources
from floki_rfid.zebra_config import ZebraReaderSettings

from floki_core.clock import ManualClock
from tests.fixtures import mosquitto
from tests.fixtures.mosquitto import MosquittoBroker
from tests.plugins.rfid.conftest import RecordingSink

# The broker fixtures, found by name.
mosquitto_broker = mosquitto.mosquitto_broker
private_mosquitto_broker = mosquitto.private_mosquitto_broker

PUMP = "E280116060000205A0B1C2D3"
HOIST = "3034257BF400B7800004CB2F"  # an SGTIN-96


def event(epc: str, antenna: int, rssi: float, seen: int = 1) -> dict[str, Any]:
    return {
        "data": {"idHex": epc.lower(), "antenna": antenna, "peakRssi": rssi, "seenCount": seen},
        "timestamp": "2026-01-05T09:00:01.250+0000",
        "type": "SIMPLE",
    }


async def publish(broker: MosquittoBroker, topic: str, *bodies: Any) -> None:
    async with aiomqtt.Client(broker.host, broker.port) as client:
        for body in bodies:
            payload = body if isinstance(body, bytes) else json.dumps(body).encode()
            await client.publish(topic, payload)


def reader_settings(broker: MosquittoBroker, topic: str, **more: Any) -> ZebraReaderSettings:
    return ZebraReaderSettings(
        name="store-door",
        broker_host=broker.host,
        broker_port=broker.port,
        data_topic=topic,
        **more,
    )


async def until(condition: Any, what: str, seconds: float = 5.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while not condition():
        assert loop.time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.01)


@pytest.fixture
async def running(
    request: pytest.FixtureRequest, mosquitto_broker: MosquittoBroker, sink: RecordingSink
) -> AsyncIterator[tuple[ZebraReaderSource, str]]:
    topic = f"zebra/{request.node.name}/data"
    antennas = getattr(request, "param", [])
    source = ZebraReaderSource(
        reader_settings(mosquitto_broker, topic, antennas=antennas),
        ManualClock(),
        batch_seconds=0.05,
    )
    task = asyncio.create_task(source.run(sink))
    await until(lambda: source.connected or task.done(), "the source to subscribe")
    yield source, topic
    await source.stop()
    await asyncio.wait_for(task, 5)


async def test_reads_are_aggregated_per_tag_and_antenna(
    running: tuple[ZebraReaderSource, str], mosquitto_broker: MosquittoBroker, sink: RecordingSink
) -> None:
    _source, topic = running
    await publish(
        mosquitto_broker,
        topic,
        event(PUMP, 1, -60.0),
        [event(PUMP, 1, -55.0, seen=3), event(HOIST, 2, -63.0)],  # batched in an array
    )
    await until(lambda: len(sink.observations) >= 2, "two observations")
    await asyncio.sleep(0.1)
    got = {(o.tag, o.receiver): o for o in sink.observations}
    assert set(got) == {(PUMP, "store-door:1"), (HOIST, "store-door:2")}
    pump = got[(PUMP, "store-door:1")]
    assert pump.technology == "rfid" and pump.rssi == -55.0
    assert pump.extras["seen_count"] == 4
    assert pump.extras["last_seen"] == "2026-01-05T09:00:01.250000+00:00"


@pytest.mark.parametrize("running", [[1, 2]], indirect=True)
async def test_bad_events_are_counted_by_reason_and_the_source_keeps_reading(
    running: tuple[ZebraReaderSource, str], mosquitto_broker: MosquittoBroker, sink: RecordingSink
) -> None:
    _source, topic = running
    await publish(
        mosquitto_broker,
        topic,
        b"{not json",
        event("E2ZZ", 1, -60.0),
        event(PUMP, 4, -60.0),  # a port not read
        event(PUMP, 1, -60.0),
    )
    await until(lambda: sink.observations, "the good read")
    await until(lambda: sum(sink.rejected.values()) >= 3, "the bad reads counted")
    assert sink.rejected == {"bad_json": 1, "bad_epc": 1, "unknown_antenna": 1}
    assert [(o.tag, o.receiver) for o in sink.observations] == [(PUMP, "store-door:1")]


async def test_a_lost_broker_ends_the_run_with_its_reason_and_the_next_run_reads(
    private_mosquitto_broker: MosquittoBroker, sink: RecordingSink
) -> None:
    broker = private_mosquitto_broker
    topic = "zebra/lost/data"
    source = ZebraReaderSource(reader_settings(broker, topic), ManualClock(), batch_seconds=0.05)
    task = asyncio.create_task(source.run(sink))
    await until(lambda: source.connected, "the source to subscribe")
    await asyncio.to_thread(broker.stop)
    with pytest.raises(ConnectionError, match=f"broker {broker.host}:{broker.port}"):
        await asyncio.wait_for(task, 10)
    assert not source.connected
    await asyncio.to_thread(broker.start)
    task = asyncio.create_task(source.run(sink))
    await until(lambda: source.connected, "the source to subscribe again")
    await publish(broker, topic, event(PUMP, 1, -60.0))
    await until(lambda: sink.observations, "a read after reconnecting")
    await source.stop()
    await asyncio.wait_for(task, 5)


async def test_a_broker_that_cannot_be_reached_is_named_in_the_reason(
    sink: RecordingSink,
) -> None:
    settings = ZebraReaderSettings(
        name="nowhere", broker_host="127.0.0.1", broker_port=1, data_topic="zebra/x/data"
    )
    source = ZebraReaderSource(settings, ManualClock())
    with pytest.raises(ConnectionError, match=r"Zebra reader nowhere: broker 127\.0\.0\.1:1"):
        await asyncio.wait_for(source.run(sink), 10)


def test_sources_are_registered_by_name_one_per_reader() -> None:
    class Registry:
        def __init__(self) -> None:
            self.added: dict[str, object] = {}

        def add(self, name: str, source: object) -> None:
            self.added[name] = source

    class Context:
        clock = ManualClock()
        state: dict[str, Any] = {}

    registry = Registry()
    reader = ZebraReaderSettings(name="door", broker_host="mqtt.lan", data_topic="z/door/data")
    register_zebra_sources(registry, Context(), [reader], [], batch_seconds=0.25)  # type: ignore[arg-type]
    assert list(registry.added) == ["rfid-zebra-door"]


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"antennas": [1, 1]}, "antennas lists a port twice"),
        ({"ca_file": "/etc/ca.pem"}, "ca_file is set but broker_tls is false"),
        ({"data_topic": "zebra/+/data"}, "Expected `str` matching regex"),
    ],
)
def test_settings_refuse_mistakes_with_the_reason(fields: dict[str, Any], reason: str) -> None:
    entry = {"name": "door", "broker_host": "mqtt.lan", "data_topic": "z/door/data", **fields}
    with pytest.raises(msgspec.ValidationError, match=reason):
        msgspec.convert(entry, ZebraReaderSettings)


async def test_a_ca_file_that_cannot_be_read_is_named_in_the_reason(
    sink: RecordingSink, tmp_path: Any
) -> None:
    settings = ZebraReaderSettings(
        name="door",
        broker_host="127.0.0.1",
        data_topic="z/door/data",
        broker_tls=True,
        ca_file=str(tmp_path / "missing.pem"),
    )
    with pytest.raises(ConnectionError, match=r"Zebra reader door: ca_file .*missing\.pem"):
        await ZebraReaderSource(settings, ManualClock()).run(sink)
