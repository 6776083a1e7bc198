"""The hub's reader of every site's events: a durable JetStream pull consumer applying
each batch to PostgreSQL, then acknowledging it (docs/hub.md).

One supervised task: connect, make the stream if it is missing, pull a batch, apply it
in one transaction (``applier.apply_batch``, which skips what was applied before), and
only then acknowledge. Anything that fails - the connection, the database, a bug - is
counted, shown and logged (at most once every 30 s), and the task starts over after
``reconnect_seconds``: unacknowledged messages come again and nothing is applied twice.
A second task forgets history older than ``history_days``.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from typing import TYPE_CHECKING

import msgspec

from floki_core.clock import Clock
from floki_core.config import HubConfig
from floki_core.federation.link import (
    cancel_all,
    check_files,
    close_within,
    credentials,
    nats_library,
    ssl_context,
)
from floki_core.hub import applier, history
from floki_core.storage.store import Store

if TYPE_CHECKING:
    from nats.aio.client import Client as NatsClient
    from nats.aio.msg import Msg
    from nats.js.client import JetStreamContext

log = logging.getLogger(__name__)

FETCH_WAIT_SECONDS = 1.0  # an idle pull waits this long for a message before asking again
# Once one message is in, the rest of the batch is gathered for at most this long: the
# client's fetch of a whole batch would otherwise wait out its timeout whenever fewer
# messages than the batch are waiting, delaying every quiet moment's events by it.
GATHER_SECONDS = 0.05
SWEEP_SECONDS = 3600.0  # how often (real seconds) old history is looked for
LOG_SECONDS = 30.0
CONNECT_TIMEOUT_SECONDS = 5
# Delivered and not acknowledged this long (the hub stopped or lost its connection
# mid-batch): delivered again, and skipped if it was applied. Also how long the events a
# failed connection had in hand wait before the hub gets them again.
ACK_WAIT_SECONDS = 10.0


class HubStatus(msgspec.Struct, kw_only=True):
    connected: bool = False
    applied_total: int = 0  # events applied since the start
    skipped_total: int = 0  # delivered again and recognised as applied
    refused_total: int = 0  # messages that were not site events (logged, not applied)
    failures_total: int = 0
    last_error: str | None = None
    last_error_at: dt.datetime | None = None


class HubConsumer:
    def __init__(self, settings: HubConfig, store: Store, clock: Clock) -> None:
        self.settings = settings
        self.store = store
        self.clock = clock
        self.status = HubStatus()
        self._tasks: list[asyncio.Task[None]] = []
        self._nc: NatsClient | None = None
        self._logged_at: float | None = None

    @property
    def subjects(self) -> str:
        return f"{self.settings.subject_prefix}.*.events.>"

    async def start(self) -> None:
        check_files(self.settings, "hub")
        self._tasks = [
            asyncio.create_task(self._run(), name="hub-consumer"),
            asyncio.create_task(self._sweep_forever(), name="hub-history-sweep"),
        ]

    async def stop(self) -> None:
        tasks, self._tasks = self._tasks, []
        await cancel_all(tasks)
        await self._disconnect()

    async def sweep(self) -> int:
        """Forget the history that happened more than ``history_days`` ago."""
        before = self.clock.now() - dt.timedelta(days=self.settings.history_days)
        removed = await self.store.write(history.sweep, before)
        if removed:
            log.info("hub history: %d events older than %s forgotten", removed, before)
        return removed

    async def _sweep_forever(self) -> None:
        while True:
            try:
                await self.sweep()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("the hub's history sweep failed; trying again later")
            await asyncio.sleep(SWEEP_SECONDS)

    # --- the consumer ----------------------------------------------------------

    async def _run(self) -> None:
        while True:
            try:
                await self._consume()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the consumer must outlive any one failure
                self._failed(_describe(exc))
            await self._disconnect()
            await asyncio.sleep(self.settings.reconnect_seconds)

    async def _consume(self) -> None:
        nc = nats_library().aio.client.Client()
        self._nc = nc
        await self._connect(nc)
        js = nc.jetstream()
        await self._ensure_stream(js)
        subscription = await js.pull_subscribe(
            self.subjects,
            durable=self.settings.consumer,
            stream=self.settings.stream,
            config=nats_library().js.api.ConsumerConfig(
                ack_policy=nats_library().js.api.AckPolicy.EXPLICIT,
                deliver_policy=nats_library().js.api.DeliverPolicy.ALL,
                ack_wait=ACK_WAIT_SECONDS,
                max_ack_pending=self.settings.batch_events * 4,
            ),
        )
        self._connected(True)
        while True:
            try:
                messages = await subscription.fetch(1, timeout=FETCH_WAIT_SECONDS)
            except TimeoutError:  # the client raises its own and asyncio's
                if not nc.is_connected:
                    raise ConnectionError("the connection to the hub's NATS was lost") from None
                continue
            if self.settings.batch_events > 1:
                with contextlib.suppress(TimeoutError):
                    messages += await subscription.fetch(
                        self.settings.batch_events - 1, timeout=GATHER_SECONDS
                    )
            await self._apply(messages)

    async def _apply(self, messages: list[Msg]) -> None:
        events: list[applier.SiteEvent] = []
        for msg in messages:
            try:
                events.append(applier.parse(msg.subject, msg.data, self.settings.subject_prefix))
            except applier.Refused as exc:
                # Not retried: the same bytes would be refused again, and holding them
                # back would stop every site behind them.
                self.status.refused_total += 1
                log.warning("hub: a message on %s was not applied: %s", msg.subject, exc)
        if events:
            now = self.clock.now()
            kept_since = now - dt.timedelta(days=self.settings.history_days)
            done = await self.store.write(applier.apply_batch, events, now, kept_since)
            self.status.applied_total += done.applied
            self.status.skipped_total += done.skipped
        # Only now that the batch is committed: a crash before this line delivers the
        # batch again, and apply_batch skips it then.
        for msg in messages:
            await msg.ack()

    async def _ensure_stream(self, js: JetStreamContext) -> None:
        try:
            await js.stream_info(self.settings.stream)
            return
        except nats_library().js.errors.NotFoundError:
            pass
        await js.add_stream(
            nats_library().js.api.StreamConfig(
                name=self.settings.stream,
                subjects=[self.subjects],
                storage=nats_library().js.api.StorageType.FILE,
                duplicate_window=self.settings.duplicate_window_seconds,
                num_replicas=self.settings.replicas,
            )
        )
        log.info("hub: stream %s made over %s", self.settings.stream, self.subjects)

    async def _connect(self, client: NatsClient) -> None:
        settings = self.settings
        await client.connect(
            servers=list(settings.servers),
            name="floki-hub",
            tls=ssl_context(settings),
            connect_timeout=CONNECT_TIMEOUT_SECONDS,
            reconnect_time_wait=settings.reconnect_seconds,  # type: ignore[arg-type]
            max_reconnect_attempts=-1,
            allow_reconnect=True,
            error_cb=self._on_error,
            disconnected_cb=self._on_disconnected,
            reconnected_cb=self._on_reconnected,
            **credentials(settings),
        )

    async def _disconnect(self) -> None:
        nc, self._nc = self._nc, None
        if nc is not None:
            problem = await close_within(nc, "hub-consumer-close")
            if problem is not None:
                log.info("hub: closing the connection to NATS: %s", problem)
        self._connected(False)

    async def _on_error(self, exc: Exception) -> None:
        self._failed(_describe(exc))

    async def _on_disconnected(self) -> None:
        self._connected(False)

    async def _on_reconnected(self) -> None:
        self._connected(True)

    def _connected(self, up: bool) -> None:
        if self.status.connected != up:
            log.info("hub: connection to NATS is %s", "up" if up else "down")
        self.status.connected = up

    def _failed(self, problem: str) -> None:
        self.status.failures_total += 1
        self.status.last_error = problem
        self.status.last_error_at = self.clock.now()
        now = asyncio.get_running_loop().time()
        if self._logged_at is None or now - self._logged_at >= LOG_SECONDS:
            self._logged_at = now
            log.warning("hub: %s; trying again", problem)


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}".rstrip(": ") if str(exc).strip() else type(exc).__name__
