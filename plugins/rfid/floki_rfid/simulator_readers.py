"""The demo's emulated fixed readers: llrpkit's LLRP reader emulator (MIT) on a loopback
port, saying only what the simulator tells it.

The emulator speaks real LLRP (handshake, capabilities, ROSpecs, keepalives), so the
plugin's own LLRP sources read it exactly as they read a reader on the LAN. Its own tag
population is left empty (its reads are random); the simulator's reads go out as
RO_ACCESS_REPORTs through the emulator's connection (its ``_send``: llrpkit 0.3 offers no
public way to), timed by the reader's clock the simulator gives, and only while a client
runs an inventory, as a real reader reports.

The listening socket is bound when the plugin registers its sources, so the LLRP sources
are configured with a port nothing else can take; the emulator serves it once the
simulator runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import socket
from collections.abc import Sequence
from dataclasses import dataclass

from llrpkit.emulator import LLRPEmulator
from llrpkit.protocol import messages, params

LOOPBACK = "127.0.0.1"


@dataclass(frozen=True)
class SimulatedRead:
    epc: str  # hex, 24 digits (96 bits)
    antenna: int
    rssi: int  # dBm
    first_seen: dt.datetime  # by the reader's clock
    last_seen: dt.datetime
    count: int = 1


def _us(at: dt.datetime) -> int:
    return int(at.timestamp() * 1_000_000)


def bind_loopback() -> socket.socket:
    """A listening TCP socket on a free 127.0.0.1 port."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.bind((LOOPBACK, 0))
        sock.listen(8)
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    return sock


class EmulatedReader(LLRPEmulator):
    """A four-port reader on loopback with nothing in view but what it is told."""

    def __init__(self, name: str) -> None:
        super().__init__(host=LOOPBACK, tags=[], reads_per_sec=1.0, antenna_count=4)
        self.name = name
        self._listening: socket.socket | None = bind_loopback()
        self.port = self._listening.getsockname()[1]
        self.reports = 0  # RO_ACCESS_REPORTs sent

    async def start(self) -> None:
        listening, self._listening = self._listening, None
        if listening is None:  # served before and stopped: the same port again
            await super().start()
            return
        self._server = await asyncio.start_server(self._handle_client, sock=listening)

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self.stop()
        self.close_listening()

    def close_listening(self) -> None:
        """Give the port back if it was never served."""
        listening, self._listening = self._listening, None
        if listening is not None:
            listening.close()

    @property
    def inventorying(self) -> bool:
        """A client is connected and runs an inventory."""
        return self._writer is not None and any(
            state == "Active" for _spec, state in self._rospecs.values()
        )

    async def report(self, reads: Sequence[SimulatedRead]) -> bool:
        """One RO_ACCESS_REPORT with ``reads``; False (nothing sent) when no inventory runs."""
        if not reads or not self.inventorying:
            return False
        datas = [
            params.TagReportData(
                epc_parameter=params.EPC_96(epc=bytes.fromhex(read.epc)),
                antenna_id=params.AntennaID(antenna_id=read.antenna),
                peak_rssi=params.PeakRSSI(peak_rssi=max(-128, min(127, read.rssi))),
                first_seen_timestamp_utc=params.FirstSeenTimestampUTC(
                    microseconds=_us(read.first_seen)
                ),
                last_seen_timestamp_utc=params.LastSeenTimestampUTC(
                    microseconds=_us(read.last_seen)
                ),
                tag_seen_count=params.TagSeenCount(tag_count=read.count),
            )
            for read in reads
        ]
        await self._send(messages.RO_ACCESS_REPORT(tag_report_datas=datas))
        self.reports += 1
        return True
