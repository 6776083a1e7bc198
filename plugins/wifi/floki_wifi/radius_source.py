"""``wifi-radius``: a copy of the network's RADIUS accounting (RFC 2866), received on UDP.

The network's RADIUS server (or each controller, as a second accounting server) sends
Accounting-Requests here. Each is answered as an accounting server must answer it (an
Accounting-Response signed with the NAS's secret, RFC 2866 section 4), so the NAS does
not send it again, and what it says of a tracked device is used:

- Start and Interim-Update: the device (Calling-Station-Id) is on the access point
  (Called-Station-Id): an observation at the AP, and an association in the book.
- Stop: the device left the network then (its "last on the network"): no observation.
- Accounting-On / Accounting-Off: the NAS restarted; every tracked device it had
  reported is off the network.

Packets from an address no ``[[plugin.wifi.radius.clients]]`` entry covers are dropped
unanswered (``unknown_client``), as are packets the client's secret did not sign
(``bad_authenticator``). A device no asset carries is answered for (the NAS must not
retransmit it) and then dropped by the device filter before anything else is done with
it: counted, never kept, logged or shown. A request the NAS sends again because our
answer was lost (the same NAS, identifier and authenticator) is answered again but not
used again.
"""

from __future__ import annotations

import asyncio
import collections
import datetime as dt
import ipaddress
import logging
from typing import Any, cast

from floki_core.sdk import Clock, Observation, ObservationSink, PluginContext, SourceRegistry
from floki_wifi import state
from floki_wifi.associations import AssociationBook
from floki_wifi.config import WifiSettings
from floki_wifi.privacy import (
    DROPPED_BY_DESIGN,
    RANDOMISED_DEVICE,
    UNKNOWN_DEVICE,
    DeviceFilter,
    refusal,
)
from floki_wifi.radius_config import RadiusSettings
from floki_wifi.radius_packets import (
    STATUS_SERVER_STATUS,
    AccountingRequest,
    RadiusRefused,
    read_request,
)

log = logging.getLogger("floki.plugin.wifi")

FEED = "wifi-radius"
TECHNOLOGY = "wifi"
MAX_DATAGRAM = 4096  # RFC 2865 section 3: a RADIUS packet is at most 4096 octets
MAX_REMEMBERED_ANSWERS = 65_536  # bounds the duplicate memory whatever the traffic
FULL_BATCH = 1_000  # observations that make a batch go before its tick

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
AnswerKey = tuple[str, int, bytes]  # (NAS address, identifier, request authenticator)


class NasClient:
    """One ``[[plugin.wifi.radius.clients]]`` entry."""

    def __init__(self, address: str, secret: str, name: str) -> None:
        self.network = ipaddress.ip_network(address, strict=False)
        self.secret = secret.encode("utf-8")
        self.name = name or address
        self.requests = 0
        self.last_request_at: dt.datetime | None = None


class RadiusSource:
    """The accounting listener. ``take`` handles one datagram (and returns the answer);
    ``run`` binds the port and hands observations to the core in batches."""

    def __init__(
        self,
        host: str,
        settings: RadiusSettings,
        clock: Clock,
        book: AssociationBook,
        devices: DeviceFilter,
    ) -> None:
        self.host = host
        self.settings = settings
        self.clock = clock
        self.book = book
        self.devices = devices
        # The most specific network first, so one NAS can have its own secret in a range.
        self.clients = sorted(
            (NasClient(c.address, c.secret, c.name) for c in settings.clients),
            key=lambda c: c.network.prefixlen,
            reverse=True,
        )
        self.bound: tuple[str, int] | None = None
        self.listening = asyncio.Event()
        self.requests = 0  # authenticated requests
        self.answered = 0  # answers sent, the second sending of one included
        self.answered_again = 0  # requests the NAS sent again, answered but not used
        self.by_status: collections.Counter[str] = collections.Counter()
        # Devices no asset carries, dropped (numbers only: which device is never kept).
        self.dropped: collections.Counter[str] = collections.Counter()
        self._pending: list[Observation] = []
        self._refused: collections.Counter[str] = collections.Counter()
        self._answers: collections.OrderedDict[AnswerKey, tuple[bytes, dt.datetime]] = (
            collections.OrderedDict()
        )
        # The NAS each tracked device was last reported through ("<sender>/<NAS named in
        # the record>"), for Accounting-On/Off.
        self._device_nas: dict[str, str] = {}
        self._stopping = asyncio.Event()
        self._full = asyncio.Event()

    def details(self) -> dict[str, Any]:
        """Health for GET /api/v1/plugins: counters only, never a device."""
        return {
            "kind": "radius accounting",
            "address": f"{self.host}:{self.bound[1] if self.bound else self.settings.port}",
            "listening": self.listening.is_set(),
            "requests": self.requests,
            "answered": self.answered,
            "answered_again": self.answered_again,
            "statuses": dict(self.by_status),
            "unknown_devices": self.dropped[UNKNOWN_DEVICE],
            "randomised_devices": self.dropped[RANDOMISED_DEVICE],
            "clients": [
                {
                    "name": c.name,
                    "requests": c.requests,
                    "last_request_at": c.last_request_at.isoformat() if c.last_request_at else None,
                }
                for c in self.clients
            ],
        }

    # --- the source protocol ------------------------------------------------------------

    async def run(self, sink: ObservationSink) -> None:
        self._stopping.clear()
        loop = asyncio.get_running_loop()
        try:
            transport, _ = await loop.create_datagram_endpoint(
                lambda: _Datagrams(self), local_addr=(self.host, self.settings.port)
            )
        except OSError as exc:
            raise ConnectionError(
                f"RADIUS accounting cannot listen on {self.host}:{self.settings.port}: "
                f"{exc.strerror or exc}"
            ) from None
        try:
            sockname = transport.get_extra_info("sockname")
            self.bound = (str(sockname[0]), int(sockname[1]))
            self.listening.set()
            log.info(
                "RADIUS accounting: listening on %s:%d for %d client(s)",
                self.bound[0],
                self.bound[1],
                len(self.clients),
            )
            while not self._stopping.is_set():
                await self._tick()
                await self.hand_over(sink)
        finally:
            self.listening.clear()
            transport.close()
            await self.hand_over(sink)  # what was answered for reaches the core

    async def stop(self) -> None:
        self._stopping.set()

    async def _tick(self) -> None:
        full = asyncio.ensure_future(self._full.wait())
        stopping = asyncio.ensure_future(self._stopping.wait())
        try:
            await asyncio.wait(
                {full, stopping},
                timeout=self.settings.batch_seconds,
                return_when=asyncio.FIRST_COMPLETED,
            )
        finally:
            full.cancel()
            stopping.cancel()
        self._full.clear()

    async def hand_over(self, sink: ObservationSink) -> None:
        """The observations and refusals gathered since the last hand-over: one batch, and
        one count per reason."""
        refused, self._refused = self._refused, collections.Counter()
        for reason, count in refused.items():
            sink.reject(reason, count, expected=reason in DROPPED_BY_DESIGN)
        batch, self._pending = self._pending, []
        if batch:
            await sink.submit(batch)

    # --- one datagram --------------------------------------------------------------------

    def take(self, data: bytes, host: str) -> bytes | None:
        """The answer to one datagram from ``host``, or None when it is not answered.
        Never raises for bad input."""
        address = _address(host)
        client = None if address is None else self._client_for(address)
        if client is None:
            self._refused["unknown_client"] += 1
            return None
        if len(data) > MAX_DATAGRAM:
            self._refused["bad_packet"] += 1
            return None
        try:
            request = read_request(data, client.secret)
        except RadiusRefused as refused:
            self._refused[refused.reason] += 1
            return None
        now = self.clock.now()
        client.requests += 1
        client.last_request_at = now
        self.requests += 1
        self.answered += 1
        key = (str(address), request.identifier, request.authenticator)
        answered = self._answers.get(key)
        if answered is not None and now - answered[1] <= self._duplicate_window:
            self.answered_again += 1
            return answered[0]
        self._remember(key, request.reply, now)
        self.by_status[request.status] += 1
        self._use(request, str(address), now)
        return request.reply

    @property
    def _duplicate_window(self) -> dt.timedelta:
        return dt.timedelta(seconds=self.settings.duplicate_seconds)

    def _client_for(self, address: IpAddress) -> NasClient | None:
        for client in self.clients:
            if address.version == client.network.version and address in client.network:
                return client
        return None

    def _remember(self, key: AnswerKey, reply: bytes, now: dt.datetime) -> None:
        answers = self._answers
        cutoff = now - self._duplicate_window
        while answers and (
            len(answers) >= MAX_REMEMBERED_ANSWERS or next(iter(answers.values()))[1] < cutoff
        ):
            answers.popitem(last=False)
        answers[key] = (reply, now)

    def _use(self, request: AccountingRequest, sender: str, now: dt.datetime) -> None:
        status = request.status
        # A RADIUS server relaying many controllers sends them all from its own address:
        # the NAS the record names tells them apart.
        nas = sender if request.nas is None else f"{sender}/{request.nas}"
        if status == STATUS_SERVER_STATUS:
            return
        at = request.event_at or now - dt.timedelta(seconds=request.delay_seconds)
        if status == "nas_restarted":
            self._nas_restarted(nas, at)
            return
        if status not in ("start", "interim", "stop"):
            return  # Failed, tunnel records ...: nothing about where a device is
        if request.access_point is not None:
            self.book.heard_from(request.access_point, at, FEED)
        mac = request.device
        if mac is None:
            self._refused["no_device_mac"] += 1
            return
        asset_id = self.devices.asset_for(mac)
        if asset_id is None:
            # Dropped here; only a number leaves (this feed's, beside the shared filter's).
            reason = refusal(mac)
            self.dropped[reason] += 1
            self._refused[reason] += 1
            return
        if status == "stop":
            self._device_nas.pop(mac, None)
            self.book.disassociated(mac, asset_id, request.access_point, at, FEED)
            return
        if request.access_point is None:
            self._refused["no_access_point"] += 1
            return
        self._device_nas[mac] = nas
        self.book.associated(mac, asset_id, request.access_point, at, FEED)
        self._pending.append(
            Observation(
                technology=TECHNOLOGY,
                tag=mac,
                receiver=request.access_point,
                observed_at=at,
                received_at=now,
                extras={"ssid": request.ssid} if request.ssid else {},
            )
        )
        if len(self._pending) >= FULL_BATCH:
            self._full.set()

    def _nas_restarted(self, nas: str, at: dt.datetime) -> None:
        """Accounting-On/Off: the NAS dropped every session it had, so each tracked device
        last reported through it left the network (unless another feed has seen it since)."""
        for mac in [m for m, through in self._device_nas.items() if through == nas]:
            del self._device_nas[mac]
            record = self.book.devices.get(mac)
            if record is not None and record.feed == FEED and record.access_point is not None:
                self.book.disassociated(mac, record.asset_id, None, at, FEED)


def _address(host: str) -> IpAddress | None:
    try:
        address = ipaddress.ip_address(host.partition("%")[0])
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped  # a socket bound to "::" sees IPv4 NASes this way
    return address


class _Datagrams(asyncio.DatagramProtocol):
    def __init__(self, source: RadiusSource) -> None:
        self.source = source
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str | Any, ...]) -> None:
        answer = self.source.take(data, str(addr[0]))
        if answer is not None and self.transport is not None:
            self.transport.sendto(answer, addr)


def register_sources(
    registry: SourceRegistry, context: PluginContext, settings: WifiSettings
) -> None:
    """The accounting listener, when at least one client is configured."""
    radius = settings.radius
    if not radius.clients:
        context.log.info("no [[plugin.wifi.radius.clients]]: RADIUS accounting is not received")
        return
    registry.add(
        FEED,
        RadiusSource(
            settings.listen_host,
            radius,
            context.clock,
            state.association_book(context),
            state.device_filter(context),
        ),
    )
