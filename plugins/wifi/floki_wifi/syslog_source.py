"""The ``wifi-syslog`` source: syslog from access points and controllers, over UDP
(RFC 5426, a message a datagram) and TCP (RFC 6587), on ``[plugin.wifi] listen_host``.

Each datagram or framed message goes straight to the reader (``syslog_reader``): a
line about a device no asset carries is counted and dropped before anything else is
done with it. What the reader kept is handed to the core every ``batch_seconds`` in one
batch, with the counts of what it refused (``sink.reject``, one call per reason). The
register is mirrored (the devices bound, the access points' names) at start and again
when it changes. A port that cannot be opened ends ``run`` with the reason (the
supervisor shows it and tries again); bad input never does.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import datetime as dt
import logging
import math
import socket
import zoneinfo
from collections.abc import Mapping, Sequence
from typing import Any, cast

from floki_core.sdk import DomainEvent, ObservationSink, PluginContext, SourceRegistry
from floki_wifi import state
from floki_wifi.ap_names import AccessPointNames
from floki_wifi.config import WifiSettings
from floki_wifi.privacy import (
    DROPPED_BY_DESIGN,
    RANDOMISED_DEVICE,
    UNKNOWN_DEVICE,
    device_mac,
)
from floki_wifi.syslog_config import SyslogSettings
from floki_wifi.syslog_dialects import dialects_for
from floki_wifi.syslog_framing import StreamFramer
from floki_wifi.syslog_reader import FEED, KnownDevices, SyslogReader

__all__ = ["SOURCE", "ListenerUnavailable", "SyslogListener", "register_sources"]

SOURCE = FEED
log = logging.getLogger("floki.plugin.wifi")
# What the register's changes mean to the mirror (entities and types of the core's
# events). An asset's other events (it moved, its state changed) leave its MACs as
# they are: read the register again for them and every line would go the slow way.
_DEVICE_ENTITIES = frozenset({"identifiers"})
_DEVICE_EVENTS = frozenset({"asset.deleted", "register.imported"})
_AP_ENTITIES = frozenset({"receivers"})
# Kept observations at which a batch goes at once (and TCP reading pauses meanwhile).
PENDING_LIMIT = 20_000
UDP_RECEIVE_BUFFER_BYTES = 16 * 2**20  # about 20,000 lines: 0.4 s at 50,000 a second
SO_RCVBUFFORCE = getattr(socket, "SO_RCVBUFFORCE", 33)  # Linux
UDP_READS_PER_WAKE = 256
# The register is read again at most this often while it changes (an import of a
# thousand assets is one read, not a thousand).
MIRROR_EVERY_SECONDS = 0.5


class ListenerUnavailable(ConnectionError):
    """A port could not be opened; the message says which and why."""


def register_sources(
    registry: SourceRegistry, context: PluginContext, settings: WifiSettings
) -> None:
    syslog = settings.syslog
    if not syslog.udp_port and not syslog.tcp_port:
        context.log.info("[plugin.wifi.syslog] udp_port and tcp_port are 0: no syslog listener")
        return
    listener = SyslogListener(context, settings.listen_host, syslog)
    registry.add(SOURCE, listener)
    context.state["syslog"] = listener
    context.events.add_observer(f"{SOURCE}-register", listener.register_changed)


def appliance_zone(settings: SyslogSettings) -> dt.tzinfo:
    """The zone of RFC 3164 timestamps: the configured one, else the appliance's."""
    if settings.time_zone:
        return zoneinfo.ZoneInfo(settings.time_zone)
    return dt.datetime.now().astimezone().tzinfo or dt.UTC


class SyslogListener:
    """A supervised source: UDP and TCP listeners feeding one reader."""

    def __init__(self, context: PluginContext, host: str, settings: SyslogSettings) -> None:
        self.context = context
        self.host = host
        self.settings = settings
        self.known = KnownDevices()
        self.names = AccessPointNames(context.register, context.clock)
        access_points = {h: device_mac(m) for h, m in settings.access_points.items()}
        self.reader = SyslogReader(
            dialects=dialects_for(settings),
            known=self.known,
            device_filter=state.device_filter(context),
            names=self.names,
            book=state.association_book(context),
            clock=context.clock,
            zone=appliance_zone(settings),
            access_points={h: m for h, m in access_points.items() if m is not None},
            max_bytes=settings.max_message_bytes,
        )
        self.udp_port: int | None = None  # bound, while listening
        self.tcp_port: int | None = None
        self.listening = asyncio.Event()
        self._stopping = asyncio.Event()
        self._due = asyncio.Event()
        self._sink: ObservationSink | None = None
        self._connections: set[_SyslogStream] = set()
        self._udp: socket.socket | None = None
        self.paused: set[_SyslogStream] = set()
        # Devices no asset carries that this feed dropped (the shared filter counts every
        # feed's): numbers only.
        self.dropped: collections.Counter[str] = collections.Counter()
        self.connections_refused = 0
        self._register_changes = 0  # device changes seen, to tell one during a read
        self._mirrored_at = -math.inf  # loop time of the last read of the register

    # --- the source protocol ----------------------------------------------------------------

    async def run(self, sink: ObservationSink) -> None:
        self._stopping.clear()
        self._sink = sink
        await self._mirror()
        loop = asyncio.get_running_loop()
        udp: socket.socket | None = None
        server: asyncio.Server | None = None
        try:
            if self.settings.udp_port:
                udp = self._udp = await self._open_udp(loop)
            if self.settings.tcp_port:
                server = await self._open_tcp(loop)
            self.listening.set()
            log.info(
                "syslog listener on %s (UDP %s, TCP %s), dialects %s",
                self.host,
                self.udp_port or "off",
                self.tcp_port or "off",
                ", ".join(self.reader.dialects.names),
            )
            while not self._stopping.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._due.wait(), self.settings.batch_seconds)
                self._due.clear()
                await self._flush()
                if (self.known.stale or self.names.due) and (
                    loop.time() - self._mirrored_at >= MIRROR_EVERY_SECONDS
                ):
                    # Meanwhile a stale mirror sends every line to the device filter.
                    await self._mirror()
        finally:
            self.listening.clear()
            if udp is not None:
                loop.remove_reader(udp.fileno())
                udp.close()
                self._udp = None
            if server is not None:
                server.close()
                for connection in list(self._connections):
                    connection.hang_up()
                await server.wait_closed()
            self.udp_port = self.tcp_port = None
            await self._flush()

    async def stop(self) -> None:
        self._stopping.set()
        self._due.set()

    def details(self) -> Mapping[str, Any]:
        reader = self.reader
        return {
            "udp_port": self.udp_port,
            "tcp_port": self.tcp_port,
            "connections": len(self._connections),
            "dialects": list(reader.dialects.names),
            "lines": reader.lines,
            "other_lines": reader.other_lines,
            "associations": reader.associations,
            "disassociations": reader.disassociations,
            "unknown_devices": self.dropped[UNKNOWN_DEVICE],
            "randomised_devices": self.dropped[RANDOMISED_DEVICE],
        }

    # --- listening ----------------------------------------------------------------------------

    async def _open_udp(self, loop: asyncio.AbstractEventLoop) -> socket.socket:
        port = self.settings.udp_port
        try:
            found = await loop.getaddrinfo(
                self.host, port, type=socket.SOCK_DGRAM, flags=socket.AI_PASSIVE
            )
            family, kind, proto, _, address = found[0]
            sock = socket.socket(family, kind, proto)
        except OSError as exc:
            raise ListenerUnavailable(
                f"cannot take syslog on UDP {self.host}:{port}: {exc.strerror or exc}"
            ) from None
        try:
            sock.setblocking(False)
            # Room for a burst while a batch is handed over or the machine is busy: a
            # datagram that finds the buffer full is lost. The kernel caps it at
            # net.core.rmem_max unless the appliance may exceed that (CAP_NET_ADMIN).
            try:
                sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, UDP_RECEIVE_BUFFER_BYTES)
            except OSError:
                with contextlib.suppress(OSError):
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, UDP_RECEIVE_BUFFER_BYTES)
            sock.bind(address)
        except OSError as exc:
            sock.close()
            raise ListenerUnavailable(
                f"cannot take syslog on UDP {self.host}:{port}: {exc.strerror or exc}"
            ) from None
        self.udp_port = sock.getsockname()[1]
        # Read straight from the socket, a burst at a time, with no transport between.
        loop.add_reader(sock.fileno(), self._read_datagrams, sock)
        return sock

    def _read_datagrams(self, sock: socket.socket) -> None:
        """Every datagram waiting (up to a bound, so TCP senders get their turn), one
        message each (RFC 5426), read together."""
        recv = sock.recv
        size = self.settings.max_message_bytes + 3  # room for a CR LF or NUL after it
        burst: list[bytes] = []
        for _ in range(UDP_READS_PER_WAKE):
            try:
                burst.append(recv(size).rstrip(b"\r\n\x00"))
            except (BlockingIOError, InterruptedError):
                break
            except OSError:
                self.reader.reject("receive_error")
                break
        if burst:
            self.reader.take(burst)
            self.took()

    def udp_buffer_bytes(self) -> int:
        """The UDP socket's receive buffer (0: no UDP listener open)."""
        sock = self._udp
        return 0 if sock is None else int(sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF))

    async def _open_tcp(self, loop: asyncio.AbstractEventLoop) -> asyncio.Server:
        port = self.settings.tcp_port
        try:
            server = await loop.create_server(lambda: _SyslogStream(self), self.host, port)
        except OSError as exc:
            raise ListenerUnavailable(
                f"cannot take syslog on TCP {self.host}:{port}: {exc.strerror or exc}"
            ) from None
        self.tcp_port = server.sockets[0].getsockname()[1] if server.sockets else port
        return server

    # --- what the transports call -------------------------------------------------------------

    def took(self) -> None:
        """After a read: a full batch goes at once."""
        if self.full:
            self._due.set()

    def opened(self, stream: _SyslogStream) -> bool:
        if self._stopping.is_set() or len(self._connections) >= self.settings.max_connections:
            self.connections_refused += 1
            self.reader.reject("too_many_connections")
            return False
        self._connections.add(stream)
        return True

    def closed(self, stream: _SyslogStream) -> None:
        self._connections.discard(stream)
        self.paused.discard(stream)

    @property
    def full(self) -> bool:
        return len(self.reader.taken.observations) >= PENDING_LIMIT

    # --- the register and the core ------------------------------------------------------------

    async def register_changed(self, events: Sequence[DomainEvent]) -> None:
        """An event observer: the mirror is read again once the register changed."""
        for event in events:
            if event.entity in _DEVICE_ENTITIES or event.type in _DEVICE_EVENTS:
                self.known.stale = True
                self._register_changes += 1
            elif event.entity in _AP_ENTITIES:
                self.names.changed()

    async def _mirror(self) -> None:
        register = self.context.register
        if register is None:
            self.known.stale = False  # nothing is bound outside an appliance
            return
        seen = self._register_changes
        self._mirrored_at = asyncio.get_running_loop().time()
        snapshot = await register.snapshot()
        self.known.update(snapshot)
        self.names.update(snapshot)
        if self._register_changes != seen:
            self.known.stale = True  # changed again while it was read

    async def _flush(self) -> None:
        taken = self.reader.drain()
        if self.paused:
            paused, self.paused = self.paused, set()
            for stream in paused:
                stream.resume()
        sink = self._sink
        if sink is None:
            return
        device_filter = self.reader.device_filter
        rejected = taken.rejected
        if taken.unknown:
            device_filter.unknown += taken.unknown
            rejected[UNKNOWN_DEVICE] = rejected.get(UNKNOWN_DEVICE, 0) + taken.unknown
        if taken.randomised:
            device_filter.randomised += taken.randomised
            rejected[RANDOMISED_DEVICE] = rejected.get(RANDOMISED_DEVICE, 0) + taken.randomised
        for reason, count in rejected.items():
            # Phones nobody tracks are the ordinary run of things: noted, not warned of.
            expected = reason in DROPPED_BY_DESIGN
            if expected:
                self.dropped[reason] += count
            sink.reject(reason, count, expected=expected)
        if taken.observations:
            await sink.submit(taken.observations)


class _SyslogStream(asyncio.Protocol):
    """One sender's TCP connection, framed as RFC 6587 says."""

    def __init__(self, listener: SyslogListener) -> None:
        self.listener = listener
        self.framer = StreamFramer(listener.settings.max_message_bytes)
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        transport = cast(asyncio.Transport, transport)
        if not self.listener.opened(self):
            transport.abort()
            return
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        if self.transport is None:
            return
        listener = self.listener
        framer = self.framer
        listener.reader.take(framer.feed(data))
        if framer.rejected:
            for reason, count in framer.rejected.items():
                listener.reader.reject(reason, count)
            framer.rejected.clear()
        listener.took()
        if listener.full and self.transport.is_reading():
            # The core has not taken the last batch: read no further until it has.
            self.transport.pause_reading()
            listener.paused.add(self)

    def resume(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.resume_reading()

    def eof_received(self) -> bool:
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        if self.transport is not None:
            self.transport = None
            self.listener.closed(self)

    def hang_up(self) -> None:
        if self.transport is not None:
            self.transport.abort()
