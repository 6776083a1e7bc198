"""``wifi-presence``: "last on the network" for the missing-equipment rule.

A feed reports a device joining an access point once; hostapd and most controllers then
say nothing until it roams or leaves. So, while the association book holds a tracked
device as on the network, its asset is reported heard every ``presence_seconds`` (an
observation naming no access point: the core counts the asset as heard then, where it
already is, and places nothing); when the device has left, once at the time it left. A
device no feed has mentioned for ``presence_hours`` is not reported any more: a leave line
lost on the way must not keep it present for ever.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from typing import Any

from floki_core.sdk import Clock, Observation, ObservationSink
from floki_wifi.associations import AssociationBook
from floki_wifi.locator_config import WifiLocationSettings
from floki_wifi.privacy import TECHNOLOGY

SOURCE_NAME = "wifi-presence"
# How often (real seconds) the appliance clock is looked at: the reports themselves go out
# every presence_seconds of that clock.
POLL_SECONDS = 1.0


class NetworkPresence:
    def __init__(self, book: AssociationBook, settings: WifiLocationSettings, clock: Clock) -> None:
        self._book = book
        self._every = dt.timedelta(seconds=settings.presence_seconds)
        self._lasting = dt.timedelta(hours=settings.presence_hours)
        self._clock = clock
        self._stopped = asyncio.Event()
        self._reported_leaving: dict[str, dt.datetime] = {}
        self._last_round: dt.datetime | None = None
        self.reported = 0

    def due(self, now: dt.datetime) -> list[Observation]:
        """What to report at ``now``: the devices on the network (heard now) and those
        that left since the last round (heard when they left)."""
        out: list[Observation] = []
        lasting = self._lasting
        for mac, device in self._book.devices.items():
            at = device.last_on_network_at
            if device.access_point is None:
                if self._reported_leaving.get(mac) != at:
                    self._reported_leaving[mac] = at
                    out.append(_heard(mac, at, now, "left"))
            elif now - at <= lasting:
                self._reported_leaving.pop(mac, None)
                out.append(_heard(mac, max(at, now), now, "associated"))
        return out

    async def run(self, sink: ObservationSink) -> None:
        while not self._stopped.is_set():
            now = self._clock.now()
            if self._last_round is None or now - self._last_round >= self._every:
                self._last_round = now
                batch = self.due(now)
                if batch:
                    await sink.submit(batch)
                    self.reported += len(batch)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopped.wait(), POLL_SECONDS)

    async def stop(self) -> None:
        self._stopped.set()

    def details(self) -> dict[str, Any]:
        on_network = sum(1 for d in self._book.devices.values() if d.access_point is not None)
        return {"devices_on_network": on_network, "reported": self.reported}


def _heard(mac: str, at: dt.datetime, now: dt.datetime, how: str) -> Observation:
    return Observation(
        technology=TECHNOLOGY,
        tag=mac,
        observed_at=at,
        received_at=now,
        extras={"on_network": how},
    )
