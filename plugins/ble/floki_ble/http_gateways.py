"""BLE gateways that post over HTTP: the JSON-batch and Ingics dialects.

A gateway posts to ``/api/v1/ble/ingest/json`` or ``/api/v1/ble/ingest/ingics`` with
a device token. Each advertisement is read by :func:`floki_ble.adverts.read_advert`:
a beacon frame gives the tag's identity (iBeacon, Eddystone UID, AltBeacon), an
Eddystone TLM frame (the battery) belongs to the identity its address announced,
otherwise the MAC names the tag; a rotating private address without a beacon frame is
refused, since it names no tag for long. An entry without the advert but with beacon
fields the gateway decoded itself (Minew's ``ibeaconUuid``...) is named by those; with
both, they must agree.
"""

from __future__ import annotations

import collections
import datetime as dt
from collections.abc import Callable
from typing import Any

from aiohttp import web

from floki_ble.adverts import BATTERY_MV, TEMPERATURE_C, TagIdentities, read_advert
from floki_ble.decoders import Rejected, parse_ad_structures
from floki_ble.dialects import DialectResult, GatewaySighting
from floki_ble.technologies import BLE
from floki_core.sdk import Clock, Decoded, Extra, Observation, accept_upload, upload_source

Parser = Callable[[bytes], DialectResult]


def to_observation(
    s: GatewaySighting, now: dt.datetime, identities: TagIdentities | None = None
) -> Observation | str:
    """The core's observation for one sighting, or the reason it names no tag.

    ``identities`` ties a tag's Eddystone TLM frames (its battery) to the identity its
    other frames from the same address announced.
    """
    technology, tag = BLE, s.tag_mac
    extras: dict[str, Extra] = dict(s.extras)
    if s.raw is not None:
        structures = parse_ad_structures(s.raw)
        if isinstance(structures, Rejected):
            return structures.reason
        heard = read_advert(structures, mac=s.tag_mac, identities=identities, stated=s.stated)
        if isinstance(heard, Rejected):
            return heard.reason
        technology, tag = heard.technology, heard.tag
        extras.update(heard.extras)
    elif s.stated is not None:
        # The gateway decoded the advert itself: its fields name the tag.
        technology, tag = s.stated
        if identities is not None:
            identities.learn(s.tag_mac, s.stated)
    elif identities is not None and (BATTERY_MV in extras or TEMPERATURE_C in extras):
        # Readings without an identity (a TLM frame sent as fields): the tag whose
        # identity its address announced, as for a raw TLM frame.
        known = identities.get(s.tag_mac)
        if known is not None:
            technology, tag = known
    return Observation(
        technology=technology,
        tag=tag,
        receiver=s.gateway,
        rssi=s.rssi,
        observed_at=s.observed_at or now,
        received_at=now,
        extras=extras,
    )


def handler(parse: Parser, clock: Clock) -> Callable[[web.Request], Any]:
    """The route for one dialect: the upload taken as the core's own ingest takes one
    (limits, counters, answers), decoded by ``parse``."""
    identities = TagIdentities()

    async def ingest(request: web.Request) -> web.Response:
        now = clock.now()

        def decode(raw: bytes) -> Decoded:
            result = parse(raw)
            rejected: collections.Counter[str] = collections.Counter(result.rejections)
            batch: list[Observation] = []
            for sighting in result.sightings:
                made = to_observation(sighting, now, identities)
                if isinstance(made, str):
                    rejected[made] += 1
                else:
                    batch.append(made)
            return Decoded(batch, rejected)

        return await accept_upload(request, upload_source(request, "ble-http"), decode)

    return ingest
