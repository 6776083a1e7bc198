"""Conformance of the Wi-Fi plugin's ``wifi-radius`` source, loaded through its entry point
and fed RADIUS accounting by a NAS over loopback UDP: two pumps starting sessions on two
access points, and, as bad input, a stranger NAS, a forged packet and an unknown device."""

from __future__ import annotations

import datetime as dt
import itertools
import socket
import struct
from collections.abc import Mapping
from typing import Any, ClassVar

import pytest
from floki_wifi.radius_packets import AccountingRequest, RadiusRefused, read_request
from hypothesis import strategies as st

from floki_core.conformance import START, Sighting, SourceConformance
from floki_core.testing import Floki
from tests.plugins.wifi.radius_nas import SECRET, accounting, rfc_request

HEARD_AT = START - dt.timedelta(seconds=30)  # the NAS's Event-Timestamp of the sessions
SESSIONS = {  # device -> the access point (and SSID) it started its session on
    "00:1B:63:84:45:E6": "00-10-A4-23-19-C0:NHS-Devices",
    "00:1B:63:84:45:E7": "00-10-A4-23-19-C1:NHS-Devices",
}
STRANGER = "3C:22:FB:0A:71:9D"  # a phone: no asset carries it


class RadiusNas:
    """A controller sending accounting to the plugin's port; a "lost" listener is one
    whose port another program has bound first."""

    def __init__(self) -> None:
        self.port = 0
        self._squatter: socket.socket | None = None
        self._identifiers = itertools.cycle(range(256))  # a NAS's next identifier

    async def open(self) -> None:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]

    def settings(self) -> Mapping[str, Any]:
        return {
            "listen_host": "127.0.0.1",
            "radius": {
                "port": self.port,
                "batch_seconds": 0.05,
                "clients": [{"address": "127.0.0.1", "secret": SECRET.decode()}],
            },
        }

    def _start(self, device: str, called: str, secret: bytes = SECRET) -> bytes:
        request = accounting("Start", device, called, secret=secret, at=HEARD_AT)
        request.id = next(self._identifiers)
        datagram: bytes = request.RequestPacket()
        return datagram

    def _send(self, datagrams: list[bytes], source: str = "127.0.0.1") -> None:
        # Sent together, unanswered answers ignored: a NAS's burst of accounting.
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.bind((source, 0))
            for datagram in datagrams:
                sock.sendto(datagram, ("127.0.0.1", self.port))

    async def send_good(self, floki: Floki) -> None:
        self._send([self._start(device, called) for device, called in SESSIONS.items()])

    async def send_bad(self, floki: Floki) -> None:
        device, called = next(iter(SESSIONS.items()))
        self._send([self._start(device, called)], source="127.0.0.2")  # unknown_client
        self._send(
            [
                self._start(device, called, secret=b"not-the-secret"),  # bad_authenticator
                self._start(STRANGER, called),  # unknown_device: answered, then dropped
            ]
        )

    async def lose(self) -> None:
        if self._squatter is None:
            squatter = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            squatter.bind(("127.0.0.1", self.port))
            self._squatter = squatter

    async def restore(self) -> None:
        if self._squatter is not None:
            self._squatter.close()
            self._squatter = None

    async def close(self) -> None:
        await self.restore()


def decode(datagram: bytes) -> AccountingRequest:
    """The decoder's pure entry point: one datagram from a NAS with the shared secret."""
    return read_request(datagram, SECRET)


_ATTRIBUTE = st.builds(
    lambda kind, value: (kind, value),
    st.sampled_from([1, 26, 30, 31, 33, 40, 41, 55, 80]),
    st.binary(max_size=24),
)


class TestRadiusConformance(SourceConformance):
    # The plugin-wide checks (entry point, settings) are run once for the whole plugin,
    # not per feed; every [plugin.wifi.radius] key is documented in docs/wifi-radius.md.
    test_loads_through_its_entry_point = None  # type: ignore[assignment]
    test_config_defaults_validate_and_every_key_is_documented = None  # type: ignore[assignment]

    plugin = "wifi"
    source = "wifi-radius"
    documentation = ("docs/wifi-radius.md",)
    # The listener can only be lost as it starts: another program holds its port.
    lost_before_start = True
    expected = tuple(
        Sighting("wifi", device, called[:17].replace("-", ":"), HEARD_AT)
        for device, called in SESSIONS.items()
    )
    bad_reasons: ClassVar[Mapping[str, int]] = {
        "unknown_client": 1,
        "bad_authenticator": 1,
        "unknown_device": 1,
    }
    expected_reasons = frozenset({"unknown_device"})  # phones: dropped by design

    decoder = staticmethod(decode)
    decoder_errors = (RadiusRefused,)
    decoder_examples = 30
    decoder_inputs = st.one_of(
        st.binary(max_size=200),
        st.builds(rfc_request, st.integers(0, 255), st.just(SECRET), st.lists(_ATTRIBUTE)),
        st.builds(
            lambda kind: rfc_request(1, SECRET, [(40, struct.pack("!I", kind))]),
            st.integers(0, 2**32 - 1),
        ),
    )

    def plugin_settings(self) -> Mapping[str, Any]:
        return {"listen_host": "127.0.0.1"}

    @pytest.fixture
    def source_device(self) -> RadiusNas:
        return RadiusNas()
