"""The alert rules in force: from the configuration file and the API, validated against
their rule type, stored, and built into something the engine can evaluate.

Precedence: the file owns the rules it names. At every start each rule in
``[[workflow.alerts.rules]]`` is created, or brought in line with the file (taking over
an API-made rule of the same name); a rule the file no longer names is deleted. Rules
from the file cannot be changed or deleted through the API.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import msgspec
from sqlalchemy.orm import Session

from floki_core.errors import ConfigError, Conflict, Invalid, NotFound
from floki_core.events import DomainEvent
from floki_core.storage import models_alerts as store
from floki_core.storage.models_alerts import Alert, AlertRule
from floki_core.workflow.rules import BUILTIN_RULE_TYPES, Facts, RuleType
from floki_core.workflow.settings import RuleSettings

if TYPE_CHECKING:
    import datetime as dt

    from floki_core.clock import Clock
    from floki_core.domain import Principal
    from floki_core.plugins.host import PluginHost
    from floki_core.plugins.registry import Notifier
    from floki_core.storage.store import Store

log = logging.getLogger(__name__)

FILE_ACTOR = "configuration file"


@dataclass
class LiveRule:
    record: AlertRule
    type: RuleType | None
    params: Any
    broken: str | None = None  # cannot be built (its rule type is gone)
    problem: str | None = None  # why it was not judged at the last evaluation


FactsFor = Callable[[], Awaitable[Facts]]


class AlertRuleBook:
    def __init__(self, *, store: Store, clock: Clock, plugins: PluginHost, facts: FactsFor) -> None:
        """``plugins``: the rule types and notifiers plugins register."""
        self.store = store
        self.clock = clock
        self.plugins = plugins
        self._facts = facts  # for checks against the register (a par level's zone ...)
        self.live: dict[int, LiveRule] = {}

    # --- what rules may name ------------------------------------------------------

    def rule_types(self) -> dict[str, tuple[RuleType, str | None]]:
        """Every rule type by name, with the plugin that added it (None: built in)."""
        found: dict[str, tuple[RuleType, str | None]] = {
            name: (rule_type, None) for name, rule_type in BUILTIN_RULE_TYPES.items()
        }
        active = set(self.plugins.active())
        for registration in self.plugins.registries.rule_types:
            if registration.plugin in active and registration.name not in found:
                found[registration.name] = (registration.item, registration.plugin)
        return found

    def notifier(self, name: str) -> Notifier | None:
        registration = self.plugins.registries.notifiers.get(name)
        if registration is None or registration.plugin not in self.plugins.active():
            return None
        return registration.item

    async def validated(self, rule: RuleSettings) -> dict[str, Any]:
        """The columns of a rule, params with their defaults filled in; ``Invalid`` says
        what is wrong."""
        types = self.rule_types()
        found = types.get(rule.type)
        if found is None:
            raise Invalid(f"unknown rule type {rule.type!r}; known types: {', '.join(types)}")
        rule_type = found[0]
        try:
            params = msgspec.convert(rule.params, rule_type.params)
        except msgspec.ValidationError as exc:
            raise Invalid(f"params of a {rule.type} rule: {exc}") from None
        check = getattr(rule_type, "check", None)
        problem = check(params, await self._facts()) if check is not None else None
        if problem:
            raise Invalid(f"params of a {rule.type} rule: {problem}")
        unknown = [n for n in rule.notify if self.notifier(n) is None]
        if unknown:
            known = ", ".join(r.name for r in self.plugins.registries.notifiers) or "none"
            raise Invalid(f"unknown notifier {unknown[0]!r}; registered notifiers: {known}")
        return {
            "name": rule.name,
            "type": rule.type,
            "severity": rule.severity or rule_type.default_severity,
            "params": msgspec.to_builtins(params),
            "notify": list(rule.notify),
            "enabled": rule.enabled,
            "auto_resolve": rule.auto_resolve,
        }

    # --- loading ------------------------------------------------------------------

    async def sync_file(
        self, configured: list[RuleSettings]
    ) -> tuple[list[Alert], list[DomainEvent]]:
        """Bring the stored rules in line with the file; returns alerts this resolved."""
        failed_plugins = any(p.status == "failed" for p in self.plugins.infos())
        wanted: list[dict[str, Any]] = []
        for number, rule in enumerate(configured, 1):
            where = f"[[workflow.alerts.rules]] #{number} ({rule.name!r})"
            if rule.name in {w["name"] for w in wanted}:
                raise ConfigError(f"{where}: another rule has the same name")
            try:
                wanted.append(await self.validated(rule))
            except Invalid as exc:
                # A plugin that failed takes its rule types and notifiers with it: keep
                # the rule (shown with its problem) rather than refuse to start.
                if not failed_plugins:
                    raise ConfigError(f"{where}: {exc}") from None
                log.error("%s: %s", where, exc)
                values = msgspec.to_builtins(rule)
                wanted.append({**values, "severity": rule.severity or "warning"})
        now = self.clock.now()
        closed: list[Alert]
        closed, events = await self.store.write_events(
            _sync, wanted, now, announce=lambda closed: alert_events(closed, "resolved", now)
        )
        return closed, events

    async def load(self) -> None:
        self.live = {r.id: self._build(r) for r in await self.store.read(store.list_rules)}

    def _build(self, record: AlertRule) -> LiveRule:
        found = self.rule_types().get(record.type)
        if found is None:
            return LiveRule(record, None, None, f"rule type {record.type!r} is not registered")
        try:
            params = msgspec.convert(record.params, found[0].params)
        except msgspec.ValidationError as exc:
            return LiveRule(record, None, None, f"params: {exc}")
        return LiveRule(record, found[0], params)

    # --- answers ------------------------------------------------------------------

    def records(self) -> list[AlertRule]:
        return [
            msgspec.structs.replace(live.record, problem=live.broken or live.problem)
            for live in self.live.values()
        ]

    def record(self, rule_id: int) -> AlertRule:
        live = self.live.get(rule_id)
        if live is None:
            raise NotFound(f"alert rule {rule_id} not found")
        return msgspec.structs.replace(live.record, problem=live.broken or live.problem)

    # --- changes through the API (the engine holds its lock around these) --------

    async def create(self, rule: RuleSettings, who: Principal) -> AlertRule:
        values = await self.validated(rule)
        record: AlertRule = await self.store.write(
            store.create_rule, values, source="api", actor=who.label, now=self.clock.now()
        )
        self.live[record.id] = self._build(record)
        return record

    async def update(
        self, rule_id: int, changes: dict[str, Any], who: Principal
    ) -> tuple[AlertRule, list[Alert], list[DomainEvent]]:
        current = self.owned_by_api(rule_id)
        merged = {f: getattr(current, f) for f in store.RULE_FIELDS} | changes
        values = await self.validated(msgspec.convert(merged, RuleSettings))
        now = self.clock.now()
        (_, after, closed), events = await self.store.write_events(
            store.update_rule,
            rule_id,
            values,
            actor=who.label,
            now=now,
            announce=lambda done: alert_events(done[2], "resolved", now),
        )
        self.live[rule_id] = self._build(after)
        return after, closed, events

    async def delete(
        self, rule_id: int, who: Principal
    ) -> tuple[AlertRule, list[Alert], list[DomainEvent]]:
        self.owned_by_api(rule_id)
        now = self.clock.now()
        (before, closed), events = await self.store.write_events(
            store.delete_rule,
            rule_id,
            actor=who.label,
            now=now,
            announce=lambda done: alert_events(done[1], "resolved", now),
        )
        self.live.pop(rule_id, None)
        return before, closed, events

    def owned_by_api(self, rule_id: int) -> AlertRule:
        record = self.record(rule_id)
        if record.source == "config":
            raise Conflict(
                f"alert rule {record.name!r} comes from the configuration file "
                "([[workflow.alerts.rules]]); change it there"
            )
        return record


def _sync(session: Session, wanted: list[dict[str, Any]], now: dt.datetime) -> list[Alert]:
    closed: list[Alert] = []
    by_name = {r.name: r for r in store.list_rules(session)}
    for values in wanted:
        held = by_name.get(values["name"])
        if held is None:
            store.create_rule(session, values, source="config", actor=FILE_ACTOR, now=now)
            continue
        changes = {f: v for f, v in values.items() if getattr(held, f) != v}
        if held.source != "config":
            changes["source"] = "config"
        if changes:
            closed += store.update_rule(session, held.id, changes, actor=FILE_ACTOR, now=now)[2]
    names = {v["name"] for v in wanted}
    for rule in by_name.values():
        if rule.source == "config" and rule.name not in names:
            closed += store.delete_rule(session, rule.id, actor=FILE_ACTOR, now=now)[1]
    return closed


def alert_events(alerts: Sequence[Alert], verb: str, at: dt.datetime) -> list[DomainEvent]:
    """``alert.<verb>`` for each alert, as the engine announces them."""
    return [
        DomainEvent(
            type=f"alert.{verb}",
            at=at,
            entity="alerts",
            entity_id=a.id,
            data=msgspec.to_builtins(a),
        )
        for a in alerts
    ]
