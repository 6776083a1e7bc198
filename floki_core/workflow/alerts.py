"""Rules and alerts: the rules in force, the alert lifecycle, routing to notifiers.

Evaluation is level-triggered: every rule reports the conditions that hold now
(``floki_core.workflow.rules``); a condition without an open alert raises one, an open
alert whose condition is gone is resolved by the system. Events (moves, state changes,
battery and gateway news) wake an evaluation; a sweep every ``sweep_seconds`` catches
what only time changes (dwell, missing, overdue). Tests call ``evaluate()`` directly.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from floki_core.events import DomainEvent
from floki_core.storage import models_alerts as store
from floki_core.storage.models import AssetClassRow, AssetRow
from floki_core.storage.models_alerts import Alert, AlertChanges, AlertRule
from floki_core.workflow.alert_routing import (
    AlertRouter,
    NotifierOutbox,
)
from floki_core.workflow.alert_rules import AlertRuleBook, LiveRule, alert_events
from floki_core.workflow.rules import AssetFacts, Condition, Facts, GatewayStatus
from floki_core.workflow.settings import AlertSettings, RuleSettings

if TYPE_CHECKING:
    from floki_core.clock import Clock
    from floki_core.domain import Principal
    from floki_core.events import EventBus
    from floki_core.location.service import LocationService
    from floki_core.plugins.host import PluginHost
    from floki_core.storage.store import Store
    from floki_core.workflow.loans import Loans

__all__ = ["Alert", "AlertRule", "AlertSettings", "Alerts", "RuleSettings"]

log = logging.getLogger(__name__)

GATEWAY_EVENTS = frozenset({"gateway.offline", "gateway.silent", "gateway.online"})
_WAKING_PREFIXES = ("asset.", "asset_class.", "loan.", "ppm.", "zone.", "tag.")


def load_asset_facts(session: Session) -> tuple[dict[int, AssetFacts], dict[int, str]]:
    columns = (
        AssetRow.id,
        AssetRow.asset_number,
        AssetRow.description,
        AssetRow.class_id,
        AssetRow.home_zone_id,
        AssetRow.state,
        AssetRow.next_ppm_due,
    )
    assets = {row[0]: AssetFacts(*row) for row in session.execute(select(*columns))}
    classes = {i: n for i, n in session.execute(select(AssetClassRow.id, AssetClassRow.name))}
    return assets, classes


class Alerts:
    def __init__(
        self,
        *,
        settings: AlertSettings,
        store: Store,
        clock: Clock,
        events: EventBus,
        locations: LocationService,
        loans: Loans,
        plugins: PluginHost,
    ) -> None:
        """``locations``: where assets are, their tags' batteries; ``loans``: what is out
        (a missing loaned asset is not lost); ``plugins``: their rule types and notifiers."""
        self.settings = settings
        self.store = store
        self.clock = clock
        self.events = events
        self.locations = locations
        self.loans = loans
        self.router = AlertRouter(self.settings.routes, self.settings.notify_events)
        self.book = AlertRuleBook(
            store=store, clock=clock, plugins=plugins, facts=lambda: self._facts(with_loans=False)
        )
        self.outbox = NotifierOutbox(
            self.settings.delivery, self.book.notifier, self._record_deliveries, clock.now
        )
        self._held: dict[str, Alert] = {}  # by key: open, or resolved while still holding
        self._active: set[str] = set()  # keys found at the last evaluation
        self._assets: dict[int, AssetFacts] = {}
        self._classes: dict[int, str] = {}
        self._assets_stale = True
        self._gateways: dict[str, GatewayStatus] = {}
        self._left_home: dict[int, dt.datetime] = {}
        self._lock = asyncio.Lock()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._running = False
        self.evaluations = 0

    # --- life cycle ----------------------------------------------------------

    async def start(self) -> None:
        closed, events = await self.book.sync_file(self.settings.rules)
        for alert in await self.store.read(store.held_alerts):
            self._held[alert.key] = alert
            self._remember_gateway(alert)
        await self.book.load()
        await self._announce(events, closed)
        self._running = True
        self.events.add_observer("workflow.alerts", self._on_events, inline=True)
        await self.evaluate()
        self._task = asyncio.create_task(self._run(), name="alert-rules")

    async def stop(self) -> None:
        self._running = False
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self.outbox.stop()

    async def _run(self) -> None:
        while True:
            # asyncio.timeout, not wait_for: wait_for can swallow a cancel that arrives
            # as the event is set, and stop() would then wait out the settle time.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.settings.sweep_seconds):
                    await self._wake.wait()
            if self._wake.is_set():
                await asyncio.sleep(self.settings.settle_seconds)
            self._wake.clear()
            try:
                await self.evaluate()
            except Exception as exc:
                if self.store.refused_write(exc, "raising and resolving alerts") is None:
                    log.exception("evaluating alert rules failed; trying again at the next sweep")

    # --- rules (kept by the rule book; changed under the engine's lock) ------

    def rules(self) -> list[AlertRule]:
        return self.book.records()

    def rule(self, rule_id: int) -> AlertRule:
        return self.book.record(rule_id)

    async def create_rule(self, rule: RuleSettings, who: Principal) -> AlertRule:
        async with self._lock:
            record = await self.book.create(rule, who)
        self._wake.set()
        return self.book.record(record.id)

    async def update_rule(self, rule_id: int, changes: dict[str, Any], who: Principal) -> AlertRule:
        async with self._lock:
            after, closed, events = await self.book.update(rule_id, changes, who)
            if not after.enabled:
                self._drop_rule(rule_id)
        await self._announce(events, closed)
        self._wake.set()
        return self.book.record(rule_id)

    async def delete_rule(self, rule_id: int, who: Principal) -> AlertRule:
        async with self._lock:
            before, closed, events = await self.book.delete(rule_id, who)
            self._drop_rule(rule_id)
        await self._announce(events, closed)
        return before

    def _drop_rule(self, rule_id: int) -> None:
        self._held = {k: a for k, a in self._held.items() if a.rule_id != rule_id}

    # --- events --------------------------------------------------------------

    async def _on_events(self, events: Sequence[DomainEvent]) -> None:
        if not self._running:
            return
        wake = False
        for event in events:
            kind = event.type
            if kind.startswith("alert."):
                continue
            if kind == "location.changed":
                self._note_move(event)
            elif kind in GATEWAY_EVENTS:
                self._note_gateway(event)
            elif not kind.startswith(_WAKING_PREFIXES):
                continue
            if kind.startswith(("asset.", "asset_class.")):
                self._assets_stale = True
            wake = True
        if wake:
            self._wake.set()

    def _note_move(self, event: DomainEvent) -> None:
        asset = self._assets.get(event.data.get("asset_id", -1))
        if asset is None or asset.home_zone_id is None:
            return
        to_zone = event.data.get("to_zone_id")
        if to_zone is not None and to_zone in self.locations.index.descendants(asset.home_zone_id):
            self._left_home.pop(asset.id, None)
        else:
            self._left_home.setdefault(asset.id, event.at)

    def _note_gateway(self, event: DomainEvent) -> None:
        room = str(event.data.get("room") or event.entity_id or "")
        source = str(event.data.get("source") or "gateway")
        key, online = f"{source}:{room}", event.type == "gateway.online"
        held = self._gateways.get(key)
        if not online and held is not None and not held.online:
            return  # offline already: keep when it went
        cause = str(event.data.get("cause") or event.type.removeprefix("gateway."))
        self._gateways[key] = GatewayStatus(source, room, online, event.at, cause)

    def _remember_gateway(self, alert: Alert) -> None:
        # Gateway health lives in memory; an open alert says which were down at a restart.
        detail = alert.detail
        if alert.rule_type != "gateway_offline" or not alert.open or "room" not in detail:
            return
        try:
            since = dt.datetime.fromisoformat(str(detail.get("since")))
        except ValueError:
            since = alert.raised_at
        source, room = str(detail.get("source") or "gateway"), str(detail["room"])
        self._gateways.setdefault(
            f"{source}:{room}", GatewayStatus(source, room, False, since, "offline at restart")
        )

    # --- evaluation ----------------------------------------------------------

    async def _facts(self, *, with_loans: bool = True) -> Facts:
        if self._assets_stale:
            self._assets_stale = False
            self._assets, self._classes = await self.store.read(load_asset_facts)
        now = self.clock.now()
        open_loans: frozenset[int] = frozenset()
        overdue: list[Any] = []
        loans = self.loans
        if with_loans and callable(getattr(loans, "open_loan_asset_ids", None)):
            open_loans = frozenset(await loans.open_loan_asset_ids())
        if with_loans and callable(getattr(loans, "overdue", None)):
            overdue = list(await loans.overdue(now))
        from floki_core.workflow import ppm  # parts are built side by side; import late

        return Facts(
            now=now,
            assets=self._assets,
            classes=self._classes,
            index=self.locations.index,
            tracks=self.locations.resolver.tracks,
            batteries=self.locations.batteries.readings,
            gateways=self._gateways,
            open_loans=open_loans,
            overdue_loans=overdue,
            left_home_at=self._left_home,
            presented_state=getattr(ppm, "presented_state", None),
        )

    def _refresh_left_home(self, facts: Facts) -> None:
        for gone in self._left_home.keys() - facts.assets.keys():
            del self._left_home[gone]
        for asset in facts.assets.values():
            where = facts.whereabouts(asset.id)
            if asset.home_zone_id is None or (
                where is not None and facts.inside(where.zone_id, asset.home_zone_id)
            ):
                self._left_home.pop(asset.id, None)
            elif where is not None:
                self._left_home.setdefault(asset.id, where.since or facts.now)

    async def evaluate(self) -> None:
        """Judge every rule now; raise, count again or resolve alerts to match."""
        async with self._lock:
            facts = await self._facts()
            self._refresh_left_home(facts)
            found, judged = self._judge(facts)
            changes = AlertChanges()
            for key, (live, condition) in found.items():
                held = self._held.get(key)
                if held is None:
                    changes.raised.append(
                        {
                            "rule_id": live.record.id,
                            "rule_name": live.record.name,
                            "rule_type": live.record.type,
                            "key": key,
                            "severity": live.record.severity,
                            "title": condition.title[:500],
                            "detail": condition.detail,
                            "asset_id": condition.asset_id,
                            "zone_id": condition.zone_id,
                        }
                    )
                elif held.open and held.cleared_at is not None:
                    changes.recurred.append(held.id)
            for key, held in self._held.items():
                if key in found or held.rule_id not in judged:
                    continue  # a rule that could not be judged resolves nothing
                live = self.book.live[held.rule_id]
                if held.open and live.record.auto_resolve:
                    changes.resolved.append(held.id)
                elif held.cleared_at is None:
                    changes.cleared.append(held.id)
            self._active = set(found)
            self.evaluations += 1
            if not changes:
                return
            resolved, recurred = set(changes.resolved), set(changes.recurred)
            touched = resolved | recurred | set(changes.cleared)

            def grouped(changed: Sequence[Alert]) -> list[tuple[str, list[Alert]]]:
                return [
                    ("raised", [a for a in changed if a.id not in touched]),
                    ("resolved", [a for a in changed if a.id in resolved]),
                    ("recurred", [a for a in changed if a.id in recurred]),
                ]

            changed, events = await self.store.write_events(
                store.apply_changes,
                changes,
                facts.now,
                announce=lambda changed: [
                    e for verb, alerts in grouped(changed) for e in self._events(alerts, verb)
                ],
            )
            self._forget(changed)
        await self.events.publish(events)
        for verb, alerts in grouped(changed):
            if verb != "recurred":  # told once, when raised
                self._notify(alerts)

    def _judge(self, facts: Facts) -> tuple[dict[str, tuple[LiveRule, Condition]], set[int]]:
        found: dict[str, tuple[LiveRule, Condition]] = {}
        judged: set[int] = set()
        for live in self.book.live.values():
            live.problem = None
            if not live.record.enabled or live.type is None:
                continue
            try:
                check = getattr(live.type, "check", None)
                live.problem = check(live.params, facts) if check is not None else None
                if live.problem:
                    continue
                conditions = list(live.type.conditions(live.params, facts))
            except Exception as exc:
                log.exception("alert rule %r (%s) failed", live.record.name, live.record.type)
                live.problem = f"evaluation failed: {type(exc).__name__}: {exc}"
                continue
            judged.add(live.record.id)
            for condition in conditions:
                found[f"{live.record.id}:{condition.key}"] = (live, condition)
        return found, judged

    def _forget(self, changed: Sequence[Alert]) -> None:
        """Keep ``_held`` in step with what was written."""
        for alert in changed:
            if alert.open or alert.cleared_at is None:
                self._held[alert.key] = alert
            elif self._held.get(alert.key, alert).id == alert.id:
                self._held.pop(alert.key, None)

    def _events(self, alerts: Sequence[Alert], verb: str) -> list[DomainEvent]:
        return alert_events(alerts, verb, self.clock.now())

    async def _announce(self, events: Sequence[DomainEvent], alerts: Sequence[Alert]) -> None:
        """Publish what a write kept for the hub, then tell the alerts' notifiers."""
        await self.events.publish(events)
        self._notify(alerts)

    def _notify(self, alerts: Sequence[Alert]) -> None:
        for alert in alerts:
            live = self.book.live.get(alert.rule_id) if alert.rule_id is not None else None
            for name in self.router.targets(alert, live.record.notify if live else ()):
                self.outbox.offer(name, alert)

    async def _record_deliveries(self, rows: list[dict[str, Any]]) -> None:
        try:
            await self.store.write(store.record_deliveries, rows)
        except Exception as exc:
            # Delivered (or given up) all the same; on a full disk only the record of it
            # is lost, and said so once with the rest.
            if self.store.refused_write(exc, "recording alert deliveries") is None:
                raise

    # --- a person's word -----------------------------------------------------

    async def acknowledge(self, alert_id: int, who: Principal, note: str = "") -> Alert:
        return await self._by_hand(alert_id, "acknowledge", who, note)

    async def resolve(self, alert_id: int, who: Principal, note: str = "") -> Alert:
        return await self._by_hand(alert_id, "resolve", who, note)

    async def _by_hand(self, alert_id: int, action: str, who: Principal, note: str) -> Alert:
        async with self._lock:
            key = next((k for k, a in self._held.items() if a.id == alert_id), None)
            verb = "acknowledged" if action == "acknowledge" else "resolved"
            alert, events = await self.store.write_events(
                store.change_status,
                alert_id,
                action,
                actor=who.label,
                note=note,
                condition_holds=key is not None and key in self._active,
                now=self.clock.now(),
                announce=lambda alert: self._events([alert], verb),
            )
            self._forget([alert])
        await self.events.publish(events)
        self._notify([alert])
        return alert
