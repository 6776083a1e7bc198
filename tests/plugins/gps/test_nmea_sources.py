"""NMEA receivers in a running appliance: one on a serial port (a pseudo-terminal pair),
one streaming over TCP to a loopback port."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from floki_gps.nmea_sources import NmeaSerialSource
from floki_gps.tcp_listener import TrackerListener

from floki_core.sdk import AppConfig
from floki_core.testing import Floki
from tests.fixtures.processes import free_port
from tests.plugins.gps.conftest import (
    HUB_POINT,
    PtyReceiver,
    gps_config,
    located_in,
    nmea_cycle,
    nmea_sentence,
    source_counters,
    tracked_asset,
)

pytestmark = pytest.mark.floki_entry_points("gps")
LAT, LON = HUB_POINT
DEVICE = "VAN-7"
BAD = (
    b"$GPRMC,090000,A,5133.3000,N,00008.7000,W,12.5,84.4,050126,,,A\r\n"  # no checksum
    + nmea_sentence("GPRMC,090000,A,5133.3000,N,00008.7000,W,12.5,84.4,050126,,,A")[:-4]
    + b"00\r\n"  # a wrong checksum
    + b"\x00\xffnoise\r\n"
)


async def plugin_source(floki: Floki, name: str) -> dict[str, object]:
    resp = await floki.client.get("/api/v1/plugins", headers=await floki.headers("viewer"))
    (gps,) = [p for p in (await resp.json())["items"] if p["name"] == "gps"]
    sources: dict[str, dict[str, object]] = {s["name"]: s for s in gps["sources"]}
    return sources[name]


# --- serial -------------------------------------------------------------------------------


class TestSerial:
    SOURCE = "gps-nmea-serial"

    @pytest.fixture
    def receiver(self, tmp_path: Path) -> Iterator[PtyReceiver]:
        pty = PtyReceiver(tmp_path)
        pty.open()
        yield pty
        pty.close()

    @pytest.fixture
    def floki_config(self, receiver: PtyReceiver) -> AppConfig:
        return gps_config(nmea_serial=str(receiver.link), nmea_device=DEVICE, nmea_baud=9600)

    async def reading(self, floki: Floki) -> None:
        registration = floki.core.plugins.registries.sources.get(self.SOURCE)
        assert registration is not None and isinstance(registration.item, NmeaSerialSource)
        await asyncio.wait_for(registration.item.connected.wait(), 10)

    async def test_a_receiver_on_a_serial_port_places_its_asset(
        self, floki: Floki, receiver: PtyReceiver
    ) -> None:
        asset_id, hub = await tracked_asset(floki, DEVICE)
        await self.reading(floki)
        receiver.write(nmea_cycle(floki.clock.now() - dt.timedelta(seconds=1), LAT, LON))
        await located_in(floki, asset_id, hub)
        resp = await floki.client.get("/api/v1/gps/devices", headers=await floki.headers("admin"))
        (device,) = (await resp.json())["items"]
        assert (device["device"], device["protocol"], device["connected"]) == (
            DEVICE,
            "nmea",
            True,
        )

    async def test_bad_sentences_are_counted_and_the_port_is_still_read(
        self, floki: Floki, receiver: PtyReceiver
    ) -> None:
        asset_id, hub = await tracked_asset(floki, DEVICE)
        await self.reading(floki)
        receiver.write(BAD)

        async def counted() -> bool:
            rejected = (await source_counters(floki, self.SOURCE)).get("rejected", {})
            return bool(rejected == {"bad_checksum": 2, "bad_sentence": 1})

        await floki.eventually(counted, "the bad sentences counted by reason")
        receiver.write(nmea_cycle(floki.clock.now(), LAT, LON))
        await located_in(floki, asset_id, hub)
        assert (await plugin_source(floki, self.SOURCE))["restarts"] == 0


class TestSerialWithoutDevice:
    @pytest.fixture
    def floki_config(self, tmp_path: Path) -> AppConfig:
        return gps_config(nmea_serial=str(tmp_path / "no-such-port"))

    async def test_the_source_says_the_device_id_is_missing(self, floki: Floki) -> None:
        async def says() -> bool:
            entry = await plugin_source(floki, "gps-nmea-serial")
            return "nmea_device is empty" in str(entry["reason"])

        await floki.eventually(says, "the source to say nmea_device is empty")


# --- TCP -----------------------------------------------------------------------------------


class TestTcp:
    SOURCE = "gps-nmea-tcp"

    @pytest.fixture
    def port(self) -> int:
        return free_port()

    @pytest.fixture
    def floki_config(self, port: int) -> AppConfig:
        return gps_config(nmea_tcp_port=port, nmea_device=DEVICE)

    async def connect(
        self, floki: Floki, port: int
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        registration = floki.core.plugins.registries.sources.get(self.SOURCE)
        assert registration is not None and isinstance(registration.item, TrackerListener)
        listener = registration.item
        await Floki.eventually(lambda: listener.bound is not None, "the listener to listen")
        return await asyncio.open_connection("127.0.0.1", port)

    async def test_a_receiver_streaming_over_tcp_places_its_asset(
        self, floki: Floki, port: int
    ) -> None:
        asset_id, hub = await tracked_asset(floki, DEVICE)
        _, writer = await self.connect(floki, port)
        try:
            cycle = nmea_cycle(floki.clock.now(), LAT, LON)
            writer.write(cycle[:50])  # sentences split across segments
            await writer.drain()
            writer.write(cycle[50:] + BAD)
            await writer.drain()
            await located_in(floki, asset_id, hub)

            async def counted() -> bool:
                rejected = (await source_counters(floki, self.SOURCE)).get("rejected", {})
                return bool(rejected == {"bad_checksum": 2, "bad_sentence": 1})

            await floki.eventually(counted, "the bad sentences counted by reason")
        finally:
            writer.close()

    async def test_a_receiver_no_asset_carries_is_refused_and_listed(
        self, floki: Floki, port: int
    ) -> None:
        reader, writer = await self.connect(floki, port)  # DEVICE is on no asset
        try:
            writer.write(nmea_cycle(floki.clock.now(), LAT, LON))
            await writer.drain()
            assert await asyncio.wait_for(reader.read(), 5) == b""  # hung up on
        finally:
            writer.close()
        counters = await source_counters(floki, self.SOURCE)
        assert counters["rejected"] == {"unknown_device": 1}
        resp = await floki.client.get(
            "/api/v1/gps/devices", headers=await floki.headers("engineer")
        )
        (entry,) = (await resp.json())["items"]
        assert (entry["device"], entry["registered"], entry["refused"]) == (DEVICE, False, 1)


class TestTcpSharesTheConnectionCap:
    SOURCE = "gps-nmea-tcp"

    @pytest.fixture
    def ports(self) -> tuple[int, int]:
        return free_port(), free_port()

    @pytest.fixture
    def floki_config(self, ports: tuple[int, int]) -> AppConfig:
        nmea, teltonika = ports
        return gps_config(
            nmea_tcp_port=nmea, teltonika_port=teltonika, nmea_device=DEVICE, max_connections=1
        )

    async def test_a_receiver_counts_against_the_cap_the_trackers_share(
        self, floki: Floki, ports: tuple[int, int]
    ) -> None:
        nmea, teltonika = ports
        await tracked_asset(floki, DEVICE)
        listener = floki.core.plugins.registries.sources.get(self.SOURCE)
        assert listener is not None and isinstance(listener.item, TrackerListener)
        item = listener.item
        await floki.eventually(lambda: item.bound is not None, "the listener to listen")
        _, receiver = await asyncio.open_connection("127.0.0.1", nmea)
        try:
            receiver.write(nmea_cycle(floki.clock.now(), LAT, LON))
            await receiver.drain()
            await floki.eventually(lambda: item.connections == 1, "the receiver connected")
            tracker, _ = await asyncio.open_connection("127.0.0.1", teltonika)
            assert await asyncio.wait_for(tracker.read(), 5) == b""  # no room: closed
        finally:
            receiver.close()
        counters = await source_counters(floki, "gps-teltonika")
        assert counters["rejected"] == {"too_many_connections": 1}


class TestTcpWithoutListenHost:
    @pytest.fixture
    def port(self) -> int:
        return free_port()

    @pytest.fixture
    def floki_config(self, port: int) -> AppConfig:
        return gps_config(listen_host="", nmea_tcp_port=port, nmea_device=DEVICE)

    async def test_no_port_is_opened_until_listen_host_is_set(
        self, floki: Floki, port: int
    ) -> None:
        assert floki.core.plugins.registries.sources.get("gps-nmea-tcp") is None
        with pytest.raises(OSError):
            await asyncio.open_connection("127.0.0.1", port)


class TestTcpWithoutDevice:
    @pytest.fixture
    def floki_config(self) -> AppConfig:
        return gps_config(nmea_tcp_port=free_port())

    async def test_the_listener_says_the_device_id_is_missing(self, floki: Floki) -> None:
        async def says() -> bool:
            entry = await plugin_source(floki, "gps-nmea-tcp")
            return "nmea_device is empty" in str(entry["reason"])

        await floki.eventually(says, "the listener to say nmea_device is empty")
