"""Golden frames for the advertisement decoders, built byte by byte from the published specs.

Apple's Proximity Beacon Specification (iBeacon), the AltBeacon specification and
Google's Eddystone protocol specification (UID, URL, TLM). Each frame is written as
the AD structures a radio receives: ``[length][type][payload]``.
"""

from __future__ import annotations

from typing import Any

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from floki_ble.decoders import (
    AdStructure,
    Beacon,
    Rejected,
    decode_advertisement,
    decode_hex,
    is_rotating,
    normalise_mac,
    parse_ad_structures,
)

FLAGS = "02 01 06"  # LE General Discoverable, BR/EDR not supported
EDDYSTONE_UUIDS = "03 03 AA FE"  # complete list of 16-bit service UUIDs: 0xFEAA
NAME = "05 09 46 4C 4B 31"  # complete local name "FLK1"

KONTAKT_UUID = "F7826DA6-4FA2-4E98-8024-BC5B71E0893E"
# 1A FF | 4C 00 (Apple) | 02 (iBeacon) 15 (21 bytes follow) | UUID | major 100 | minor 7 | -59
IBEACON = "1A FF 4C 00 02 15 F7826DA6 4FA2 4E98 8024 BC5B71E0893E 0064 0007 C5"
# Apple's AirLocate UUID, major and minor at their maximum, measured power at its minimum.
IBEACON_EXTREMES = "1A FF 4C 00 02 15 E2C56DB5 DFFB 48D2 B060 D0F5A71096E0 FFFF FFFF 80"
# 1B FF | 18 01 (company 0x0118, LE) | BE AC | id1 (16) id2 (2) id3 (2) | -59 | reserved
ALTBEACON = "1B FF 18 01 BE AC 2F234454CF6D4A0FADF2F4911BA9FFA6 0001 0002 C5 00"
# AltBeacon may be sent under any company id, Apple's included.
ALTBEACON_APPLE_ID = "1B FF 4C 00 BE AC 00112233445566778899AABBCCDDEEFF 0A0B 0C0D BA 00"
EDDY_NAMESPACE = "EDD1EBEAC04E5DEFA017"
EDDY_INSTANCE = "0BDB87539B67"
# 15 16 | AA FE | 00 (UID) | -25 dBm at 0 m | namespace (10) | instance (6) | RFU (2)
EDDY_UID = f"17 16 AA FE 00 E7 {EDDY_NAMESPACE} {EDDY_INSTANCE} 0000"
EDDY_UID_NO_RFU = f"15 16 AA FE 00 E7 {EDDY_NAMESPACE} {EDDY_INSTANCE}"
# 11 16 | AA FE | 20 (TLM) 00 (unencrypted) | 3000 mV | 23.5 C | 10000 adverts | 3600 x 0.1 s
EDDY_TLM = "11 16 AA FE 20 00 0BB8 1780 00002710 00000E10"

PUBLIC_MAC = "AC:23:3F:A0:12:34"
STATIC_RANDOM = "C1:02:03:04:05:06"  # top bits 0b11
RESOLVABLE = "4A:11:22:33:44:55"  # top bits 0b01
NON_RESOLVABLE = "1A:11:22:33:44:55"  # top bits 0b00
RESERVED_RANDOM = "8A:11:22:33:44:55"  # top bits 0b10


def _frame(*parts: str) -> str:
    return " ".join(parts)


def _padded(*parts: str) -> str:
    """A legacy advert zero-padded to its full 31 bytes."""
    data = bytes.fromhex(_frame(*parts))
    return (data + bytes(31 - len(data))).hex()


def _with(beacon: Beacon, **changes: Any) -> Beacon:
    return msgspec.structs.replace(beacon, **changes)


def _url(url: str, tx_power: int = -21) -> Beacon:
    return Beacon(kind="eddystone", identity=None, frame="url", tx_power=tx_power, url=url)


KONTAKT = Beacon(kind="ibeacon", identity=f"{KONTAKT_UUID}:100:7", measured_power=-59)
RADIUS = Beacon(
    kind="altbeacon",
    identity="2F234454CF6D4A0FADF2F4911BA9FFA600010002",
    company_id=0x0118,
    measured_power=-59,
)
UID = Beacon(
    kind="eddystone", identity=f"{EDDY_NAMESPACE}:{EDDY_INSTANCE}", frame="uid", tx_power=-25
)
TLM = Beacon(
    kind="eddystone",
    identity=None,
    frame="tlm",
    battery_mv=3000,
    temperature_c=23.5,
    adv_count=10000,
    uptime_s=360.0,
)

# (name, advert hex, mac, address type, expected)
ACCEPTED: list[tuple[str, str, str | None, str | None, Beacon]] = [
    # iBeacon
    ("ibeacon_bare", IBEACON, None, None, KONTAKT),
    ("ibeacon_with_flags_30_bytes", _frame(FLAGS, IBEACON), None, None, KONTAKT),
    ("ibeacon_padded_31_bytes", _padded(FLAGS, IBEACON), None, None, KONTAKT),
    (
        "ibeacon_public_mac_normalised",
        _frame(FLAGS, IBEACON),
        "ac-23-3f-a0-12-34",
        "public",
        _with(KONTAKT, mac=PUBLIC_MAC),
    ),
    (
        "ibeacon_resolvable_private_address_keeps_beacon_identity",
        _frame(FLAGS, IBEACON),
        RESOLVABLE,
        "random",
        _with(KONTAKT, mac=RESOLVABLE, rotating=True),
    ),
    (
        "ibeacon_extremes",
        _frame(FLAGS, IBEACON_EXTREMES),
        None,
        None,
        Beacon(
            kind="ibeacon",
            identity="E2C56DB5-DFFB-48D2-B060-D0F5A71096E0:65535:65535",
            measured_power=-128,
        ),
    ),
    (
        "ibeacon_after_other_vendor_data",
        _frame(FLAGS, "07 FF 59 00 01 02 03 04", IBEACON),
        None,
        None,
        KONTAKT,
    ),
    # AltBeacon
    ("altbeacon_31_bytes", _frame(FLAGS, ALTBEACON), None, None, RADIUS),
    (
        "altbeacon_apple_company_id",
        ALTBEACON_APPLE_ID,
        None,
        None,
        Beacon(
            kind="altbeacon",
            identity="00112233445566778899AABBCCDDEEFF0A0B0C0D",
            company_id=0x004C,
            measured_power=-70,
        ),
    ),
    (
        "altbeacon_static_random_address",
        ALTBEACON,
        STATIC_RANDOM,
        "random",
        _with(RADIUS, mac=STATIC_RANDOM),
    ),
    # Eddystone UID
    ("eddystone_uid", _frame(FLAGS, EDDYSTONE_UUIDS, EDDY_UID), None, None, UID),
    ("eddystone_uid_padded", _padded(FLAGS, EDDYSTONE_UUIDS, EDDY_UID), None, None, UID),
    ("eddystone_uid_without_rfu", _frame(FLAGS, EDDYSTONE_UUIDS, EDDY_UID_NO_RFU), None, None, UID),
    (
        "eddystone_uid_non_resolvable_address",
        _frame(FLAGS, EDDYSTONE_UUIDS, EDDY_UID),
        NON_RESOLVABLE,
        "random",
        _with(UID, mac=NON_RESOLVABLE, rotating=True),
    ),
    # Eddystone URL: scheme byte, then ASCII with expansion codes
    (
        "eddystone_url_https_short_link",
        # 10 | -21 dBm | 03 "https://" | "goo.gl/S6zT6P"
        _frame(FLAGS, EDDYSTONE_UUIDS, "13 16 AA FE 10 EB 03 676F6F2E676C2F53367A543650"),
        None,
        None,
        _url("https://goo.gl/S6zT6P"),
    ),
    (
        "eddystone_url_http_www_com_slash",
        # 00 "http://www." | "example" | 00 ".com/"
        _frame(EDDYSTONE_UUIDS, "0E 16 AA FE 10 EB 00 6578616D706C65 00"),
        None,
        None,
        _url("http://www.example.com/"),
    ),
    (
        "eddystone_url_expansion_mid_path",
        # 01 "https://www." | "nhs" | 01 ".org/" | "kit"
        _frame(EDDYSTONE_UUIDS, "0D 16 AA FE 10 00 01 6E6873 01 6B6974"),
        None,
        None,
        _url("https://www.nhs.org/kit", tx_power=0),
    ),
    (
        "eddystone_url_scheme_only",
        "06 16 AA FE 10 EB 02",
        None,
        None,
        _url("http://"),
    ),
    # Eddystone TLM: telemetry, tied to its tag by the MAC it shares with the UID frames
    ("eddystone_tlm", _frame(FLAGS, EDDYSTONE_UUIDS, EDDY_TLM), None, None, TLM),
    (
        "eddystone_tlm_with_mac_padded",
        _padded(FLAGS, EDDYSTONE_UUIDS, EDDY_TLM),
        PUBLIC_MAC,
        "public",
        _with(TLM, mac=PUBLIC_MAC),
    ),
    (
        "eddystone_tlm_below_freezing",
        # FF80 is -0.5 in signed 8.8 fixed point
        _frame(EDDYSTONE_UUIDS, "11 16 AA FE 20 00 0A8C FF80 00000001 00000001"),
        None,
        None,
        _with(TLM, battery_mv=2700, temperature_c=-0.5, adv_count=1, uptime_s=0.1),
    ),
    (
        "eddystone_tlm_mains_powered_no_sensor",
        # battery 0 and temperature 8000 both mean "not supported"
        _frame(EDDYSTONE_UUIDS, "11 16 AA FE 20 00 0000 8000 FFFFFFFF FFFFFFFF"),
        None,
        None,
        _with(
            TLM,
            battery_mv=None,
            temperature_c=None,
            adv_count=0xFFFFFFFF,
            uptime_s=0xFFFFFFFF / 10,
        ),
    ),
    # Plain MACs: tags without a beacon frame
    (
        "mac_flags_only",
        FLAGS,
        PUBLIC_MAC,
        "public",
        Beacon(kind="mac", identity=PUBLIC_MAC, mac=PUBLIC_MAC),
    ),
    (
        "mac_address_type_unknown",
        _frame(FLAGS, NAME),
        "ac233fa01234",
        None,
        Beacon(kind="mac", identity=PUBLIC_MAC, mac=PUBLIC_MAC),
    ),
    (
        "mac_empty_advert",
        "",
        PUBLIC_MAC,
        None,
        Beacon(kind="mac", identity=PUBLIC_MAC, mac=PUBLIC_MAC),
    ),
    (
        "mac_all_padding",
        "00" * 31,
        PUBLIC_MAC,
        None,
        Beacon(kind="mac", identity=PUBLIC_MAC, mac=PUBLIC_MAC),
    ),
    (
        "mac_static_random",
        FLAGS,
        STATIC_RANDOM,
        "random",
        Beacon(kind="mac", identity=STATIC_RANDOM, mac=STATIC_RANDOM),
    ),
    (
        "mac_apple_nearby_info_is_not_ibeacon",
        # Apple type 0x10 (Nearby Info) shares the company id but is no beacon frame
        _frame(FLAGS, "07 FF 4C 00 10 02 0B 00"),
        PUBLIC_MAC,
        "public",
        Beacon(kind="mac", identity=PUBLIC_MAC, mac=PUBLIC_MAC),
    ),
    (
        "mac_other_service_data",
        # 0xFE9A service data belongs to another vendor
        _frame(FLAGS, "05 16 9A FE 01 02"),
        PUBLIC_MAC,
        "public",
        Beacon(kind="mac", identity=PUBLIC_MAC, mac=PUBLIC_MAC),
    ),
]

# (name, advert hex, mac, address type, reason)
REJECTED: list[tuple[str, str, str | None, str | None, str]] = [
    # AD structure framing
    ("zero_length_mid_advert", _frame(FLAGS, "00", IBEACON), None, None, "ad_zero_length"),
    ("zero_length_then_garbage", "00 00 01", PUBLIC_MAC, None, "ad_zero_length"),
    ("length_past_end", _frame(FLAGS, "1B", IBEACON[3:]), None, None, "ad_length_past_end"),
    ("length_past_end_name", _frame(FLAGS, "05 09 46"), PUBLIC_MAC, None, "ad_length_past_end"),
    ("length_byte_alone", _frame(FLAGS, "02"), PUBLIC_MAC, None, "ad_length_past_end"),
    # Manufacturer data
    ("manufacturer_empty", "01 FF", PUBLIC_MAC, None, "manufacturer_data_too_short"),
    ("manufacturer_one_byte", "02 FF 4C", PUBLIC_MAC, None, "manufacturer_data_too_short"),
    # iBeacon
    ("ibeacon_header_only", "04 FF 4C 00 02", None, None, "ibeacon_truncated"),
    (
        "ibeacon_uuid_cut",
        _frame(FLAGS, "0F FF 4C 00 02 15 F7826DA6 4FA2 4E98 8024"),
        None,
        None,
        "ibeacon_truncated",
    ),
    (
        "ibeacon_measured_power_missing",
        "19 FF 4C 00 02 15 F7826DA6 4FA2 4E98 8024 BC5B71E0893E 0064 0007",
        None,
        None,
        "ibeacon_truncated",
    ),
    (
        "ibeacon_wrong_length_byte",
        "1A FF 4C 00 02 14 F7826DA6 4FA2 4E98 8024 BC5B71E0893E 0064 0007 C5",
        None,
        None,
        "ibeacon_bad_length",
    ),
    # AltBeacon
    ("altbeacon_code_only", "05 FF 18 01 BE AC", None, None, "altbeacon_truncated"),
    (
        "altbeacon_reserved_byte_missing",
        "1A FF 18 01 BE AC 2F234454CF6D4A0FADF2F4911BA9FFA6 0001 0002 C5",
        None,
        None,
        "altbeacon_truncated",
    ),
    (
        "altbeacon_id_cut",
        "10 FF 18 01 BE AC 2F234454CF6D4A0FADF2F4",
        None,
        None,
        "altbeacon_truncated",
    ),
    # Service data and Eddystone
    ("service_data_one_byte", "02 16 AA", PUBLIC_MAC, None, "service_data_too_short"),
    ("eddystone_no_frame_type", "03 16 AA FE", PUBLIC_MAC, None, "eddystone_truncated"),
    (
        "eddystone_uid_instance_cut",
        f"12 16 AA FE 00 E7 {EDDY_NAMESPACE} 0BDB87",
        None,
        None,
        "eddystone_truncated",
    ),
    ("eddystone_url_no_scheme", "05 16 AA FE 10 EB", None, None, "eddystone_truncated"),
    ("eddystone_tlm_no_version", "04 16 AA FE 20", None, None, "eddystone_truncated"),
    ("eddystone_tlm_cut", "09 16 AA FE 20 00 0BB8 1780", None, None, "eddystone_truncated"),
    (
        "eddystone_tlm_encrypted",
        # ETLM: version 01, 12 bytes encrypted, 2 salt, 2 integrity check
        "15 16 AA FE 20 01 00112233445566778899AABB CCDD EEFF",
        None,
        None,
        "eddystone_tlm_encrypted",
    ),
    (
        "eddystone_eid",
        "0D 16 AA FE 30 E7 0011223344556677",
        PUBLIC_MAC,
        None,
        "eddystone_eid_unsupported",
    ),
    ("eddystone_unknown_frame", "05 16 AA FE 50 00", PUBLIC_MAC, None, "eddystone_unknown_frame"),
    (
        "eddystone_url_unknown_scheme",
        "07 16 AA FE 10 EB 04 61",
        None,
        None,
        "eddystone_bad_url_scheme",
    ),
    ("eddystone_url_space", "08 16 AA FE 10 EB 02 61 20", None, None, "eddystone_bad_url"),
    ("eddystone_url_high_byte", "07 16 AA FE 10 EB 02 C3", None, None, "eddystone_bad_url"),
    # Addresses and identity
    ("no_beacon_no_mac", FLAGS, None, None, "no_identity"),
    (
        "resolvable_private_address_only",
        FLAGS,
        RESOLVABLE,
        "random",
        "rotating_address_without_identity",
    ),
    (
        "non_resolvable_address_only",
        _frame(FLAGS, NAME),
        NON_RESOLVABLE,
        "random",
        "rotating_address_without_identity",
    ),
    (
        "reserved_random_address_only",
        FLAGS,
        RESERVED_RANDOM,
        "random",
        "rotating_address_without_identity",
    ),
    ("bad_mac", _frame(FLAGS, IBEACON), "not-a-mac", None, "bad_mac"),
    ("short_mac", FLAGS, "AC:23:3F:A0:12", None, "bad_mac"),
    ("unknown_address_type", FLAGS, PUBLIC_MAC, "static", "bad_address_type"),
]


@pytest.mark.parametrize(
    ("advert", "mac", "address_type", "expected"),
    [pytest.param(*row[1:], id=row[0]) for row in ACCEPTED],
)
def test_accepted_frames(
    advert: str, mac: str | None, address_type: str | None, expected: Beacon
) -> None:
    assert decode_advertisement(bytes.fromhex(advert), mac, address_type) == expected


@pytest.mark.parametrize(
    ("advert", "mac", "address_type", "reason"),
    [pytest.param(*row[1:], id=row[0]) for row in REJECTED],
)
def test_rejected_frames(
    advert: str, mac: str | None, address_type: str | None, reason: str
) -> None:
    assert decode_advertisement(bytes.fromhex(advert), mac, address_type) == Rejected(reason)


def test_golden_tables_have_unique_names() -> None:
    names = [row[0] for row in ACCEPTED] + [row[0] for row in REJECTED]
    assert len(names) == len(set(names))


def test_golden_lengths_cover_the_whole_frame() -> None:
    # A miscounted length byte can hide in trailing zeros; only padded frames may have any.
    for name, advert, *_ in ACCEPTED:
        if "pad" in name:
            continue
        data = bytes.fromhex(advert)
        parsed = parse_ad_structures(data)
        assert isinstance(parsed, list), name
        assert _serialise([(ad.ad_type, ad.payload) for ad in parsed]) == data, name


def test_full_frames_fit_a_legacy_advert() -> None:
    for frame in (_frame(FLAGS, IBEACON), _frame(FLAGS, ALTBEACON)):
        assert len(bytes.fromhex(frame)) <= 31
    assert len(bytes.fromhex(_frame(FLAGS, EDDYSTONE_UUIDS, EDDY_UID))) <= 31
    assert len(bytes.fromhex(_frame(FLAGS, EDDYSTONE_UUIDS, EDDY_TLM))) <= 31


EXPANSIONS = [
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
]


@pytest.mark.parametrize(("code", "text"), list(enumerate(EXPANSIONS)))
def test_eddystone_url_expansion_codes(code: int, text: str) -> None:
    advert = bytes.fromhex("07 16 AA FE 10 EB 03 61") + bytes([code])
    advert = bytes([len(advert) - 1]) + advert[1:]
    assert decode_advertisement(advert) == _url(f"https://a{text}")


@pytest.mark.parametrize(
    ("scheme", "prefix"),
    [(0, "http://www."), (1, "https://www."), (2, "http://"), (3, "https://")],
)
def test_eddystone_url_schemes(scheme: int, prefix: str) -> None:
    advert = bytes.fromhex("07 16 AA FE 10 EB") + bytes([scheme]) + b"a"
    assert decode_advertisement(advert) == _url(f"{prefix}a")


# ---------------------------------------------------------------- AD structures


def test_ad_structures_split() -> None:
    data = bytes.fromhex(_frame(FLAGS, NAME, "01 0A"))
    assert parse_ad_structures(data) == [
        AdStructure(0x01, b"\x06"),
        AdStructure(0x09, b"FLK1"),
        AdStructure(0x0A, b""),
    ]


def test_ad_structures_stop_at_padding() -> None:
    assert parse_ad_structures(bytes.fromhex(_padded(FLAGS))) == [AdStructure(0x01, b"\x06")]


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ("", []),
        ("00", []),
        (FLAGS + " 00 00 05", Rejected("ad_zero_length")),
        ("03 FF 4C", Rejected("ad_length_past_end")),
    ],
)
def test_ad_structures_edges(data: str, expected: object) -> None:
    assert parse_ad_structures(bytes.fromhex(data)) == expected


# ---------------------------------------------------------------- helpers


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("020106", b"\x02\x01\x06"),
        ("02 01 06", b"\x02\x01\x06"),
        ("02:01:06", b"\x02\x01\x06"),
        ("02-01-06", b"\x02\x01\x06"),
        ("0x020106", b"\x02\x01\x06"),
        ("aAfF", b"\xaa\xff"),
        ("", b""),
        ("0201F", Rejected("bad_hex")),
        ("zz", Rejected("bad_hex")),
        ("\u0660\u0661", Rejected("bad_hex")),  # Arabic-Indic digits are not hex
        ("0x", b""),
    ],
)
def test_decode_hex(text: str, expected: object) -> None:
    assert decode_hex(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ac233fa01234", PUBLIC_MAC),
        ("AC:23:3F:A0:12:34", PUBLIC_MAC),
        ("ac-23-3f-a0-12-34", PUBLIC_MAC),
        ("ac23.3fa0.1234", PUBLIC_MAC),
        ("ac233fa012", None),
        ("ac233fa0123g", None),
        ("", None),
    ],
)
def test_normalise_mac(text: str, expected: str | None) -> None:
    assert normalise_mac(text) == expected


@pytest.mark.parametrize(
    ("mac", "address_type", "rotating"),
    [
        (RESOLVABLE, "random", True),
        (NON_RESOLVABLE, "random", True),
        (RESERVED_RANDOM, "random", True),
        (STATIC_RANDOM, "random", False),
        (RESOLVABLE, "public", False),  # public addresses never rotate, whatever their bits
        (RESOLVABLE, None, False),
        ("4a1122334455", "random", True),
        ("not a mac", "random", False),
    ],
)
def test_is_rotating(mac: str, address_type: str | None, rotating: bool) -> None:
    assert is_rotating(mac, address_type) is rotating


# ---------------------------------------------------------------- properties

VALID_MACS = st.binary(min_size=6, max_size=6).map(lambda b: b.hex(":"))
MACS = st.none() | VALID_MACS | st.text(max_size=20)
ADDRESS_TYPES = st.sampled_from([None, "public", "random", "other"])
# Well-formed addresses only, so plausible adverts get past the address checks.
PLAUSIBLE_MACS = VALID_MACS
PLAUSIBLE_ADDRESS_TYPES = st.sampled_from(["random", "public", None])
# Prefixes that lead into each decoder, so random tails reach the deep branches.
PAYLOAD_PREFIXES = [
    b"",
    b"\x4c\x00",
    b"\x4c\x00\x02\x15",
    b"\x18\x01\xbe\xac",
    b"\xaa\xfe",
    b"\xaa\xfe\x00",
    b"\xaa\xfe\x10",
    b"\xaa\xfe\x10\xeb\x02",
    b"\xaa\xfe\x20",
    b"\xaa\xfe\x20\x00",
    b"\xaa\xfe\x30",
]
# Eddystone URL bytes: expansion codes and printable ASCII, with the odd invalid byte.
URL_BYTES = st.lists(
    st.integers(0x00, 0x0D) | st.integers(0x21, 0x7E) | st.integers(0, 255), max_size=17
).map(bytes)


@st.composite
def ad_structures(draw: st.DrawFn) -> tuple[int, bytes]:
    ad_type = draw(st.sampled_from([0x16, 0xFF, 0x16, 0xFF, 0x01, 0x09]) | st.integers(0, 255))
    prefix = draw(st.sampled_from(PAYLOAD_PREFIXES))
    # Draw the length first: short binaries dominate otherwise, and whole frames are rare.
    size = draw(st.integers(0, 30))
    tail = draw(st.binary(min_size=size, max_size=size) | URL_BYTES)
    return ad_type, (prefix + tail)[:253]


def _serialise(structures: list[tuple[int, bytes]]) -> bytes:
    return b"".join(bytes([len(p) + 1, t]) + p for t, p in structures)


def _well_formed(result: Beacon | Rejected) -> bool:
    if isinstance(result, Rejected):
        return bool(result.reason)
    # Only Eddystone URL and TLM frames lack an identity; a rotating MAC never is one.
    if result.identity is None:
        return result.kind == "eddystone" and result.frame in ("url", "tlm")
    return not (result.kind == "mac" and result.rotating)


@settings(max_examples=250)
@given(data=st.binary(max_size=64), mac=MACS, address_type=ADDRESS_TYPES)
def test_random_bytes_never_raise(data: bytes, mac: str | None, address_type: str | None) -> None:
    assert _well_formed(decode_advertisement(data, mac, address_type))
    parsed = parse_ad_structures(data)
    assert isinstance(parsed, list) or (isinstance(parsed, Rejected) and parsed.reason)


@settings(max_examples=250)
@given(
    structures=st.lists(ad_structures(), min_size=1, max_size=4),
    junk=st.binary(max_size=3),
    mac=PLAUSIBLE_MACS,
    address_type=PLAUSIBLE_ADDRESS_TYPES,
)
def test_plausible_adverts_never_raise(
    structures: list[tuple[int, bytes]], junk: bytes, mac: str | None, address_type: str | None
) -> None:
    data = _serialise(structures)
    assert _well_formed(decode_advertisement(data, mac, address_type))
    assert _well_formed(decode_advertisement(data + junk, mac, address_type))


@given(structures=st.lists(ad_structures(), max_size=6), padding=st.integers(0, 31))
def test_ad_structures_round_trip(structures: list[tuple[int, bytes]], padding: int) -> None:
    data = _serialise(structures) + bytes(padding)
    assert parse_ad_structures(data) == [AdStructure(t, p) for t, p in structures]


@given(text=st.text(max_size=40))
def test_decode_hex_never_raises(text: str) -> None:
    result = decode_hex(text)
    assert isinstance(result, bytes) or result == Rejected("bad_hex")


@given(data=st.binary(max_size=40))
def test_decode_hex_round_trip(data: bytes) -> None:
    assert decode_hex(data.hex(" ")) == data
    assert decode_hex(data.hex().upper()) == data
