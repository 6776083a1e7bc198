"""From one advertisement to what the core needs: which tag sent it and what it said.

Every BLE input that sees raw advertising data (the HTTP gateways, the appliance's own
radio) goes through :func:`read_advert`, so a tag is named the same way whichever
receiver heard it:

* a beacon frame's identity (iBeacon, Eddystone UID, AltBeacon) names the tag;
* an Eddystone TLM or URL frame has no identity of its own: it is the tag whose
  identity frames came from the same address, when one did; otherwise its address;
* a plain advert (no beacon frame) is named by its address, unless that address is a
  rotating private one, which names no tag for long and is refused.

Battery and temperature readings travel as observation extras: ``battery_mv`` (and
``battery_pct`` where a tag reports a percentage), ``temperature_c``.
"""

from __future__ import annotations

import collections
from typing import NamedTuple

from floki_ble.decoders import AdStructure, Rejected, decode_frames
from floki_ble.technologies import BEACONS, BLE
from floki_core.sdk import Extra

# The core's extras keys for a battery reading (floki_core.location.batteries).
BATTERY_MV = "battery_mv"
BATTERY_PCT = "battery_pct"
TEMPERATURE_C = "temperature_c"

MAX_ADDRESSES = 50_000  # addresses whose identity is remembered; the oldest make room


class HeardTag(NamedTuple):
    """The core's technology and tag value for one advert, and what it reported."""

    technology: str
    tag: str
    extras: dict[str, Extra]


class TagIdentities:
    """The beacon identity each address announced last, for its identity-less frames.

    Beacons interleave frames: an Eddystone tag sends UID, then TLM (its battery), from
    the same address. Rotating addresses change every few minutes, and entries for them
    simply age out.
    """

    def __init__(self, limit: int = MAX_ADDRESSES) -> None:
        self.limit = limit
        self._by_address: collections.OrderedDict[str, tuple[str, str]] = collections.OrderedDict()

    def learn(self, address: str, identity: tuple[str, str]) -> None:
        known = self._by_address.get(address)
        if known == identity:
            self._by_address.move_to_end(address)
            return
        if known is None and len(self._by_address) >= self.limit:
            self._by_address.popitem(last=False)
        self._by_address[address] = identity
        self._by_address.move_to_end(address)

    def get(self, address: str) -> tuple[str, str] | None:
        return self._by_address.get(address)

    def __len__(self) -> int:
        return len(self._by_address)


def read_advert(
    structures: list[AdStructure],
    *,
    mac: str | None = None,
    address_type: str | None = None,
    identities: TagIdentities | None = None,
    stated: tuple[str, str] | None = None,
) -> HeardTag | Rejected:
    """The tag an advertisement names and its readings, or why it names none.

    ``stated``: the identity the gateway decoded itself and sent beside the advert; the
    advert's own identity frame must agree with it, and an advert without one (a TLM
    frame) is that tag's.
    """
    frames = decode_frames(structures, mac, address_type)
    if isinstance(frames, Rejected):
        return frames
    extras: dict[str, Extra] = {}
    identity: tuple[str, str] | None = None
    for frame in frames:
        if identity is None and frame.identity is not None and frame.kind in BEACONS:
            identity = (frame.kind, frame.identity)
        if frame.battery_mv is not None:
            extras[BATTERY_MV] = frame.battery_mv
        if frame.temperature_c is not None:
            extras[TEMPERATURE_C] = frame.temperature_c
    if stated is not None:
        if identity is not None and identity != stated:
            return Rejected("beacon_fields_disagree")
        identity = stated
    first = frames[0]
    address = first.mac
    if identity is not None:
        if identities is not None and address is not None:
            identities.learn(address, identity)
        return HeardTag(identity[0], identity[1], extras)
    if first.kind == "mac":
        # No beacon frame at all: decode_frames has already refused a rotating address.
        return HeardTag(BLE, first.identity or "", extras)
    # Eddystone TLM/URL frames only.
    known = identities.get(address) if identities is not None and address else None
    if known is not None:
        return HeardTag(known[0], known[1], extras)
    if address is None:
        return Rejected("no_identity")
    if first.rotating:
        return Rejected("rotating_address_without_identity")
    return HeardTag(BLE, address, extras)
