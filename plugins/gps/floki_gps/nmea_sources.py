"""NMEA 0183 receivers as sources: one on a serial port of the appliance (a hub's or a
van's receiver), and receivers that stream their sentences over TCP to ``nmea_tcp_port``.

NMEA sentences do not name their receiver, so every fix carries ``[plugin.gps]
nmea_device``, the tracker id registered on the asset. Bad lines are counted by reason
(``bad_checksum``, ``bad_sentence``); fixes go to the core every ``batch_seconds``.

The serial port is read on a thread of its own (pyserial blocks), which hands lines to
the event loop; a port that cannot be opened, or goes away, ends ``run`` with the reason
and the supervisor opens it again after its backoff.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import re
import threading
from collections.abc import Callable
from typing import Any

import serial  # type: ignore[import-untyped, unused-ignore]

from floki_core.sdk import ObservationSink, PluginContext
from floki_gps.config import GpsSettings
from floki_gps.devices import DeviceBook
from floki_gps.fix_batches import FixBatcher, is_registered
from floki_gps.fixes import Fix
from floki_gps.nmea import MAX_LINE, PROTOCOL, NmeaError, NmeaReader

__all__ = ["NmeaSerialSource", "NmeaStream", "NmeaTcpListener", "ReceiverError", "split_lines"]

READ_TIMEOUT = 0.25  # seconds a serial read waits, so the reading thread notices a stop
JOIN_SECONDS = 1.0
_LINE_END = re.compile(rb"\r\n|\r|\n")
_STOP = object()
OpenPort = Callable[..., Any]


class ReceiverError(OSError):
    """A receiver cannot be read: the message says why."""


def split_lines(buffer: bytes) -> tuple[list[bytes], bytes]:
    """Complete lines (CR, LF or CR LF) and what is left after the last line end."""
    parts = _LINE_END.split(buffer)
    rest = parts.pop()
    return [p for p in parts if p.strip()], rest


def configured_device(settings: GpsSettings) -> str:
    device = settings.nmea_device.strip()
    if not device:
        raise ReceiverError(
            "[plugin.gps] nmea_device is empty: set it to the tracker id registered on the "
            "asset the receiver travels with (NMEA sentences do not name their receiver)"
        )
    return device


class NmeaStream:
    """The lines of one receiver made into fixes in ``batcher``; its device kept current
    in the device book."""

    def __init__(
        self,
        device: str,
        context: PluginContext,
        devices: DeviceBook,
        batcher: FixBatcher,
        peer: str | None,
    ) -> None:
        self.device = device
        self.context = context
        self.devices = devices
        self.batcher = batcher
        self.peer = peer
        self.reader = NmeaReader(device)
        self.buffer = b""

    def feed(self, chunk: bytes) -> None:
        lines, self.buffer = split_lines(self.buffer + chunk)
        if len(self.buffer) > MAX_LINE:
            self.batcher.reject("bad_sentence")  # no line end where a sentence must end
            self.buffer = b""
        now = self.context.clock.now()
        for line in lines:
            try:
                fixes = self.reader.feed(line, now)
            except NmeaError as exc:
                self.batcher.reject(exc.counted_as)
                continue
            self._take(fixes, now)

    def flush(self) -> list[Fix]:
        """The receiver's cycle read so far, noted in the device book (for the batcher)."""
        now = self.context.clock.now()
        fixes = self.reader.flush(now)
        self._note(fixes)
        return fixes

    def _take(self, fixes: list[Fix], now: dt.datetime) -> None:
        self._note(fixes)
        for fix in fixes:
            self.batcher.add(fix, now)

    def _note(self, fixes: list[Fix]) -> None:
        for fix in fixes:
            if is_registered(self.context, fix.device):
                self.devices.heard(fix, self.peer)
            else:
                self.devices.refused(fix.device, PROTOCOL, self.peer)


class NmeaSerialSource:
    """A receiver on a serial port (``nmea_serial``, a device path or a pyserial URL)."""

    def __init__(
        self,
        settings: GpsSettings,
        context: PluginContext,
        devices: DeviceBook,
        *,
        open_port: OpenPort | None = None,
    ) -> None:
        self.settings = settings
        self.context = context
        self.devices = devices
        self.connected = asyncio.Event()  # the port is open and being read
        self._open_port: OpenPort = open_port or serial.serial_for_url
        self._queue: asyncio.Queue[Any] | None = None
        self._stop_requested = False

    @property
    def label(self) -> str:
        return f"NMEA receiver on {self.settings.nmea_serial}"

    async def run(self, sink: ObservationSink) -> None:
        if self._stop_requested:
            return
        device = configured_device(self.settings)
        queue: asyncio.Queue[Any] = asyncio.Queue()
        self._queue = queue
        port = await asyncio.to_thread(self._open)
        loop = asyncio.get_running_loop()
        halt = threading.Event()
        reading = threading.Thread(
            target=self._pump, args=(port, loop, queue, halt), name="gps-nmea-serial", daemon=True
        )
        batcher = FixBatcher(sink, self.context.clock.now, self.settings.batch_seconds)
        stream = NmeaStream(device, self.context, self.devices, batcher, self.settings.nmea_serial)
        batcher.before_flush.append(stream.flush)
        reading.start()
        self.connected.set()
        self.devices.connected(device, PROTOCOL, self.settings.nmea_serial)
        self.context.log.info("%s: reading", self.label)
        try:
            while True:
                if not batcher.due_in():
                    await batcher.flush()
                try:
                    item = await asyncio.wait_for(queue.get(), batcher.due_in())
                except TimeoutError:
                    continue
                if item is _STOP:
                    return
                if isinstance(item, BaseException):
                    raise ReceiverError(f"{self.label} went away: {item}") from None
                stream.feed(item)
        finally:
            self.connected.clear()
            self.devices.disconnected(device)
            halt.set()
            with contextlib.suppress(Exception):
                port.cancel_read()  # the reading thread returns at once
            reading.join(JOIN_SECONDS)
            with contextlib.suppress(Exception):
                port.close()
            await batcher.flush()  # what was read, once more

    async def stop(self) -> None:
        self._stop_requested = True
        if self._queue is not None:
            self._queue.put_nowait(_STOP)

    def _open(self) -> Any:
        try:
            return self._open_port(
                self.settings.nmea_serial, baudrate=self.settings.nmea_baud, timeout=READ_TIMEOUT
            )
        except (serial.SerialException, OSError, ValueError) as exc:
            raise ReceiverError(f"{self.label}: cannot open the port: {exc}") from None

    @staticmethod
    def _pump(
        port: Any, loop: asyncio.AbstractEventLoop, queue: asyncio.Queue[Any], halt: threading.Event
    ) -> None:
        """On the reading thread: what the port gives, or the error that ended it."""
        try:
            while not halt.is_set():
                chunk = port.read(max(1, port.in_waiting))
                if chunk:
                    loop.call_soon_threadsafe(queue.put_nowait, chunk)
        except Exception as exc:
            if not halt.is_set():
                with contextlib.suppress(RuntimeError):  # the loop has closed
                    loop.call_soon_threadsafe(queue.put_nowait, exc)


class NmeaTcpListener:
    """Receivers that connect to ``listen_host:nmea_tcp_port`` and stream sentences."""

    def __init__(self, settings: GpsSettings, context: PluginContext, devices: DeviceBook):
        self.settings = settings
        self.context = context
        self.devices = devices
        self.listening = asyncio.Event()
        self.port: int | None = None
        self._stopping = asyncio.Event()
        self._connections: set[asyncio.Task[None]] = set()
        self._writers: set[asyncio.StreamWriter] = set()

    async def run(self, sink: ObservationSink) -> None:
        if self._stopping.is_set():
            return
        device = configured_device(self.settings)
        host, port = self.settings.listen_host, self.settings.nmea_tcp_port
        batcher = FixBatcher(sink, self.context.clock.now, self.settings.batch_seconds)

        async def connected(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            task = asyncio.current_task()
            if task is not None:
                self._connections.add(task)
            self._writers.add(writer)
            try:
                await self._serve(device, batcher, reader, writer)
            finally:
                self._writers.discard(writer)
                if task is not None:
                    self._connections.discard(task)

        try:
            server = await asyncio.start_server(connected, host, port)
        except OSError as exc:
            raise ReceiverError(
                f"NMEA over TCP cannot listen on {host}:{port}: {exc.strerror or exc}"
            ) from None
        self.port = int(server.sockets[0].getsockname()[1]) if server.sockets else port
        self.listening.set()
        self.context.log.info("NMEA over TCP on %s:%s", host, self.port)
        try:
            await batcher.run(self._stopping)
        finally:
            self.listening.clear()
            server.close()
            for writer in list(self._writers):
                writer.close()
            for task in list(self._connections):
                task.cancel()
            await asyncio.gather(*self._connections, return_exceptions=True)
            await server.wait_closed()
            await batcher.flush()

    async def stop(self) -> None:
        self._stopping.set()

    async def _serve(
        self,
        device: str,
        batcher: FixBatcher,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
    ) -> None:
        peer = writer.get_extra_info("peername")
        peer_text = f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) else None
        stream = NmeaStream(device, self.context, self.devices, batcher, peer_text)
        batcher.before_flush.append(stream.flush)
        self.devices.connected(device, PROTOCOL, peer_text)
        try:
            while True:
                try:
                    chunk = await asyncio.wait_for(
                        reader.read(4096), self.settings.idle_timeout_seconds
                    )
                except TimeoutError:
                    return  # silent too long; a receiver connects again on its own
                except OSError:
                    return
                if not chunk:
                    return
                stream.feed(chunk)
        finally:
            batcher.before_flush.remove(stream.flush)
            for fix in stream.flush():
                batcher.add(fix)
            self.devices.disconnected(device)
            writer.close()
