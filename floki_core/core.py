"""The in-process core: configuration, database, event bus, ingest and plugins together.

The API, the CLI's ``serve`` and the test harness all drive the same object.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import functools
import logging
from collections.abc import Callable, Collection, Sequence
from pathlib import Path
from typing import Any, TypeVar

from floki_core.clock import Clock, SystemClock
from floki_core.config import AppConfig, load_config
from floki_core.domain import Principal, to_plain
from floki_core.errors import FlokiError
from floki_core.events import DomainEvent, EventBus
from floki_core.federation.link import FederationLink, check_files
from floki_core.hub.consumer import HubConsumer
from floki_core.ingest import IngestQueue
from floki_core.initialise import is_initialised
from floki_core.location.service import LocationService
from floki_core.plugins.host import PluginHost
from floki_core.plugins.services import PluginServices, plugin_services
from floki_core.storage import resources
from floki_core.storage.audit import log_audit_head
from floki_core.storage.database import Database, default_url
from floki_core.storage.health import StorageHealth
from floki_core.storage.outbox import Outbox
from floki_core.storage.resources import Resource, event_name
from floki_core.storage.store import Store
from floki_core.workflow.engine import Workflow

log = logging.getLogger(__name__)
T = TypeVar("T")
AUDIT_HEAD_CHECK_SECONDS = 300.0  # how often (real seconds) to look for a new day


class Core:
    def __init__(
        self,
        data_dir: Path,
        config: AppConfig | None = None,
        *,
        clock: Clock | None = None,
        extra_plugins: Sequence[tuple[str, object]] = (),
        reserved_routes: Collection[tuple[str, str]] = (),
    ) -> None:
        """``reserved_routes``: (method, path) of the routes the API serves itself, which
        no plugin may claim (``floki_core.api.app.core_route_keys()``)."""
        self.data_dir = data_dir
        self.reserved_routes = frozenset(reserved_routes)
        self.config = config if config is not None else load_config(data_dir)
        self.clock: Clock = clock or SystemClock()
        self.db = Database(self.config.database.url or default_url(data_dir))
        # Whether it can save: every writer (API requests and background ones) reports a
        # full disk here, and health and metrics read it.
        self.storage = StorageHealth(self.clock, data_dir, self.db.sqlite_file())
        federation = self.config.federation
        # With [federation] on, every write that announces events keeps them for the hub
        # in its own transaction; without it, no outbox row is ever written.
        self.store = Store(
            self.db,
            self.storage,
            Outbox(federation.site_id, federation.subject_prefix) if federation else None,
        )
        self.events = EventBus(
            observer_queue_size=self.config.events.observer_queue_batches, clock=self.clock
        )
        self.ingest = IngestQueue(self.config.ingest.queue_batches)
        self.plugins = PluginHost(
            self.config,
            clock=self.clock,
            events=self.events,
            ingest=self.ingest,
            data_dir=data_dir,
            extra_plugins=extra_plugins,
        )
        self.locations = LocationService(
            settings=self.config.location,
            store=self.store,
            clock=self.clock,
            events=self.events,
            ingest=self.ingest,
            plugin_locators=self.plugins.registries.locators,
            capture_dir=data_dir / "capture",
            plugin_tag_keys=self.plugins.registries.tag_keys,
        )
        self.workflow = Workflow(
            settings=self.config.workflow,
            site_name=self.config.site.name,
            store=self.store,
            clock=self.clock,
            events=self.events,
            locations=self.locations,
            plugins=self.plugins,
        )
        self.locations.use_privacy(self.workflow.loans)
        self.federation = FederationLink(federation, self.store, self.clock) if federation else None
        # [hub]: this appliance also reads every site's events into its database.
        hub = self.config.hub
        self.hub = HubConsumer(hub, self.store, self.clock) if hub else None
        self._tasks: list[asyncio.Task[None]] = []
        self._audit_head_day: dt.date | None = None

    async def start(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        # Before anything touches the database: a missing, empty or damaged one stops the
        # start with the reason, rather than an appliance that starts empty or falls over.
        problem = await self.db.run(
            functools.partial(
                self.db.start_problem,
                initialised=is_initialised(self.data_dir),
                budget_seconds=self.config.database.start_check_seconds,
            )
        )
        for section, settings in (("federation", self.config.federation), ("hub", self.config.hub)):
            if problem is None and settings is not None:
                try:
                    check_files(settings, section)
                except FlokiError as exc:
                    problem = str(exc)
        if problem is not None:
            self.db.close()
            raise FlokiError(problem)
        applied = await self.db.run(self.db.migrate)
        if applied:
            log.info("database upgraded: %s", ", ".join(applied))

        self.plugins.load()
        await self.plugins.register(set(self.reserved_routes), services=self.plugin_services())
        await self.locations.start()  # before sources start delivering
        await self.workflow.start()
        await self.plugins.startup()
        if self.federation is not None:
            self.events.add_observer("federation", self.federation.on_events, inline=True)
            await self.federation.start()
        if self.hub is not None:
            await self.hub.start()
        self._tasks.append(asyncio.create_task(self.ingest.drain_forever(), name="ingest"))
        await self.log_audit_head()  # where the trail ends once started (seeding included)
        self._tasks.append(asyncio.create_task(self._audit_head_daily(), name="audit-head"))

    async def stop(self) -> None:
        await self.plugins.shutdown()
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        await self.workflow.stop()
        await self.locations.stop()
        if self.federation is not None:
            # After the writers: what they committed last is sent at the next start.
            await self.federation.stop()
        if self.hub is not None:
            await self.hub.stop()
        await self.events.close()
        await self.db.aclose()

    def plugin_services(self) -> PluginServices:
        """What a plugin's context offers of this appliance, built from the services
        that do the work."""
        return plugin_services(
            config=self.config,
            store=self.store,
            events=self.events,
            clock=self.clock,
            locations=self.locations,
            states=self.workflow.states,
            loans=self.workflow.loans,
            ppm=self.workflow.ppm,
        )

    async def log_audit_head(self) -> None:
        """The audit trail's head into the log, at start and once a day: a log that
        leaves the box (journald, syslog) keeps where the trail ended, out of reach of
        whoever can write to the database (docs/security.md, Audit trail)."""
        today = self.clock.now().date()
        if self._audit_head_day != today:
            await self.read(log_audit_head)
            self._audit_head_day = today

    async def _audit_head_daily(self) -> None:
        while True:
            await asyncio.sleep(AUDIT_HEAD_CHECK_SECONDS)
            try:
                await self.log_audit_head()
            except Exception:
                log.exception("the audit head could not be read for the log; will retry")

    # --- database work off the event loop (the store's, for callers holding the core) ----

    async def read(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        return await self.store.read(fn, *args, **kwargs)

    async def write(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run ``fn(session, ...)`` in one transaction (:meth:`Store.write`)."""
        return await self.store.write(fn, *args, **kwargs)

    # --- register CRUD with events ----------------------------------------

    async def create(self, resource: Resource, values: dict[str, Any], actor: Principal) -> Any:
        record, events = await self.store.write_events(
            resources.create_record,
            resource,
            values,
            actor=actor,
            now=self.clock.now(),
            announce=lambda record: [
                self.event(event_name(resource, "created"), resource, record.id, to_plain(record))
            ],
        )
        await self.events.publish(events)
        return record

    async def update(
        self, resource: Resource, record_id: int, changes: dict[str, Any], actor: Principal
    ) -> Any:
        def announce(result: tuple[Any, Any]) -> list[DomainEvent]:
            before, after = result
            if before == after:
                return []
            return [
                self.event(event_name(resource, "updated"), resource, record_id, to_plain(after))
            ]

        (_, after), events = await self.store.write_events(
            resources.update_record,
            resource,
            record_id,
            changes,
            actor=actor,
            now=self.clock.now(),
            announce=announce,
        )
        await self.events.publish(events)
        return after

    async def delete(self, resource: Resource, record_id: int, actor: Principal) -> Any:
        before, events = await self.store.write_events(
            resources.delete_record,
            resource,
            record_id,
            actor=actor,
            now=self.clock.now(),
            announce=lambda _: [
                self.event(event_name(resource, "deleted"), resource, record_id, {})
            ],
        )
        await self.events.publish(events)
        return before

    async def write_announcing(
        self,
        fn: Callable[..., T],
        *args: Any,
        type_: str,
        resource: Resource,
        record_id: int,
        data: dict[str, Any],
        **kwargs: Any,
    ) -> T:
        """``write(fn, ...)`` that announces one ``type_`` event of ``resource`` once
        committed (kept for the hub in the same transaction, :meth:`Store.write_events`)."""
        result, events = await self.store.write_events(
            fn,
            *args,
            announce=lambda _: [self.event(type_, resource, record_id, data)],
            **kwargs,
        )
        await self.events.publish(events)
        return result

    def event(
        self, type_: str, resource: Resource, record_id: int, data: dict[str, Any]
    ) -> DomainEvent:
        return DomainEvent(
            type=type_, at=self.clock.now(), entity=resource.name, entity_id=record_id, data=data
        )
