"""Finds plugins through the ``floki`` entry-point group and runs their life cycle.

Order: load (import) → ``floki_register_config`` → validate each plugin's section →
the other registration hooks → ``floki_startup`` → sources start. A plugin that
fails at any step is marked ``failed`` with the reason, everything it registered
is taken back, and the rest carry on.
"""

from __future__ import annotations

import importlib.metadata
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pluggy

from floki_core import PROJECT_NAME, hookspecs
from floki_core.clock import Clock
from floki_core.config import AppConfig, plugin_section
from floki_core.events import DomainEvent, EventBus
from floki_core.ingest import IngestQueue
from floki_core.plugins import registry as reg
from floki_core.plugins.calls import call_one, implementation
from floki_core.plugins.context import PluginContext
from floki_core.plugins.supervisor import SourceRunner, SourceStatus

log = logging.getLogger("floki_core.plugins")
ENTRY_POINT_GROUP = "floki"

_REGISTRATION_HOOKS: tuple[tuple[str, str, type[reg._Bound[Any]]], ...] = (
    ("floki_register_sources", "sources", reg.SourceRegistry),
    ("floki_register_locators", "locators", reg.LocatorRegistry),
    ("floki_register_routes", "routes", reg.RouteRegistry),
    ("floki_register_notifiers", "notifiers", reg.NotifierRegistry),
    ("floki_register_rule_types", "rule_types", reg.RuleTypeRegistry),
)


@dataclass
class PluginInfo:
    name: str
    version: str | None
    status: str  # loaded, running, failed, disabled
    reason: str | None = None
    module: str | None = None
    sources: list[SourceStatus] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "status": self.status,
            "reason": self.reason,
            "module": self.module,
            "sources": [
                {"name": s.name, "status": s.status, "restarts": s.restarts, "reason": s.reason}
                for s in self.sources
            ],
        }


class PluginHost:
    def __init__(
        self,
        config: AppConfig,
        *,
        clock: Clock,
        events: EventBus,
        ingest: IngestQueue,
        data_dir: Path,
        extra_plugins: Sequence[tuple[str, object]] = (),
    ) -> None:
        self.config = config
        self.clock = clock
        self.events = events
        self.ingest = ingest
        self.data_dir = data_dir
        self.pm = pluggy.PluginManager(PROJECT_NAME)
        self.pm.add_hookspecs(hookspecs)
        self.registries = reg.Registries()
        self.plugins: dict[str, PluginInfo] = {}
        self.contexts: dict[str, PluginContext] = {}
        self.runners: list[SourceRunner] = []
        self._extra = list(extra_plugins)
        self._bound: list[reg._Bound[Any]] = []

    @property
    def policy(self) -> Any:
        return self.config.plugins.supervision

    # --- loading -------------------------------------------------------------

    def load(self) -> None:
        """Import every plugin named in the entry-point group (and any given directly)."""
        disabled = set(self.config.plugins.disabled)
        for ep in sorted(importlib.metadata.entry_points(group=ENTRY_POINT_GROUP), key=_ep_key):
            version = ep.dist.version if ep.dist else None
            if ep.name in self.plugins:
                log.error("plugin %s is installed twice; keeping the first", ep.name)
                continue
            if ep.name in disabled:
                self.plugins[ep.name] = PluginInfo(
                    ep.name, version, "disabled", "disabled in configuration", ep.value
                )
                continue
            try:
                module = ep.load()
                self.pm.register(module, name=ep.name)
            except Exception as exc:
                log.exception("plugin %s failed to load", ep.name)
                self._fail(ep.name, f"failed to load: {type(exc).__name__}: {exc}", version)
                self.plugins[ep.name].module = ep.value
                continue
            self.plugins[ep.name] = PluginInfo(ep.name, version, "loaded", module=ep.value)
        for name, obj in self._extra:
            if name in disabled:
                self.plugins[name] = PluginInfo(name, None, "disabled", "disabled in configuration")
                continue
            self.pm.register(obj, name=name)
            self.plugins[name] = PluginInfo(name, None, "loaded", module=repr(obj))

    def _fail(self, name: str, reason: str, version: str | None = None) -> None:
        info = self.plugins.get(name)
        if info is None:
            info = self.plugins[name] = PluginInfo(name, version, "failed")
        info.status, info.reason = "failed", reason
        self.registries.discard_plugin(name)
        log.error("plugin %s failed: %s", name, reason)

    def active(self) -> list[str]:
        return [n for n, p in self.plugins.items() if p.status in ("loaded", "running")]

    # --- registration and start-up ------------------------------------------

    async def register(
        self, core: Any = None, reserved_routes: set[tuple[str, str]] | None = None
    ) -> None:
        """Run every registration hook; ``reserved_routes`` are (method, path) pairs
        plugins may not claim (the core's own routes)."""
        timeout = self.policy.setup_timeout
        for name in self.active():
            await self._call(name, "floki_register_config", reg.ConfigRegistry, "config", timeout)
        for name in self.active():
            self.contexts[name] = self._context(name, core)
        for name in self.active():
            for hook, attr, view in _REGISTRATION_HOOKS:
                if name not in self.active():
                    break
                await self._call(name, hook, view, attr, timeout)
        for registration in self.registries.routes:
            spec = registration.item
            if (spec.method, spec.path) in (reserved_routes or set()):
                self._fail(
                    registration.plugin, f"route {spec.method} {spec.path} clashes with the core's"
                )

    def _context(self, name: str, core: Any) -> PluginContext:
        settings = None
        declared = self.registries.config.get(name)
        if declared is not None:
            try:
                settings = plugin_section(self.config, name, declared.item.schema)
            except Exception as exc:
                self._fail(name, str(exc))
        elif self.config.plugin.get(name):
            self._fail(name, f"[plugin.{name}] is configured but the plugin declares no settings")
        return PluginContext(
            name=name,
            settings=settings,
            clock=self.clock,
            events=self.events,
            ingest=self.ingest,
            data_dir=self.data_dir / "plugins" / name,
            log=logging.getLogger(f"floki.plugin.{name}"),
            core=core,
        )

    async def _call(
        self,
        name: str,
        hook: str,
        view: type[reg._Bound[Any]],
        attr: str,
        timeout: float,
    ) -> None:
        impl = implementation(self.pm, hook, name)
        if impl is None:
            return
        bound = view(getattr(self.registries, attr), name)
        self._bound.append(bound)
        kwargs = {"registry": bound, "context": self.contexts.get(name)}
        try:
            await call_one(impl, kwargs, timeout)
        except Exception as exc:
            self._fail(name, f"{hook}: {type(exc).__name__}: {exc}")
        finally:
            # A hook still running on its thread after a timeout must not register late.
            bound._registry = reg.NamedRegistry("closed")

    async def startup(self) -> None:
        for name in self.active():
            impl = implementation(self.pm, "floki_startup", name)
            if impl is not None:
                try:
                    await call_one(
                        impl, {"context": self.contexts[name]}, self.policy.setup_timeout
                    )
                except Exception as exc:
                    self._fail(name, f"floki_startup: {type(exc).__name__}: {exc}")
                    continue
            self.plugins[name].status = "running"
        for registration in self.registries.sources:
            if registration.plugin not in self.active():
                continue
            runner = SourceRunner(
                plugin=registration.plugin,
                name=registration.name,
                source=registration.item,
                sink=self.ingest.sink(registration.name),
                policy=self.policy,
                clock=self.clock,
                on_failed=self._source_failed,
            )
            self.plugins[registration.plugin].sources.append(runner.status)
            self.runners.append(runner)
            runner.start()
        self._observe_events()

    def _observe_events(self) -> None:
        for name in self.active():
            impl = implementation(self.pm, "floki_events", name)
            if impl is None:
                continue

            async def observe(events: Sequence[DomainEvent], impl: Any = impl) -> None:
                await call_one(impl, {"events": events}, self.policy.setup_timeout)

            self.events.add_observer(name, observe)

    async def _source_failed(self, status: SourceStatus) -> None:
        info = self.plugins[status.plugin]
        info.status = "failed"
        info.reason = f"source {status.name}: {status.reason}"
        await self.events.publish(
            [
                DomainEvent(
                    type="plugin.failed",
                    at=self.clock.now(),
                    entity="plugins",
                    entity_id=status.plugin,
                    data={"source": status.name, "reason": status.reason},
                )
            ]
        )

    async def shutdown(self) -> None:
        timeout = self.policy.setup_timeout
        for runner in self.runners:
            await runner.stop(timeout)
        for name, info in self.plugins.items():
            if info.status != "running" or name not in self.contexts:
                continue
            impl = implementation(self.pm, "floki_shutdown", name)
            if impl is None:
                continue
            try:
                await call_one(impl, {"context": self.contexts[name]}, timeout)
            except Exception:
                log.exception("plugin %s: floki_shutdown failed", name)

    def infos(self) -> list[PluginInfo]:
        return sorted(self.plugins.values(), key=lambda p: p.name)


def _ep_key(ep: importlib.metadata.EntryPoint) -> str:
    return ep.name
