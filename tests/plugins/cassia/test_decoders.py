"""Scan events as Cassia's documentation shows them, decoded into the tags Floki binds."""

from __future__ import annotations

import json

from floki_cassia.decoders import Heard, Refused, decode_event

# The event python_examples/acScan.py and node_examples/acScan.js print for a scan
# (https://github.com/CassiaNetworks/CassiaSDKGuide): a public address, its scan response.
DOCUMENTED = (
    '{"bdaddrs":[{"bdaddr":"ED:47:B0:D3:A9:C8","bdaddrType":"public"}],'
    '"scanData":"0C09536C656570616365205A32","name":"Sleepace Z2","rssi":-37,"evt_type":4}'
)
# The same shape carrying an iBeacon advert in adData (the advert of docs/gateways.md),
# from a rotating address: the beacon frame, not the address, names the tag.
IBEACON_ADVERT = "0201061AFF4C000215F7826DA64FA24E988024BC5B71E0893E00640007C5"
EDDYSTONE_UID_ADVERT = "0201060303AAFE1716AAFE00EEEDD1EBEAC04E5DEFA0170123456789AB0000"
ALTBEACON_ADVERT = "1BFF1801BEACF7826DA64FA24E988024BC5B71E0893E00010102C500"


def event(ad: str, *, address: str = "5A:11:22:33:44:55", kind: str = "random") -> str:
    return json.dumps(
        {
            "bdaddrs": [{"bdaddr": address, "bdaddrType": kind}],
            "adData": ad,
            "scanData": "",
            "rssi": -61,
            "name": "",
            "evtType": 3,
        }
    )


def test_the_documented_scan_event_names_its_device_by_mac() -> None:
    assert decode_event(DOCUMENTED) == Heard(
        "ble",
        "ED:47:B0:D3:A9:C8",
        -37.0,
        {"mac": "ED:47:B0:D3:A9:C8", "name": "Sleepace Z2", "evt_type": 4},
    )


def test_beacon_frames_name_the_tag_whatever_its_address() -> None:
    assert decode_event(event(IBEACON_ADVERT)).tag == "F7826DA6-4FA2-4E98-8024-BC5B71E0893E:100:7"
    eddystone = decode_event(event(EDDYSTONE_UID_ADVERT))
    assert (eddystone.technology, eddystone.tag) == (
        "eddystone",
        "EDD1EBEAC04E5DEFA017:0123456789AB",
    )
    altbeacon = decode_event(event(ALTBEACON_ADVERT))
    assert (altbeacon.technology, altbeacon.tag) == (
        "altbeacon",
        "F7826DA64FA24E988024BC5B71E0893E00010102",
    )


def test_a_rotating_address_without_a_beacon_frame_is_refused() -> None:
    assert decode_event(event("020106")) == Refused(
        "rotating_address_without_identity", "5A:11:22:33:44:55"
    )
    static = decode_event(event("020106", address="C5:11:22:33:44:55"))
    assert (static.technology, static.tag) == ("ble", "C5:11:22:33:44:55")


def test_bad_events_are_refused_by_reason() -> None:
    assert decode_event("{not json").reason == "bad_json"
    assert decode_event("[1]").reason == "not_an_object"
    assert decode_event('{"rssi": -40}').reason == "missing_address"
    assert decode_event('{"bdaddrs":[{"bdaddr":"nope"}],"rssi":-40}').reason == "bad_address"
    no_rssi = '{"bdaddrs":[{"bdaddr":"ED:47:B0:D3:A9:C8","bdaddrType":"public"}]}'
    assert decode_event(no_rssi).reason == "bad_rssi"
    assert decode_event(event("0201ZZ")).reason == "bad_advert_hex"
