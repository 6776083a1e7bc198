"""Small test plugins and sources, plus helpers to watch the appliance supervise them.

Each plugin is a plain object whose methods carry ``@hookimpl``; tests hand them to the
``floki`` fixture through ``floki_plugins`` exactly as entry-point plugins are registered.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Sequence
from typing import Any

import msgspec
import pytest
from aiohttp import web

from floki_core import hookimpl
from floki_core.config import AppConfig, parse_config
from floki_core.events import DomainEvent
from floki_core.testing import Floki

# Small enough that restarts and timeouts happen in a blink, large enough for a slow CI box.
SUPERVISION: dict[str, Any] = {
    "setup_timeout": 0.3,
    "max_failures": 3,
    "failure_window": 60.0,
    "backoff_initial": 0.01,
    "backoff_max": 0.05,
}


def appliance_config(**sections: Any) -> AppConfig:
    """Test configuration: no TLS, no mDNS, fast supervision; ``sections`` are merged in."""
    plugins = dict(sections.pop("plugins", {}))
    supervision = {**SUPERVISION, **plugins.pop("supervision", {})}
    return parse_config(
        {
            "discovery": {"enabled": False},
            "server": {"tls": False},
            "plugins": {"supervision": supervision, **plugins},
            **sections,
        }
    )


Plugins = list[tuple[str, Any]]


@pytest.fixture(name="floki_config")
def parametrised_config(request: pytest.FixtureRequest) -> AppConfig:
    """The appliance's configuration for a plugin test: ``appliance_config``, with the
    sections a test passes as the fixture's parameter merged in."""
    return appliance_config(**getattr(request, "param", {}))


@pytest.fixture(name="floki_plugins")
def parametrised_plugins(request: pytest.FixtureRequest) -> Plugins:
    """The plugin objects a test names with ``with_plugins`` (none by default)."""
    make: Callable[[], Plugins] = getattr(request, "param", list)
    return make()


def with_plugins(make: Callable[[], Plugins]) -> pytest.MarkDecorator:
    """Run a test with the plugins ``make()`` returns, fresh for the test."""
    return pytest.mark.parametrize("floki_plugins", [make], indirect=True, ids=["plugins"])


async def listed_plugins(floki: Floki) -> dict[str, dict[str, Any]]:
    """``GET /api/v1/plugins`` as a viewer would see it, keyed by plugin name."""
    resp = await floki.client.get("/api/v1/plugins", headers=await floki.headers("viewer"))
    assert resp.status == 200, await resp.text()
    return {item["name"]: item for item in (await resp.json())["items"]}


async def health(floki: Floki) -> tuple[int, Any]:
    resp = await floki.client.get("/api/v1/health")
    return resp.status, await resp.json()


# --- sources --------------------------------------------------------------------------


class WaitingSource:
    """Runs quietly until stopped, like a healthy scanner."""

    def __init__(self) -> None:
        self.runs = 0
        self.stop_calls = 0
        self.finished = 0
        self._stopped: asyncio.Event | None = None

    async def run(self, sink: Any) -> None:
        self.runs += 1
        self._stopped = asyncio.Event()
        try:
            await self._stopped.wait()
        finally:
            self.finished += 1

    async def stop(self) -> None:
        self.stop_calls += 1
        if self._stopped is not None:
            self._stopped.set()


class CrashingSource(WaitingSource):
    """Raises on its first ``crashes`` runs (every run when None), then runs quietly."""

    def __init__(self, crashes: int | None = None) -> None:
        super().__init__()
        self.crashes = crashes

    async def run(self, sink: Any) -> None:
        if self.crashes is None or self.runs < self.crashes:
            self.runs += 1
            raise RuntimeError(f"reader unplugged (run {self.runs})")
        await super().run(sink)


class CommandedSource(WaitingSource):
    """Crashes each time the test says so, so failures can be spread over time."""

    def __init__(self) -> None:
        super().__init__()
        self.crash_now: asyncio.Queue[str] = asyncio.Queue()

    async def run(self, sink: Any) -> None:
        self.runs += 1
        raise RuntimeError(await self.crash_now.get())


# --- plugins --------------------------------------------------------------------------


class SourcePlugin:
    """Registers one source and does nothing else."""

    def __init__(self, source_name: str, source: Any) -> None:
        self.source_name = source_name
        self.source = source

    @hookimpl
    def floki_register_sources(self, registry: Any) -> None:
        registry.add(self.source_name, self.source)


class RaisingStartup(SourcePlugin):
    @hookimpl
    def floki_startup(self) -> None:
        raise RuntimeError("calibration table missing")


class BlockingStartup:
    """A plain-function startup that blocks on I/O that never answers."""

    def __init__(self) -> None:
        self.release = threading.Event()

    @hookimpl
    def floki_startup(self) -> None:
        self.release.wait()


class AwaitingStartup:
    """A coroutine startup waiting on a peer that never answers."""

    def __init__(self) -> None:
        self.cancelled = False

    @hookimpl
    async def floki_startup(self) -> None:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            self.cancelled = True
            raise


class BlockingRegistration:
    """Blocks while registering sources, then tries to register after the deadline."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.returned = threading.Event()
        self.late_source = WaitingSource()

    @hookimpl
    def floki_register_sources(self, registry: Any) -> None:
        try:
            self.release.wait()
            registry.add("late-source", self.late_source)
        finally:
            self.returned.set()


class AwaitingRegistration:
    """A coroutine registration hook that never completes."""

    def __init__(self) -> None:
        self.late_source = WaitingSource()

    @hookimpl
    async def floki_register_sources(self, registry: Any) -> None:
        await asyncio.Event().wait()
        registry.add("late-source", self.late_source)


class EventRecorder:
    """Keeps every batch of domain events it is handed."""

    def __init__(self) -> None:
        self.batches: list[Sequence[DomainEvent]] = []

    @hookimpl
    def floki_events(self, events: Sequence[DomainEvent]) -> None:
        self.batches.append(events)

    @property
    def events(self) -> list[DomainEvent]:
        return [event for batch in self.batches for event in batch]


class RaisingObserver:
    def __init__(self) -> None:
        self.calls = 0

    @hookimpl
    def floki_events(self, events: Sequence[DomainEvent]) -> None:
        self.calls += 1
        raise ValueError("observer bug")


class AsyncRaisingObserver:
    def __init__(self) -> None:
        self.calls = 0

    @hookimpl
    async def floki_events(self, events: Sequence[DomainEvent]) -> None:
        self.calls += 1
        raise ValueError("observer bug")


class LifecycleRecorder(SourcePlugin):
    """Notes the order in which the appliance stops its source and shuts it down."""

    def __init__(self, source_name: str, source: WaitingSource) -> None:
        super().__init__(source_name, source)
        self.seen: list[str] = []

    @hookimpl
    def floki_shutdown(self) -> None:
        stopped = self.source.stop_calls > 0
        self.seen.append("shutdown after source stop" if stopped else "shutdown first")


class RoutePlugin:
    """Serves ``routes``: a list of (method, path, policy) answered with ``{"plugin": name}``."""

    def __init__(self, name: str, routes: Sequence[tuple[str, str, str]]) -> None:
        self.name = name
        self.routes = routes

    async def answer(self, request: web.Request) -> web.Response:
        return web.json_response({"plugin": self.name, "path": request.path})

    @hookimpl
    def floki_register_routes(self, registry: Any) -> None:
        for method, path, policy in self.routes:
            registry.add(method, path, self.answer, policy=policy, summary=f"{self.name} page")


class WardSettings(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    ward: str = "unassigned"
    poll_seconds: float = 5.0


class PlainWardSettings(msgspec.Struct, kw_only=True):
    """What a plugin author writes without thinking about unknown keys."""

    ward: str = "unassigned"
    poll_seconds: float = 5.0


class ConfiguredPlugin:
    """Declares a settings section and remembers what it was given at startup."""

    def __init__(self, schema: type[msgspec.Struct] = WardSettings) -> None:
        self.schema = schema
        self.settings: Any = None
        self.started = False

    @hookimpl
    def floki_register_config(self, registry: Any) -> None:
        registry.section(self.schema)

    @hookimpl
    def floki_startup(self, context: Any) -> None:
        self.started = True
        self.settings = context.settings
