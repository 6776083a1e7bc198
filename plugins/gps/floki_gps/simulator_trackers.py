"""The simulated trackers' side of the wire: connections to this plugin's own listeners.

A Teltonika tracker opens a TCP connection, sends its IMEI and waits for ``01``, then
sends AVL packets (its buffered fixes in one) and reads the record count back; a GT06
tracker logs in and waits for the answer, then sends positions (unanswered) and
heartbeats (answered); a phone running Traccar Client posts each fix to the OsmAnd
listener over HTTP. Each link keeps its connection and opens it again when it is lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections.abc import Sequence
from urllib.parse import urlencode

import aiohttp

from floki_gps.fixes import KNOTS_TO_KMH, Fix
from floki_gps.gt06 import gt06_encode, gt06_encode_login
from floki_gps.teltonika import teltonika_encode, teltonika_encode_imei

ANSWER_TIMEOUT_S = 5.0
MAX_RECORDS = 255  # an AVL packet's limit


class LinkRefused(ConnectionError):
    """The listener refused the tracker, or did not answer as its protocol says."""


class _TcpLink:
    def __init__(self, device: str, host: str, port: int) -> None:
        self.device = device
        self.host = host
        self.port = port
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    @property
    def connected(self) -> bool:
        return self._writer is not None and not self._writer.is_closing()

    async def _read(self, size: int) -> bytes:
        assert self._reader is not None
        try:
            return await asyncio.wait_for(self._reader.readexactly(size), ANSWER_TIMEOUT_S)
        except (asyncio.IncompleteReadError, TimeoutError) as exc:
            raise LinkRefused(f"{self.device}: no answer from the listener") from exc

    async def _write(self, data: bytes) -> None:
        assert self._writer is not None
        self._writer.write(data)
        await self._writer.drain()

    async def _open(self) -> None:
        self._reader, self._writer = await asyncio.open_connection(self.host, self.port)

    async def close(self) -> None:
        writer, self._writer, self._reader = self._writer, None, None
        if writer is not None:
            writer.close()
            with contextlib.suppress(ConnectionError, OSError):
                await writer.wait_closed()


class TeltonikaLink(_TcpLink):
    async def _log_in(self) -> None:
        await self._open()
        await self._write(teltonika_encode_imei(self.device))
        if await self._read(1) != b"\x01":
            raise LinkRefused(f"{self.device}: the Teltonika listener refused the IMEI")

    async def send(self, fixes: Sequence[Fix]) -> int:
        """Send ``fixes`` in AVL packets; the number of records the listener acknowledged."""
        try:
            if not self.connected:
                await self._log_in()
            acknowledged = 0
            for start in range(0, len(fixes), MAX_RECORDS):
                await self._write(teltonika_encode(fixes[start : start + MAX_RECORDS]))
                acknowledged += int.from_bytes(await self._read(4), "big")
            return acknowledged
        except (OSError, LinkRefused):
            await self.close()
            raise


class Gt06Link(_TcpLink):
    def __init__(self, device: str, host: str, port: int) -> None:
        super().__init__(device, host, port)
        self._serial = 0

    def _next_serial(self) -> int:
        self._serial = (self._serial + 1) & 0xFFFF
        return self._serial

    async def _log_in(self) -> None:
        await self._open()
        await self._write(gt06_encode_login(self.device, self._next_serial()))
        answer = await self._read(10)
        if answer[3] != 0x01:
            raise LinkRefused(f"{self.device}: the GT06 listener did not answer the login")

    async def send(self, fixes: Sequence[Fix]) -> int:
        """Send each fix as its frame (a heartbeat answered, a position not); how many."""
        try:
            if not self.connected:
                await self._log_in()
            for fix in fixes:
                await self._write(gt06_encode(fix, self._next_serial()))
                if fix.lat is None or fix.alarm is not None:
                    await self._read(10)
            return len(fixes)
        except (OSError, LinkRefused):
            await self.close()
            raise


class OsmandLink:
    """A phone's Traccar Client: one HTTP post per fix (the latest when several are due)."""

    def __init__(self, device: str, base_url: str, session: aiohttp.ClientSession) -> None:
        self.device = device
        self.base_url = base_url
        self.session = session

    @property
    def connected(self) -> bool:
        return True

    async def send(self, fixes: Sequence[Fix]) -> int:
        fix = fixes[-1]  # the phone keeps one fix and sends the newest
        query = {
            "id": fix.device,
            "timestamp": f"{fix.at.astimezone(dt.UTC).timestamp():.0f}",
            "lat": f"{fix.lat:.6f}",
            "lon": f"{fix.lon:.6f}",
            "speed": f"{(fix.speed_kmh or 0.0) / KNOTS_TO_KMH:.1f}",  # knots
            "bearing": f"{fix.course_deg or 0.0:.0f}",
            "accuracy": f"{fix.accuracy_m or 0.0:.1f}",
            "batt": f"{fix.battery_pct or 0.0:.0f}",
            "charge": "false",
        }
        try:
            async with self.session.post(f"{self.base_url}/?{urlencode(query)}") as resp:
                if resp.status != 200:
                    raise LinkRefused(f"{self.device}: the OsmAnd listener answered {resp.status}")
        except aiohttp.ClientError as exc:
            raise LinkRefused(f"{self.device}: {exc}") from exc
        return 1

    async def close(self) -> None:
        return None


Link = TeltonikaLink | Gt06Link | OsmandLink
