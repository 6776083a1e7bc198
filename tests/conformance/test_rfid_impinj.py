"""Conformance of the RFID plugin's Impinj sources, loaded through its entry point: an
Impinj reader's IoT device interface data stream served on a loopback port (as an R700
streams it), and the webhook route it may post to instead.

The plugin-wide checks (entry point, settings documented) run in test_rfid_llrp.py."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import pytest
from floki_rfid import impinj_webhook
from floki_rfid.impinj_events import ImpinjEventError, decode_event
from hypothesis import strategies as st

from floki_core.conformance import Sighting, SourceConformance
from floki_core.testing import Floki
from tests.plugins.rfid.test_impinj_source import PASSWORD, ImpinjReaderPeer, tag_event

READER = "conf-shelf"
PUMP = "E280116060000205A0B1C2D3"  # a factory EPC: keyed by its hex
HOIST = "3034257BF400B7800004CB2F"  # an SGTIN-96
GOOD = (tag_event(PUMP, 1, -5700), tag_event(HOIST, 2, -6300, hexed=True))
BAD = (tag_event(PUMP, None), tag_event(HOIST, 3), b"{this is not json")
BAD_EPC = b'{"tagInventoryEvent": {"epc": "!!", "antennaPort": 1}}'

EXPECTED = (Sighting("rfid", PUMP, f"{READER}:1"), Sighting("rfid", HOIST, f"{READER}:2"))
BAD_REASONS = {"no_antenna": 1, "unknown_antenna": 1, "bad_json": 1}


def _mangled(at: int, value: int) -> bytes:
    line = GOOD[1]
    i = at % len(line)
    return line[:i] + bytes([value]) + line[i + 1 :]


DECODER_INPUTS = st.one_of(
    st.binary(max_size=600),
    st.builds(_mangled, st.integers(0, 10_000), st.integers(0, 255)),
    st.builds(lambda cut: GOOD[0][: cut % len(GOOD[0])], st.integers(0, 10_000)),
)


class StreamingReader:
    """A reader whose stream the source reads ports 1 and 2 of."""

    def __init__(self) -> None:
        self.peer = ImpinjReaderPeer()

    async def open(self) -> None:
        await self.peer.start()

    def settings(self) -> Mapping[str, Any]:
        reader = {"name": READER, "url": self.peer.url, "password": PASSWORD, "antennas": [1, 2]}
        return {"batch_seconds": 0.1, "impinj": [reader]}

    async def send_good(self, floki: Floki) -> None:
        await self.peer.streaming()
        await self.peer.send(*GOOD)

    async def send_bad(self, floki: Floki) -> None:
        await self.peer.streaming()
        await self.peer.send(*BAD)

    async def lose(self) -> None:
        await self.peer.lose()

    async def restore(self) -> None:
        await self.peer.come_back()

    async def close(self) -> None:
        await self.peer.close()


class TestImpinjStreamConformance(SourceConformance):
    plugin = "rfid"
    source = f"rfid-impinj-{READER}"
    documentation = ("docs/rfid-impinj.md",)
    expected = EXPECTED
    bad_reasons: ClassVar[Mapping[str, int]] = BAD_REASONS
    test_loads_through_its_entry_point = None  # type: ignore[assignment]
    test_config_defaults_validate_and_every_key_is_documented = None  # type: ignore[assignment]

    decoder = staticmethod(decode_event)
    decoder_errors = (ImpinjEventError,)
    decoder_inputs = DECODER_INPUTS

    @pytest.fixture
    def source_device(self) -> StreamingReader:
        return StreamingReader()


class PostingReader:
    """A reader posting its events to the webhook, named by ``?reader=``."""

    async def open(self) -> None:
        pass

    def settings(self) -> Mapping[str, Any]:
        return {"impinj_webhook": True}

    async def _post(self, floki: Floki, lines: Sequence[bytes]) -> None:
        token = await floki.token_for("engineer", device=True)
        headers = {**floki.auth(token), "Content-Type": "application/json"}
        body = b"[" + b",".join(lines) + b"]"
        path = f"{impinj_webhook.PATH}?reader={READER}"
        resp = await floki.client.post(path, data=body, headers=headers)
        assert resp.status == 202, await resp.text()

    async def send_good(self, floki: Floki) -> None:
        await self._post(floki, GOOD)

    async def send_bad(self, floki: Floki) -> None:
        # Posted readers are not told which antennas to use: a port no receiver has is
        # the core's to count. In an array an unreadable entry is still JSON: a number.
        await self._post(floki, [BAD[0], BAD_EPC, b"7"])

    async def lose(self) -> None:
        pass

    async def restore(self) -> None:
        pass

    async def close(self) -> None:
        pass


class TestImpinjWebhookConformance(SourceConformance):
    plugin = "rfid"
    source = "rfid-impinj-webhook:test"
    supervised = False
    documentation = ("docs/rfid-impinj.md",)
    expected = EXPECTED
    bad_reasons: ClassVar[Mapping[str, int]] = {"no_antenna": 1, "bad_epc": 1, "bad_json": 1}
    test_loads_through_its_entry_point = None  # type: ignore[assignment]
    test_config_defaults_validate_and_every_key_is_documented = None  # type: ignore[assignment]
    test_decoder_raises_only_its_declared_errors = None  # type: ignore[assignment]

    @pytest.fixture
    def source_device(self) -> PostingReader:
        return PostingReader()
