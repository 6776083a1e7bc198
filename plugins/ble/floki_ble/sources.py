"""The appliance's own Bluetooth radio, scanned with bleak.

Each advert is read exactly as a gateway's is (:func:`floki_ble.adverts.read_advert`):
beacon frames name the tag, TLM frames give its battery, a rotating address alone names
nothing. Unreadable adverts are counted by reason and never stop the scan. With no
adapter, or no BlueZ to reach one, :meth:`LocalRadioSource.run` raises
:class:`BluetoothUnavailable` with the underlying reason, which the core's supervisor
shows against the source (``GET /api/v1/plugins``) while the appliance carries on.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal

from floki_ble.adverts import TagIdentities, read_advert
from floki_ble.config import BleSettings
from floki_ble.decoders import (
    AD_MANUFACTURER_DATA,
    AD_SERVICE_DATA_16,
    AdStructure,
    Rejected,
    normalise_mac,
)
from floki_ble.dialects import RSSI_MAX, RSSI_MIN
from floki_core.sdk import Clock, Observation, ObservationSink

if TYPE_CHECKING:
    from bleak import BleakScanner
    from bleak.backends.device import BLEDevice
    from bleak.backends.scanner import AdvertisementData

log = logging.getLogger("floki.plugin.ble")

SOURCE_NAME = "ble-local-radio"
MAX_PENDING = 50_000  # sightings held for one batch; a flood beyond that is counted, not kept
SYSTEM_BUS = "unix:path=/var/run/dbus/system_bus_socket"  # where BlueZ is, unless told
# Bluetooth SIG base UUID: a 16-bit UUID is 0000xxxx followed by this.
_BASE_UUID_TAIL = "-0000-1000-8000-00805f9b34fb"

ScanningMode = Literal["passive", "active"]
Rejections = Callable[[str, int], None]


class BluetoothUnavailable(RuntimeError):
    """The radio cannot scan: no adapter, or no BlueZ to reach one."""


def ad_structures(advertisement: AdvertisementData) -> list[AdStructure]:
    """bleak's parsed advert back as AD structures, manufacturer data first.

    BlueZ keeps the latest payload per company and per service UUID for each device, so
    one callback can carry a tag's iBeacon and its Eddystone TLM together.
    """
    structures = [
        AdStructure(AD_MANUFACTURER_DATA, company.to_bytes(2, "little") + bytes(payload))
        for company, payload in advertisement.manufacturer_data.items()
    ]
    for uuid, payload in advertisement.service_data.items():
        uuid = uuid.lower()
        if uuid.startswith("0000") and uuid.endswith(_BASE_UUID_TAIL):
            short = bytes.fromhex(uuid[4:8])[::-1]  # little-endian on the air
            structures.append(AdStructure(AD_SERVICE_DATA_16, short + bytes(payload)))
    return structures


def _address_type(device: BLEDevice) -> str | None:
    # BlueZ says whether an address is public or random; other platforms do not.
    details = device.details
    props = details.get("props") if isinstance(details, dict) else None
    kind = props.get("AddressType") if isinstance(props, dict) else None
    return kind if kind in ("public", "random") else None


def _reason(exc: BaseException) -> str:
    # bleak's "not available" errors carry (message, reason enum): the message is enough.
    if exc.args and isinstance(exc.args[0], str):
        return exc.args[0]
    return str(exc) or type(exc).__name__


class LocalRadioSource:
    """Scans continuously and delivers one batch of sightings per ``batch_seconds``.

    ``scanning`` is "passive" by default: the radio only listens and never sends scan
    requests, so tags spend nothing answering it and the ward's air stays quieter.
    BlueZ scans passively only through an advertisement monitor, which needs
    ``or_patterns``: the monitor is given the beacon frames Floki binds tags by
    (iBeacon, AltBeacon, Eddystone), so tags known only by their MAC are not heard in
    passive mode. Where passive scanning is refused (macOS; BlueZ older than 5.56 or
    without ``--experimental``), the source scans actively and says why in
    ``passive_refused``.
    """

    def __init__(
        self,
        settings: BleSettings,
        clock: Clock,
        backend: Any = None,
        *,
        scanning: ScanningMode = "passive",
        on_rejected: Rejections | None = None,
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.backend = backend  # a bleak scanner backend class; tests pass a synthetic one
        self.scanning = scanning
        self.on_rejected = on_rejected  # e.g. the core's per-source rejection counters
        self.identities = TagIdentities()
        self.rejections: collections.Counter[str] = collections.Counter()
        self.adverts = 0  # adverts heard, usable or not
        self.mode: ScanningMode | None = None  # how the radio is scanning now
        self.passive_refused: str | None = None
        self._unreported: collections.Counter[str] = collections.Counter()
        self._pending: list[Observation] = []
        self._stop = asyncio.Event()
        self._done = asyncio.Event()
        self._done.set()

    # --- life cycle ------------------------------------------------------------

    async def run(self, sink: ObservationSink) -> None:
        self._stop.clear()
        self._done.clear()
        try:
            scanner = await self._start()
            try:
                while not self._stop.is_set():
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._stop.wait(), self.settings.batch_seconds)
                    await self._flush(sink)
            finally:
                self.mode = None
                try:
                    await scanner.stop()
                except Exception:
                    log.warning("local radio: stopping the scan failed", exc_info=True)
        finally:
            self._done.set()

    async def stop(self) -> None:
        self._stop.set()
        await self._done.wait()  # what was heard before the stop is still delivered

    async def _start(self) -> BleakScanner:
        from bleak.exc import BleakBluetoothNotAvailableError, BleakError

        adapter = self.settings.adapter
        named = f" {adapter}" if adapter else ""
        try:
            refused: str | None = None
            if self.scanning == "passive":
                try:
                    scanner = await self._scan("passive")
                    self.passive_refused = None
                    return scanner
                except BleakBluetoothNotAvailableError:
                    raise
                except BleakError as exc:
                    refused = _reason(exc)
            scanner = await self._scan("active")
        except BleakError as exc:
            raise BluetoothUnavailable(f"no Bluetooth adapter{named}: {_reason(exc)}") from exc
        except OSError as exc:
            bus = os.environ.get("DBUS_SYSTEM_BUS_ADDRESS") or SYSTEM_BUS
            raise BluetoothUnavailable(
                f"no Bluetooth adapter{named}: BlueZ is not reachable over D-Bus at {bus} ({exc})"
            ) from exc
        if refused is not None:
            # Listening only is not on offer here; active scanning hears the same adverts,
            # at the cost of a scan request to each tag.
            self.passive_refused = refused
            log.warning("local radio: passive scanning refused (%s); scanning actively", refused)
        return scanner

    async def _scan(self, mode: ScanningMode) -> BleakScanner:
        from bleak import BleakScanner
        from bleak.args.bluez import BlueZScannerArgs, OrPattern
        from bleak.assigned_numbers import AdvertisementDataType
        from bleak.backends.scanner import BaseBleakScanner

        bluez: BlueZScannerArgs = {}
        if self.settings.adapter:
            bluez["adapter"] = self.settings.adapter
        if mode == "passive":
            manufacturer = AdvertisementDataType.MANUFACTURER_SPECIFIC_DATA
            bluez["or_patterns"] = [
                OrPattern(0, manufacturer, b"\x4c\x00\x02\x15"),  # iBeacon
                OrPattern(2, manufacturer, b"\xbe\xac"),  # AltBeacon
                OrPattern(0, AdvertisementDataType.SERVICE_DATA_UUID16, b"\xaa\xfe"),  # Eddystone
            ]
        backend: type[BaseBleakScanner] | None = self.backend
        scanner = BleakScanner(self._heard, scanning_mode=mode, bluez=bluez, backend=backend)
        await scanner.start()
        self.mode = mode
        return scanner

    # --- adverts ---------------------------------------------------------------

    def _heard(self, device: BLEDevice, advertisement: AdvertisementData) -> None:
        """bleak's detection callback: never raises, whatever the advert holds."""
        self.adverts += 1
        try:
            made = self._observation(device, advertisement)
        except Exception:
            log.debug("local radio: unreadable advert from %r", device, exc_info=True)
            made = Rejected("unreadable_advert")
        if isinstance(made, Rejected):
            self._reject(made.reason)
        elif len(self._pending) >= MAX_PENDING:
            self._reject("too_many_waiting")
        else:
            self._pending.append(made)

    def _observation(
        self, device: BLEDevice, advertisement: AdvertisementData
    ) -> Observation | Rejected:
        rssi = float(advertisement.rssi)
        if not RSSI_MIN <= rssi <= RSSI_MAX:
            return Rejected("bad_rssi")
        heard = read_advert(
            ad_structures(advertisement),
            # On macOS the address is a per-host UUID, not a MAC: only beacon frames count.
            mac=normalise_mac(device.address),
            address_type=_address_type(device),
            identities=self.identities,
        )
        if isinstance(heard, Rejected):
            return heard
        now = self.clock.now()
        return Observation(
            technology=heard.technology,
            tag=heard.tag,
            receiver=self.settings.receiver,
            rssi=rssi,
            observed_at=now,
            received_at=now,
            extras=heard.extras,
        )

    def _reject(self, reason: str) -> None:
        self.rejections[reason] += 1
        self._unreported[reason] += 1

    async def _flush(self, sink: ObservationSink) -> None:
        if self._unreported:
            unreported, self._unreported = self._unreported, collections.Counter()
            if self.on_rejected is not None:
                for reason, count in unreported.items():
                    self.on_rejected(reason, count)
        if self._pending:
            batch, self._pending = self._pending, []
            await sink.submit(batch)
