"""Zebra handhelds' DataWedge output, read as lines over TCP and UDP.

DataWedge's IP output plugin sends each read of the handheld's RFID input (the EPC in
hex), with the prefix and suffix its basic data formatting adds, to one host and port,
over TCP or UDP. A line here is that read: the prefix and suffix the settings give are
taken off (a line without them is ``bad_line``), and the rest must be an EPC (``bad_epc``
when not). The output names neither antenna nor RSSI, so every read is the handheld's
antenna 0: the receiver ``<handheld>:0``. Reads are folded per tag between hand-overs, as
a fixed reader's are (``zebra_batches``).

Over TCP a read ends with a line break (DataWedge's "Send ENTER key" or a suffix of
``\\n``); over UDP one datagram is one read, or several separated by line breaks.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from floki_core.sdk import Clock, ObservationSink
from floki_rfid.epc import EpcError, EpcIdentities
from floki_rfid.llrp_reads import TagRead
from floki_rfid.reader_health import reader_details
from floki_rfid.zebra_batches import ReadBatches
from floki_rfid.zebra_config import DataWedgeSettings

log = logging.getLogger("floki.plugin.rfid")

MAX_LINE = 1024  # bytes; an EPC is at most 124 hex digits, so longer is not a read
MAX_CONNECTIONS = 64  # a handheld keeps one; more are refused, not served


def read_line(line: bytes, prefix: str, suffix: str, epcs: EpcIdentities) -> str:
    """The EPC (upper-case hex) one DataWedge line carries, or ``bad_line:``/``bad_epc:``
    and why. Pure."""
    try:
        text = line.decode("utf-8").strip("\r\n")
    except UnicodeDecodeError:
        return "bad_line:not text"
    if not text.startswith(prefix) or not text.endswith(suffix):
        return "bad_line:without the configured prefix and suffix"
    body = text[len(prefix) : len(text) - len(suffix)].strip()
    if not body:
        return "bad_line:no EPC"
    try:
        return epcs.of_hex(body).hex
    except EpcError as exc:
        return f"bad_epc:{exc}"


class DataWedgeSource:
    """Lines from one handheld on its TCP and UDP ports, as reads at ``<name>:0``."""

    def __init__(
        self,
        settings: DataWedgeSettings,
        clock: Clock,
        *,
        batch_seconds: float = 0.25,
        max_tags_per_window: int = 50_000,
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.batches = ReadBatches(
            settings.name, batch_seconds=batch_seconds, max_tags_per_window=max_tags_per_window
        )
        self.lines = 0  # lines received, for the handheld's health
        self._epcs = EpcIdentities()
        self._stopping = asyncio.Event()
        self._full = asyncio.Event()
        self._connections: set[asyncio.StreamWriter] = set()
        self._handlers: set[asyncio.Task[None]] = set()

    def details(self) -> dict[str, Any]:
        """The handheld's health, as GET /api/v1/plugins lists it: connected while it
        holds a TCP connection open (a UDP handheld shows only its last report)."""
        settings = self.settings
        ports = [f"tcp {settings.tcp_port}"] if settings.tcp_port is not None else []
        ports += [f"udp {settings.udp_port}"] if settings.udp_port is not None else []
        return reader_details(
            self.batches.traffic,
            kind="datawedge",
            connected=bool(self._connections),
            address=f"{settings.listen_host} ({', '.join(ports)})",
            antennas=[],
            now=self.clock.now(),
        )

    # --- the source protocol ------------------------------------------------------------

    async def run(self, sink: ObservationSink) -> None:
        self._stopping.clear()
        settings = self.settings
        host = settings.listen_host
        server: asyncio.Server | None = None
        udp: asyncio.DatagramTransport | None = None
        try:
            try:
                if settings.tcp_port is not None:
                    server = await asyncio.start_server(
                        self._serve, host, settings.tcp_port, limit=MAX_LINE
                    )
                if settings.udp_port is not None:
                    loop = asyncio.get_running_loop()
                    udp, _ = await loop.create_datagram_endpoint(
                        lambda: _Datagrams(self), local_addr=(host, settings.udp_port)
                    )
            except OSError as exc:
                raise ConnectionError(
                    f"handheld {settings.name}: cannot listen on {host}: {exc.strerror or exc}"
                ) from None
            log.info(
                "DataWedge handheld %s: listening on %s (tcp %s, udp %s)",
                settings.name,
                host,
                settings.tcp_port,
                settings.udp_port,
            )
            await self._tick(sink)
        finally:
            if udp is not None:
                udp.close()
            if server is not None:
                server.close()
            for writer in list(self._connections):
                writer.close()
            for task in list(self._handlers):
                task.cancel()
            await asyncio.gather(*self._handlers, return_exceptions=True)
            if server is not None:
                await server.wait_closed()
            await self.batches.hand_over(sink)  # whatever was received reaches the core

    async def stop(self) -> None:
        self._stopping.set()

    async def _tick(self, sink: ObservationSink) -> None:
        while not self._stopping.is_set():
            full = asyncio.ensure_future(self._full.wait())
            stopping = asyncio.ensure_future(self._stopping.wait())
            try:
                await asyncio.wait(
                    {full, stopping},
                    timeout=self.batches.batch_seconds,
                    return_when=asyncio.FIRST_COMPLETED,
                )
            finally:
                full.cancel()
                stopping.cancel()
            self._full.clear()
            await self.batches.hand_over(sink)

    # --- lines ---------------------------------------------------------------------------

    def take(self, line: bytes) -> None:
        """One line as a read, or counted by reason. Never raises for bad input."""
        if not line.strip(b"\r\n \t"):
            return  # the blank half of a CR LF, or a keep-alive
        self.lines += 1
        found = read_line(line, self.settings.prefix, self.settings.suffix, self._epcs)
        if ":" in found:
            self.batches.refuse({found.partition(":")[0]: 1})
            return
        read = TagRead(found, 0, None, None, None, 1)
        if self.batches.add(read, self.clock.now()):
            self._full.set()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if len(self._connections) >= MAX_CONNECTIONS or task is None:
            writer.close()
            return
        self._connections.add(writer)
        self._handlers.add(task)
        try:
            while True:
                try:
                    line = await reader.readuntil(b"\n")
                except asyncio.IncompleteReadError as end:
                    if end.partial:
                        self.take(end.partial)  # the last read, sent without a line break
                    return
                except asyncio.LimitOverrunError:
                    self.batches.refuse({"line_too_long": 1})
                    return  # the stream has lost its line boundaries: start again
                self.take(line)
        except ConnectionError:
            return
        finally:
            self._connections.discard(writer)
            self._handlers.discard(task)
            writer.close()


class _Datagrams(asyncio.DatagramProtocol):
    def __init__(self, source: DataWedgeSource) -> None:
        self.source = source

    def datagram_received(self, data: bytes, addr: tuple[str | object, ...]) -> None:
        if len(data) > MAX_LINE * 16:
            self.source.batches.refuse({"line_too_long": 1})
            return
        for line in data.splitlines():
            if len(line) > MAX_LINE:
                self.source.batches.refuse({"line_too_long": 1})
            else:
                self.source.take(line)
