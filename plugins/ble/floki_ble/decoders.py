"""Pure decoders of BLE advertising data: iBeacon, AltBeacon, Eddystone and plain MACs.

Bytes in, typed records out. Nothing here raises on malformed input: every failure
is a ``Rejected`` carrying a short reason, so sources count rejections by reason
instead of losing a batch to one bad advert.
"""

from __future__ import annotations

import struct
from typing import Literal

import msgspec

BeaconKind = Literal["ibeacon", "altbeacon", "eddystone", "mac"]
EddystoneFrame = Literal["uid", "url", "tlm"]

AD_MANUFACTURER_DATA = 0xFF
AD_SERVICE_DATA_16 = 0x16
APPLE_COMPANY_ID = 0x004C
EDDYSTONE_UUID = b"\xaa\xfe"  # 0xFEAA, little-endian on the air
ALTBEACON_CODE = b"\xbe\xac"

_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")
_HEX_SEPARATORS = str.maketrans("", "", " :-.\t\r\n")

_URL_SCHEMES = ("http://www.", "https://www.", "http://", "https://")
_URL_EXPANSIONS = (
    ".com/",
    ".org/",
    ".edu/",
    ".net/",
    ".info/",
    ".biz/",
    ".gov/",
    ".com",
    ".org",
    ".edu",
    ".net",
    ".info",
    ".biz",
    ".gov",
)


class Rejected(msgspec.Struct, frozen=True):
    """Input that was refused; ``reason`` is a short, countable slug."""

    reason: str


class AdStructure(msgspec.Struct, frozen=True):
    """One ``[length][type][payload]`` element of advertising data."""

    ad_type: int
    payload: bytes


class Beacon(msgspec.Struct, frozen=True, kw_only=True):
    """What one advertisement says about the tag that sent it.

    ``identity`` is what a tag is bound by. Eddystone URL and TLM frames carry no
    identity of their own (``None``); their ``mac`` lets a source tie them to the UID
    frames the same tag interleaves.
    """

    kind: BeaconKind
    identity: str | None
    mac: str | None = None  # normalised "AA:BB:CC:DD:EE:FF"
    rotating: bool = False  # a random private address: never an identity on its own
    frame: EddystoneFrame | None = None
    company_id: int | None = None  # AltBeacon's manufacturer
    measured_power: int | None = None  # dBm at 1 m (iBeacon, AltBeacon)
    tx_power: int | None = None  # dBm at 0 m (Eddystone)
    url: str | None = None
    battery_mv: int | None = None
    temperature_c: float | None = None
    adv_count: int | None = None
    uptime_s: float | None = None


# ---------------------------------------------------------------- helpers


def decode_hex(text: str) -> bytes | Rejected:
    """Bytes from a gateway's hex string; separators and a ``0x`` prefix are allowed."""
    compact = text.translate(_HEX_SEPARATORS)
    if compact[:2] in ("0x", "0X"):
        compact = compact[2:]
    if len(compact) % 2 or not _HEX_DIGITS.issuperset(compact):
        return Rejected("bad_hex")
    return bytes.fromhex(compact)


def normalise_mac(text: str) -> str | None:
    """``"AA:BB:CC:DD:EE:FF"`` from the spellings gateways use, or None if it is not a MAC."""
    compact = text.translate(_HEX_SEPARATORS)
    if len(compact) != 12 or not _HEX_DIGITS.issuperset(compact):
        return None
    compact = compact.upper()
    return ":".join(compact[i : i + 2] for i in range(0, 12, 2))


def is_rotating(mac: str, address_type: str | None) -> bool:
    """Whether a MAC is a random private address (resolvable or not).

    Only random addresses rotate; their top two bits say which kind. Static random
    addresses (0b11) hold until a power cycle, so they are as good as public ones.
    The reserved pattern (0b10) is treated as rotating: nothing promises it is stable.
    Text that is not a MAC is not a rotating address either.
    """
    address = normalise_mac(mac)
    if address_type != "random" or address is None:
        return False
    return int(address[:2], 16) >> 6 != 0b11


# ---------------------------------------------------------------- AD structures


def parse_ad_structures(data: bytes) -> list[AdStructure] | Rejected:
    """Split advertising data into its AD structures."""
    structures: list[AdStructure] = []
    i, end = 0, len(data)
    while i < end:
        length = data[i]
        if length == 0:
            # Legacy adverts are often zero-padded to 31 bytes; that padding ends the data.
            if not any(data[i:]):
                break
            return Rejected("ad_zero_length")
        if i + 1 + length > end:
            return Rejected("ad_length_past_end")
        structures.append(AdStructure(data[i + 1], bytes(data[i + 2 : i + 1 + length])))
        i += 1 + length
    return structures


# ---------------------------------------------------------------- beacon frames


def _manufacturer_frame(payload: bytes) -> Beacon | Rejected | None:
    """iBeacon or AltBeacon from manufacturer data; None for other vendors' data."""
    if len(payload) < 2:
        return Rejected("manufacturer_data_too_short")
    company = payload[0] | payload[1] << 8
    if company == APPLE_COMPANY_ID and payload[2:3] == b"\x02":
        return _ibeacon(payload)
    if payload[2:4] == ALTBEACON_CODE:
        return _altbeacon(payload, company)
    return None


def _ibeacon(payload: bytes) -> Beacon | Rejected:
    # 4C 00 | 02 15 | UUID(16) | major(2) | minor(2) | power(1)
    if len(payload) < 25:
        return Rejected("ibeacon_truncated")
    if payload[3] != 0x15:
        return Rejected("ibeacon_bad_length")
    u = payload[4:20].hex().upper()
    major, minor, power = struct.unpack_from(">HHb", payload, 20)
    uuid = f"{u[:8]}-{u[8:12]}-{u[12:16]}-{u[16:20]}-{u[20:]}"
    return Beacon(kind="ibeacon", identity=f"{uuid}:{major}:{minor}", measured_power=power)


def _altbeacon(payload: bytes, company: int) -> Beacon | Rejected:
    # company(2) | BE AC | beacon id(20) | reference RSSI(1) | mfg reserved(1)
    if len(payload) < 26:
        return Rejected("altbeacon_truncated")
    (power,) = struct.unpack_from(">b", payload, 24)
    return Beacon(
        kind="altbeacon",
        identity=payload[4:24].hex().upper(),
        company_id=company,
        measured_power=power,
    )


def _eddystone(frame: bytes) -> Beacon | Rejected:
    """One Eddystone frame: the service data after the ``AA FE`` UUID."""
    if not frame:
        return Rejected("eddystone_truncated")
    frame_type = frame[0]
    if frame_type == 0x00:
        return _eddystone_uid(frame)
    if frame_type == 0x10:
        return _eddystone_url(frame)
    if frame_type == 0x20:
        return _eddystone_tlm(frame)
    if frame_type == 0x30:
        return Rejected("eddystone_eid_unsupported")
    return Rejected("eddystone_unknown_frame")


def _eddystone_uid(frame: bytes) -> Beacon | Rejected:
    # 00 | tx power(1) | namespace(10) | instance(6) | RFU(2, often left off)
    if len(frame) < 18:
        return Rejected("eddystone_truncated")
    (tx_power,) = struct.unpack_from(">b", frame, 1)
    identity = f"{frame[2:12].hex().upper()}:{frame[12:18].hex().upper()}"
    return Beacon(kind="eddystone", identity=identity, frame="uid", tx_power=tx_power)


def _eddystone_url(frame: bytes) -> Beacon | Rejected:
    # 10 | tx power(1) | scheme(1) | encoded URL
    if len(frame) < 3:
        return Rejected("eddystone_truncated")
    (tx_power,) = struct.unpack_from(">b", frame, 1)
    if frame[2] >= len(_URL_SCHEMES):
        return Rejected("eddystone_bad_url_scheme")
    parts = [_URL_SCHEMES[frame[2]]]
    for byte in frame[3:]:
        if byte < len(_URL_EXPANSIONS):
            parts.append(_URL_EXPANSIONS[byte])
        elif 0x21 <= byte <= 0x7E:
            parts.append(chr(byte))
        else:
            return Rejected("eddystone_bad_url")
    return Beacon(
        kind="eddystone", identity=None, frame="url", tx_power=tx_power, url="".join(parts)
    )


def _eddystone_tlm(frame: bytes) -> Beacon | Rejected:
    # 20 | version | battery mV(2) | temperature 8.8(2) | adv count(4) | 0.1 s since boot(4)
    if len(frame) < 2:
        return Rejected("eddystone_truncated")
    if frame[1] != 0x00:
        return Rejected("eddystone_tlm_encrypted")
    if len(frame) < 14:
        return Rejected("eddystone_truncated")
    battery, raw_temp, adv_count, deciseconds = struct.unpack_from(">HhII", frame, 2)
    return Beacon(
        kind="eddystone",
        identity=None,
        frame="tlm",
        battery_mv=battery or None,  # the spec zeroes it on mains-powered beacons
        temperature_c=None if raw_temp == -0x8000 else raw_temp / 256,
        adv_count=adv_count,
        uptime_s=deciseconds / 10,
    )


def _beacon_frame(structures: list[AdStructure]) -> Beacon | Rejected | None:
    """The first beacon frame in the advert, a rejection if one is malformed, else None."""
    for ad in structures:
        found: Beacon | Rejected | None = None
        if ad.ad_type == AD_MANUFACTURER_DATA:
            found = _manufacturer_frame(ad.payload)
        elif ad.ad_type == AD_SERVICE_DATA_16:
            if len(ad.payload) < 2:
                return Rejected("service_data_too_short")
            if ad.payload[:2] == EDDYSTONE_UUID:
                found = _eddystone(ad.payload[2:])
        if found is not None:
            return found
    return None


# ---------------------------------------------------------------- advertisement


def decode_advertisement(
    data: bytes, mac: str | None = None, address_type: str | None = None
) -> Beacon | Rejected:
    """Decode one advertisement heard from ``mac`` (``address_type`` "public"/"random").

    A beacon frame's identity wins over the MAC. Without one, a stable MAC is the
    identity; a rotating one is not, and the advert is rejected.
    """
    structures = parse_ad_structures(data)
    if isinstance(structures, Rejected):
        return structures
    frames = decode_frames(structures, mac, address_type)
    return frames if isinstance(frames, Rejected) else frames[0]


def decode_frames(
    structures: list[AdStructure], mac: str | None = None, address_type: str | None = None
) -> list[Beacon] | Rejected:
    """Every beacon frame in an advertisement's AD structures, in order.

    A tag may send several at once (an iBeacon and an Eddystone TLM, or a scanner that
    merges what one address sent). A malformed frame rejects the advert unless a good
    one came before it. Without any frame, the MAC is the tag, as for
    :func:`decode_advertisement`.
    """
    if address_type not in (None, "public", "random"):
        return Rejected("bad_address_type")
    address: str | None = None
    rotating = False
    if mac is not None:
        address = normalise_mac(mac)
        if address is None:
            return Rejected("bad_mac")
        rotating = is_rotating(address, address_type)
    frames: list[Beacon] = []
    for ad in structures:
        found = _beacon_frame([ad])
        if isinstance(found, Rejected):
            if not frames:
                return found
            break
        if found is not None:
            frames.append(msgspec.structs.replace(found, mac=address, rotating=rotating))
    if frames:
        return frames
    if address is None:
        return Rejected("no_identity")
    if rotating:
        return Rejected("rotating_address_without_identity")
    return [Beacon(kind="mac", identity=address, mac=address)]
