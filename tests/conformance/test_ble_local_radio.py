"""Conformance of the BLE plugin's own-radio source (``[plugin.ble] local_radio``), loaded
through its entry point, with bleak's real ``BleakScanner`` running a synthetic backend in
place of BlueZ."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import bleak
import pytest
from bleak.exc import BleakError
from hypothesis import strategies as st

from floki_ble.decoders import parse_ad_structures
from floki_core.conformance import Sighting, SourceConformance
from floki_core.testing import Floki
from tests.fixtures.bleak_backend import AdvertisingScanner

RECEIVER = "appliance-ward7"
UUID = "F7826DA64FA24E988024BC5B71E0893E"
APPLE = 0x004C
EDDYSTONE = "0000feaa-0000-1000-8000-00805f9b34fb"
TLM = bytes.fromhex("2000" + "0992" + "1800" + "0000002A" + "00000064")


def ibeacon(minor: int) -> bytes:
    return bytes.fromhex("0215" + UUID + "0064" + f"{minor:04X}" + "C5")


def beacon(minor: int) -> str:
    return f"F7826DA6-4FA2-4E98-8024-BC5B71E0893E:100:{minor}"


class SyntheticRadio(AdvertisingScanner):
    """A bleak backend without a radio, built by ``BleakScanner`` as BlueZ's is."""

    device: ClassVar[SyntheticRadioDevice]

    def __init__(self, detection_callback: Any, service_uuids: Any, scanning_mode: str, **kw: Any):
        super().__init__(detection_callback, service_uuids)
        self.running = False

    async def start(self) -> None:
        if self.device.missing:
            raise BleakError("No Bluetooth adapters found.")
        self.seen_devices = {}
        self.running = True
        self.device.scanners.append(self)

    async def stop(self) -> None:
        self.running = False
        self.device.scanners.remove(self)


class SyntheticRadioDevice:
    """The platform's Bluetooth, as bleak finds it: this test's synthetic radio."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.monkeypatch = monkeypatch
        self.missing = False
        self.scanners: list[SyntheticRadio] = []

    async def open(self) -> None:
        radio = type("Radio", (SyntheticRadio,), {"device": self})
        self.monkeypatch.setattr(
            bleak, "get_platform_scanner_backend_type", lambda: (radio, "fake")
        )

    def settings(self) -> Mapping[str, Any]:
        return {"local_radio": True, "receiver": RECEIVER, "batch_seconds": 0.05}

    async def send_good(self, floki: Floki) -> None:
        for scanner in self.scanners:
            scanner.advertise("C3:A1:B2:C3:D4:E5", -58, manufacturer_data={APPLE: ibeacon(7)})
            scanner.advertise("C3:A1:B2:C3:D4:E6", -61, manufacturer_data={APPLE: ibeacon(8)})

    async def send_bad(self, floki: Floki) -> None:
        for scanner in self.scanners:
            scanner.advertise("C3:A1:B2:C3:D4:E7", -70, manufacturer_data={APPLE: ibeacon(9)[:10]})
            scanner.advertise("C3:A1:B2:C3:D4:E8", -70, service_data={EDDYSTONE: b"\x20"})
            scanner.advertise("C3:A1:B2:C3:D4:E9", -70, manufacturer_data={0x1_0000: b"\x01"})
            # A resolvable private address with only a TLM frame names no tag.
            scanner.advertise(
                "4A:BB:CC:DD:EE:FF", -70, service_data={EDDYSTONE: TLM}, address_type="random"
            )

    async def lose(self) -> None:
        self.missing = True

    async def restore(self) -> None:
        self.missing = False

    async def close(self) -> None:
        self.monkeypatch.undo()


class TestLocalRadioConformance(SourceConformance):
    plugin = "ble"
    source = "ble-local-radio"
    documentation = ("docs/gateways.md", "docs/performance.md")
    expected = (
        Sighting("ibeacon", beacon(7), RECEIVER, receiver_technology="ble"),
        Sighting("ibeacon", beacon(8), RECEIVER, receiver_technology="ble"),
    )
    bad_reasons: ClassVar[Mapping[str, int]] = {
        "ibeacon_truncated": 1,
        "eddystone_truncated": 1,
        "unreadable_advert": 1,
        "rotating_address_without_identity": 1,
    }
    # BlueZ says nothing when an adapter goes away mid-scan; a missing one is found as the
    # source starts, and the supervisor's restarts find it back.
    lost_before_start = True
    decoder = parse_ad_structures
    decoder_inputs = st.binary(max_size=62)

    @pytest.fixture
    def source_device(self, monkeypatch: pytest.MonkeyPatch) -> SyntheticRadioDevice:
        return SyntheticRadioDevice(monkeypatch)
