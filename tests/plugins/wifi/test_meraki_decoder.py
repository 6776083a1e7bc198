"""The Meraki Scanning API v3 decoder: the documented payload as a test vector, numbers
sent as strings, and the personal fields that are never decoded."""

from __future__ import annotations

import copy
import datetime as dt
import json
from typing import Any

import pytest
from floki_wifi.meraki_decoder import MerakiRefused, decode_post, parse_time

SECRET = "supersecret"
# The example post of Meraki's documentation (https://developer.cisco.com/meraki/scanning-api/3-0,
# "Observation Payloads"; the same example is served by public mock receivers), one client
# with its three recent locations on the "3rd Floor" plan, numbers as strings where the
# example has them so. userId is added with the kind of value Meraki says it carries.
DOCUMENTED: dict[str, Any] = {
    "version": "3.0",
    "secret": "supersecret",
    "type": "WiFi",
    "data": {
        "networkId": "L_000000000000000001",
        "observations": [
            {
                "locations": [
                    {
                        "x": "7.976651798199431",
                        "lng": 6.0957744807924485,
                        "floorPlanName": "3rd Floor",
                        "rssiRecords": [
                            {"apMac": "aa:aa:aa:11:11:11", "rssi": -32},
                            {"apMac": "aa:aa:aa:22:22:22", "rssi": -54},
                            {"apMac": "aa:aa:aa:33:33:33", "rssi": -51},
                        ],
                        "variance": 1.6885258062410806,
                        "y": "10.576847081490314",
                        "nearestApTags": ["", "API-TEST", "Office", ""],
                        "floorPlanId": "g_643451796760560979",
                        "time": "2019-11-28T14:27:21Z",
                        "lat": 60.05342983801672,
                    },
                    {
                        "x": "8.591860719528196",
                        "lng": 6.095759658672512,
                        "floorPlanName": "3rd Floor",
                        "rssiRecords": [
                            {"apMac": "aa:aa:aa:11:11:11", "rssi": -34},
                            {"apMac": "aa:aa:aa:22:22:22", "rssi": -51},
                            {"apMac": "aa:aa:aa:44:44:44", "rssi": -45},
                            {"apMac": "aa:aa:aa:33:33:33", "rssi": -51},
                        ],
                        "variance": 1.5097088029182084,
                        "y": "11.404523745521399",
                        "nearestApTags": ["", "API-TEST", "Office", ""],
                        "floorPlanId": "g_643451796760560979",
                        "time": "2019-11-28T14:27:46Z",
                        "lat": 60.053427800388225,
                    },
                ],
                "ipv4": "192.168.0.251",
                "ssid": ".interwebs",
                "os": "iOS",
                "clientMac": "11:22:33:44:55:66",
                "latestRecord": {
                    "time": "2019-11-28T14:27:46Z",
                    "nearestApMac": "aa:aa:aa:44:44:44",
                    "nearestApRssi": "-47",
                },
                "ipv6": None,
                "userId": "j.doe@example.nhs.uk",
                "manufacturer": "Apple",
            }
        ],
    },
}


def documented(**changes: Any) -> dict[str, Any]:
    body = copy.deepcopy(DOCUMENTED)
    body.update(changes)
    return body


def encode(body: dict[str, Any]) -> bytes:
    return json.dumps(body).encode()


def test_the_documented_post_decodes_to_its_newest_location_and_nearest_ap() -> None:
    post = decode_post(encode(DOCUMENTED), SECRET)
    assert (post.kind, post.network, post.refused) == ("WiFi", "L_000000000000000001", {})
    (client,) = post.clients
    assert client.mac == "11:22:33:44:55:66"
    assert client.at == dt.datetime(2019, 11, 28, 14, 27, 46, tzinfo=dt.UTC)
    # The strongest AP of the newest location, its RSSI a number.
    assert (client.access_point, client.rssi) == ("AA:AA:AA:11:11:11", -34.0)
    position = client.position
    assert position is not None
    assert (position.x, position.y) == pytest.approx((8.591860719528196, 11.404523745521399))
    assert (position.lat, position.lon) == pytest.approx((60.053427800388225, 6.095759658672512))
    assert position.floor_plan == "g_643451796760560979"
    assert position.uncertainty_m == pytest.approx(1.5097088029182084)


def test_personal_fields_are_not_decoded_at_all() -> None:
    post = decode_post(encode(DOCUMENTED), SECRET)
    kept = repr(post)
    for personal in ("192.168.0.251", "j.doe@example.nhs.uk", "Apple", "iOS"):
        assert personal not in kept


def test_every_number_may_arrive_as_a_string() -> None:
    body = documented()
    location = body["data"]["observations"][0]["locations"][1]
    location.update(lat="60.053427800388225", lng="6.095759658672512", variance="4.5")
    location["rssiRecords"] = [{"apMac": "aa:aa:aa:11:11:11", "rssi": "-34"}]
    (client,) = decode_post(encode(body), SECRET).clients
    assert client.rssi == -34.0 and client.position is not None
    assert client.position.lat == pytest.approx(60.053427800388225)
    assert client.position.uncertainty_m == 4.5


def test_a_client_with_no_location_is_heard_by_its_nearest_ap() -> None:
    body = documented()
    observation = body["data"]["observations"][0]
    observation["locations"] = []
    observation["latestRecord"]["time"] = 1574951266  # epoch seconds, as receivers see too
    (client,) = decode_post(encode(body), SECRET).clients
    assert (client.access_point, client.rssi, client.position) == ("AA:AA:AA:44:44:44", -47.0, None)
    assert client.at == dt.datetime(2019, 11, 28, 14, 27, 46, tzinfo=dt.UTC)


def test_a_wrong_or_missing_secret_is_refused_403() -> None:
    for body in (
        documented(secret="guess"),
        {k: v for k, v in DOCUMENTED.items() if k != "secret"},
    ):
        with pytest.raises(MerakiRefused) as refused:
            decode_post(encode(body), SECRET)
        assert (refused.value.status, refused.value.counted_as) == (403, "bad_secret")


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"not json", "not a JSON object"),
        (encode(documented(version="2.0")), "version '2.0'"),
        (encode(documented(type="DevicesSeen")), "WiFi or BLE expected"),
        (encode({"version": "3.0", "secret": SECRET, "type": "WiFi"}), "`data`"),
    ],
)
def test_a_malformed_post_is_refused_400_with_a_reason(body: bytes, reason: str) -> None:
    with pytest.raises(MerakiRefused) as refused:
        decode_post(body, SECRET)
    assert refused.value.status == 400 and reason in refused.value.reason


def test_a_bad_observation_is_counted_and_the_others_kept() -> None:
    body = documented()
    good = body["data"]["observations"][0]
    body["data"]["observations"] = [good, {"clientMac": "not a mac"}, {"locations": 5}]
    post = decode_post(encode(body), SECRET)
    assert len(post.clients) == 1
    assert post.refused == {"bad_client_mac": 1, "bad_observation": 1}


def test_bluetooth_posts_are_counted_not_decoded() -> None:
    body = documented(type="BLE")
    post = decode_post(encode(body), SECRET)
    assert (post.kind, post.clients, post.refused) == ("BLE", [], {"ble_observation": 1})


def test_times_as_iso_text_or_epoch_seconds_or_milliseconds() -> None:
    at = dt.datetime(2019, 11, 28, 14, 27, 46, tzinfo=dt.UTC)
    assert parse_time("2019-11-28T14:27:46Z") == at
    assert parse_time("1574951266") == at
    assert parse_time(1574951266000) == at
    assert parse_time("yesterday") is None and parse_time(None) is None


def test_a_floor_plan_id_too_long_to_be_merakis_is_not_kept() -> None:
    body = documented()
    for location in body["data"]["observations"][0]["locations"]:
        location["floorPlanId"] = "g_" + "6" * 5000
    (client,) = decode_post(encode(body), SECRET).clients
    assert client.position is not None and client.position.floor_plan is None
