"""Conformance of the GPS plugin's GT06 / Concox source, loaded through its entry point
and fed by GT06 trackers over loopback TCP: login, then positions."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any, ClassVar

import pytest
from floki_gps.crc import crc16_x25
from floki_gps.fixes import Fix
from floki_gps.gt06 import decode_frame, frame_fix, gt06_encode
from floki_gps.tcp_session import DecodeError
from hypothesis import strategies as st

from floki_core.conformance import START, Sighting, SourceConformance
from floki_core.testing import Floki
from tests.fixtures.gps_trackers import Gt06Tracker, TrackerFleet, fix_at

HEARD_AT = START - dt.timedelta(seconds=30)  # the trackers' own time of their fixes
TRACKERS = ("864717003283581", "864717003283599")
STRANGER = "490154203237518"
IN_HUB = {"lat": 52.2053, "lon": 0.1218}


def fix(imei: str) -> Fix:
    return fix_at(imei, "gt06", HEARD_AT, **IN_HUB)


class Gt06Fleet(TrackerFleet):
    """GT06 trackers connecting to the plugin's listener on a loopback port."""

    port_setting = "gt06_port"

    def __init__(self) -> None:
        super().__init__(TRACKERS)

    def tracker(self, imei: str) -> Gt06Tracker:
        return Gt06Tracker(imei, self.port.host, self.port.port)

    async def report(self, imei: str) -> None:
        async with self.tracker(imei) as tracker:
            if await tracker.log_in():
                await tracker.send(fix(imei))

    async def send_bad(self, floki: Floki) -> None:
        async with self.tracker(STRANGER) as stranger:  # unknown_device
            await stranger.log_in()
        async with self.tracker(TRACKERS[0]) as tracker:  # bad_crc
            await tracker.log_in()
            frame = gt06_encode(fix(TRACKERS[0]), 7)
            await tracker.write(frame[:-4] + bytes([frame[-4] ^ 0xFF]) + frame[-3:])
        async with self.tracker(TRACKERS[1]) as early:  # not_logged_in
            await early.write(gt06_encode(fix(TRACKERS[1]), 1))
            await early.closed_by_server()


def _framed(number: int, content: bytes) -> bytes:
    body = b"xx" + bytes([(len(content) + 5) & 0xFF, number]) + content + b"\x00\x01"
    return body + crc16_x25(body[2:]).to_bytes(2, "big") + b"\r\n"


def decode(data: bytes) -> Fix | None:
    """The decoder's pure entry point: one frame to what it says."""
    return frame_fix(TRACKERS[0], decode_frame(data), START)


class TestGt06Conformance(SourceConformance):
    # The plugin-wide checks (entry point, settings) run once, in test_gps_teltonika.py.
    test_loads_through_its_entry_point = None
    test_config_defaults_validate_and_every_key_is_documented = None

    plugin = "gps"
    source = "gps-gt06"
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
        "not_logged_in": 1,
    }

    decoder = staticmethod(decode)
    decoder_errors = (DecodeError,)
    decoder_inputs = st.one_of(
        st.binary(max_size=300),
        st.builds(
            _framed,
            st.sampled_from([0x01, 0x11, 0x12, 0x13, 0x16, 0x22, 0x23, 0x26, 0x28, 0x94]),
            st.binary(max_size=80),
        ),
    )

    def plugin_settings(self) -> Mapping[str, Any]:
        return {"listen_host": "127.0.0.1", "osmand_port": 0, "teltonika_port": 0, "gt06_port": 0}

    @pytest.fixture
    def source_device(self) -> Gt06Fleet:
        return Gt06Fleet()
