"""Conformance of the RFID plugin's Zebra sources, loaded through its entry point: a fixed
reader's IoT Connector data through a real Mosquitto broker, and a handheld's DataWedge
IP output as lines over loopback TCP and UDP."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from collections.abc import Mapping
from typing import Any, ClassVar

import pytest
from floki_rfid.datawedge import MAX_LINE, read_line
from floki_rfid.epc import EpcIdentities
from floki_rfid.zebra_messages import parse_iotc_message
from hypothesis import strategies as st

from floki_core.conformance import Sighting, SourceConformance
from floki_core.testing import Floki
from tests.fixtures.mosquitto import MosquittoBroker

READER = "conf-zebra"
HANDHELD = "conf-sweep"
TOPIC = "zebra/conf-zebra/data"
PUMP = "E280116060000205A0B1C2D3"  # a factory EPC: keyed by its hex
HOIST = "3034257BF400B7800004CB2F"  # an SGTIN-96
HOST = "127.0.0.1"


def _source(floki: Floki, name: str) -> Any:
    found = floki.core.plugins.registries.sources.get(name)
    return None if found is None else found.item


# --- the IoT Connector over MQTT ----------------------------------------------------------


def event(epc: str, antenna: int, rssi: float) -> bytes:
    data = {"eventNum": 1, "format": "epc", "idHex": epc.lower(), "antenna": antenna}
    body = {"data": data | {"peakRssi": rssi}, "timestamp": "2026-01-05T09:00:00.000+0000"}
    return json.dumps(body | {"type": "SIMPLE"}).encode()


class ZebraBroker:
    """A Zebra fixed reader's IoT Connector publishing through a real broker."""

    def __init__(self, broker: MosquittoBroker) -> None:
        self.broker = broker

    async def open(self) -> None:
        await asyncio.to_thread(self.broker.start)

    def settings(self) -> Mapping[str, Any]:
        reader = {
            "name": READER,
            "broker_host": self.broker.host,
            "broker_port": self.broker.port,
            "data_topic": TOPIC,
            "antennas": [1, 2],
        }
        return {"batch_seconds": 0.1, "zebra_readers": [reader]}

    async def publish(self, floki: Floki, *payloads: bytes) -> None:
        import aiomqtt

        # QoS 0 is not kept for a subscriber that has not subscribed yet.
        await Floki.eventually(
            lambda: getattr(_source(floki, f"rfid-zebra-{READER}"), "connected", False),
            "the Zebra source to subscribe",
        )
        async with aiomqtt.Client(self.broker.host, self.broker.port) as client:
            for payload in payloads:
                await client.publish(TOPIC, payload)

    async def send_good(self, floki: Floki) -> None:
        await self.publish(floki, event(PUMP, 1, -57.0), event(HOIST, 2, -63.0))

    async def send_bad(self, floki: Floki) -> None:
        await self.publish(floki, b"{not json", event("E2ZZ", 1, -60.0), event(PUMP, 4, -60.0))

    async def lose(self) -> None:
        await asyncio.to_thread(self.broker.stop)

    async def restore(self) -> None:
        await asyncio.to_thread(self.broker.start)

    async def close(self) -> None:
        pass  # the fixture stops the broker


def decode_message(payload: bytes) -> Any:
    return parse_iotc_message(payload, EpcIdentities())


class TestZebraIotConnectorConformance(SourceConformance):
    # The plugin-wide checks (entry point, settings) run once, in test_rfid_llrp.py.
    test_loads_through_its_entry_point = None
    test_config_defaults_validate_and_every_key_is_documented = None

    plugin = "rfid"
    source = f"rfid-zebra-{READER}"
    documentation = ("docs/rfid-zebra.md",)
    expected = (Sighting("rfid", PUMP, f"{READER}:1"), Sighting("rfid", HOIST, f"{READER}:2"))
    bad_reasons: ClassVar[Mapping[str, int]] = {
        "bad_json": 1,
        "bad_epc": 1,
        "unknown_antenna": 1,
    }

    decoder = staticmethod(decode_message)
    decoder_inputs = st.one_of(
        st.binary(max_size=512),
        st.builds(
            lambda d: json.dumps({"data": d, "type": "SIMPLE"}).encode(),
            st.dictionaries(
                st.sampled_from(["idHex", "antenna", "peakRssi", "seenCount"]),
                st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text()),
            ),
        ),
    )

    @pytest.fixture
    def source_device(self, private_mosquitto_broker: MosquittoBroker) -> ZebraBroker:
        return ZebraBroker(private_mosquitto_broker)


# --- DataWedge lines ---------------------------------------------------------------------


def _free_port(kind: int) -> int:
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


class DataWedgeHandheld:
    """A handheld's DataWedge IP output sending to the listener; "lost" is another
    program holding the listener's TCP port."""

    def __init__(self) -> None:
        self.tcp_port = 0
        self.udp_port = 0
        self._squatter: socket.socket | None = None

    async def open(self) -> None:
        self.tcp_port = _free_port(socket.SOCK_STREAM)
        self.udp_port = _free_port(socket.SOCK_DGRAM)

    def settings(self) -> Mapping[str, Any]:
        handheld = {
            "name": HANDHELD,
            "listen_host": HOST,
            "tcp_port": self.tcp_port,
            "udp_port": self.udp_port,
            "prefix": "RFID:",
        }
        return {"batch_seconds": 0.1, "handhelds": [handheld]}

    async def send(self, data: bytes) -> None:
        _reader, writer = await asyncio.open_connection(HOST, self.tcp_port)
        writer.write(data)
        await writer.drain()
        writer.close()
        await writer.wait_closed()

    async def send_good(self, floki: Floki) -> None:
        # The listener may not be there yet (or again): the kit sends again.
        with contextlib.suppress(OSError):
            await self.send(f"RFID:{PUMP}\r\nRFID:{HOIST}\r\n".encode())

    async def send_bad(self, floki: Floki) -> None:
        await self.send(f"{PUMP}\r\nRFID:not an epc\r\n".encode())  # bad_line, bad_epc
        await self.send(b"RFID:" + b"E2" * MAX_LINE)  # line_too_long

    async def lose(self) -> None:
        if self._squatter is None:
            squatter = socket.socket()
            squatter.bind((HOST, self.tcp_port))
            squatter.listen()
            self._squatter = squatter

    async def restore(self) -> None:
        if self._squatter is not None:
            self._squatter.close()
            self._squatter = None

    async def close(self) -> None:
        await self.restore()


def decode_line(line: bytes) -> str:
    return read_line(line, "RFID:", "", EpcIdentities())


class TestDataWedgeConformance(SourceConformance):
    test_loads_through_its_entry_point = None
    test_config_defaults_validate_and_every_key_is_documented = None
    # A listener loses nothing while it runs; it is found missing as it starts (its port
    # held by another program).
    lost_before_start = True

    plugin = "rfid"
    source = f"rfid-datawedge-{HANDHELD}"
    documentation = ("docs/rfid-zebra.md",)
    expected = (Sighting("rfid", PUMP, f"{HANDHELD}:0"), Sighting("rfid", HOIST, f"{HANDHELD}:0"))
    bad_reasons: ClassVar[Mapping[str, int]] = {
        "bad_line": 1,
        "bad_epc": 1,
        "line_too_long": 1,
    }

    decoder = staticmethod(decode_line)
    decoder_inputs = st.one_of(
        st.binary(max_size=300),
        st.builds(lambda t: f"RFID:{t}\r\n".encode(), st.text(max_size=130)),
    )

    @pytest.fixture
    def source_device(self) -> DataWedgeHandheld:
        return DataWedgeHandheld()
