"""Finds plugins through the ``floki`` entry-point group and runs their life cycle.

Order: load (import) → ``floki_register_config`` → validate each plugin's section →
the other registration hooks → ``floki_startup`` → sources start. A plugin that
fails at any step is marked ``failed`` with the reason, everything it registered
is taken back, and the rest carry on.
"""

from __future__ import annotations

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
from floki_core.plugins import contract
from floki_core.plugins import registry as reg
from floki_core.plugins.calls import HookRound, call_hook
from floki_core.plugins.context import PluginContext
from floki_core.plugins.hookimpls import FlokiPluginManager, supervised_plugin
from floki_core.plugins.installed import plugin_entry_points
from floki_core.plugins.services import PluginServices
from floki_core.plugins.supervisor import SourceRunner, SourceStatus

log = logging.getLogger("floki_core.plugins")

_REGISTRATION_HOOKS: tuple[tuple[str, str, type[reg._Bound[Any]]], ...] = (
    ("floki_register_sources", "sources", reg.SourceRegistry),
    ("floki_register_locators", "locators", reg.LocatorRegistry),
    ("floki_register_routes", "routes", reg.RouteRegistry),
    ("floki_register_notifiers", "notifiers", reg.NotifierRegistry),
    ("floki_register_rule_types", "rule_types", reg.RuleTypeRegistry),
    ("floki_register_tag_keys", "tag_keys", reg.TagKeyRegistry),
)


@dataclass
class PluginInfo:
    name: str
    version: str | None
    status: str  # loaded, running, failed, disabled
    reason: str | None = None
    module: str | None = None
    sources: list[SourceStatus] = field(default_factory=list)
    api: str | None = None  # the plugin API range it declares (FLOKI_PLUGIN_API), if any

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "status": self.status,
            "reason": self.reason,
            "module": self.module,
            "api": self.api,
            "sources": [
                {
                    "name": s.name,
                    "status": s.status,
                    "restarts": s.restarts,
                    "reason": s.reason,
                    "details": s.details(),
                }
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
        self.pm = FlokiPluginManager(PROJECT_NAME)
        self.pm.add_hookspecs(hookspecs)
        self.registries = reg.Registries()
        self.plugins: dict[str, PluginInfo] = {}
        self.contexts: dict[str, PluginContext] = {}
        self.runners: list[SourceRunner] = []
        self._extra = list(extra_plugins)

    @property
    def policy(self) -> Any:
        return self.config.plugins.supervision

    # --- loading -------------------------------------------------------------

    def load(self) -> None:
        """Import every plugin named in the entry-point group (and any given directly)."""
        disabled = set(self.config.plugins.disabled)
        loaded: list[tuple[str, object]] = []
        for ep in plugin_entry_points():
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
            except Exception as exc:
                log.exception("plugin %s failed to load", ep.name)
                self._fail(ep.name, f"failed to load: {type(exc).__name__}: {exc}", version)
                self.plugins[ep.name].module = ep.value
                continue
            self.plugins[ep.name] = PluginInfo(ep.name, version, "loaded", module=ep.value)
            if self._compatible(ep.name, module):
                loaded.append((ep.name, module))
        for name, obj in self._extra:
            if name in self.plugins:
                log.error("plugin %s is given twice; keeping the first", name)
                continue
            if name in disabled:
                self.plugins[name] = PluginInfo(name, None, "disabled", "disabled in configuration")
                continue
            self.plugins[name] = PluginInfo(name, None, "loaded", module=repr(obj))
            if self._compatible(name, obj):
                loaded.append((name, obj))
        # pluggy calls the implementation registered last first; registering in reverse
        # keeps plugins without tryfirst/trylast in load order.
        for name, obj in reversed(loaded):
            try:
                self.pm.register(supervised_plugin(self.pm, obj, name), name=name)
            except Exception as exc:
                log.exception("plugin %s failed to load", name)
                self._fail(name, f"failed to load: {type(exc).__name__}: {exc}")

    def _compatible(self, name: str, plugin: object) -> bool:
        """Whether the plugin API range ``plugin`` declares holds this appliance's; if
        not, it is failed with both named, before any of its hooks is registered."""
        verdict = contract.judge(plugin)
        self.plugins[name].api = verdict.declared
        if verdict.warning is not None:
            log.warning("plugin %s %s", name, verdict.warning)
        if verdict.refusal is not None:
            self._fail(name, verdict.refusal)
            return False
        return True

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
        self,
        reserved_routes: set[tuple[str, str]] | None = None,
        *,
        services: PluginServices | None = None,
    ) -> None:
        """Run every registration hook; ``reserved_routes`` are (method, path) pairs
        plugins may not claim (the core's own routes). ``services`` is what each
        plugin's context offers (``plugin_services``, from the services' collaborators);
        None outside a running appliance."""
        await self._registration("floki_register_config", reg.ConfigRegistry, "config")
        for name in self.active():
            self.contexts[name] = self._context(name, services)
        for hook, attr, view in _REGISTRATION_HOOKS:
            await self._registration(hook, view, attr)
        for registration in self.registries.routes:
            spec = registration.item
            if (spec.method, spec.path) in (reserved_routes or set()):
                self._fail(
                    registration.plugin, f"route {spec.method} {spec.path} clashes with the core's"
                )

    def _context(self, name: str, services: PluginServices | None) -> PluginContext:
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
            appliance_dir=self.data_dir,
            log=logging.getLogger(f"floki.plugin.{name}"),
            register=None if services is None else services.register,
            services=services,
        )

    def _round(self, hook: str, admitted: set[str], **kwargs: Any) -> HookRound:
        return HookRound(hook, self.policy.setup_timeout, admitted, **kwargs)

    async def _registration(self, hook: str, view: type[reg._Bound[Any]], attr: str) -> None:
        """One registration hook for every active plugin, each with its own registry view.

        A plugin that fails has what it registered taken back at once, before the next
        plugin is called, so a name it held is free for the others.
        """
        views: dict[str, reg._Bound[Any]] = {}

        def arguments(plugin: str) -> dict[str, Any]:
            if plugin not in views:
                views[plugin] = view(getattr(self.registries, attr), plugin)
            return {"registry": views[plugin], "context": self.contexts.get(plugin)}

        def taken_back(plugin: str, error: Exception) -> None:
            # A hook still running on its thread after a timeout must not register late.
            if plugin in views:
                views[plugin].close()
            self.registries.discard_plugin(plugin)

        hook_round = self._round(
            hook, set(self.active()), arguments=arguments, on_failure=taken_back
        )
        try:
            await call_hook(getattr(self.pm.hook, hook), _placeholders(self.pm, hook), hook_round)
        finally:
            for bound in views.values():
                bound.close()
        for plugin, error in hook_round.failures:
            self._fail(plugin, f"{hook}: {type(error).__name__}: {error}")

    async def startup(self) -> None:
        hook_round = self._round("floki_startup", set(self.active()), arguments=self._context_of)
        await call_hook(
            self.pm.hook.floki_startup, _placeholders(self.pm, "floki_startup"), hook_round
        )
        for plugin, error in hook_round.failures:
            self._fail(plugin, f"floki_startup: {type(error).__name__}: {error}")
        for name in self.active():
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
                on_recovered=self._source_recovered,
            )
            self.plugins[registration.plugin].sources.append(runner.status)
            self.runners.append(runner)
            runner.start()
        self._observe_events()

    def _context_of(self, plugin: str) -> dict[str, Any]:
        return {"context": self.contexts.get(plugin)}

    def _observe_events(self) -> None:
        """Each plugin observes events on its own: a subset caller holding only its
        implementations (its own wrappers included), so one plugin never waits on
        another's."""
        hook = "floki_events"
        observing = {
            impl.plugin_name
            for impl in self.pm.hook.floki_events.get_hookimpls()
            if not (impl.wrapper or impl.hookwrapper)
        }
        for name in self.active():
            if name not in observing:
                continue
            others = [p for n, p in self.pm.list_name_plugin() if n != name and p is not None]
            caller = self.pm.subset_hook_caller(hook, remove_plugins=others)

            async def observe(
                events: Sequence[DomainEvent],
                name: str = name,
                caller: pluggy.HookCaller = caller,
            ) -> None:
                hook_round = self._round(hook, {name}, arguments=self._context_of, solo=True)
                await call_hook(caller, {"events": events, "context": None}, hook_round)
                for _plugin, error in hook_round.failures:
                    raise error  # the event bus logs it against this plugin

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

    async def _source_recovered(self, status: SourceStatus) -> None:
        info = self.plugins[status.plugin]
        if any(s.status == "failed" for s in info.sources):
            return  # another of its sources is still failing
        info.status, info.reason = "running", None
        await self.events.publish(
            [
                DomainEvent(
                    type="plugin.recovered",
                    at=self.clock.now(),
                    entity="plugins",
                    entity_id=status.plugin,
                    data={"source": status.name},
                )
            ]
        )

    async def shutdown(self) -> None:
        timeout = self.policy.setup_timeout
        for runner in self.runners:
            await runner.stop(timeout)
        running = {
            name
            for name, info in self.plugins.items()
            if info.status == "running" and name in self.contexts
        }
        hook_round = self._round("floki_shutdown", running, arguments=self._context_of)
        await call_hook(
            self.pm.hook.floki_shutdown, _placeholders(self.pm, "floki_shutdown"), hook_round
        )
        for plugin, error in hook_round.failures:
            log.error("plugin %s: floki_shutdown failed: %s", plugin, error, exc_info=error)

    def infos(self) -> list[PluginInfo]:
        return sorted(self.plugins.values(), key=lambda p: p.name)


def _placeholders(pm: pluggy.PluginManager, hook: str) -> dict[str, Any]:
    """Every argument the hook's spec names; each plugin gets its own values instead."""
    spec = getattr(pm.hook, hook).spec
    return dict.fromkeys(spec.argnames if spec else ())
