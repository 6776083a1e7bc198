"""Conformance of the Wi-Fi plugin's syslog listener, loaded through its entry point:
a controller sending its association lines as UDP datagrams on loopback. Losing the
"device" is the listener's port being taken by another program (the source names why
and recovers once it is free)."""

from __future__ import annotations

import asyncio
import datetime as dt
import socket
from collections.abc import Mapping
from typing import Any, ClassVar

import pytest
from floki_wifi.syslog_config import SyslogSettings
from floki_wifi.syslog_dialects import dialects_for
from floki_wifi.syslog_records import HeaderError, SyslogRecord, read_line
from floki_wifi.syslog_source import SOURCE, SyslogListener
from hypothesis import strategies as st

from floki_core.conformance import START, Sighting, SourceConformance
from floki_core.conformance.settings_docs import undocumented
from floki_core.testing import Floki
from tests.fixtures.processes import free_port

PUMP_A, PUMP_B = "00:1B:44:11:3A:B7", "00:1B:44:11:3A:B8"
AP_1, AP_2 = "F0:9F:C2:00:00:01", "18:64:72:AA:BB:CC"
PHONE = "3C:22:FB:61:0E:8D"
FIXED_AT = START - dt.timedelta(seconds=5)
DIALECTS = dialects_for(SyslogSettings())


def decode(line: bytes) -> SyslogRecord | None:
    return read_line(line, DIALECTS, START, dt.UTC)


def cisco(device: str, access_point: str, stamp: str = FIXED_AT.isoformat()) -> bytes:
    return (
        f"<134>1 {stamp} WLC001 apf - - - *apfReceiveTask: %APF-3-AUTHENTICATION_TRAP: "
        f"Client Authenticated: MACAddress:{device.lower()} Base Radio "
        f"MAC:{access_point.lower()} Slot:1 User Name:someone Ip Address:10.9.9.9 SSID:Staff"
    ).encode()


def aruba(device: str, bssid: str) -> bytes:
    return (
        f"<142>1 {FIXED_AT.isoformat()} Aruba_MD3 stm 30085 - - <501100> <NOTI>  Assoc "
        f"success @ 08:59:55.809533: {device.lower()}: AP 10.1.2.3-{bssid.lower()}-ward5-ap2"
    ).encode()


GOOD = (cisco(PUMP_A, AP_1), aruba(PUMP_B, AP_2))
PHONE_LINE = cisco(PHONE, AP_1)
BAD = (
    b"<999>" + cisco(PUMP_A, AP_1)[5:],  # a priority beyond 191
    cisco(PUMP_A, AP_1, "2026-13-45T99:00:00Z"),  # no such time
    cisco(PUMP_A, AP_1) + b" " + b"x" * 600,  # longer than max_message_bytes
)
# A phone's line is no bad input: it is dropped by design, counted as unknown_device and
# noted at INFO (tests/plugins/wifi/test_syslog_listener.py).
LINES = st.one_of(
    st.binary(max_size=200),
    st.lists(st.sampled_from([*GOOD, *BAD, PHONE_LINE, b"<", b"1 ", b"[", b"]"]), max_size=5).map(
        b"".join
    ),
)


class Controller:
    """A wireless controller forwarding its syslog over UDP; ``lose`` is another program
    holding the listener's port."""

    def __init__(self) -> None:
        self.port = 0
        self.squatter: socket.socket | None = None

    async def open(self) -> None:
        self.port = self.port or free_port()

    def settings(self) -> Mapping[str, Any]:
        return {
            "listen_host": "127.0.0.1",
            "syslog": {
                "udp_port": self.port,
                "tcp_port": 0,
                "batch_seconds": 0.1,
                "max_message_bytes": 512,
            },
        }

    async def send(self, floki: Floki, lines: tuple[bytes, ...]) -> None:
        registration = floki.core.plugins.registries.sources.get(SOURCE)
        assert registration is not None and isinstance(registration.item, SyslogListener)
        listener = registration.item
        await Floki.eventually(listener.listening.is_set, "the syslog listener to listen")
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            for line in lines:
                sock.sendto(line, ("127.0.0.1", self.port))
        await asyncio.sleep(0)

    async def send_good(self, floki: Floki) -> None:
        await self.send(floki, GOOD)

    async def send_bad(self, floki: Floki) -> None:
        await self.send(floki, BAD)

    async def lose(self) -> None:
        self.squatter = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.squatter.bind(("127.0.0.1", self.port))

    async def restore(self) -> None:
        if self.squatter is not None:
            self.squatter.close()
            self.squatter = None

    async def close(self) -> None:
        await self.restore()


class TestWifiSyslogConformance(SourceConformance):
    # The plugin-wide checks (every [plugin.wifi] key) belong to no one feed's module;
    # this feed's own keys are checked below.
    test_loads_through_its_entry_point = None  # type: ignore[assignment]
    test_config_defaults_validate_and_every_key_is_documented = None  # type: ignore[assignment]

    plugin = "wifi"
    source = SOURCE
    documentation = ("docs/wifi-syslog.md",)
    lost_before_start = True  # the port is taken before the listener opens it
    expected = (
        Sighting("wifi", PUMP_A, AP_1, FIXED_AT),
        Sighting("wifi", PUMP_B, AP_2, FIXED_AT),
    )
    bad_reasons: ClassVar[Mapping[str, int]] = {
        "bad_priority": 1,
        "bad_timestamp": 1,
        "line_too_long": 1,
    }
    decoder = decode
    decoder_errors = (HeaderError,)
    decoder_inputs = LINES
    decoder_examples = 30  # the decoding tests fuzz it further

    @pytest.fixture
    def source_device(self) -> Controller:
        return Controller()


def test_every_syslog_setting_is_documented() -> None:
    assert undocumented(SyslogSettings, ["docs/wifi-syslog.md"], "") == []
