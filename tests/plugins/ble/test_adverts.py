"""One advert, one answer (floki_ble.adverts.read_advert): which tag sent it and what it said,
the same for gateways and for the appliance's own radio. Golden adverts built from the
iBeacon, AltBeacon and Eddystone specifications: accepted ones with what they name, and
rejected ones with their reason.
"""

from __future__ import annotations

from typing import Any

import pytest
from bleak.backends.scanner import AdvertisementData

from floki_ble.adverts import HeardTag, TagIdentities, read_advert
from floki_ble.decoders import AdStructure, Rejected, parse_ad_structures
from floki_ble.sources import ad_structures
from floki_core.observations import Extra

MAC = "C3:A1:B2:C3:D4:E5"
ROTATING = "4A:BB:CC:DD:EE:FF"  # 0b01 top bits: a resolvable private address
UUID = "F7826DA64FA24E988024BC5B71E0893E"
BEACON = "F7826DA6-4FA2-4E98-8024-BC5B71E0893E:100:7"
NAMESPACE, INSTANCE = "EDD1EBEAC04E5DEFA017", "0123456789AB"

FLAGS = "020106"
IBEACON = "1AFF4C000215" + UUID + "0064" + "0007" + "C5"
ALTBEACON = "1BFF1801BEAC" + UUID + "00640007" + "C5" + "00"
UID = "17" + "16AAFE" + "00EB" + NAMESPACE + INSTANCE + "0000"
TLM = "11" + "16AAFE" + "2000" + "0BB8" + "1580" + "0000002A" + "00000064"  # 3000 mV, 21.5 °C
TLM_READINGS: dict[str, Extra] = {"battery_mv": 3000, "temperature_c": 21.5}


def advert(*parts: str) -> list[AdStructure]:
    structures = parse_ad_structures(bytes.fromhex("".join(parts)))
    assert not isinstance(structures, Rejected)
    return structures


ACCEPTED: list[tuple[str, list[AdStructure], dict[str, Any], HeardTag]] = [
    ("ibeacon", advert(FLAGS, IBEACON), {}, HeardTag("ibeacon", BEACON, {})),
    (
        "altbeacon",
        advert(FLAGS, ALTBEACON),
        {},
        HeardTag("altbeacon", UUID + "00640007", {}),
    ),
    (
        "eddystone_uid",
        advert(FLAGS, UID),
        {},
        HeardTag("eddystone", f"{NAMESPACE}:{INSTANCE}", {}),
    ),
    (
        "ibeacon_with_tlm_beside_it",
        advert(IBEACON, TLM),
        {},
        HeardTag("ibeacon", BEACON, TLM_READINGS),
    ),
    ("tlm_alone_names_its_mac", advert(FLAGS, TLM), {}, HeardTag("ble", MAC, TLM_READINGS)),
    ("plain_advert_names_its_mac", advert(FLAGS), {}, HeardTag("ble", MAC, {})),
    (
        "beacon_from_a_rotating_address",
        advert(FLAGS, IBEACON),
        {"mac": ROTATING, "address_type": "random"},
        HeardTag("ibeacon", BEACON, {}),
    ),
    (
        "good_frame_then_a_truncated_one",
        advert(IBEACON, "02FF4C"),
        {},
        HeardTag("ibeacon", BEACON, {}),
    ),
    (
        "address_unknown_but_a_beacon",
        advert(FLAGS, IBEACON),
        {"mac": None},
        HeardTag("ibeacon", BEACON, {}),
    ),
]

REJECTED: list[tuple[str, list[AdStructure], dict[str, Any], str]] = [
    ("ibeacon_truncated", advert(FLAGS, "0BFF4C000215" + UUID[:12]), {}, "ibeacon_truncated"),
    ("truncated_then_good", advert("02FF4C", IBEACON), {}, "manufacturer_data_too_short"),
    ("eddystone_truncated", advert("0416AAFE20"), {}, "eddystone_truncated"),
    (
        "rotating_address_without_a_beacon",
        advert(FLAGS),
        {"mac": ROTATING, "address_type": "random"},
        "rotating_address_without_identity",
    ),
    (
        "rotating_address_with_only_tlm",
        advert(FLAGS, TLM),
        {"mac": ROTATING, "address_type": "random"},
        "rotating_address_without_identity",
    ),
    ("no_address_no_beacon", advert(FLAGS), {"mac": None}, "no_identity"),
    ("tlm_without_an_address", advert(TLM), {"mac": None}, "no_identity"),
    ("not_a_mac", advert(FLAGS, IBEACON), {"mac": "not-a-mac"}, "bad_mac"),
]


@pytest.mark.parametrize(
    ("structures", "where", "expected"),
    [pytest.param(s, w, e, id=n) for n, s, w, e in ACCEPTED],
)
def test_accepted_adverts(
    structures: list[AdStructure], where: dict[str, Any], expected: HeardTag
) -> None:
    assert read_advert(structures, **{"mac": MAC, **where}) == expected


@pytest.mark.parametrize(
    ("structures", "where", "reason"),
    [pytest.param(s, w, r, id=n) for n, s, w, r in REJECTED],
)
def test_rejected_adverts(
    structures: list[AdStructure], where: dict[str, Any], reason: str
) -> None:
    assert read_advert(structures, **{"mac": MAC, **where}) == Rejected(reason)


def test_tlm_belongs_to_the_identity_its_address_announced() -> None:
    identities = TagIdentities()
    # Before any identity frame, the TLM frame is the MAC's.
    assert read_advert(advert(TLM), mac=MAC, identities=identities) == HeardTag(
        "ble", MAC, TLM_READINGS
    )
    read_advert(advert(FLAGS, UID), mac=MAC, identities=identities)
    tied = read_advert(advert(TLM), mac=MAC, identities=identities)
    assert tied == HeardTag("eddystone", f"{NAMESPACE}:{INSTANCE}", TLM_READINGS)
    # Even from a rotating address, within its rotation period.
    read_advert(advert(UID), mac=ROTATING, address_type="random", identities=identities)
    from_rotating = read_advert(
        advert(TLM), mac=ROTATING, address_type="random", identities=identities
    )
    assert isinstance(from_rotating, HeardTag) and from_rotating.technology == "eddystone"
    # A plain advert is still named by its MAC: staff may have bound the tag by it.
    assert read_advert(advert(FLAGS), mac=MAC, identities=identities) == HeardTag("ble", MAC, {})


def test_remembered_addresses_are_bounded() -> None:
    identities = TagIdentities(limit=2)
    for last in range(3):
        identities.learn(f"C3:A1:B2:C3:D4:0{last}", ("ibeacon", f"{BEACON[:-1]}{last}"))
    assert len(identities) == 2
    assert identities.get("C3:A1:B2:C3:D4:00") is None
    assert identities.get("C3:A1:B2:C3:D4:02") == ("ibeacon", f"{BEACON[:-1]}2")


def test_bleak_adverts_become_ad_structures_again() -> None:
    advertisement = AdvertisementData(
        local_name="tag",
        manufacturer_data={0x004C: bytes.fromhex(IBEACON[8:])},
        service_data={
            "0000feaa-0000-1000-8000-00805f9b34fb": bytes.fromhex(TLM[8:]),
            # A 128-bit UUID carries no 16-bit service data.
            "f7826da6-4fa2-4e98-8024-bc5b71e0893e": b"\x01",
        },
        service_uuids=[],
        tx_power=None,
        rssi=-60,
        platform_data=(),
    )
    assert read_advert(ad_structures(advertisement), mac=MAC) == HeardTag(
        "ibeacon", BEACON, TLM_READINGS
    )
