"""Conformance of the BLE plugin's HTTP gateway dialects (JSON batches and Ingics lines),
loaded through its entry point and posted to as a gateway does, with a device token."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from typing import Any, ClassVar

import pytest
from hypothesis import strategies as st

from floki_ble.dialects import parse_ingics, parse_json_batch
from floki_core.conformance import START, ConformanceFailure, Sighting, SourceConformance
from floki_core.testing import Floki

UUID = "F7826DA64FA24E988024BC5B71E0893E"
GATEWAY = "AC:23:3F:C0:00:01"
HEARD_AT = START - dt.timedelta(seconds=5)  # the gateway's clock, a little behind


def advert(minor: int) -> str:
    """Flags, then an iBeacon: the advertising data as a gateway forwards it."""
    return "0201061AFF4C000215" + UUID + "0064" + f"{minor:04X}" + "C5"


def beacon(minor: int) -> str:
    return f"F7826DA6-4FA2-4E98-8024-BC5B71E0893E:100:{minor}"


EXPECTED = (
    Sighting("ibeacon", beacon(7), GATEWAY, HEARD_AT, receiver_technology="ble"),
    Sighting("ibeacon", beacon(8), GATEWAY, HEARD_AT, receiver_technology="ble"),
)


class Gateway:
    """A gateway posting to one dialect's route with its device token."""

    def __init__(self, dialect: str, good: bytes, bad: bytes) -> None:
        self.path = f"/api/v1/ble/ingest/{dialect}"
        self.good, self.bad = good, bad

    async def open(self) -> None:
        pass

    def settings(self) -> Mapping[str, Any]:
        return {}

    async def post(self, floki: Floki, body: bytes) -> None:
        headers = floki.auth(await floki.token_for("engineer", device=True))
        resp = await floki.client.post(self.path, data=body, headers=headers)
        if resp.status != 202:
            raise ConformanceFailure(f"POST {self.path}: {resp.status} {await resp.text()}")

    async def send_good(self, floki: Floki) -> None:
        await self.post(floki, self.good)

    async def send_bad(self, floki: Floki) -> None:
        await self.post(floki, self.bad)

    async def lose(self) -> None:
        raise NotImplementedError  # a route keeps no connection

    async def restore(self) -> None:
        raise NotImplementedError

    async def close(self) -> None:
        pass


def json_entry(mac: str, rssi: Any, raw: Any, stamp: Any = None) -> dict[str, Any]:
    stamp = stamp or HEARD_AT.isoformat().replace("+00:00", "Z")
    return {"type": "iBeacon", "mac": mac, "rssi": rssi, "rawData": raw, "timestamp": stamp}


HEADER = {"type": "Gateway", "mac": GATEWAY.replace(":", "")}
JSON_GOOD = json.dumps(
    [HEADER, json_entry("C3A1B2C3D4E5", -61, advert(7)), json_entry("C3A1B2C3D4E6", -64, advert(8))]
).encode()
JSON_BAD = json.dumps(
    [
        HEADER,
        json_entry("C3A1B2C3D4E7", -61, "0201"),
        json_entry("C3A1B2C3D4E8", 99, advert(9)),
        json_entry("C3A1B2C3D4E9", -61, advert(9), stamp="yesterday"),
        json_entry("nonsense", -61, advert(9)),
    ]
).encode()


class TestJsonGatewayConformance(SourceConformance):
    # The plugin-wide checks (entry point, settings) run once, in test_ble_local_radio.py.
    test_loads_through_its_entry_point = None
    test_config_defaults_validate_and_every_key_is_documented = None

    plugin = "ble"
    source = "ble-http:test"  # the device token's name
    supervised = False
    documentation = ("docs/gateways.md", "docs/performance.md")
    expected = EXPECTED
    bad_reasons: ClassVar[Mapping[str, int]] = {
        "ad_length_past_end": 1,
        "bad_rssi": 1,
        "bad_timestamp": 1,
        "bad_mac": 1,
    }
    decoder = parse_json_batch
    decoder_inputs = st.one_of(
        st.binary(max_size=512),
        st.builds(
            lambda entries: json.dumps([HEADER, *entries]).encode(),
            st.lists(
                st.dictionaries(
                    st.sampled_from(["mac", "rssi", "rawData", "timestamp", "ibeaconUuid", "type"]),
                    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text()),
                ),
                max_size=4,
            ),
        ),
    )

    @pytest.fixture
    def source_device(self) -> Gateway:
        return Gateway("json", JSON_GOOD, JSON_BAD)


def ingics_line(tag: str, rssi: str, raw: str, stamp: str | None = None) -> str:
    stamp = stamp or f"{HEARD_AT.timestamp():.0f}"
    return f"$GPRP,{tag},{GATEWAY.replace(':', '')},{rssi},{raw},{stamp}\r\n"


INGICS_GOOD = (
    ingics_line("C3A1B2C3D4E5", "-61", advert(7)) + ingics_line("C3A1B2C3D4E6", "-64", advert(8))
).encode()
INGICS_BAD = (
    ingics_line("C3A1B2C3D4E7", "-61", "0201")
    + ingics_line("C3A1B2C3D4E8", "-61", advert(9), stamp="soon")
    + "$GPRP,C3A1B2C3D4E9,-61\r\n"
    + ingics_line("nonsense", "-61", advert(9))
).encode()


class TestIngicsGatewayConformance(SourceConformance):
    # The plugin-wide checks (entry point, settings) run once, in test_ble_local_radio.py.
    test_loads_through_its_entry_point = None
    test_config_defaults_validate_and_every_key_is_documented = None

    plugin = "ble"
    source = "ble-http:test"
    supervised = False
    documentation = ("docs/gateways.md", "docs/performance.md")
    expected = EXPECTED
    bad_reasons: ClassVar[Mapping[str, int]] = {
        "ad_length_past_end": 1,
        "bad_timestamp": 1,
        "bad_field_count": 1,
        "bad_mac": 1,
    }
    decoder = parse_ingics
    decoder_inputs = st.one_of(
        st.binary(max_size=512),
        st.lists(
            st.lists(st.text(max_size=40), min_size=1, max_size=7).map(
                lambda fields: ",".join(["$GPRP", *fields])
            ),
            max_size=5,
        ).map("\r\n".join),
    )

    @pytest.fixture
    def source_device(self) -> Gateway:
        return Gateway("ingics", INGICS_GOOD, INGICS_BAD)
