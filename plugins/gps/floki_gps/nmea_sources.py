"""NMEA 0183 receivers as sources: one on a serial port of the appliance (a hub's or a
van's receiver), and receivers that stream their sentences over TCP to ``nmea_tcp_port``
(through the TCP listener every tracker protocol shares, ``tcp_listener``, with
:class:`NmeaSession` as the protocol).

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
from floki_gps.tcp_session import IsRegistered, Step

__all__ = ["NmeaSerialSource", "NmeaSession", "NmeaStream", "ReceiverError", "split_lines"]

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


class NmeaSession:
    """One receiver's sentences, fed in any split, as a tracker session
    (``tcp_session.TrackerSession``): the TCP listener every tracker protocol shares runs
    it, and the serial source feeds it the port's bytes. The receiver "logs in" as
    ``device`` with its first bytes (sentences do not name it) and, given
    ``is_registered``, is refused if no asset has that id; a cycle's sentences make one
    fix, so the cycle being read is ``held`` until the next one starts."""

    protocol = PROTOCOL

    def __init__(
        self,
        device: str,
        now: Callable[[], dt.datetime],
        is_registered: IsRegistered | None = None,
    ) -> None:
        self._device = device
        self._now = now
        self._is_registered = is_registered
        self.device: str | None = None
        self.reader = NmeaReader(device)
        self.buffer = b""

    def feed(self, data: bytes) -> Step:
        step = Step()
        if self.device is None:
            if self._is_registered is not None and not self._is_registered(self._device):
                # As a tracker whose IMEI no asset has: refused, and listed as refused.
                step.refused = self._device
                step.rejected.append("unknown_device")
                step.close = True
                return step
            self.device = step.logged_in = self._device
        lines, self.buffer = split_lines(self.buffer + bytes(data))
        if len(self.buffer) > MAX_LINE:
            step.rejected.append("bad_sentence")  # no line end where a sentence must end
            self.buffer = b""
        now = self._now()
        for line in lines:
            try:
                step.fixes.extend(self.reader.feed(line, now))
            except NmeaError as exc:
                step.rejected.append(exc.counted_as)
        return step

    def held(self) -> list[Fix]:
        """The cycle read so far, as a fix (handed over with the batch)."""
        return self.reader.flush(self._now())


class NmeaStream:
    """A serial receiver's bytes made into fixes in ``batcher``; its device kept current
    in the device book."""

    def __init__(
        self,
        device: str,
        context: PluginContext,
        devices: DeviceBook,
        batcher: FixBatcher,
        peer: str | None,
    ) -> None:
        self.context = context
        self.devices = devices
        self.batcher = batcher
        self.peer = peer
        self.session = NmeaSession(device, context.clock.now)

    def feed(self, chunk: bytes) -> None:
        step = self.session.feed(chunk)
        for reason in step.rejected:
            self.batcher.reject(reason)
        self._note(step.fixes)
        now = self.context.clock.now()
        for fix in step.fixes:
            self.batcher.add(fix, now)

    def flush(self) -> list[Fix]:
        """The receiver's cycle read so far, noted in the device book (for the batcher)."""
        fixes = self.session.held()
        self._note(fixes)
        return fixes

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
