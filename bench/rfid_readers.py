"""The ``rfid`` scenario's readers: llrpkit's LLRP reader emulator on loopback, each
sending tag reports the bench encoded once up front.

The emulator speaks the real session (connection event, capabilities, ROSpecs,
keepalives, Impinj extensions) to the appliance's LLRP client; it is given no tags of
its own, and the bench writes whole RO_ACCESS_REPORT frames on its connection instead,
so a report costs the bench a slice of a ``bytes`` and the appliance is what is measured.

Every tag report is what an Impinj reader sends for one read with the appliance's
ROSpec: EPC-96, antenna, peak RSSI (whole dBm, and Impinj's hundredths), channel,
first/last seen (the reader's clock) and a seen count of 1.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from dataclasses import dataclass

from llrpkit.emulator import LLRPEmulator
from llrpkit.protocol import impinj, messages, params

READER_US = 1_767_000_000_000_000  # the reader's own clock: only reported, never trusted
WRITE_HIGH_WATER = 256 * 1024  # bytes queued on a reader's socket before it waits


def epc_hex(index: int) -> str:
    """Tag ``index``'s EPC-96 as upper-case hex (a header no GS1 scheme uses)."""
    return f"E200{index:020X}"


def reader_name(index: int) -> str:
    return f"bench-r{index:02d}"


@dataclass(frozen=True, slots=True)
class Read:
    tag: int  # tag index: the asset with id tag + 1
    antenna: int
    rssi: int  # dBm


def tag_report(read: Read, at_us: int = READER_US) -> params.TagReportData:
    report = params.TagReportData(
        epc_parameter=params.EPC_96(epc=bytes.fromhex(epc_hex(read.tag))),
        antenna_id=params.AntennaID(antenna_id=read.antenna),
        peak_rssi=params.PeakRSSI(peak_rssi=read.rssi),
        channel_index=params.ChannelIndex(channel_index=1 + read.tag % 50),
        first_seen_timestamp_utc=params.FirstSeenTimestampUTC(microseconds=at_us),
        last_seen_timestamp_utc=params.LastSeenTimestampUTC(microseconds=at_us),
        tag_seen_count=params.TagSeenCount(tag_count=1),
    )
    report.custom.append(impinj.ImpinjPeakRSSI(rssi=read.rssi * 100 - 37))
    return report


def report_frame(reads: Sequence[Read], at_us: int = READER_US) -> bytes:
    """One RO_ACCESS_REPORT carrying ``reads`` (one each: a reader reporting every read)."""
    return messages.RO_ACCESS_REPORT(
        tag_report_datas=[tag_report(r, at_us) for r in reads]
    ).to_bytes()


class EmulatedReader(LLRPEmulator):
    """One 4-port reader on 127.0.0.1 with nothing in view of its own."""

    def __init__(self, antennas: int = 4) -> None:
        super().__init__(tags=[], reads_per_sec=1.0, antenna_count=antennas)
        self.sent_reports = 0
        self.sent_frames = 0

    @property
    def inventorying(self) -> bool:
        return self._writer is not None and any(
            state == "Active" for _spec, state in self._rospecs.values()
        )

    def write(self, frames: bytes, reports: int, count: int = 1) -> bool:
        """Queue ``frames`` (``count`` whole frames, ``reports`` tag reports) on the
        connection; False if no client is connected."""
        writer = self._writer
        if writer is None or writer.transport.is_closing():
            return False
        writer.write(frames)
        self.sent_reports += reports
        self.sent_frames += count
        return True

    async def pace(self) -> None:
        """Wait while the socket holds more than ``WRITE_HIGH_WATER`` unsent bytes (the
        appliance reads no faster); otherwise just let the loop run."""
        writer = self._writer
        if writer is not None and writer.transport.get_write_buffer_size() > WRITE_HIGH_WATER:
            with contextlib.suppress(ConnectionError):
                await writer.drain()
        else:
            await asyncio.sleep(0)

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self.stop()
