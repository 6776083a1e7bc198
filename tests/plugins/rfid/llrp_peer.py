"""A fixed LLRP reader on a free loopback port, for tests: llrpkit's reader emulator, with
nothing in view unless a test says so, and a way to send exact tag reports.

The emulator speaks real LLRP (handshake, capabilities, ROSpecs, keepalives, Impinj
extensions), which is what the plugin is tested against. Its own reads are random, so
``report`` writes chosen RO_ACCESS_REPORTs through the emulator's connection (its
``_send``: llrpkit 0.3 offers no public way to), and ``die_mid_report`` cuts the
connection halfway through a report, as a reader losing power does.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence

from llrpkit.emulator import EmulatedTag, LLRPEmulator
from llrpkit.protocol import BitStr, LLRPMessage, enums, messages, params
from llrpkit.protocol.messages import RO_ACCESS_REPORT

# The reader's own clock for the reports tests send: fixed, so a resend is a replay.
READER_US = 1_767_000_000_000_000


def broken_report(epc_hex: str = "E2" * 12) -> bytes:
    """An RO_ACCESS_REPORT whose frame is sound but whose tag report holds a parameter
    type LLRP does not define (TV 126)."""
    frame = RO_ACCESS_REPORT(tag_report_datas=[tag_report(epc_hex)]).to_bytes()
    return frame[:14] + bytes([0x80 | 0x7E]) + frame[15:]


def tag_report(
    epc_hex: str,
    antenna: int | None = 1,
    rssi: int = -58,
    *,
    at_us: int = READER_US,
    seen: int = 1,
) -> params.TagReportData:
    epc = bytes.fromhex(epc_hex)
    return params.TagReportData(
        epc_parameter=params.EPC_96(epc=epc)
        if len(epc) == 12
        else params.EPCData(epc=BitStr.from_bytes(epc)),
        antenna_id=params.AntennaID(antenna_id=antenna) if antenna is not None else None,
        peak_rssi=params.PeakRSSI(peak_rssi=rssi),
        first_seen_timestamp_utc=params.FirstSeenTimestampUTC(microseconds=at_us),
        last_seen_timestamp_utc=params.LastSeenTimestampUTC(microseconds=at_us),
        tag_seen_count=params.TagSeenCount(tag_count=seen),
    )


class EmulatedReader(LLRPEmulator):
    """An Impinj-flavoured reader with 4 antenna ports on 127.0.0.1."""

    def __init__(self, tags: Sequence[EmulatedTag] = (), reads_per_sec: float = 5.0) -> None:
        super().__init__(tags=list(tags), reads_per_sec=reads_per_sec, antenna_count=4)
        # A ROSpec another program left running, found by the next client that connects.
        self.stale_rospec: params.ROSpec | None = None
        self.get_reports = 0  # GET_REPORT requests received
        self.deaf_to: set[type[LLRPMessage]] = set()  # requests never answered again

    async def _handle_message(self, msg: LLRPMessage) -> None:
        if isinstance(msg, messages.GET_REPORT):
            self.get_reports += 1
        if type(msg) in self.deaf_to:
            return
        await super()._handle_message(msg)

    async def _send_connection_event(self, writer: asyncio.StreamWriter, status: int) -> None:
        # The emulator forgets ROSpecs as a client connects; a real reader keeps them.
        if self.stale_rospec is not None and status == enums.ConnectionAttemptStatusType.Success:
            self._rospecs[self.stale_rospec.ro_spec_id] = (self.stale_rospec, "Active")
        await super()._send_connection_event(writer, status)

    @property
    def inventorying(self) -> bool:
        """A client is connected and has started an inventory."""
        return self._writer is not None and any(
            state == "Active" for _spec, state in self._rospecs.values()
        )

    def rospecs(self) -> list[int]:
        return sorted(self._rospecs)

    def rospec(self, ro_spec_id: int) -> params.ROSpec:
        return self._rospecs[ro_spec_id][0]

    async def report(self, *reads: params.TagReportData) -> None:
        """One RO_ACCESS_REPORT carrying ``reads``, as the reader sends it."""
        await self._send(RO_ACCESS_REPORT(tag_report_datas=list(reads)))

    async def send_raw(self, frame: bytes) -> None:
        """Bytes on the wire as they are, e.g. a report broken inside a sound frame."""
        writer = self._writer
        assert writer is not None, "no client connected"
        async with self._send_lock:
            writer.write(frame)
            await writer.drain()

    async def die_mid_report(self, *reads: params.TagReportData) -> None:
        """Send ``reads`` in full, then half of one more report, and vanish: the
        connection is reset and nothing listens on the port until ``come_back``."""
        writer = self._writer
        assert writer is not None, "no client connected"
        for read in reads:
            writer.write(RO_ACCESS_REPORT(tag_report_datas=[read]).to_bytes())
        cut = RO_ACCESS_REPORT(tag_report_datas=[tag_report("E2" * 12)]).to_bytes()
        writer.write(cut[: len(cut) // 2])
        await writer.drain()
        await asyncio.sleep(0.05)  # on the wire before the reset
        writer.transport.abort()
        await self.stop()

    async def come_back(self) -> None:
        await self.start()  # on the same port

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self.stop()
