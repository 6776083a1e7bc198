"""Conformance of the Wi-Fi plugin's Meraki Scanning API receiver: its routes have a policy
(public: Meraki has no token to send; the post's secret authenticates it) and are in the
OpenAPI document, and POST /api/v1/wifi/meraki takes a network's v3 posts as any upload
route does (counted against wifi-meraki, bad input refused by reason)."""

from __future__ import annotations

import copy
import datetime as dt
import functools
import json
from collections.abc import Mapping
from typing import Any, ClassVar

import pytest
from floki_wifi.meraki_decoder import MerakiRefused, decode_post
from hypothesis import strategies as st

from floki_core.conformance import (
    START,
    ConformanceFailure,
    RouteConformance,
    Sighting,
    SourceConformance,
)
from floki_core.testing import Floki
from tests.plugins.wifi.test_meraki_decoder import DOCUMENTED

PATH = "/api/v1/wifi/meraki"
SECRET = "supersecret"
SEEN_AT = START - dt.timedelta(seconds=5)
AP = "AA:AA:AA:11:11:11"  # the nearest AP of the documented example's location
PUMPS = ("00:1B:44:11:3A:B7", "00:1B:44:11:3A:B8")
STRANGER = "11:22:33:44:55:66"
SETTINGS = {"meraki": {"secret": SECRET, "validator": "validator-string"}}


def scanning_post(*clients: str, secret: str = SECRET) -> bytes:
    """The documented v3 post with one copy of its client per MAC, seen at SEEN_AT."""
    body = copy.deepcopy(DOCUMENTED)
    body["secret"] = secret
    template = body["data"]["observations"][0]
    at = SEEN_AT.isoformat().replace("+00:00", "Z")
    observations = []
    for mac in clients:
        client = copy.deepcopy(template)
        client["clientMac"] = mac.lower()
        client["locations"] = client["locations"][:1]
        client["locations"][0]["time"] = at
        client["latestRecord"]["time"] = at
        observations.append(client)
    body["data"]["observations"] = observations
    return json.dumps(body).encode()


class TestWifiMerakiRoutes(RouteConformance):
    test_loads_through_its_entry_point = None
    test_config_defaults_validate_and_every_key_is_documented = None

    plugin = "wifi"
    documentation = ("docs/wifi-meraki-spaces.md",)

    def plugin_settings(self) -> Mapping[str, Any]:
        return SETTINGS


class MerakiCloud:
    """The Meraki cloud posting a network's observations with the shared secret."""

    async def open(self) -> None:
        pass

    def settings(self) -> Mapping[str, Any]:
        return {}

    async def post(self, floki: Floki, body: bytes, want: int) -> None:
        resp = await floki.client.post(
            PATH, data=body, headers={"Content-Type": "application/json"}
        )
        if resp.status != want:
            raise ConformanceFailure(f"POST {PATH}: {resp.status} {await resp.text()}")

    async def send_good(self, floki: Floki) -> None:
        await self.post(floki, scanning_post(*PUMPS), 202)

    async def send_bad(self, floki: Floki) -> None:
        await self.post(floki, scanning_post(*PUMPS, secret="guessed"), 403)
        await self.post(floki, scanning_post(STRANGER), 202)

    async def lose(self) -> None:
        raise NotImplementedError  # a route keeps no connection

    async def restore(self) -> None:
        raise NotImplementedError

    async def close(self) -> None:
        pass


class TestWifiMerakiConformance(SourceConformance):
    test_loads_through_its_entry_point = None
    test_config_defaults_validate_and_every_key_is_documented = None

    plugin = "wifi"
    source = "wifi-meraki"
    supervised = False
    documentation = ("docs/wifi-meraki-spaces.md",)
    # No floor plan is mapped here: each pump goes to its nearest AP's zone.
    expected = tuple(Sighting("wifi", mac, AP, SEEN_AT) for mac in PUMPS)
    bad_reasons: ClassVar[Mapping[str, int]] = {"bad_secret": 1, "unknown_device": 1}
    expected_reasons = frozenset({"unknown_device"})  # phones: dropped by design
    decoder = functools.partial(decode_post, secret=SECRET)
    decoder_errors = (MerakiRefused,)
    decoder_examples = 25
    decoder_inputs = st.one_of(
        st.binary(max_size=300),
        st.dictionaries(
            st.sampled_from(["clientMac", "locations", "latestRecord", "ssid", "ipv4"]),
            st.one_of(
                st.none(),
                st.booleans(),
                st.floats(allow_nan=True),
                st.text(max_size=20),
                st.lists(
                    st.dictionaries(
                        st.sampled_from(["x", "y", "time", "lat"]), st.text(max_size=8)
                    ),
                    max_size=2,
                ),
            ),
        ).map(
            lambda client: json.dumps(
                {
                    "version": "3.0",
                    "secret": SECRET,
                    "type": "WiFi",
                    "data": {"observations": [client]},
                }
            ).encode()
        ),
    )

    def plugin_settings(self) -> Mapping[str, Any]:
        return SETTINGS

    @pytest.fixture
    def source_device(self) -> MerakiCloud:
        return MerakiCloud()
