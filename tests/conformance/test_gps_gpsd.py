"""Conformance of the GPS plugin's gpsd source, loaded through its entry point, against a
loopback double of gpsd's JSON protocol (Debian's gpsfake is not installed here)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from typing import Any, ClassVar

import pytest
from floki_gps.fixes import Fix
from floki_gps.gpsd import GpsdError, decode_report
from hypothesis import strategies as st

from floki_core.conformance import START, Sighting, SourceConformance
from floki_core.testing import Floki
from tests.fixtures.processes import free_port
from tests.plugins.gps.conftest import HUB_POINT, QUIET, FakeGpsd, tpv

FIXED_AT = START - dt.timedelta(seconds=5)
LAT, LON = HUB_POINT
RECEIVERS = ("/dev/ttyACM0", "/dev/ttyUSB1")  # no gpsd_device: gpsd's path names each


def gpsd_line(line: bytes) -> Fix | None:
    return decode_report(line, device="", now=START)


class Gpsd:
    """gpsd on a loopback port, with two receivers."""

    def __init__(self) -> None:
        self.server: FakeGpsd | None = None

    async def open(self) -> None:
        self.server = FakeGpsd(self.server.port if self.server else free_port())
        await self.server.open()

    def settings(self) -> Mapping[str, Any]:
        assert self.server is not None
        return {"gpsd": f"127.0.0.1:{self.server.port}"}

    async def send(self, data: bytes) -> None:
        server = self.server
        assert server is not None
        await Floki.eventually(server.watching, "the source to watch gpsd")
        await server.send(data)

    async def send_good(self, floki: Floki) -> None:
        await self.send(b"".join(tpv(FIXED_AT, LAT, LON, device) for device in RECEIVERS))

    async def send_bad(self, floki: Floki) -> None:
        await self.send(b'{"class":"TPV","mode":3,"lat":\n' + tpv(FIXED_AT, 95, LON))

    async def lose(self) -> None:
        if self.server is not None:
            await self.server.close()

    async def restore(self) -> None:
        await self.open()

    async def close(self) -> None:
        if self.server is not None:
            await self.server.close()


class TestGpsdConformance(SourceConformance):
    # The plugin-wide checks (entry point, settings) run once, in another module.
    test_loads_through_its_entry_point = None
    test_config_defaults_validate_and_every_key_is_documented = None

    plugin = "gps"
    source = "gps-gpsd"
    documentation = ("docs/gps.md",)
    expected = tuple(
        Sighting("gps", device, None, FIXED_AT, lat=LAT, lon=LON) for device in RECEIVERS
    )
    bad_reasons: ClassVar[Mapping[str, int]] = {"bad_json": 1, "bad_report": 1}
    decoder = gpsd_line
    decoder_errors = (GpsdError,)
    decoder_examples = 50
    decoder_inputs = st.one_of(
        st.binary(max_size=200),
        st.dictionaries(
            st.sampled_from(["class", "mode", "time", "lat", "lon", "eph", "speed", "device"]),
            st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=20)),
        ).map(lambda d: json.dumps({"class": "TPV", **d}).encode()),
    )

    def plugin_settings(self) -> Mapping[str, Any]:
        return {**QUIET, "batch_seconds": 0.2}

    @pytest.fixture
    def source_device(self) -> Gpsd:
        return Gpsd()
