"""gpsd as a source: connect to ``[plugin.gps] gpsd`` (``host:port``, gpsd's port is
2947), ask it to stream (``?WATCH={"enable":true,"json":true}``) and read its TPV reports
into fixes (:mod:`floki_gps.gpsd`). Each fix carries ``gpsd_device``, or the receiver's
path as gpsd names it when that is empty.

A gpsd that cannot be reached, or closes the connection, ends ``run`` with the reason;
the supervisor connects again after its backoff.
"""

from __future__ import annotations

import asyncio

from floki_core.sdk import ObservationSink, PluginContext
from floki_gps.config import GpsSettings
from floki_gps.devices import DeviceBook
from floki_gps.fix_batches import FixBatcher, is_registered
from floki_gps.gpsd import PROTOCOL, WATCH, GpsdError, decode_report
from floki_gps.nmea_sources import split_lines

__all__ = ["CONNECT_SECONDS", "GpsdClient", "GpsdUnreachable", "gpsd_address"]

CONNECT_SECONDS = 5.0
DEFAULT_PORT = 2947
MAX_REPORT = 64 * 1024  # a SKY report of a receiver seeing every constellation is ~8 KiB


class GpsdUnreachable(ConnectionError):
    """gpsd could not be reached or went away; the message says why."""


def gpsd_address(text: str) -> tuple[str, int]:
    """``host:port`` (or ``host``, or ``[v6]:port``) as a (host, port) pair."""
    text = text.strip()
    host, sep, port = text.rpartition(":")
    if not sep or "]" in port:
        host, port = text, str(DEFAULT_PORT)
    host = host.strip("[]")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise GpsdUnreachable(f"[plugin.gps] gpsd = {text!r}: expected host:port")
    return host, int(port)


class GpsdClient:
    def __init__(self, settings: GpsSettings, context: PluginContext, devices: DeviceBook):
        self.settings = settings
        self.context = context
        self.devices = devices
        self.connected = asyncio.Event()
        self._stopping = asyncio.Event()
        self._writer: asyncio.StreamWriter | None = None

    async def run(self, sink: ObservationSink) -> None:
        if self._stopping.is_set():
            return
        host, port = gpsd_address(self.settings.gpsd)
        where = f"gpsd at {host}:{port}"
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection(host, port), CONNECT_SECONDS
            )
        except (OSError, TimeoutError) as exc:
            raise GpsdUnreachable(f"{where}: {type(exc).__name__}: {exc}") from None
        self._writer = writer
        batcher = FixBatcher(sink, self.context.clock.now, self.settings.batch_seconds)
        try:
            writer.write(WATCH)
            await writer.drain()
            self.connected.set()
            self.context.log.info("watching %s", where)
            await self._read(reader, batcher, where)
        except OSError as exc:
            if not self._stopping.is_set():
                raise GpsdUnreachable(f"{where}: {type(exc).__name__}: {exc}") from None
        finally:
            self.connected.clear()
            self._writer = None
            writer.close()
            await batcher.flush()  # what was read, once more

    async def stop(self) -> None:
        self._stopping.set()
        if self._writer is not None:
            self._writer.close()  # the read sees the end of the stream

    async def _read(self, reader: asyncio.StreamReader, batcher: FixBatcher, where: str) -> None:
        buffer = b""
        device = self.settings.gpsd_device.strip()
        while True:
            if not batcher.due_in():
                await batcher.flush()
            try:
                chunk = await asyncio.wait_for(reader.read(65536), batcher.due_in())
            except TimeoutError:
                continue
            if not chunk:
                if self._stopping.is_set():
                    return
                raise GpsdUnreachable(f"{where} closed the connection")
            lines, buffer = split_lines(buffer + chunk)
            if len(buffer) > MAX_REPORT:
                batcher.reject("bad_json")
                buffer = b""
            now = self.context.clock.now()
            for line in lines:
                try:
                    fix = decode_report(line, device=device, now=now)
                except GpsdError as exc:
                    batcher.reject(exc.counted_as)
                    continue
                if fix is None:
                    continue
                if is_registered(self.context, fix.device):
                    self.devices.heard(fix, where)
                else:
                    self.devices.refused(fix.device, PROTOCOL, where)
                batcher.add(fix, now)
