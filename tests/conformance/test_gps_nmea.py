"""Conformance of the GPS plugin's NMEA receivers, loaded through its entry point: one on
a serial port (a pseudo-terminal pair, as a USB receiver would be), one streaming over TCP."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

import pytest
from floki_gps.nmea import NmeaError, read_sentence
from floki_gps.nmea_sources import NmeaSerialSource
from floki_gps.tcp_listener import TrackerListener
from hypothesis import strategies as st

from floki_core.conformance import START, Sighting, SourceConformance
from floki_core.testing import Floki
from tests.fixtures.processes import free_port
from tests.plugins.gps.conftest import (
    HUB_POINT,
    QUIET,
    PtyReceiver,
    nmea_cycle,
    nmea_sentence,
)

DEVICE = "VAN-7"
FIXED_AT = START - dt.timedelta(seconds=5)
LAT, LON = HUB_POINT
GOOD = nmea_cycle(FIXED_AT, LAT, LON)
BAD = (
    b"$GPRMC,085955,A,5133.3000,N,00008.7000,W,12.5,84.4,050126,,,A\r\n"  # no checksum
    + nmea_sentence("GPRMC,085955,A,5133.3000,N,00008.7000,W,12.5,84.4,050126,,,A")[:-4]
    + b"00\r\n"  # a wrong checksum
    + b"\x00\xffnoise\r\n"
)
SENTENCES = st.one_of(
    st.binary(max_size=120),
    st.builds(
        lambda talker, fields: nmea_sentence(talker + "," + ",".join(fields)),
        st.sampled_from(["GPRMC", "GPGGA", "GPGLL", "GNRMC"]),
        st.lists(st.text(alphabet="0123456789.NSEWAV-", max_size=12), max_size=14),
    ),
)


class SerialReceiver:
    """A receiver on a serial port: Floki opens the pty's slave through a stable symlink,
    the test writes sentences into the master."""

    def __init__(self, folder: Path) -> None:
        self.pty = PtyReceiver(folder)

    async def open(self) -> None:
        self.pty.open()

    def settings(self) -> Mapping[str, Any]:
        return {"nmea_serial": str(self.pty.link), "nmea_device": DEVICE}

    async def write(self, floki: Floki, data: bytes) -> None:
        # Written once the port is read: what is written into a closed port is lost.
        registration = floki.core.plugins.registries.sources.get("gps-nmea-serial")
        assert registration is not None and isinstance(registration.item, NmeaSerialSource)
        await asyncio.wait_for(registration.item.connected.wait(), 10)
        self.pty.write(data)

    async def send_good(self, floki: Floki) -> None:
        await self.write(floki, GOOD)

    async def send_bad(self, floki: Floki) -> None:
        await self.write(floki, BAD)

    async def lose(self) -> None:
        self.pty.close()

    async def restore(self) -> None:
        self.pty.open()

    async def close(self) -> None:
        self.pty.close()


class TestNmeaSerialConformance(SourceConformance):
    # The plugin-wide checks (entry point, settings) run once, in another module.
    test_loads_through_its_entry_point = None
    test_config_defaults_validate_and_every_key_is_documented = None

    plugin = "gps"
    source = "gps-nmea-serial"
    documentation = ("docs/gps.md",)
    expected = (Sighting("gps", DEVICE, None, FIXED_AT, lat=LAT, lon=LON),)
    bad_reasons: ClassVar[Mapping[str, int]] = {"bad_checksum": 2, "bad_sentence": 1}
    decoder = read_sentence
    decoder_errors = (NmeaError,)
    decoder_inputs = SENTENCES
    decoder_examples = 50

    def plugin_settings(self) -> Mapping[str, Any]:
        return {**QUIET, "batch_seconds": 0.2}

    @pytest.fixture
    def source_device(self, tmp_path: Path) -> SerialReceiver:
        return SerialReceiver(tmp_path)


class TcpReceiver:
    """A receiver streaming its sentences over TCP, connecting for each burst."""

    def __init__(self) -> None:
        self.port = 0

    async def open(self) -> None:
        self.port = self.port or free_port()

    def settings(self) -> Mapping[str, Any]:
        return {"nmea_tcp_port": self.port, "nmea_device": DEVICE}

    async def write(self, floki: Floki, data: bytes) -> None:
        registration = floki.core.plugins.registries.sources.get("gps-nmea-tcp")
        assert registration is not None and isinstance(registration.item, TrackerListener)
        listener = registration.item
        await Floki.eventually(lambda: listener.bound is not None, "the listener to listen")
        _, writer = await asyncio.open_connection("127.0.0.1", self.port)
        try:
            writer.write(data)
            await writer.drain()
        finally:
            writer.close()
            await writer.wait_closed()

    async def send_good(self, floki: Floki) -> None:
        await self.write(floki, GOOD)

    async def send_bad(self, floki: Floki) -> None:
        await self.write(floki, BAD)

    async def lose(self) -> None:
        raise NotImplementedError  # receivers connect to it; it has none of its own

    async def restore(self) -> None:
        raise NotImplementedError

    async def close(self) -> None:
        pass


class TestNmeaTcpConformance(SourceConformance):
    test_loads_through_its_entry_point = None
    test_config_defaults_validate_and_every_key_is_documented = None
    test_decoder_raises_only_its_declared_errors = None  # the serial receiver's class runs it
    # Receivers connect to it; it has no device of its own that can go away.
    test_a_lost_device_shows_with_a_reason_and_recovers = None

    plugin = "gps"
    source = "gps-nmea-tcp"
    documentation = ("docs/gps.md",)
    expected = (Sighting("gps", DEVICE, None, FIXED_AT, lat=LAT, lon=LON),)
    bad_reasons: ClassVar[Mapping[str, int]] = {"bad_checksum": 2, "bad_sentence": 1}

    def plugin_settings(self) -> Mapping[str, Any]:
        return {**QUIET, "batch_seconds": 0.2}

    @pytest.fixture
    def source_device(self) -> TcpReceiver:
        return TcpReceiver()
