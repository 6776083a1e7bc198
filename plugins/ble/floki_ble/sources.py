"""The appliance's own Bluetooth radio, scanned with bleak."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from floki_ble.config import BleSettings
from floki_core.clock import Clock
from floki_core.observations import Observation, ObservationSink


class LocalRadioSource:
    """Scans continuously and delivers one batch of sightings per ``batch_seconds``."""

    def __init__(self, settings: BleSettings, clock: Clock, backend: Any = None) -> None:
        self.settings = settings
        self.clock = clock
        self.backend = backend  # a bleak scanner backend class; tests pass a synthetic one
        self._stop = asyncio.Event()

    async def run(self, sink: ObservationSink) -> None:
        from bleak import BleakScanner
        from bleak.exc import BleakError

        pending: list[Observation] = []

        def heard(device: Any, advertisement: Any) -> None:
            now = self.clock.now()
            pending.append(
                Observation(
                    technology="ble",
                    tag=device.address.upper(),
                    receiver=self.settings.receiver,
                    rssi=float(advertisement.rssi),
                    observed_at=now,
                    received_at=now,
                )
            )

        kwargs: dict[str, Any] = {"detection_callback": heard}
        if self.settings.adapter:
            kwargs["bluez"] = {"adapter": self.settings.adapter}
        if self.backend is not None:
            kwargs["backend"] = self.backend
        self._stop.clear()
        try:
            async with BleakScanner(**kwargs):
                while not self._stop.is_set():
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._stop.wait(), self.settings.batch_seconds)
                    if pending:
                        batch, pending[:] = list(pending), []
                        await sink.submit(batch)
        except BleakError as exc:
            raise RuntimeError(f"no Bluetooth adapter usable: {exc}") from exc
        except (FileNotFoundError, ConnectionError) as exc:
            # No D-Bus socket means no BlueZ at all on this machine.
            raise RuntimeError(f"no Bluetooth adapter: BlueZ not reachable ({exc})") from exc

    async def stop(self) -> None:
        self._stop.set()
