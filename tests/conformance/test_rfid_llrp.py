"""Conformance of the RFID plugin's LLRP reader source, loaded through its entry point and
fed by a fixed reader speaking LLRP on a loopback port (llrpkit's reader emulator).

The plugin-wide checks (entry point, settings documented) run here, once for the plugin."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import pytest
from floki_rfid.llrp_frames import decode_frame
from floki_rfid.llrp_reads import BadFrame
from hypothesis import strategies as st
from llrpkit.protocol.messages import RO_ACCESS_REPORT

from floki_core.conformance import Sighting, SourceConformance
from floki_core.testing import Floki
from tests.plugins.rfid.llrp_peer import EmulatedReader, broken_report, tag_report

READER = "conf-door"
PUMP = "E280116060000205A0B1C2D3"  # a factory EPC: keyed by its hex
HOIST = "3034257BF400B7800004CB2F"  # an SGTIN-96
GOOD = (tag_report(PUMP, 1, -57), tag_report(HOIST, 2, -63))
_GOOD_FRAME = RO_ACCESS_REPORT(tag_report_datas=list(GOOD)).to_bytes()


class ConformanceReader:
    """A fixed reader with four antenna ports; the source reads ports 1 and 2."""

    def __init__(self) -> None:
        self.reader = EmulatedReader()

    async def open(self) -> None:
        await self.reader.start()

    def settings(self) -> Mapping[str, Any]:
        reader = {"name": READER, "host": "127.0.0.1", "port": self.reader.port}
        return {"batch_seconds": 0.1, "readers": [reader | {"antennas": [1, 2]}]}

    async def _inventorying(self) -> None:
        await Floki.eventually(lambda: self.reader.inventorying, "the reader to inventory")

    async def send_good(self, floki: Floki) -> None:
        await self._inventorying()
        await self.reader.report(*GOOD)

    async def send_bad(self, floki: Floki) -> None:
        await self._inventorying()
        # A read the reader did not say the antenna of, and one from a port not read.
        await self.reader.report(tag_report(PUMP, None), tag_report(HOIST, 3))
        await self.reader.send_raw(broken_report(PUMP))  # a sound frame, a broken report

    async def lose(self) -> None:
        if self.reader.inventorying:
            await self.reader.die_mid_report()
        else:
            await self.reader.close()

    async def restore(self) -> None:
        await self.reader.come_back()

    async def close(self) -> None:
        await self.reader.close()


class TestLlrpReaderConformance(SourceConformance):
    plugin = "rfid"
    source = f"rfid-llrp-{READER}"
    documentation = ("docs/rfid-llrp.md", "docs/rfid-impinj.md", "docs/rfid-zebra.md")
    expected = (Sighting("rfid", PUMP, f"{READER}:1"), Sighting("rfid", HOIST, f"{READER}:2"))
    bad_reasons: ClassVar[Mapping[str, int]] = {
        "no_antenna": 1,
        "unknown_antenna": 1,
        "bad_frame": 1,
    }

    decoder = staticmethod(decode_frame)
    decoder_errors = (BadFrame,)
    decoder_inputs = st.one_of(
        st.binary(max_size=600),
        st.builds(
            lambda at, value: (
                _GOOD_FRAME[: at % len(_GOOD_FRAME)]
                + bytes([value])
                + _GOOD_FRAME[at % len(_GOOD_FRAME) + 1 :]
            ),
            st.integers(0, 10_000),
            st.integers(0, 255),
        ),
        st.builds(lambda cut: _GOOD_FRAME[: cut % len(_GOOD_FRAME)], st.integers(0, 10_000)),
    )

    @pytest.fixture
    def source_device(self) -> ConformanceReader:
        return ConformanceReader()
