"""Conformance of the BLE plugin's ESPresense source, loaded through its entry point, fed
through a real Mosquitto broker in ESPresense's own topic layout."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from typing import Any, ClassVar

import aiomqtt
import pytest
from hypothesis import strategies as st

from floki_ble.dialects import parse_espresense
from floki_core.conformance import Sighting, SourceConformance
from floki_core.testing import Floki
from tests.fixtures.mosquitto import MosquittoBroker

PREFIX = "conformance"
ROOM = "ward7_bay1"
UUID = "f7826da6-4fa2-4e98-8024-bc5b71e0893e"


def device_id(minor: int) -> str:
    return f"iBeacon:{UUID}-100-{minor}"


def beacon(minor: int) -> str:
    return f"{UUID.upper()}:100:{minor}"


def report(minor: int, rssi: float) -> bytes:
    return json.dumps(
        {"id": device_id(minor), "idType": 1, "rssi@1m": -59, "rssi": rssi, "distance": 1.1}
    ).encode()


class Broker:
    """ESPresense nodes publishing through a real broker."""

    def __init__(self, broker: MosquittoBroker) -> None:
        self.broker = broker

    # Starting and stopping the broker wait on a process: off the event loop, which the
    # kit watches for stalls.
    async def open(self) -> None:
        await asyncio.to_thread(self.broker.start)

    def settings(self) -> Mapping[str, Any]:
        return {
            "espresense_host": self.broker.host,
            "espresense_port": self.broker.port,
            "espresense_prefix": PREFIX,
            "espresense_batch_seconds": 0.2,
        }

    async def publish(self, *messages: tuple[str, bytes]) -> None:
        async with aiomqtt.Client(self.broker.host, self.broker.port) as client:
            for topic, payload in messages:
                await client.publish(topic, payload)

    async def send_good(self, floki: Floki) -> None:
        await self.publish(
            (f"{PREFIX}/devices/{device_id(7)}/{ROOM}", report(7, -61.0)),
            (f"{PREFIX}/devices/{device_id(8)}/{ROOM}", report(8, -64.0)),
        )

    async def send_bad(self, floki: Floki) -> None:
        await self.publish(
            (f"{PREFIX}/devices/{device_id(9)}/{ROOM}", b"{not json"),
            (f"{PREFIX}/devices/iBeacon:not-a-uuid-1-2/{ROOM}", b'{"rssi": -70}'),
            (f"{PREFIX}/rooms/{ROOM}/status", b"maybe"),
        )

    async def lose(self) -> None:
        await asyncio.to_thread(self.broker.stop)

    async def restore(self) -> None:
        await asyncio.to_thread(self.broker.start)

    async def close(self) -> None:
        pass  # the fixture stops the broker


class TestEspresenseConformance(SourceConformance):
    # The plugin-wide checks (entry point, settings) run once, in test_ble_local_radio.py.
    test_loads_through_its_entry_point = None
    test_config_defaults_validate_and_every_key_is_documented = None

    plugin = "ble"
    source = "ble-espresense"
    documentation = ("docs/gateways.md", "docs/performance.md")
    expected = (
        Sighting("ibeacon", beacon(7), ROOM, receiver_technology="ble"),
        Sighting("ibeacon", beacon(8), ROOM, receiver_technology="ble"),
    )
    bad_reasons: ClassVar[Mapping[str, int]] = {
        "bad_json": 1,
        "bad_ibeacon_id": 1,
        "bad_status": 1,
    }

    @staticmethod
    def decoder(message: tuple[str, bytes]) -> Any:
        return parse_espresense(*message, prefix=PREFIX)

    decoder_inputs = st.tuples(
        st.one_of(
            st.builds(lambda d, r: f"{PREFIX}/devices/{d}/{r}", st.text(), st.text()),
            st.builds(lambda r: f"{PREFIX}/rooms/{r}/status", st.text()),
            st.text(),
        ),
        st.one_of(
            st.binary(max_size=512),
            st.builds(
                lambda d: json.dumps(d).encode(),
                st.dictionaries(
                    st.sampled_from(
                        ["id", "rssi", "mac", "batt", "mV", "name", "distance", "rssi@1m"]
                    ),
                    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text()),
                ),
            ),
        ),
    )

    @pytest.fixture
    def source_device(self, private_mosquitto_broker: MosquittoBroker) -> Broker:
        return Broker(private_mosquitto_broker)
