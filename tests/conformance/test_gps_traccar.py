"""Conformance of the GPS plugin's routes: each has a role policy and is in the OpenAPI
document, and POST /api/v1/gps/traccar takes a Traccar server's forwarded positions as any
gateway route takes uploads (device token, counted against gps-traccar:<token name>)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from typing import Any, ClassVar

import pytest
from floki_gps.traccar_forward import DecodeError, decode_forward
from hypothesis import strategies as st

from floki_core.conformance import (
    START,
    ConformanceFailure,
    RouteConformance,
    Sighting,
    SourceConformance,
)
from floki_core.testing import Floki
from tests.plugins.gps.conftest import HUB_POINT, QUIET
from tests.plugins.gps.test_traccar_forward_decoder import forwarded

PATH = "/api/v1/gps/traccar"
FIXED_AT = START - dt.timedelta(seconds=5)
LAT, LON = HUB_POINT
IMEI = "356307042441013"


def position(**fields: Any) -> bytes:
    stamp = FIXED_AT.isoformat(timespec="milliseconds")
    body = forwarded(**{"fixTime": stamp, "latitude": LAT, "longitude": LON, **fields})
    return json.dumps(body).encode()


class TestGpsRoutes(RouteConformance):
    test_loads_through_its_entry_point = None
    test_config_defaults_validate_and_every_key_is_documented = None

    plugin = "gps"
    documentation = ("docs/gps.md",)

    def plugin_settings(self) -> Mapping[str, Any]:
        return {**QUIET, "traccar_forward": True}


class TraccarServer:
    """A Traccar server forwarding positions with the device token in forward.header."""

    async def open(self) -> None:
        pass

    def settings(self) -> Mapping[str, Any]:
        return {}

    async def post(self, floki: Floki, body: bytes, want: int) -> None:
        headers = {
            **floki.auth(await floki.token_for("engineer", device=True)),
            "Content-Type": "application/json",
        }
        resp = await floki.client.post(PATH, data=body, headers=headers)
        if resp.status != want:
            raise ConformanceFailure(f"POST {PATH}: {resp.status} {await resp.text()}")

    async def send_good(self, floki: Floki) -> None:
        await self.post(floki, position(), 202)

    async def send_bad(self, floki: Floki) -> None:
        await self.post(floki, position(latitude=123.0), 400)
        unknown = json.loads(position())
        unknown["device"]["uniqueId"] = "999999999999999"
        await self.post(floki, json.dumps(unknown).encode(), 202)

    async def lose(self) -> None:
        raise NotImplementedError  # a route keeps no connection

    async def restore(self) -> None:
        raise NotImplementedError

    async def close(self) -> None:
        pass


class TestTraccarForwardConformance(SourceConformance):
    test_loads_through_its_entry_point = None
    test_config_defaults_validate_and_every_key_is_documented = None

    plugin = "gps"
    source = "gps-traccar:test"  # the device token's name
    supervised = False
    documentation = ("docs/gps.md",)
    # Traccar forwards one position a request: one sighting, so no batching to check.
    expected = (Sighting("gps", IMEI, None, FIXED_AT, lat=LAT, lon=LON),)
    bad_reasons: ClassVar[Mapping[str, int]] = {"bad_position": 1, "unregistered_device": 1}
    decoder = decode_forward
    decoder_errors = (DecodeError,)
    decoder_examples = 50
    decoder_inputs = st.one_of(
        st.binary(max_size=200),
        st.dictionaries(
            st.sampled_from(["fixTime", "latitude", "longitude", "valid", "speed", "accuracy"]),
            st.one_of(st.none(), st.booleans(), st.floats(allow_nan=False), st.text(max_size=20)),
        ).map(lambda fields: position(**fields)),
    )

    def plugin_settings(self) -> Mapping[str, Any]:
        return {**QUIET, "traccar_forward": True}

    @pytest.fixture
    def source_device(self) -> TraccarServer:
        return TraccarServer()
