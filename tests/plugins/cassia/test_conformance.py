"""floki-cassia's scan source held to the source contract (floki_core.conformance)."""

from __future__ import annotations

import pytest
from floki_cassia import SOURCE
from floki_cassia.decoders import decode_event

from floki_core.conformance import Sighting, SourceConformance
from tests.plugins.cassia.fake_gateway import BAD_REASONS, GATEWAY, FakeCassiaAC


class TestCassiaScanConformance(SourceConformance):
    plugin = "cassia"
    source = SOURCE
    expected = (
        Sighting(
            "ibeacon",
            "F7826DA6-4FA2-4E98-8024-BC5B71E0893E:100:7",
            GATEWAY,
            receiver_technology="ble",
        ),
        Sighting("ble", "ED:47:B0:D3:A9:C8", GATEWAY),
        Sighting(
            "eddystone", "EDD1EBEAC04E5DEFA017:0123456789AB", GATEWAY, receiver_technology="ble"
        ),
    )
    bad_reasons = BAD_REASONS
    decoder = staticmethod(decode_event)

    @pytest.fixture
    def source_device(self) -> FakeCassiaAC:
        return FakeCassiaAC()
