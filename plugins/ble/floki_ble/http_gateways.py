"""BLE gateways that post over HTTP: the JSON-batch and Ingics dialects.

A gateway posts to ``/api/v1/ble/ingest/json`` or ``/api/v1/ble/ingest/ingics`` with
a device token. Each advertisement is decoded: a beacon frame gives the tag's
identity (iBeacon, Eddystone UID, AltBeacon), otherwise its MAC does; a rotating
private address without a beacon frame is refused, since it names no tag for long.
"""

from __future__ import annotations

import collections
import datetime as dt
from collections.abc import Callable
from typing import Any

from aiohttp import web

from floki_ble.decoders import Beacon, Rejected, decode_advertisement
from floki_ble.dialects import DialectResult, GatewaySighting
from floki_core.api.keys import CORE, PRINCIPAL
from floki_core.observations import Observation

Parser = Callable[[bytes], DialectResult]
_TECHNOLOGY = {"ibeacon": "ibeacon", "eddystone": "eddystone", "altbeacon": "altbeacon"}


def to_observation(s: GatewaySighting, now: dt.datetime) -> Observation | str:
    """The core's observation for one sighting, or the reason it names no tag."""
    technology, tag = "ble", s.tag_mac
    extras: dict[str, Any] = dict(s.extras)
    if s.raw is not None:
        beacon = decode_advertisement(s.raw, mac=s.tag_mac)
        if isinstance(beacon, Rejected):
            return beacon.reason
        technology, tag = _identity(beacon, s.tag_mac)
        if beacon.battery_mv is not None:
            extras["battery_mv"] = beacon.battery_mv
        if beacon.temperature_c is not None:
            extras["temperature_c"] = beacon.temperature_c
    return Observation(
        technology=technology,
        tag=tag,
        receiver=s.gateway,
        rssi=s.rssi,
        observed_at=s.observed_at or now,
        received_at=now,
        extras=extras,
    )


def _identity(beacon: Beacon, mac: str) -> tuple[str, str]:
    if beacon.identity is not None and beacon.kind in _TECHNOLOGY:
        return _TECHNOLOGY[beacon.kind], beacon.identity
    # Eddystone URL/TLM frames and plain adverts: the (stable) MAC names the tag.
    return "ble", beacon.mac or mac


def handler(parse: Parser) -> Callable[[web.Request], Any]:
    async def ingest(request: web.Request) -> web.Response:
        core = request.app[CORE]
        who = request[PRINCIPAL]
        source = f"ble-http:{who.token_name or who.username}" if who else "ble-http"
        raw = await request.read()
        result = parse(raw)
        now = core.clock.now()
        rejected: collections.Counter[str] = collections.Counter(result.rejections)
        batch: list[Observation] = []
        for sighting in result.sightings:
            made = to_observation(sighting, now)
            if isinstance(made, str):
                rejected[made] += 1
            else:
                batch.append(made)
        for reason, count in rejected.items():
            core.locations.admission.reject(source, reason, count)
        if batch and not core.ingest.try_put(source, batch):
            core.locations.admission.reject(source, "queue_full", len(batch))
            return web.json_response(
                {"error": "the appliance is busy; retry this batch", "status": 503},
                status=503,
                headers={"Retry-After": "1"},
            )
        return web.json_response({"queued": len(batch), "rejected": dict(rejected)}, status=202)

    return ingest
