"""Fixed barcode scanners on a serial port: at a doorway, at the equipment library counter.

A fixed scanner stands in one place, registered as a receiver in that zone. Every
asset code it reads (a Floki label, a GIAI, a UDI, an asset number) is a fixed-point
sighting of that asset at the scanner's receiver, so the asset is placed in the
scanner's zone. A location label read by a fixed scanner says nothing (the scanner
does not move) and is ignored; an unreadable or unknown code is counted against the
scanner's source (``unreadable_code``, ``unknown_code`` in ``GET /api/v1/sources``, logged
once per reason per minute) and published, with what was read and why it names nothing,
as a ``qr.scan_rejected`` event.

The port is read on a thread of its own (pyserial blocks), which hands complete lines
to the event loop; all the lines waiting make one batch.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import msgspec
import serial  # type: ignore[import-untyped, unused-ignore]

from floki_core.sdk import (
    DomainEvent,
    FlokiError,
    Observation,
    ObservationSink,
    PluginContext,
    Principal,
    RegisterReading,
)
from floki_qr.label_codes import QR, ensure_codes
from floki_qr.resolve import UNREADABLE, resolve_texts

__all__ = [
    "ScannerError",
    "ScannerSettings",
    "SerialScanner",
    "SerialScannerSource",
    "serial_sources",
    "split_lines",
]

READ_TIMEOUT = 0.25  # seconds a read waits, so the reading thread notices stop()
MAX_LINE = 4096  # bytes without a terminator before the scanner's suffix is suspect
TERMINATORS = {"cr": b"\r", "lf": b"\n", "crlf": b"\r\n", "tab": b"\t"}
_ANY_LINE_END = re.compile(rb"[\r\n]+")


class SerialScanner(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """``[[plugin.qr.scanners.serial]]``: one scanner."""

    name: Annotated[str, msgspec.Meta(pattern=r"^[a-z0-9][a-z0-9_-]{0,39}$")]
    # A device (/dev/serial/by-id/... survives re-plugging) or a pyserial URL
    # (rfc2217://host:port, socket://host:port) for a networked serial server.
    port: Annotated[str, msgspec.Meta(min_length=1, max_length=500)]
    # The identifier of the receiver registered where the scanner stands.
    receiver: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    baudrate: Annotated[int, msgspec.Meta(ge=300, le=4_000_000)] = 9600
    # What the scanner sends after each code; "auto" takes CR, LF or CR LF.
    terminator: Literal["auto", "cr", "lf", "crlf", "tab"] = "auto"


class ScannerSettings(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """``[plugin.qr.scanners]``."""

    serial: list[SerialScanner] = msgspec.field(default_factory=list)

    def __post_init__(self) -> None:
        names = [s.name for s in self.serial]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"serial scanner name {twice[0]!r} is used twice")


class ScannerError(FlokiError):
    """A scanner cannot be used: port missing or gone, receiver not registered."""


def split_lines(buffer: bytes, terminator: str) -> tuple[list[bytes], bytes]:
    """Complete lines (empty ones dropped) and what is left after the last terminator."""
    if terminator == "auto":
        parts = _ANY_LINE_END.split(buffer)
        # A trailing CR may be the first half of CR LF: the rest is dropped as empty.
        rest = b"" if buffer.endswith((b"\r", b"\n")) else parts.pop()
    else:
        parts = buffer.split(TERMINATORS[terminator])
        rest = parts.pop()
    return [p for p in parts if p.strip()], rest


OpenPort = Callable[..., Any]
_STOP = object()


@dataclass
class ScannerCounts:
    scans: int = 0
    located: int = 0  # asset codes sent on as sightings
    ignored: int = 0  # location labels
    rejected: int = 0  # unreadable or unknown


class SerialScannerSource:
    def __init__(
        self,
        scanner: SerialScanner,
        context: PluginContext,
        *,
        open_port: OpenPort | None = None,
    ) -> None:
        self.scanner = scanner
        self.context = context
        self.counts = ScannerCounts()
        self.connected = asyncio.Event()  # the port is open and being read
        self._open_port: OpenPort = open_port or serial.serial_for_url
        self._actor = Principal(user_id=None, username=f"serial scanner {scanner.name}", role=None)
        self._queue: asyncio.Queue[Any] | None = None
        self._stop_requested = False

    @property
    def label(self) -> str:
        return f"serial scanner {self.scanner.name} ({self.scanner.port})"

    async def run(self, sink: ObservationSink) -> None:
        if self._stop_requested:
            return
        queue: asyncio.Queue[Any] = asyncio.Queue()
        self._queue = queue
        await self._check_receiver()
        port = await asyncio.to_thread(self._open)
        loop = asyncio.get_running_loop()
        halt = threading.Event()
        reader = threading.Thread(
            target=self._pump,
            args=(port, loop, queue, halt),
            name=f"qr-serial-{self.scanner.name}",
            daemon=True,
        )
        reader.start()
        self.connected.set()
        self.context.log.info("%s: reading", self.label)
        try:
            while True:
                lines, after = self._take(await queue.get(), queue)
                if lines:
                    await self._deliver([line.decode("utf-8", "replace") for line in lines], sink)
                if after is _STOP:
                    return
                if isinstance(after, BaseException):
                    raise ScannerError(f"{self.label} disconnected: {after}") from after
        finally:
            self.connected.clear()
            halt.set()
            with contextlib.suppress(Exception):
                cancel = getattr(port, "cancel_read", None)
                if cancel is not None:
                    cancel()
            reader.join(READ_TIMEOUT * 4)
            with contextlib.suppress(Exception):
                port.close()

    async def stop(self) -> None:
        self._stop_requested = True
        if self._queue is not None:
            self._queue.put_nowait(_STOP)

    # --- the port ----------------------------------------------------------------

    def _open(self) -> Any:
        try:
            return self._open_port(
                self.scanner.port, baudrate=self.scanner.baudrate, timeout=READ_TIMEOUT
            )
        except (serial.SerialException, OSError, ValueError) as exc:
            raise ScannerError(f"{self.label}: cannot open the port: {exc}") from None

    def _pump(
        self,
        port: Any,
        loop: asyncio.AbstractEventLoop,
        queue: asyncio.Queue[Any],
        halt: threading.Event,
    ) -> None:
        """On the reading thread: complete lines to the loop, or the error that ended it."""
        buffer = b""
        try:
            while not halt.is_set():
                chunk = port.read(max(1, port.in_waiting))
                if not chunk:
                    continue
                lines, buffer = split_lines(buffer + chunk, self.scanner.terminator)
                if len(buffer) > MAX_LINE:
                    self.context.log.warning(
                        "%s: %d bytes without a line end dropped; check the scanner's suffix",
                        self.label,
                        len(buffer),
                    )
                    buffer = b""
                if lines:
                    loop.call_soon_threadsafe(queue.put_nowait, lines)
        except Exception as exc:
            if not halt.is_set():
                with contextlib.suppress(RuntimeError):  # the loop has closed
                    loop.call_soon_threadsafe(queue.put_nowait, exc)

    @staticmethod
    def _take(first: Any, queue: asyncio.Queue[Any]) -> tuple[list[bytes], Any]:
        """Every line waiting, and what ended the run if that came too."""
        lines: list[bytes] = []
        item = first
        while True:
            if not isinstance(item, list):
                return lines, item
            lines.extend(item)
            if queue.empty():
                return lines, None
            item = queue.get_nowait()

    # --- scans to sightings ----------------------------------------------------

    async def _check_receiver(self) -> None:
        identifier = self.scanner.receiver

        def known(register: RegisterReading) -> bool:
            return register.receiver_with_identifier(identifier) is not None

        if not await self.context.records.read(known):
            raise ScannerError(
                f"{self.label}: receiver {identifier!r} is not in the register; add a receiver "
                "with that identifier in the zone where the scanner stands"
            )

    async def _deliver(self, texts: Sequence[str], sink: ObservationSink) -> None:
        found = await self.context.records.read(resolve_texts, texts)
        untagged = [r.asset_id for r in found if r.kind == "asset" and r.tag is None]
        made: dict[int, str] = {}
        if untagged:
            # An asset known by its GIAI or number but never labelled: give it its code
            # now, so the location pipeline knows it by one tag from here on.
            made, _ = await ensure_codes(
                self.context, asset_ids=[a for a in untagged if a is not None], actor=self._actor
            )
        now = self.context.clock.now()
        batch: list[Observation] = []
        rejected: list[DomainEvent] = []
        refused: collections.Counter[str] = collections.Counter()
        for text, resolved in zip(texts, found, strict=True):
            self.counts.scans += 1
            if resolved.kind == "asset" and resolved.asset_id is not None:
                tag = resolved.tag or made[resolved.asset_id]
                batch.append(
                    Observation(
                        technology=QR,
                        tag=tag,
                        receiver=self.scanner.receiver,
                        observed_at=now,
                        received_at=now,
                        extras={"scanner": self.scanner.name, "read_as": resolved.read_as},
                    )
                )
                self.counts.located += 1
            elif resolved.kind == "zone":
                self.counts.ignored += 1
                self.context.log.info(
                    "%s: location label of %s ignored: a fixed scanner does not move",
                    self.label,
                    resolved.zone_name,
                )
            else:
                self.counts.rejected += 1
                reason = "unreadable_code" if resolved.read_as == UNREADABLE else "unknown_code"
                refused[reason] += 1
                self.context.log.debug("%s: %r: %s", self.label, text, resolved.error)
                rejected.append(
                    DomainEvent(
                        type="qr.scan_rejected",
                        at=now,
                        entity="receivers",
                        entity_id=self.scanner.receiver,
                        data={"scanner": self.scanner.name, "text": text, "reason": resolved.error},
                    )
                )
        reject = getattr(sink, "reject", None)  # a bare sink in a unit test has none
        if reject is not None:
            for reason, count in refused.items():
                reject(reason, count)
        if rejected:
            await self.context.events.publish(rejected)
        if batch:
            await sink.submit(batch)


def serial_sources(
    settings: ScannerSettings, context: PluginContext
) -> list[tuple[str, SerialScannerSource]]:
    return [(f"qr-serial-{s.name}", SerialScannerSource(s, context)) for s in settings.serial]
