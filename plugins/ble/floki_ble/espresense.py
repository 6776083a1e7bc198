"""ESPresense gateways over MQTT: device reports become observations, room status becomes
gateway health.

ESPresense publishes one JSON report per device heard to ``<prefix>/devices/<id>/<room>``
and the room's availability to ``<prefix>/rooms/<room>/status`` ("online", retained; and
"offline" as the room's last will). Each room is a receiver whose identifier is the room
name. Reports are parsed by the pure :func:`floki_ble.dialects.parse_espresense` and handed
to the core in batches.
"""

from __future__ import annotations

import asyncio
import collections
import datetime as dt
import logging
import re
import socket
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple

from floki_ble.adverts import BATTERY_MV, BATTERY_PCT
from floki_ble.config import BleSettings
from floki_ble.decoders import Rejected, normalise_mac
from floki_ble.dialects import (
    EspresenseSighting,
    RoomStatus,
    parse_espresense,
    usual_report,
)
from floki_ble.technologies import ALTBEACON, BLE, EDDYSTONE, ESPRESENSE, IBEACON
from floki_core.sdk import (
    Clock,
    DomainEvent,
    EventBus,
    Extra,
    Observation,
    ObservationSink,
    spell_altbeacon,
    spell_eddystone,
    spell_ibeacon,
)

if TYPE_CHECKING:
    import aiomqtt

MAX_BATCH = 5_000  # sightings per submit, so a busy broker never builds one huge batch
MAX_VALUE_LENGTH = 200  # the core's limit on tag and receiver identifiers
MAX_ROOMS = 10_000  # a misbehaving publisher cannot grow the health table without end
MAX_IDENTITIES = 100_000  # remembered id conversions; cleared when full
RATE_WINDOW_SECONDS = 60.0  # adverts per second are averaged over this long
INBOX_LIMIT = 100_000  # messages waiting for the reader before new ones are dropped
READ_CHUNK = 65_536  # bytes taken from the broker's socket per system call
SOURCE_NAME = "ble-espresense"

# ESPresense prints some Eddystone namespaces with their fifth byte twice (22 digits).
_EDDYSTONE_22 = re.compile(r"(?P<namespace>[0-9a-f]{22})-(?P<instance>[0-9a-f]{12})")
_PLAIN_MAC = re.compile(r"^[0-9a-fA-F]{12}$")


class Identity(NamedTuple):
    """What a sighting is bound by: the core's technology and tag value."""

    technology: str
    tag: str


# ---------------------------------------------------------------- identities (pure)


def espresense_identity(device_id: str) -> Identity | Rejected:
    """The core's identity for an ESPresense device id, spelled as the register spells
    identifiers of that kind (``floki_core.schemas``), which is how the BLE decoders
    spell the same tags heard by other gateways.

    * ``iBeacon:<uuid>-<major>-<minor>`` → ``ibeacon`` ``UUID:major:minor``;
    * ``altBeacon:<uuid>-<major>-<minor>`` → ``altbeacon``, the 20-byte beacon id in hex;
    * ``eddy:<namespace>-<instance>`` → ``eddystone`` ``NAMESPACE:INSTANCE``;
    * a plain MAC (``aabbccddeeff``, or ``known:<mac>``) → ``ble`` ``AA:BB:CC:DD:EE:FF``.
      ESPresense only reports plain MACs that are public or static, never rotating ones;
    * anything else (``tile:...``, ``apple:...``, ``name:...``, aliases set on the node)
      stays as it is, under technology ``espresense``, so staff can still bind it.
    """
    kind, colon, rest = device_id.partition(":")
    lowered = kind.lower()
    if colon and lowered == "ibeacon":
        spelled = spell_ibeacon(rest)
        return Rejected("bad_ibeacon_id") if spelled is None else Identity(IBEACON, spelled)
    if colon and lowered == "altbeacon":
        spelled = spell_altbeacon(device_id)
        return Rejected("bad_altbeacon_id") if spelled is None else Identity(ALTBEACON, spelled)
    if colon and lowered == "eddy":
        return _eddystone(rest)
    if colon and lowered == "known" and _PLAIN_MAC.match(rest):
        return Identity(BLE, normalise_mac(rest) or rest)
    if not colon and _PLAIN_MAC.match(device_id):
        return Identity(BLE, normalise_mac(device_id) or device_id)
    if len(device_id) > MAX_VALUE_LENGTH:
        return Rejected("id_too_long")
    return Identity(ESPRESENSE, device_id)


def _eddystone(rest: str) -> Identity | Rejected:
    text = rest.lower()
    doubled = _EDDYSTONE_22.fullmatch(text)
    if doubled is not None:
        namespace = doubled["namespace"]
        # Some firmware prints the namespace's fifth byte twice; drop the repeat.
        if namespace[8:10] != namespace[10:12]:
            return Rejected("bad_eddystone_id")
        text = f"{namespace[:10]}{namespace[12:]}-{doubled['instance']}"
    # Only ESPresense's own layout: 20 hex digits, a hyphen, 12 hex digits.
    if len(text) != 33 or text[20] != "-":
        return Rejected("bad_eddystone_id")
    spelled = spell_eddystone(text)
    return Rejected("bad_eddystone_id") if spelled is None else Identity(EDDYSTONE, spelled)


# ---------------------------------------------------------------- gateway health


@dataclass
class RoomHealth:
    """What the appliance knows about one ESPresense room (one gateway)."""

    online: bool
    last_heard: dt.datetime | None  # latest report or live "online"; None: only a retained status
    messages: int = 0  # device reports received
    last_will: bool = False  # offline because its status (or its last will) said so
    silent: bool = False  # offline because nothing was heard for gateway_silent_seconds
    since: dt.datetime | None = None  # when the appliance learned of it: silence counts from here
    # (clock time, reports) per batch tick, for adverts per second
    samples: collections.deque[tuple[dt.datetime, int]] = field(default_factory=collections.deque)

    def adverts_per_second(self, now: dt.datetime) -> float:
        cutoff = now - dt.timedelta(seconds=RATE_WINDOW_SECONDS)
        total = sum(count for at, count in self.samples if at > cutoff)
        known = (now - self.since).total_seconds() if self.since else RATE_WINDOW_SECONDS
        # A room heard for a moment is averaged over at least a second, not over nothing.
        span = min(max(known, 1.0), RATE_WINDOW_SECONDS)
        return total / span


def _iso(at: dt.datetime | None) -> str | None:
    return at.isoformat() if at is not None else None


# ---------------------------------------------------------------- the source


class _ChunkedSocket:
    """The MQTT client's socket, read a chunk at a time.

    paho reads one packet per readable event, in three or four ``recv`` calls (type,
    length, body), and aiomqtt calls it again while the socket has ``pending()`` bytes
    (the hook SSL sockets use). Serving those reads from one large ``recv`` takes what
    has arrived in one event and one system call. One chunk per event: the rest waits
    for the next (the socket stays readable), so a busy broker never starves the loop.
    """

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._data = b""
        self._at = 0
        self._may_read = True  # no chunk taken yet in this readable event

    def recv(self, size: int) -> bytes:
        if self._at >= len(self._data):
            if not self._may_read:
                raise BlockingIOError  # paho keeps the partial packet for the next event
            self._may_read = False
            data = self._sock.recv(READ_CHUNK)  # BlockingIOError when nothing waits
            if not data:
                return data  # the broker closed the connection
            self._data, self._at = data, 0
        start = self._at
        self._at = min(start + size, len(self._data))
        return self._data[start : self._at]

    def pending(self) -> int:
        left = len(self._data) - self._at
        if not left:
            self._may_read = True  # asked when the event's reading is done
        return left

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


def _read_in_chunks(client: aiomqtt.Client) -> bool:
    """Put a :class:`_ChunkedSocket` under a client that has just connected (nothing read
    past the CONNACK yet); False, changing nothing, if the client is not built as expected."""
    paho = getattr(client, "_client", None)
    sock = getattr(paho, "_sock", None)
    if type(sock) is not socket.socket:
        return False
    paho._sock = _ChunkedSocket(sock)  # type: ignore[union-attr]
    return True


def _inbox_type(made: list[asyncio.Queue[aiomqtt.Message]]) -> type[asyncio.Queue[Any]]:
    """aiomqtt's incoming queue class, noting the queue it makes so the reader can drain it."""

    class Inbox(asyncio.Queue[Any]):
        def __init__(self, maxsize: int = 0) -> None:
            super().__init__(maxsize)
            made.append(self)

    return Inbox


class EspresenseSource:
    """Subscribes to an ESPresense broker and delivers one batch per ``batch_seconds``.

    A lost connection raises out of :meth:`run`, so the core's supervisor reconnects with
    backoff; the health table and counters survive the restart.
    """

    def __init__(
        self,
        settings: BleSettings,
        clock: Clock,
        log: logging.Logger,
        events: EventBus | None = None,
    ) -> None:
        if not settings.espresense_host:
            raise ValueError("espresense_host is not set")
        self.settings = settings
        self.clock = clock
        self.log = log
        self.events = events
        self.prefix = settings.espresense_prefix.rstrip("/")
        self._devices = f"{self.prefix}/devices/"
        self.rooms: dict[str, RoomHealth] = {}
        self.rejections: Counter[str] = Counter()
        self._unreported: Counter[str] = Counter()  # not yet handed to the sink's counters
        self.received = 0  # MQTT messages handled
        self.connected = False
        self._stop = asyncio.Event()
        self._pending: list[Observation] = []
        self._pending_events: list[DomainEvent] = []
        self._tick_counts: Counter[str] = Counter()
        self._identities: dict[str, Identity | Rejected] = {}
        self._macs: dict[str, str | None] = {}
        self._submit_lock = asyncio.Lock()

    @property
    def topics(self) -> list[tuple[str, int]]:
        # QoS 0: a lost report is replaced by the next one within a second.
        return [(f"{self.prefix}/devices/+/+", 0), (f"{self.prefix}/rooms/+/status", 0)]

    # --- life cycle ------------------------------------------------------------

    async def run(self, sink: ObservationSink) -> None:
        # Imported here so that an appliance without ESPresense never loads the MQTT client.
        import aiomqtt
        from paho.mqtt.reasoncodes import ReasonCode

        settings = self.settings
        host, port = settings.espresense_host or "", settings.espresense_port
        inboxes: list[asyncio.Queue[aiomqtt.Message]] = []
        try:
            async with aiomqtt.Client(
                host,
                port,
                username=settings.espresense_username,
                password=settings.espresense_password,
                keepalive=30,
                # Overload drops the newest reports (QoS 0 is lossy anyway) instead of
                # growing memory without bound.
                max_queued_incoming_messages=INBOX_LIMIT,
                queue_type=_inbox_type(inboxes),
            ) as client:
                if not _read_in_chunks(client):
                    self.log.debug("ESPresense: reading the broker one packet at a time")
                granted = await client.subscribe(self.topics)
                # A broker's ACL refuses a subscription in the SUBACK, not with an error.
                if any(
                    code.is_failure if isinstance(code, ReasonCode) else code >= 0x80
                    for code in granted
                ):
                    raise ConnectionError(
                        f"ESPresense broker {host}:{port} refused the subscription to "
                        f"{self.prefix}/devices and {self.prefix}/rooms"
                    )
                self.connected = True
                self.log.info("ESPresense: subscribed at %s:%d under %s/", host, port, self.prefix)
                await self._pump(client, inboxes[0], sink)
        except aiomqtt.MqttError as exc:
            if self._stop.is_set():
                return  # an error while disconnecting on purpose is no failure
            raise ConnectionError(f"ESPresense broker {host}:{port}: {exc}") from exc
        finally:
            self.connected = False

    async def stop(self) -> None:
        self._stop.set()

    async def _pump(
        self,
        client: aiomqtt.Client,
        inbox: asyncio.Queue[aiomqtt.Message],
        sink: ObservationSink,
    ) -> None:
        reader = asyncio.create_task(self._read(client, inbox, sink), name="espresense-reader")
        stopping = asyncio.create_task(self._stop.wait(), name="espresense-stop")
        try:
            while True:
                done, _ = await asyncio.wait(
                    (reader, stopping),
                    timeout=self.settings.espresense_batch_seconds,
                    return_when=asyncio.FIRST_COMPLETED,
                )
                # What was heard before a stop or a lost connection is still delivered.
                await self.tick(sink)
                if done:
                    break
        finally:
            for task in (reader, stopping):
                task.cancel()
            # Both are awaited so neither outlives the connection; a reader that failed
            # on its own is examined below.
            await asyncio.gather(reader, stopping, return_exceptions=True)
        if not self._stop.is_set() and reader.done() and not reader.cancelled():
            error = reader.exception()
            if error is not None:
                raise error
            raise ConnectionError("ESPresense: the broker ended the message stream")

    async def _read(
        self,
        client: aiomqtt.Client,
        inbox: asyncio.Queue[aiomqtt.Message],
        sink: ObservationSink,
    ) -> None:
        # Waiting for a message costs aiomqtt a task and an asyncio.wait; what is already
        # in the inbox when it arrives is taken straight from there, in the same order.
        async for first in client.messages:
            message = first
            while True:
                payload = message.payload
                if isinstance(payload, bytes | bytearray):
                    retained = bool(message.retain)
                    self.handle(message.topic.value, bytes(payload), retained=retained)
                else:
                    self._reject("bad_payload")
                if len(self._pending) >= MAX_BATCH:
                    await self._flush(sink)
                try:
                    message = inbox.get_nowait()
                except asyncio.QueueEmpty:
                    break

    # --- messages --------------------------------------------------------------

    def handle(self, topic: str, payload: bytes, *, retained: bool = False) -> None:
        """Take one MQTT message: a report is queued for the next batch, a status updates
        the room's health. Never raises for bad input; rejections are counted by reason."""
        self.received += 1
        record: EspresenseSighting | RoomStatus | Rejected | None = None
        if topic.startswith(self._devices):
            device_id, slash, room = topic[len(self._devices) :].partition("/")
            if slash and device_id and room and "/" not in room:
                record = usual_report(device_id, room, payload, self._mac)
        if record is None:
            record = parse_espresense(topic, payload, prefix=self.prefix)
        if isinstance(record, Rejected):
            self._reject(record.reason)
            return
        if len(record.room) > MAX_VALUE_LENGTH:
            self._reject("room_too_long")
            return
        now = self.clock.now()
        if isinstance(record, RoomStatus):
            self._status(record, now, retained)
            return
        health = self._room(record.room, now)
        if health is None:
            return
        # Any report proves the gateway is up, whatever its tag turns out to be.
        self._heard(record.room, health, now)
        identity = self._identity(record)
        if isinstance(identity, Rejected):
            self._reject(identity.reason)
            return
        self._pending.append(self._observation(record, identity, now))

    def _reject(self, reason: str) -> None:
        self.rejections[reason] += 1
        self._unreported[reason] += 1

    def _mac(self, text: str) -> str | None:
        found = self._macs.get(text, "")
        if found == "":
            if len(self._macs) >= MAX_IDENTITIES:
                self._macs.clear()
            found = self._macs[text] = normalise_mac(text)
        return found

    def _identity(self, sighting: EspresenseSighting) -> Identity | Rejected:
        if self.settings.espresense_identity == "mac":
            if sighting.mac is None:
                return Rejected("no_mac")
            return Identity(BLE, sighting.mac)
        found = self._identities.get(sighting.device_id)
        if found is None:
            if len(self._identities) >= MAX_IDENTITIES:
                self._identities.clear()
            found = self._identities[sighting.device_id] = espresense_identity(sighting.device_id)
        return found

    @staticmethod
    def _observation(
        sighting: EspresenseSighting, identity: Identity, now: dt.datetime
    ) -> Observation:
        extras: dict[str, Extra] = {}
        if sighting.distance is not None:
            extras["distance"] = sighting.distance
        if sighting.rssi_at_1m is not None:
            extras["rssi_at_1m"] = sighting.rssi_at_1m
        if sighting.battery_percent is not None:
            extras[BATTERY_PCT] = sighting.battery_percent
        if sighting.battery_mv is not None:
            extras[BATTERY_MV] = sighting.battery_mv
        if sighting.mac is not None and identity.technology != BLE:
            extras["mac"] = sighting.mac
        if sighting.name is not None:
            extras["name"] = sighting.name[:MAX_VALUE_LENGTH]
        # ESPresense reports carry no timestamp: they are sent as heard, so arrival time
        # is the best estimate of when.
        return Observation(
            technology=identity.technology,
            tag=identity.tag,
            receiver=sighting.room,
            rssi=sighting.rssi,
            observed_at=now,
            received_at=now,
            extras=extras,
        )

    # --- gateway health --------------------------------------------------------

    def _room(self, room: str, now: dt.datetime) -> RoomHealth | None:
        health = self.rooms.get(room)
        if health is None:
            if len(self.rooms) >= MAX_ROOMS:
                self._reject("too_many_rooms")
                return None
            health = self.rooms[room] = RoomHealth(online=True, last_heard=None, since=now)
        return health

    def _heard(self, room: str, health: RoomHealth, now: dt.datetime) -> None:
        health.last_heard = now
        health.messages += 1
        self._tick_counts[room] += 1
        if not health.online:
            reason = "silent" if health.silent else "last_will"
            health.online, health.silent, health.last_will = True, False, False
            self._event("gateway.online", room, health, now, cause="traffic", was=reason)

    def _status(self, status: RoomStatus, now: dt.datetime, retained: bool) -> None:
        known = status.room in self.rooms
        health = self._room(status.room, now)
        if health is None:
            return
        if status.online:
            # A retained "online" may be hours old: it says the room is up, not that it
            # was heard now.
            if not retained:
                health.last_heard = now
            if not health.online:
                was = "silent" if health.silent else "last_will"
                health.online, health.silent, health.last_will = True, False, False
                self._event("gateway.online", status.room, health, now, cause="status", was=was)
            return
        health.last_will = True
        if health.online or not known:
            health.online = False
            self._event("gateway.offline", status.room, health, now, cause="last_will")

    def _check_silence(self, now: dt.datetime) -> None:
        limit = dt.timedelta(seconds=self.settings.gateway_silent_seconds)
        for room, health in self.rooms.items():
            if not health.online or health.silent:
                continue
            since = health.last_heard or health.since
            if since is not None and now - since > limit:
                health.online, health.silent = False, True
                self._event("gateway.silent", room, health, now, cause="silence")

    def _sample_rates(self, now: dt.datetime) -> None:
        cutoff = now - dt.timedelta(seconds=RATE_WINDOW_SECONDS)
        counts, self._tick_counts = self._tick_counts, Counter()
        for room, health in self.rooms.items():
            count = counts.get(room, 0)
            if count:
                health.samples.append((now, count))
            while health.samples and health.samples[0][0] <= cutoff:
                health.samples.popleft()

    def _event(
        self, type_: str, room: str, health: RoomHealth, now: dt.datetime, **data: Any
    ) -> None:
        self.log.info("ESPresense room %s: %s (%s)", room, type_, data.get("cause"))
        self._pending_events.append(
            DomainEvent(
                type=type_,
                at=now,
                entity="gateways",
                entity_id=room,
                data={
                    "room": room,
                    "receiver": room,
                    "source": SOURCE_NAME,
                    "online": health.online,
                    "last_heard": _iso(health.last_heard),
                    **data,
                },
            )
        )

    def gateways(self) -> list[dict[str, Any]]:
        """Health of every room heard, for the API."""
        now = self.clock.now()
        return [
            {
                "room": room,
                "online": health.online,
                "last_heard": _iso(health.last_heard),
                "messages": health.messages,
                "adverts_per_second": round(health.adverts_per_second(now), 3),
                "last_will": health.last_will,
                "silent": health.silent,
            }
            for room, health in sorted(self.rooms.items())
        ]

    # --- batches ---------------------------------------------------------------

    async def tick(self, sink: ObservationSink) -> None:
        """One batch period: deliver the sightings, update rates, look for silent rooms and
        publish what changed. Called every ``espresense_batch_seconds`` while running."""
        now = self.clock.now()
        self._sample_rates(now)
        self._check_silence(now)
        self._report_rejections(sink)
        await self._flush(sink)
        if self._pending_events:
            events, self._pending_events = self._pending_events, []
            if self.events is not None:
                await self.events.publish(events)

    def _report_rejections(self, sink: ObservationSink) -> None:
        """What could not be used since the last tick, to the core's counters by reason
        (``GET /api/v1/sources``; logged there once per reason per minute)."""
        reject = getattr(sink, "reject", None)  # a bare sink in a unit test has none
        if not self._unreported or reject is None:
            return
        unreported, self._unreported = self._unreported, Counter()
        for reason, count in unreported.items():
            reject(reason, count)

    async def _flush(self, sink: ObservationSink) -> None:
        if not self._pending:
            return
        batch: Sequence[Observation]
        batch, self._pending = self._pending, []
        # Batches leave in the order they were cut, whether the reader or the tick cut them.
        async with self._submit_lock:
            await sink.submit(batch)
