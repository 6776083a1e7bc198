"""The appliance a conformance test runs a plugin in: a real in-process core, the plugin
loaded through its entry point (the other installed plugins disabled), a manual clock,
and the kit's watchers around it.

``watched_appliance`` starts it, and on the way out stops it and checks that the stop
took under two seconds, that nothing was left running or open, and that the event loop
never stalled while it ran.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import importlib.metadata
import logging
import shutil
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from floki_core.api.app import core_route_keys, create_app
from floki_core.clock import ManualClock
from floki_core.config import parse_config
from floki_core.conformance.watch import LoopStallDetector, Resources, left_behind, resources
from floki_core.core import Core
from floki_core.observations import Observation
from floki_core.plugins.installed import plugin_entry_points
from floki_core.storage.database import DB_FILE
from floki_core.testing import Floki

API = "/api/v1"
STOP_SECONDS = 2.0
START = dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC)
# Restarts in a blink, and never given up on within a test.
FAST_SUPERVISION: dict[str, Any] = {
    "setup_timeout": 5.0,
    "max_failures": 1000,
    "failure_window": 60.0,
    "backoff_initial": 0.02,
    "backoff_max": 0.1,
}


class ConformanceFailure(AssertionError):
    """The plugin does not do what the contract says; the message says what and where."""


def installed_plugins() -> dict[str, importlib.metadata.EntryPoint]:
    return {ep.name: ep for ep in plugin_entry_points()}


def merged(base: Mapping[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    """``extra`` over ``base``, section by section."""
    out = dict(base)
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = merged(out[key], value)
        else:
            out[key] = value
    return out


def appliance_config(
    plugin: str,
    settings: Mapping[str, Any],
    *,
    also: Sequence[str] = (),
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The configuration file a test appliance runs with, as a dict: only ``plugin`` (and
    ``also``) of the installed plugins enabled, ``settings`` as ``[plugin.<plugin>]``."""
    others = sorted(set(installed_plugins()) - {plugin, *also})
    base: dict[str, Any] = {
        "discovery": {"enabled": False},
        "server": {"tls": False},
        "plugins": {"disabled": others, "supervision": FAST_SUPERVISION},
        "plugin": {plugin: dict(settings)} if settings else {},
    }
    return merged(base, extra or {})


# --- what the test sees -------------------------------------------------------------------


@dataclass
class Delivered:
    """Every batch each source handed the core, in order."""

    batches: dict[str, list[Sequence[Observation]]] = field(
        default_factory=lambda: defaultdict(list)
    )

    async def handle(self, items: Sequence[tuple[str, Sequence[Observation]]]) -> None:
        for source, batch in items:
            self.batches[source].append(batch)

    def of(self, source: str) -> list[Sequence[Observation]]:
        return list(self.batches.get(source, []))

    def observations(self, source: str) -> list[Observation]:
        return [o for batch in self.of(source) for o in batch]


# The logger refused input is logged to (per source and reason, once an interval): at INFO
# for what a source drops by design, so the kit listens to it at INFO.
REJECTIONS_LOGGER = "floki_core.ingest"


class WarningLog(logging.Handler):
    """Every record of WARNING and above while the appliance runs, and the refusals logged
    at INFO (input a source drops by design)."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno >= logging.WARNING or record.name == REJECTIONS_LOGGER:
            self.records.append(record)

    def messages(self, level: int = logging.WARNING) -> list[str]:
        """What was logged at ``level`` or above."""
        return [r.getMessage() for r in self.records if r.levelno >= level]


@dataclass
class Watched:
    """A running appliance and what the kit has seen of it."""

    floki: Floki
    delivered: Delivered
    log: WarningLog
    plugin: str
    app: web.Application

    @property
    def core(self) -> Core:
        return self.floki.core

    async def get(self, path: str, role: str = "admin") -> Any:
        resp = await self.floki.client.get(API + path, headers=await self.floki.headers(role))
        if resp.status != 200:
            raise ConformanceFailure(f"GET {API}{path}: {resp.status} {await resp.text()}")
        return await resp.json()

    async def post(self, path: str, body: Any, role: str = "admin") -> Any:
        resp = await self.floki.client.post(
            API + path, json=body, headers=await self.floki.headers(role)
        )
        if resp.status >= 300:
            raise ConformanceFailure(
                f"POST {API}{path} {body!r}: {resp.status} {await resp.text()}"
            )
        return await resp.json()

    async def plugin_entry(self) -> dict[str, Any]:
        """This plugin as ``GET /api/v1/plugins`` lists it."""
        listed = {p["name"]: p for p in (await self.get("/plugins", "viewer"))["items"]}
        if self.plugin not in listed:
            raise ConformanceFailure(f"plugin {self.plugin!r} is not in GET {API}/plugins")
        entry: dict[str, Any] = listed[self.plugin]
        return entry

    async def source_entry(self, source: str) -> dict[str, Any]:
        """The source's status as ``GET /api/v1/plugins`` lists it."""
        plugin = await self.plugin_entry()
        sources = {s["name"]: s for s in plugin["sources"]}
        if source not in sources:
            raise ConformanceFailure(
                f"plugin {self.plugin!r} runs no source {source!r} "
                f"(it runs {sorted(sources) or 'none'}; its status: {plugin['status']}, "
                f"{plugin['reason']})"
            )
        found: dict[str, Any] = sources[source]
        return found

    async def counters(self, source: str) -> dict[str, Any]:
        """The source's counters in ``GET /api/v1/sources`` (empty when not listed)."""
        items = (await self.get("/sources", "viewer"))["items"]
        for item in items:
            if item["name"] == source:
                found: dict[str, Any] = item
                return found
        return {}

    async def settle(self) -> None:
        await self.floki.settle()


@contextlib.asynccontextmanager
async def watched_appliance(
    data_dir: Path,
    config: Mapping[str, Any],
    *,
    plugin: str,
    template_database: Path | None = None,
    extra_plugins: Sequence[tuple[str, object]] = (),
    before: Resources | None = None,
    on_stopped: Callable[[], Awaitable[None]] | None = None,
    stall_limit: float | None = None,
) -> AsyncIterator[Watched]:
    """Start an appliance; on leaving, stop it and fail on a slow stop, anything left
    behind, or any event-loop stall while it ran.

    ``before`` is a ``watch.resources()`` snapshot taken before anything the test opened
    (taken here when not given), and ``on_stopped`` closes what the test opened once the
    appliance has stopped, so that what is left after is the appliance's doing.
    ``template_database`` is a migrated database file to start from (the
    ``floki_migrated_database`` fixture).
    """
    snapshot = before if before is not None else resources()
    clock = ManualClock(START)
    data_dir.mkdir(parents=True, exist_ok=True)
    if template_database is not None:
        shutil.copyfile(template_database, data_dir / DB_FILE)
    core = Core(
        data_dir,
        parse_config(dict(config)),
        clock=clock,
        extra_plugins=extra_plugins,
        reserved_routes=core_route_keys(),
    )
    log = WarningLog()
    logging.getLogger().addHandler(log)
    rejections = logging.getLogger(REJECTIONS_LOGGER)
    rejections_level = rejections.level
    if not rejections.isEnabledFor(logging.INFO):
        rejections.setLevel(logging.INFO)
    detector = LoopStallDetector() if stall_limit is None else LoopStallDetector(stall_limit)
    client: TestClient[Any, Any] | None = None
    started = False
    try:
        await core.start()
        started = True
        delivered = Delivered()
        core.ingest.add_handler(delivered.handle)
        app = create_app(core)
        client = TestClient(TestServer(app))
        await client.start_server()
        detector.start()
        yield Watched(Floki(core, client, clock), delivered, log, plugin, app)
        stopping = time.monotonic()
        await client.close()
        client = None
        # The plugins' part of the stop (their sources stopped, floki_shutdown) is watched
        # for stalls; the core's own closing after it is not the plugin's doing.
        await core.plugins.shutdown()
        detector.stop()
        core.plugins.shutdown = _already_stopped  # type: ignore[method-assign]
        await core.stop()
        started = False
        took = time.monotonic() - stopping
        if on_stopped is not None:
            await on_stopped()
        if took > STOP_SECONDS:
            raise ConformanceFailure(f"stopping took {took:.2f} s; at most {STOP_SECONDS:g} s")
        if detector.stalls:
            raise ConformanceFailure(detector.report())
        await _nothing_left(snapshot, stopping + STOP_SECONDS)
    finally:
        detector.stop()
        logging.getLogger().removeHandler(log)
        rejections.setLevel(rejections_level)
        if client is not None:
            await client.close()
        if started:
            await core.stop()


async def _already_stopped() -> None:
    pass


async def _nothing_left(before: Resources, deadline: float) -> None:
    """What the stop left: threads still winding down get until ``deadline``."""
    while True:
        problems = left_behind(before, resources())
        if not problems:
            return
        if time.monotonic() >= deadline:
            raise ConformanceFailure(
                "left behind after the appliance stopped: " + "; ".join(problems)
            )
        await asyncio.sleep(0.02)
