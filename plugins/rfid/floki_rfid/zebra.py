"""Zebra fixed readers (FX7500, FX9600, ATR7000) heard through their IoT Connector, which
publishes the reader's tag data to an MQTT broker; and the registration of every Zebra
source (these and the DataWedge handhelds).

The source subscribes to the reader's data topic (decoded by ``zebra_messages``), checks
each read's antenna against the settings and folds it into the reader's window per (tag,
antenna) (``aggregation``); the window is handed over every ``batch_seconds`` as
observations like the LLRP source's (``zebra_batches``). A lost broker ends ``run`` with a
``ConnectionError`` naming the reader and the broker, after what was received has been
handed over: the appliance's supervisor shows the reason and connects again after its
backoff. The subscription is QoS 0: the reader reports a tag in view again and again,
so a lost message is replaced within a report interval.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from floki_core.sdk import Clock, ObservationSink, PluginContext, SourceRegistry
from floki_rfid.datawedge import DataWedgeSource
from floki_rfid.epc import EpcIdentities
from floki_rfid.reader_health import reader_details
from floki_rfid.zebra_batches import ReadBatches
from floki_rfid.zebra_config import DataWedgeSettings, ZebraReaderSettings
from floki_rfid.zebra_messages import parse_iotc_message

if TYPE_CHECKING:
    import aiomqtt

log = logging.getLogger("floki.plugin.rfid")

INBOX_LIMIT = 100_000  # messages waiting for the reader before the newest are dropped
KEEPALIVE_SECONDS = 30  # a broker that stops answering is noticed within ~1.5 of these


def source_name(reader: ZebraReaderSettings) -> str:
    return f"rfid-zebra-{reader.name}"


class ZebraReaderSource:
    """One Zebra reader's data topic, aggregated and handed over in batches."""

    def __init__(
        self,
        settings: ZebraReaderSettings,
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
        self.connected = False
        self.messages = 0  # data messages received, for the reader's health
        self._epcs = EpcIdentities()
        self._allowed = frozenset(settings.antennas)
        self._stopping = asyncio.Event()

    @property
    def where(self) -> str:
        return f"{self.settings.broker_host}:{self.settings.broker_port}"

    def _tls(self) -> ssl.SSLContext | None:
        if not self.settings.broker_tls:
            return None
        return ssl.create_default_context(cafile=self.settings.ca_file)

    def details(self) -> dict[str, Any]:
        """The reader's health, as GET /api/v1/plugins lists it: connected is the broker
        connection, the address the broker's."""
        return reader_details(
            self.batches.traffic,
            kind="zebra",
            connected=self.connected,
            address=self.where,
            antennas=list(self.settings.antennas),
            now=self.clock.now(),
        )

    # --- the source protocol ------------------------------------------------------------

    async def run(self, sink: ObservationSink) -> None:
        # Imported here so an appliance with no Zebra reader never loads the MQTT client.
        import aiomqtt

        settings = self.settings
        self._stopping.clear()
        try:
            tls = self._tls()
        except (OSError, ssl.SSLError) as exc:
            raise ConnectionError(
                f"Zebra reader {settings.name}: ca_file {settings.ca_file}: {exc}"
            ) from None
        try:
            async with aiomqtt.Client(
                settings.broker_host,
                settings.broker_port,
                username=settings.broker_username,
                password=settings.broker_password,
                keepalive=KEEPALIVE_SECONDS,
                max_queued_incoming_messages=INBOX_LIMIT,
                tls_context=tls,
            ) as client:
                await self._subscribe(client)
                self.connected = True
                log.info(
                    "Zebra reader %s: subscribed to %s at %s",
                    settings.name,
                    settings.data_topic,
                    self.where,
                )
                await self._pump(client, sink)
        except aiomqtt.MqttError as exc:
            if self._stopping.is_set():
                return  # an error while leaving on purpose is no failure
            raise ConnectionError(
                f"Zebra reader {settings.name}: broker {self.where}: {exc}"
            ) from None
        finally:
            self.connected = False
            await self.batches.hand_over(sink)  # whatever was received reaches the core

    async def stop(self) -> None:
        self._stopping.set()

    async def _subscribe(self, client: aiomqtt.Client) -> None:
        from paho.mqtt.reasoncodes import ReasonCode

        granted = await client.subscribe(self.settings.data_topic, qos=0)
        # A broker's ACL refuses a subscription in the SUBACK, not with an error.
        if any(
            code.is_failure if isinstance(code, ReasonCode) else code >= 0x80 for code in granted
        ):
            raise ConnectionError(
                f"Zebra reader {self.settings.name}: broker {self.where} refused the "
                f"subscription to {self.settings.data_topic}"
            )

    async def _pump(self, client: aiomqtt.Client, sink: ObservationSink) -> None:
        reading = asyncio.ensure_future(self._read(client, sink))
        ticking = asyncio.ensure_future(self.batches.ticking(sink))
        stopping = asyncio.ensure_future(self._stopping.wait())
        try:
            await asyncio.wait({reading, stopping}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (reading, ticking, stopping):
                task.cancel()
            await asyncio.gather(reading, ticking, stopping, return_exceptions=True)
        if self._stopping.is_set():
            return
        error = reading.exception() if not reading.cancelled() else None
        if error is not None:
            raise error
        raise ConnectionError(
            f"Zebra reader {self.settings.name}: broker {self.where} ended the message stream"
        )

    async def _read(self, client: aiomqtt.Client, sink: ObservationSink) -> None:
        allowed, now, batches = self._allowed, self.clock.now, self.batches
        async for message in client.messages:
            self.messages += 1
            payload = message.payload
            if not isinstance(payload, bytes | bytearray):
                batches.refuse({"bad_json": 1})
                continue
            reads, refused = parse_iotc_message(bytes(payload), self._epcs)
            if refused:
                batches.refuse(refused)
            if batches.add_all(reads, now(), allowed):
                await batches.hand_over(sink)


def register_zebra_sources(
    registry: SourceRegistry,
    context: PluginContext,
    readers: Sequence[ZebraReaderSettings],
    handhelds: Sequence[DataWedgeSettings],
    *,
    batch_seconds: float,
    max_tags_per_window: int = 50_000,
) -> None:
    """One supervised source per Zebra reader (``rfid-zebra-<name>``) and per handheld
    with a ``listen_host`` (``rfid-datawedge-<name>``); none until one is configured."""
    sources: dict[str, object] = context.state.setdefault("zebra_sources", {})
    for reader in readers:
        source = ZebraReaderSource(
            reader,
            context.clock,
            batch_seconds=batch_seconds,
            max_tags_per_window=max_tags_per_window,
        )
        registry.add(source_name(reader), source)
        sources[source_name(reader)] = source
    for handheld in handhelds:
        if not handheld.listen_host:
            continue  # nothing is opened until an address is given
        listener = DataWedgeSource(
            handheld,
            context.clock,
            batch_seconds=batch_seconds,
            max_tags_per_window=max_tags_per_window,
        )
        name = f"rfid-datawedge-{handheld.name}"
        registry.add(name, listener)
        sources[name] = listener


__all__ = ["ZebraReaderSource", "register_zebra_sources", "source_name"]
