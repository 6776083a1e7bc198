"""Conformance of the GPS plugin's Teltonika source, loaded through its entry point and
fed by Teltonika trackers over loopback TCP: the IMEI handshake, then Codec 8E packets.

The plugin-wide checks (entry point, settings documented) run here, once for the plugin."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any, ClassVar

import pytest
from floki_gps.crc import crc16_ibm
from floki_gps.tcp_session import DecodeError
from floki_gps.teltonika import decode_packet, teltonika_encode
from hypothesis import strategies as st

from floki_core.conformance import START, Sighting, SourceConformance
from floki_core.testing import Floki
from tests.fixtures.gps_trackers import TeltonikaTracker, TrackerFleet, fix_at

HEARD_AT = START - dt.timedelta(seconds=30)  # the trackers' own time of their fixes
TRACKERS = ("356307042441013", "356307042441021")
STRANGER = "490154203237518"
# The community hub, drawn on the map around the trackers' position.
IN_HUB = {"lat": 52.2053, "lon": 0.1218}


def fix(imei: str) -> Any:
    return fix_at(imei, "teltonika", HEARD_AT, battery_pct=80.0, **IN_HUB)


class TeltonikaFleet(TrackerFleet):
    """Teltonika trackers connecting to the plugin's listener on a loopback port."""

    port_setting = "teltonika_port"

    def __init__(self) -> None:
        super().__init__(TRACKERS)

    def tracker(self, imei: str) -> TeltonikaTracker:
        return TeltonikaTracker(imei, self.port.host, self.port.port)

    async def report(self, imei: str) -> None:
        async with self.tracker(imei) as tracker:
            if await tracker.log_in():
                await tracker.send([fix(imei)])

    async def send_bad(self, floki: Floki) -> None:
        async with self.tracker(STRANGER) as stranger:  # unknown_device
            await stranger.log_in()
        async with self.tracker(TRACKERS[0]) as tracker:  # bad_crc
            await tracker.log_in()
            packet = teltonika_encode([fix(TRACKERS[0])])
            await tracker.write(packet[:-1] + bytes([packet[-1] ^ 0xFF]))
            await tracker.acknowledged()
        async with self.tracker(TRACKERS[1]) as confused:  # bad_frame: not an IMEI
            await confused.write(b"\x00\x05hello")
            await confused.closed_by_server()


def _packet(data: bytes) -> bytes:
    return b"\x00" * 4 + len(data).to_bytes(4, "big") + data + crc16_ibm(data).to_bytes(4, "big")


_GOOD_DATA = teltonika_encode([fix(TRACKERS[0]), fix(TRACKERS[1])])[8:-4]


class TestTeltonikaConformance(SourceConformance):
    plugin = "gps"
    source = "gps-teltonika"
    documentation = ("docs/gps.md",)
    # The listener can only be lost as it starts: another program holds its port.
    lost_before_start = True
    expected = tuple(
        Sighting("gps", imei, None, HEARD_AT, lat=IN_HUB["lat"], lon=IN_HUB["lon"])
        for imei in TRACKERS
    )
    bad_reasons: ClassVar[Mapping[str, int]] = {
        "unknown_device": 1,
        "bad_crc": 1,
        "bad_frame": 1,
    }

    decoder = staticmethod(decode_packet)
    decoder_errors = (DecodeError,)
    decoder_inputs = st.one_of(
        st.binary(max_size=600),
        st.builds(lambda data: _packet(data), st.binary(max_size=300)),
        st.builds(
            lambda at, value: _packet(
                _GOOD_DATA[: at % len(_GOOD_DATA)]
                + bytes([value])
                + _GOOD_DATA[at % len(_GOOD_DATA) + 1 :]
            ),
            st.integers(0, 10_000),
            st.integers(0, 255),
        ),
    )

    def plugin_settings(self) -> Mapping[str, Any]:
        # Loopback, and no listener but the one a test points at its device.
        return {"listen_host": "127.0.0.1", "osmand_port": 0, "teltonika_port": 0, "gt06_port": 0}

    @pytest.fixture
    def source_device(self) -> TeltonikaFleet:
        return TeltonikaFleet()
