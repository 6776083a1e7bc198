"""Conformance of the GPS plugin's Traccar Client / OsmAnd listener, loaded through its
entry point and posted to over loopback as phones do."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any, ClassVar

import aiohttp
import pytest
from floki_gps.fixes import Fix
from floki_gps.osmand import DecodeError, decode_request
from floki_gps.osmand_listener import OsmandListener
from hypothesis import strategies as st

from floki_core.conformance import START, ConformanceFailure, Sighting, SourceConformance
from floki_core.testing import Floki
from tests.fixtures.processes import free_port
from tests.plugins.gps.conftest import HUB_POINT, QUIET

SOURCE = "gps-osmand"
FIXED_AT = START - dt.timedelta(seconds=5)  # the phones' clocks
LAT, LON = HUB_POINT
PHONES = ("PHONE-A", "PHONE-B")


def phone_request(request: tuple[str, str | None, bytes]) -> list[Fix]:
    """The listener's decoding of one request: query string, Content-Type, body."""
    query, content_type, body = request
    return decode_request(query, content_type, body, START)


class Phones:
    """Phones running Traccar Client, posting to the listener's own port."""

    def __init__(self) -> None:
        self.port = 0

    async def open(self) -> None:
        self.port = self.port or free_port()

    def settings(self) -> Mapping[str, Any]:
        return {"osmand_port": self.port}

    async def request(self, floki: Floki, params: dict[str, str]) -> int:
        registration = floki.core.plugins.registries.sources.get(SOURCE)
        assert registration is not None and isinstance(registration.item, OsmandListener)
        await Floki.eventually(registration.item.listening.is_set, "the listener to listen")
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"http://127.0.0.1:{self.port}/", params=params) as resp,
        ):
            await resp.read()
            return resp.status

    async def send_good(self, floki: Floki) -> None:
        stamp = str(int(FIXED_AT.timestamp()))
        for phone in PHONES:
            params = {"id": phone, "lat": str(LAT), "lon": str(LON), "timestamp": stamp}
            status = await self.request(floki, params)
            if status != 200:
                raise ConformanceFailure(f"{phone}'s fix was answered {status}")

    async def send_bad(self, floki: Floki) -> None:
        for params, want in (
            ({"lat": str(LAT), "lon": str(LON)}, 400),  # no device id
            ({"id": PHONES[0], "lat": "95", "lon": str(LON)}, 400),  # off the globe
            ({"id": "STRANGER", "lat": str(LAT), "lon": str(LON)}, 404),  # no asset has it
        ):
            status = await self.request(floki, params)
            if status != want:
                raise ConformanceFailure(f"{params} was answered {status}, not {want}")

    async def lose(self) -> None:
        raise NotImplementedError  # a listener keeps no device to lose

    async def restore(self) -> None:
        raise NotImplementedError

    async def close(self) -> None:
        pass


class TestOsmandListenerConformance(SourceConformance):
    # The plugin-wide checks (entry point, settings) run once, in another module.
    test_loads_through_its_entry_point = None
    test_config_defaults_validate_and_every_key_is_documented = None
    # Phones post to it; it has no device of its own that can go away.
    test_a_lost_device_shows_with_a_reason_and_recovers = None

    plugin = "gps"
    source = SOURCE
    documentation = ("docs/gps.md",)
    expected = tuple(Sighting("gps", phone, None, FIXED_AT, lat=LAT, lon=LON) for phone in PHONES)
    bad_reasons: ClassVar[Mapping[str, int]] = {
        "no_device": 1,
        "bad_position": 1,
        "unregistered_device": 1,
    }
    decoder = phone_request
    decoder_errors = (DecodeError,)
    decoder_examples = 50
    decoder_inputs = st.tuples(
        st.text(max_size=120),
        st.one_of(
            st.none(),
            st.sampled_from(["application/json", "application/x-www-form-urlencoded"]),
            st.text(max_size=30),
        ),
        st.binary(max_size=300),
    )

    def plugin_settings(self) -> Mapping[str, Any]:
        return {**QUIET, "batch_seconds": 0.2}

    @pytest.fixture
    def source_device(self) -> Phones:
        return Phones()
