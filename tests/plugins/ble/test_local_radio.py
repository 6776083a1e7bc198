"""The appliance's own radio, through bleak's real ``BleakScanner`` with a synthetic backend:
an iBeacon heard by the appliance places its asset in the appliance's zone, a TLM frame
gives the tag's battery, malformed adverts are counted and never stop the scan, and a
machine without an adapter or without BlueZ shows why while the appliance carries on.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar

import pytest
from bleak.exc import BleakBluetoothNotAvailableError, BleakBluetoothNotAvailableReason, BleakError

from floki_ble.config import BleSettings
from floki_ble.sources import SOURCE_NAME, LocalRadioSource
from floki_core import hookimpl
from floki_core.config import AppConfig, parse_config
from floki_core.plugins.context import PluginContext
from floki_core.testing import Floki
from tests.fixtures.bleak_backend import AdvertisingScanner

API = "/api/v1"
RECEIVER = "appliance-ward7"
UUID = "F7826DA64FA24E988024BC5B71E0893E"
BEACON = "F7826DA6-4FA2-4E98-8024-BC5B71E0893E:100:7"
IBEACON = bytes.fromhex("0215" + UUID + "0064" + "0007" + "C5")  # after Apple's company id
APPLE = 0x004C
EDDYSTONE = "0000feaa-0000-1000-8000-00805f9b34fb"
TLM = bytes.fromhex("2000" + "0992" + "1800" + "0000002A" + "00000064")  # 2450 mV
TAG_ADDRESS = "C3:A1:B2:C3:D4:E5"


# --- a bleak backend that plays synthetic adverts ------------------------------------------


class SyntheticScanner(AdvertisingScanner):
    """A bleak scanner backend without a radio: the test says what it hears.

    Built by bleak's own ``BleakScanner`` exactly as the BlueZ backend is, and delivering
    through ``create_or_update_device`` and ``call_detection_callbacks`` as BlueZ does.
    """

    scanners: ClassVar[list[SyntheticScanner]]
    refuse_passive: ClassVar[str | None] = None
    fail_start: ClassVar[BaseException | None] = None

    def __init__(
        self,
        detection_callback: Any,
        service_uuids: list[str] | None,
        scanning_mode: str,
        *,
        bluez: dict[str, Any],
        **kwargs: Any,
    ) -> None:
        super().__init__(detection_callback, service_uuids)
        if scanning_mode == "passive" and self.refuse_passive:
            raise BleakError(self.refuse_passive)
        self.scanning_mode = scanning_mode
        self.bluez = bluez
        self.running = False
        self.scanners.append(self)

    async def start(self) -> None:
        if self.fail_start is not None:
            raise self.fail_start
        self.seen_devices = {}
        self.running = True

    async def stop(self) -> None:
        self.running = False


def backend(**behaviour: Any) -> type[SyntheticScanner]:
    """A backend class of the test's own, so scanners never leak between tests."""
    return type("Radio", (SyntheticScanner,), {"scanners": [], **behaviour})


class RadioPlugin:
    """Registers the BLE plugin's local radio source with a synthetic backend, wired to the
    core's per-source rejection counters."""

    def __init__(self, radio: type[SyntheticScanner]) -> None:
        self.radio = radio
        self.source: LocalRadioSource | None = None

    @hookimpl
    def floki_register_sources(self, registry: Any, context: PluginContext) -> None:
        settings = BleSettings(local_radio=True, receiver=RECEIVER, batch_seconds=0.02)
        self.source = LocalRadioSource(
            settings,
            context.clock,
            backend=self.radio,
            on_rejected=context.sink(SOURCE_NAME).reject,
        )
        registry.add(SOURCE_NAME, self.source)


@pytest.fixture
def floki_config(request: pytest.FixtureRequest) -> AppConfig:
    ble: dict[str, Any] = getattr(request, "param", {})
    return parse_config(
        {
            "discovery": {"enabled": False},
            "server": {"tls": False},
            "plugins": {
                "supervision": {
                    "max_failures": 2,
                    "failure_window": 60.0,
                    "backoff_initial": 0.01,
                    "backoff_max": 0.02,
                }
            },
            "plugin": {"ble": ble},
        }
    )


@pytest.fixture
def radio(request: pytest.FixtureRequest) -> type[SyntheticScanner]:
    return backend(**getattr(request, "param", {}))


@pytest.fixture
def floki_plugins(
    request: pytest.FixtureRequest, radio: type[SyntheticScanner]
) -> list[tuple[str, object]]:
    if getattr(request, "param", "radio") == "none":
        return []
    return [("radio", RadioPlugin(radio))]


async def get(floki: Floki, path: str) -> Any:
    resp = await floki.client.get(API + path, headers=await floki.headers("viewer"))
    assert resp.status == 200, (path, resp.status, await resp.text())
    return await resp.json()


async def post(floki: Floki, path: str, body: dict[str, Any]) -> dict[str, Any]:
    resp = await floki.client.post(API + path, json=body, headers=await floki.headers("admin"))
    data = await resp.json()
    assert resp.status == 201, (path, body, data)
    assert isinstance(data, dict)
    return data


async def ward_with_a_pump(floki: Floki) -> tuple[int, int]:
    """The appliance as the receiver of one bay, and a pump with an iBeacon tag."""
    site = await post(floki, "/sites", {"name": "St Elsewhere"})
    zone = await post(floki, "/zones", {"site_id": site["id"], "name": "Ward 7 Bay 4"})
    await post(
        floki,
        "/receivers",
        {
            "name": "the appliance",
            "technology": "ble",
            "identifier": RECEIVER,
            "zone_id": zone["id"],
        },
    )
    pump = await post(floki, "/assets", {"asset_number": "PUMP-011", "description": "Pump"})
    await post(
        floki, "/identifiers", {"asset_id": pump["id"], "technology": "ibeacon", "value": BEACON}
    )
    await floki.core.locations.reindex()
    return pump["id"], zone["id"]


def scanner_of(radio: type[SyntheticScanner]) -> SyntheticScanner:
    [scanner] = [s for s in radio.scanners if s.running]
    return scanner


async def scanning(floki: Floki, radio: type[SyntheticScanner]) -> SyntheticScanner:
    await floki.eventually(lambda: any(s.running for s in radio.scanners), "the scan to start")
    return scanner_of(radio)


async def sources(floki: Floki) -> dict[str, Any]:
    listed = await get(floki, "/sources")
    return {s["name"]: s for s in listed["items"]}


# --- hearing tags ----------------------------------------------------------------------------


async def test_an_ibeacon_heard_by_the_appliance_places_its_asset_and_tlm_gives_its_battery(
    floki: Floki, radio: type[SyntheticScanner]
) -> None:
    pump, zone = await ward_with_a_pump(floki)
    scanner = await scanning(floki, radio)
    # Passive: the radio only listens, with BlueZ's monitor matching the beacon frames.
    assert scanner.scanning_mode == "passive"
    patterns = scanner.bluez["or_patterns"]
    assert (0, 0xFF, b"\x4c\x00\x02\x15") in [tuple(p) for p in patterns]
    assert (0, 0x16, b"\xaa\xfe") in [tuple(p) for p in patterns]

    for second in range(3):
        floki.advance(1)
        scanner.advertise(TAG_ADDRESS, -58 - second, manufacturer_data={APPLE: IBEACON})

    async def located() -> bool:
        answer = await get(floki, f"/assets/{pump}/location")
        return bool(answer["located"])

    await floki.eventually(located, "the pump to be located")
    answer = await get(floki, f"/assets/{pump}/location")
    assert answer["zone"]["id"] == zone and answer["zone"]["name"] == "Ward 7 Bay 4"
    assert answer["technology"] == "ibeacon"
    assert answer["evidence"][0]["receiver"] == "the appliance"

    # BlueZ keeps each payload per device: the TLM frame arrives beside the iBeacon.
    floki.advance(1)
    scanner.advertise(
        TAG_ADDRESS,
        -60,
        manufacturer_data={APPLE: IBEACON},
        service_data={EDDYSTONE: TLM},
    )

    async def battery_listed() -> bool:
        return bool((await get(floki, "/tags/batteries"))["items"])

    await floki.eventually(battery_listed, "the battery reading")
    [row] = (await get(floki, "/tags/batteries?low=true"))["items"]
    assert (row["technology"], row["tag"], row["millivolts"]) == ("ibeacon", BEACON, 2450)
    assert row["asset"]["asset_number"] == "PUMP-011"
    assert row["receiver"] == RECEIVER
    assert dt.datetime.fromisoformat(row["observed_at"]) == floki.clock.now()


async def test_malformed_and_anonymous_adverts_are_counted_and_the_scan_goes_on(
    floki: Floki, radio: type[SyntheticScanner], floki_plugins: list[tuple[str, Any]]
) -> None:
    pump, zone = await ward_with_a_pump(floki)
    scanner = await scanning(floki, radio)
    floki.advance(1)
    scanner.advertise("C3:A1:B2:C3:D4:E6", -70, manufacturer_data={APPLE: IBEACON[:10]})
    scanner.advertise("C3:A1:B2:C3:D4:E7", -70, service_data={EDDYSTONE: b"\x20"})
    scanner.advertise("C3:A1:B2:C3:D4:E8", -70, manufacturer_data={0x1_0000: b"\x01"})
    # A resolvable private address with only a TLM frame: no tag to pin it on.
    scanner.advertise(
        "4A:BB:CC:DD:EE:FF", -70, service_data={EDDYSTONE: TLM}, address_type="random"
    )
    scanner.advertise(TAG_ADDRESS, -57, manufacturer_data={APPLE: IBEACON})

    async def counted() -> bool:
        return SOURCE_NAME in await sources(floki)

    await floki.eventually(counted, "the local radio's counters")
    await floki.eventually(
        lambda: floki.core.locations.resolver.tracks.get(pump) is not None, "the good advert"
    )
    stats = (await sources(floki))[SOURCE_NAME]
    assert stats["rejected"] == {
        "ibeacon_truncated": 1,
        "eddystone_truncated": 1,
        "unreadable_advert": 1,
        "rotating_address_without_identity": 1,
    }
    answer = await get(floki, f"/assets/{pump}/location")
    assert answer["zone"]["id"] == zone
    radio_plugin = dict(floki_plugins)["radio"]
    assert radio_plugin.source.adverts == 5
    [plugin] = [p for p in (await get(floki, "/plugins"))["items"] if p["name"] == "radio"]
    assert plugin["status"] == "running"
    assert [s["status"] for s in plugin["sources"]] == ["running"]


PASSIVE_REFUSED = (
    "passive scanning on Linux requires BlueZ >= 5.56 with --experimental enabled "
    "and Linux kernel >= 5.10"
)


@pytest.mark.parametrize("radio", [{"refuse_passive": PASSIVE_REFUSED}], indirect=True)
async def test_where_passive_scanning_is_refused_the_radio_scans_actively(
    floki: Floki, radio: type[SyntheticScanner], floki_plugins: list[tuple[str, Any]]
) -> None:
    pump, _ = await ward_with_a_pump(floki)
    scanner = await scanning(floki, radio)
    assert scanner.scanning_mode == "active"
    assert "or_patterns" not in scanner.bluez
    source = dict(floki_plugins)["radio"].source
    assert (source.mode, source.passive_refused) == ("active", PASSIVE_REFUSED)
    floki.advance(1)
    scanner.advertise(TAG_ADDRESS, -60, manufacturer_data={APPLE: IBEACON})
    await floki.eventually(
        lambda: floki.core.locations.resolver.tracks.get(pump) is not None, "the pump"
    )


# --- no radio ----------------------------------------------------------------------------------


async def failed_reason(floki: Floki, plugin_name: str) -> str:
    async def failed() -> bool:
        listed = {p["name"]: p for p in (await get(floki, "/plugins"))["items"]}
        return bool(listed[plugin_name]["status"] == "failed")

    await floki.eventually(failed, f"plugin {plugin_name} to be marked failed")
    listed = {p["name"]: p for p in (await get(floki, "/plugins"))["items"]}
    plugin = listed[plugin_name]
    [source] = plugin["sources"]
    assert source["name"] == SOURCE_NAME and source["status"] == "failed"
    assert source["reason"] in plugin["reason"]
    return str(plugin["reason"])


async def still_answers(floki: Floki) -> None:
    health = await floki.client.get(f"{API}/health")
    assert health.status == 200 and (await health.json())["status"] == "ok"
    await get(floki, "/tags/batteries")
    site = await post(floki, "/sites", {"name": "Still here"})
    assert site["name"] == "Still here"


@pytest.mark.parametrize(
    "radio",
    [
        pytest.param({"fail_start": BleakError("No Bluetooth adapters found.")}, id="bleak_error"),
        pytest.param(
            {
                "fail_start": BleakBluetoothNotAvailableError(
                    "No Bluetooth adapters found.", BleakBluetoothNotAvailableReason.NO_BLUETOOTH
                )
            },
            id="not_available",
        ),
    ],
    indirect=True,
)
async def test_no_adapter_is_a_failed_source_with_the_reason_and_the_appliance_runs_on(
    floki: Floki,
) -> None:
    reason = await failed_reason(floki, "radio")
    assert "BluetoothUnavailable: no Bluetooth adapter: No Bluetooth adapters found." in reason
    assert "failed 2 times" in reason
    await still_answers(floki)


@pytest.fixture
def without_dbus(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> str:
    """Point bleak's real BlueZ backend at a D-Bus socket that does not exist."""
    missing = str(tmp_path / "no-dbus" / "system_bus_socket")
    monkeypatch.setenv("DBUS_SYSTEM_BUS_ADDRESS", f"unix:path={missing}")
    return missing


@pytest.mark.parametrize("floki_config", [{"local_radio": True}], indirect=True)
@pytest.mark.parametrize("floki_plugins", ["none"], indirect=True)
async def test_without_bluez_the_ble_plugin_says_so_and_the_appliance_runs_on(
    without_dbus: str, floki: Floki
) -> None:
    reason = await failed_reason(floki, "ble")
    assert "BluetoothUnavailable: no Bluetooth adapter: BlueZ is not reachable over D-Bus" in reason
    assert without_dbus in reason
    await still_answers(floki)
