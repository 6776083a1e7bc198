"""The site's link to the trust hub: sends the outbox to JetStream, in order, and drops
each row only once the stream has acknowledged it (docs/federation.md).

Two tasks, each carrying on through any failure of its own: the connector keeps a
connection to the hub (the NATS client reconnects by itself once connected); the sender
sends rounds of the oldest rows with their message ids (``<site>:<seq>``, which the
stream de-duplicates on), waits for the acknowledgements, deletes the rows acknowledged
without a gap, and keeps the backlog within its bound by dropping superseded location
moves, connected or not. Whatever goes wrong (the WAN, the hub, a refusal) is counted
and shown, and tried again; the appliance itself never waits for the hub.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import ssl
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec

from floki_core.clock import Clock
from floki_core.config import FederationConfig, HubConfig
from floki_core.errors import ConfigError
from floki_core.events import DomainEvent
from floki_core.federation.report import shown_server
from floki_core.storage import outbox
from floki_core.storage.store import Store

if TYPE_CHECKING:
    from nats.aio.client import Client as NatsClient
    from nats.js.api import PubAck
    from nats.js.client import JetStreamContext

log = logging.getLogger(__name__)

IDLE_SECONDS = 1.0  # how often an idle link looks at the outbox without being woken
RECOUNT_SECONDS = 2.0  # a long backlog is counted again this often, not every round
TRIM_TO = 0.9  # past the bound, superseded moves are dropped down to this share of it
CONNECT_TIMEOUT_SECONDS = 5.0
LOG_SECONDS = 30.0  # a failing link says so at most this often


def credentials(settings: FederationConfig | HubConfig) -> dict[str, Any]:
    """The connect options that present ``settings``' credentials (exactly one kind is
    set: the configuration is refused otherwise)."""
    if settings.user is not None:
        return {"user": settings.user, "password": settings.password}
    if settings.creds_file is not None:
        return {"user_credentials": settings.creds_file}
    if settings.nkey_seed_file is not None:
        return {"nkeys_seed": settings.nkey_seed_file}
    return {}


async def cancel_all(tasks: list[asyncio.Task[Any]]) -> None:
    """Cancel ``tasks`` and wait for each to end."""
    for task in tasks:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def close_within(client: NatsClient, name: str) -> str | None:
    """Close ``client``, waiting ``CONNECT_TIMEOUT_SECONDS`` at most; what went wrong, or
    None. Not wait_for: a close stuck mid-reconnect may not give in to a cancel, and the
    appliance must stop all the same."""
    if client.is_closed:
        return None
    closing = asyncio.create_task(client.close(), name=name)
    done, _ = await asyncio.wait({closing}, timeout=CONNECT_TIMEOUT_SECONDS)
    if not done:
        closing.cancel()
        return "it did not close in time; left to close"
    failed = closing.exception()
    return None if failed is None else str(failed)


def nats_library() -> Any:
    """The NATS client library, loaded when a link to a hub is first made rather than with
    the appliance: a department without a hub never holds it."""
    import nats.aio.client
    import nats.errors
    import nats.js.api
    import nats.js.client
    import nats.js.errors

    return nats


class LinkStatus(msgspec.Struct, kw_only=True):
    """What ``GET /api/v1/federation`` and ``/metrics`` show of the link."""

    enabled: bool
    site_id: str | None = None
    servers: list[str] = msgspec.field(default_factory=list)
    connected: bool = False
    backlog_events: int = 0  # rows waiting in the outbox
    backlog_bound: int = 0
    over_bound: bool = False  # past the bound with nothing left that may be dropped
    oldest_waiting_seq: int | None = None
    newest_seq: int | None = None
    published_total: int = 0  # acknowledged by the hub's stream (and deleted here)
    duplicates_total: int = 0  # acknowledged as already stored (sent again after a restart)
    coalesced_total: int = 0  # superseded location moves dropped to keep within the bound
    failures_total: int = 0  # rounds that failed (no connection, no ack, a refusal)
    link_changes_total: int = 0  # times the link went up or down
    last_acked_seq: int | None = None
    last_acked_at: dt.datetime | None = None
    last_error: str | None = None
    last_error_at: dt.datetime | None = None


def ssl_context(settings: FederationConfig | HubConfig) -> ssl.SSLContext:
    """TLS to the hub's NATS, verified against the configured CA only."""
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=settings.ca_file)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


def check_files(settings: FederationConfig | HubConfig, section: str = "federation") -> None:
    """Every file the section names can be read: else one line naming the key."""
    for key in ("ca_file", "creds_file", "nkey_seed_file"):
        name = getattr(settings, key)
        if name is None:
            continue
        path = Path(name)
        if not path.is_file():
            raise ConfigError(f"{section}.{key}: {path} is not a readable file")
        try:
            path.read_bytes()
        except OSError as exc:
            raise ConfigError(f"{section}.{key}: {path} cannot be read ({exc.strerror})") from None
    if settings.ca_file:
        try:
            ssl_context(settings)
        except ssl.SSLError as exc:
            raise ConfigError(
                f"{section}.ca_file: {settings.ca_file} holds no usable CA certificate ({exc})"
            ) from None


class FederationLink:
    def __init__(self, settings: FederationConfig, store: Store, clock: Clock) -> None:
        self.settings = settings
        self.store = store
        self.clock = clock
        self.status = LinkStatus(
            enabled=True,
            site_id=settings.site_id,
            servers=[shown_server(url) for url in settings.servers],
            backlog_bound=settings.max_backlog_events,
        )
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._nc: NatsClient | None = None
        self._js: JetStreamContext | None = None
        self._refusal: str | None = None  # the server's last -ERR, until a round succeeds
        self._logged_at: float | None = None
        self._unlogged = 0
        self._over_logged = False
        self._counted_at: float | None = None

    # --- life cycle ------------------------------------------------------------

    async def start(self) -> None:
        check_files(self.settings)
        await self._refresh_backlog()
        self._tasks = [
            asyncio.create_task(self._keep_connected(), name="federation-connector"),
            asyncio.create_task(self._run(), name="federation-sender"),
        ]

    async def stop(self) -> None:
        tasks, self._tasks = self._tasks, []
        await cancel_all(tasks)
        await self._disconnect()

    async def current_status(self) -> LinkStatus:
        """The figures, with the backlog counted now (the loop counts a long one only
        every few seconds)."""
        self._show_backlog(await self.store.read(outbox.backlog))
        return self.status

    def on_events(self, events: Sequence[DomainEvent]) -> None:
        """Inline event observer: a commit has just added rows, send them soon."""
        self._wake.set()

    # --- the loop --------------------------------------------------------------

    async def _run(self) -> None:
        while True:
            try:
                await self._round()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the link must outlive any one failure
                self._failed(f"{type(exc).__name__}: {exc}")
                log.exception("the federation link failed a round; trying again")
                await asyncio.sleep(self.settings.reconnect_seconds)

    async def _round(self) -> None:
        now = asyncio.get_running_loop().time()
        stale = self._counted_at is None or now - self._counted_at >= RECOUNT_SECONDS
        if stale or self.status.backlog_events == 0:
            await self._refresh_backlog()
            self._counted_at = now
        nc = self._nc
        if self.status.backlog_events == 0 or nc is None or not nc.is_connected:
            await self._idle(IDLE_SECONDS)
            return
        # Read by a synced write: see outbox.durable_pending.
        rows = await self.store.write(outbox.durable_pending, self.settings.batch_events)
        if not rows:
            self.status.backlog_events = 0  # counted again next round
        elif not await self._send(rows):
            await asyncio.sleep(self.settings.reconnect_seconds)

    async def _idle(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._wake.wait()
        self._wake.clear()

    # --- sending ---------------------------------------------------------------

    async def _send(self, rows: Sequence[outbox.Pending]) -> bool:
        """Send ``rows`` in order; delete those acknowledged without a gap. Returns
        whether every one was."""
        js = self._js
        assert js is not None  # made with the connection
        site = self.settings.site_id
        futures: list[asyncio.Future[PubAck]] = []
        try:
            for row in rows:
                futures.append(
                    await js.publish_async(
                        row.subject,
                        row.payload,
                        headers={"Nats-Msg-Id": f"{site}:{row.seq}"},
                        wait_stall=self.settings.ack_timeout_seconds,
                    )
                )
            await asyncio.wait(futures, timeout=self.settings.ack_timeout_seconds)
        except (nats_library().errors.Error, OSError) as exc:
            problem: str | None = f"sending failed: {exc or type(exc).__name__}"
        else:
            problem = None
        acked: list[PubAck] = []
        for future in futures:
            if not future.done() or future.cancelled():
                break
            if future.exception() is not None:
                problem = self._refused(future.exception())
                break
            acked.append(future.result())
        for future in futures:
            future.cancel()  # those not answered are sent again next round
        if acked:
            last = rows[len(acked) - 1].seq
            removed = await self.store.write(outbox.remove_through, last)
            self.status.backlog_events = max(self.status.backlog_events - removed, 0)
            self.status.oldest_waiting_seq = last + 1 if self.status.backlog_events else None
            self.status.published_total += sum(1 for a in acked if not a.duplicate)
            self.status.duplicates_total += sum(1 for a in acked if a.duplicate)
            self.status.last_acked_seq = last
            self.status.last_acked_at = self.clock.now()
        if len(acked) == len(rows):
            self._refusal = None
            return True
        self._failed(problem or self._no_ack())
        return False

    def _refused(self, exc: BaseException | None) -> str:
        if isinstance(exc, nats_library().js.errors.APIError):
            return f"the hub's stream refused an event: {exc.description or exc}"
        if isinstance(exc, nats_library().js.errors.NoStreamResponseError):
            return "no stream at the hub takes this site's subjects (no responders)"
        return f"sending failed: {exc}"

    def _no_ack(self) -> str:
        if self._refusal is not None:
            return f"the hub refused this site: {self._refusal}"
        return f"no acknowledgement from the hub within {self.settings.ack_timeout_seconds:g} s"

    # --- the connection --------------------------------------------------------

    async def _keep_connected(self) -> None:
        """Connect, and connect again should the client ever give up (it reconnects by
        itself once connected). A hub out of reach at start is tried until it answers,
        each failure shown in ``last_error``."""
        while True:
            nc = self._nc
            if nc is not None and not nc.is_closed:
                await asyncio.sleep(IDLE_SECONDS)
                continue
            client = nats_library().aio.client.Client()
            try:
                await self._connect(client)
            except asyncio.CancelledError:
                with contextlib.suppress(Exception):
                    await client.close()
                raise
            except Exception as exc:
                self._failed(f"cannot connect to the hub: {_describe(exc)}")
                with contextlib.suppress(Exception):
                    await client.close()
                await asyncio.sleep(self.settings.reconnect_seconds)
                continue
            # One context per connection: it holds one reply subscription for the
            # acknowledgements, which a context per round would pile up.
            self._nc, self._js = client, client.jetstream()
            self._link(True)
            self._wake.set()

    async def _connect(self, client: NatsClient) -> None:
        settings = self.settings
        await client.connect(
            servers=list(settings.servers),
            name=f"floki-site-{settings.site_id}",
            tls=ssl_context(settings),
            # Replies (the stream's acknowledgements) come to this site's own inboxes,
            # which the hub lets it, and only it, subscribe to.
            inbox_prefix=f"_INBOX_{settings.site_id}",
            connect_timeout=int(max(settings.ack_timeout_seconds, 1)),
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
        if nc is None:
            return
        problem = await close_within(nc, "federation-link-close")
        if problem is not None:
            log.info("closing the connection to the hub: %s", problem)
        if self.status.connected:
            self._link(False)

    async def _on_error(self, exc: Exception) -> None:
        text = _describe(exc)
        if "permissions violation" in text.lower() or "authorization" in text.lower():
            self._refusal = text
        if not self.status.connected:
            text = f"cannot connect to the hub: {text}"
        self._failed(text)

    async def _on_disconnected(self) -> None:
        if self.status.connected:
            self._link(False)

    async def _on_reconnected(self) -> None:
        if not self.status.connected:
            self._link(True)
        self._wake.set()

    def _link(self, up: bool) -> None:
        self.status.connected = up
        self.status.link_changes_total += 1
        log.info("federation link to the hub is %s", "up" if up else "down")

    # --- bookkeeping -----------------------------------------------------------

    def _failed(self, problem: str) -> None:
        self.status.failures_total += 1
        self.status.last_error = problem
        self.status.last_error_at = self.clock.now()
        # At most one line per LOG_SECONDS however often the link retries.
        now = asyncio.get_running_loop().time()
        if self._logged_at is not None and now - self._logged_at < LOG_SECONDS:
            self._unlogged += 1
            return
        more = f" ({self._unlogged} more failures since the last line)" if self._unlogged else ""
        self._logged_at, self._unlogged = now, 0
        log.warning("federation: %s; the backlog is kept and sent once it can be%s", problem, more)

    async def _refresh_backlog(self) -> None:
        found = await self.store.read(outbox.backlog)
        bound = self.settings.max_backlog_events
        if found.rows > bound:
            dropped = await self.store.write(outbox.coalesce, found.rows - int(bound * TRIM_TO))
            if dropped:
                self.status.coalesced_total += dropped
                log.warning(
                    "federation backlog over %d events: %d superseded location moves "
                    "dropped (%d in all); every asset's newest move is kept",
                    bound,
                    dropped,
                    self.status.coalesced_total,
                )
                found = await self.store.read(outbox.backlog)
        self._show_backlog(found)
        over = found.rows > bound
        if over and not self._over_logged:
            log.error(
                "federation backlog is %d events, over its bound of %d, with nothing left "
                "that may be dropped: it keeps growing until the hub is reached",
                found.rows,
                bound,
            )
        self._over_logged = over
        self.status.over_bound = over

    def _show_backlog(self, found: outbox.Backlog) -> None:
        self.status.backlog_events = found.rows
        self.status.oldest_waiting_seq = found.oldest_seq
        self.status.newest_seq = found.newest_seq


def _describe(exc: BaseException) -> str:
    return str(exc).strip() or type(exc).__name__
