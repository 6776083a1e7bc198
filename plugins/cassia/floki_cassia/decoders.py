# Decoding of Cassia scan events: pure, text in, a sighting or a reason out.
#
# The format is Cassia Networks' public RESTful API ("Scan Bluetooth Devices"):
#   https://github.com/CassiaNetworks/CassiaSDKGuide/wiki/RESTful-API#scan-bluetooth-devices
# and the examples shipped with it, e.g. node_examples/acScan.js and python_examples/acScan.py
# in https://github.com/CassiaNetworks/CassiaSDKGuide, whose documented event is
#   data: {"bdaddrs":[{"bdaddr":"ED:47:B0:D3:A9:C8","bdaddrType":"public"}],
#          "scanData":"0C09536C656570616365205A32","name":"Sleepace Z2","rssi":-37,"evt_type":4}
# Each `data:` line of the Server-Sent Events stream `GET /gap/nodes?event=1` is one JSON
# object: the advertiser's address and address type in `bdaddrs`, the advertising data in
# `adData` and the scan response in `scanData` (both hex), `rssi`, `name`, and the advert
# type as `evtType` (the gateway's own MicroAPP SDK reads that name) or `evt_type` (the
# examples above print that one).
#
# Advertising data is a run of AD structures (length, type, data), Bluetooth Core
# Specification Vol 3 Part C §11; the beacon frames are Apple iBeacon (manufacturer data
# 0x004C, 0x02 0x15), AltBeacon (https://github.com/AltBeacon/spec, beacon code 0xBEAC) and
# Eddystone-UID (https://github.com/google/eddystone/tree/master/eddystone-uid, service
# data of UUID 0xFEAA, frame 0x00).

from __future__ import annotations

import json
from dataclasses import dataclass, field

from floki_core.sdk import spell_altbeacon, spell_eddystone, spell_ibeacon, spell_mac

AD_MANUFACTURER = 0xFF
AD_SERVICE_DATA_16 = 0x16
APPLE = b"\x4c\x00"
IBEACON_PREFIX = b"\x02\x15"
ALTBEACON_CODE = b"\xbe\xac"
EDDYSTONE_UUID = b"\xaa\xfe"
EDDYSTONE_UID_FRAME = 0x00
MAX_EVENT_CHARS = 4096  # a scan event is a few hundred characters; more is not one


@dataclass(frozen=True)
class Heard:
    """One advertiser heard by the gateway: the tag identity Floki binds assets by."""

    technology: str  # ibeacon, eddystone, altbeacon or ble (the advertiser's MAC)
    tag: str
    rssi: float
    extras: dict[str, str | int | float | bool | None] = field(default_factory=dict)


@dataclass(frozen=True)
class Refused:
    """An event that names no tag; ``reason`` is counted against the source."""

    reason: str
    detail: str = ""


def decode_event(data: str | bytes) -> Heard | Refused:
    """The tag a scan event's ``data`` names, or why it names none. Never raises."""
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError:
            return Refused("bad_json", "not UTF-8")
    if len(data) > MAX_EVENT_CHARS:
        return Refused("bad_json", f"{len(data)} characters")
    try:
        event = json.loads(data)
    except (ValueError, RecursionError) as exc:
        return Refused("bad_json", str(exc)[:80])
    if not isinstance(event, dict):
        return Refused("not_an_object", type(event).__name__)
    address = _address(event.get("bdaddrs"))
    if isinstance(address, Refused):
        return address
    mac, address_type = address
    rssi = event.get("rssi")
    if isinstance(rssi, bool) or not isinstance(rssi, int | float) or not -150 <= rssi <= 50:
        return Refused("bad_rssi", repr(rssi)[:40])
    adverts = []
    for key in ("adData", "scanData"):
        text = event.get(key)
        if text in (None, ""):
            continue
        if not isinstance(text, str):
            return Refused("bad_advert_hex", f"{key} is {type(text).__name__}")
        try:
            adverts.append(bytes.fromhex(text))
        except ValueError:
            return Refused("bad_advert_hex", f"{key} {text[:40]!r}")
    extras: dict[str, str | int | float | bool | None] = {"mac": mac}
    name = event.get("name")
    if isinstance(name, str) and name:
        extras["name"] = name[:64]
    evt_type = event.get("evtType", event.get("evt_type"))
    if isinstance(evt_type, int) and not isinstance(evt_type, bool):
        extras["evt_type"] = evt_type
    for advert in adverts:
        identity = beacon_identity(advert)
        if identity is not None:
            return Heard(identity[0], identity[1], float(rssi), extras)
    if address_type == "public" or _static_random(mac):
        return Heard("ble", mac, float(rssi), extras)
    return Refused("rotating_address_without_identity", mac)


def _address(bdaddrs: object) -> tuple[str, str] | Refused:
    if not isinstance(bdaddrs, list) or not bdaddrs or not isinstance(bdaddrs[0], dict):
        return Refused("missing_address", repr(bdaddrs)[:40])
    first = bdaddrs[0]
    raw = first.get("bdaddr")
    mac = spell_mac(raw) if isinstance(raw, str) else None
    if mac is None:
        return Refused("bad_address", repr(raw)[:40])
    kind = first.get("bdaddrType", "public")
    if kind not in ("public", "random"):
        return Refused("bad_address", f"bdaddrType {kind!r}"[:60])
    return mac, str(kind)


def _static_random(mac: str) -> bool:
    """A random static address (two top bits set) lasts until the tag's power cycle; a
    resolvable or non-resolvable private one changes every few minutes."""
    return int(mac[:2], 16) >> 6 == 0b11


def ad_structures(advert: bytes) -> list[tuple[int, bytes]]:
    """(AD type, data) for each well-formed structure; parsing stops at a bad length."""
    out = []
    at = 0
    while at < len(advert):
        length = advert[at]
        if length == 0:
            break  # the rest is padding
        if at + 1 + length > len(advert):
            break
        out.append((advert[at + 1], advert[at + 2 : at + 1 + length]))
        at += 1 + length
    return out


def beacon_identity(advert: bytes) -> tuple[str, str] | None:
    """(technology, tag) of the first beacon frame in ``advert``, spelled as Floki
    stores it, or None when it carries none."""
    for kind, data in ad_structures(advert):
        if kind == AD_MANUFACTURER and len(data) >= 25:
            if data[:2] == APPLE and data[2:4] == IBEACON_PREFIX:
                uuid = data[4:20].hex()
                major = int.from_bytes(data[20:22], "big")
                minor = int.from_bytes(data[22:24], "big")
                tag = spell_ibeacon(f"{uuid}:{major}:{minor}")
                if tag is not None:
                    return "ibeacon", tag
            if data[2:4] == ALTBEACON_CODE and len(data) >= 26:
                tag = spell_altbeacon(data[4:24].hex())
                if tag is not None:
                    return "altbeacon", tag
        if (
            kind == AD_SERVICE_DATA_16
            and data[:2] == EDDYSTONE_UUID
            and len(data) >= 20
            and data[2] == EDDYSTONE_UID_FRAME
        ):
            tag = spell_eddystone(f"{data[4:14].hex()}:{data[14:20].hex()}")
            if tag is not None:
                return "eddystone", tag
    return None
