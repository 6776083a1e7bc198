"""Equipment states: what each device is fit for, who may change it, and what location suggests.

Every change goes through ``change`` (or a confirmed suggestion), which checks the
transition table, writes the state, its history row and an audit entry together, and
publishes ``asset.state_changed``. Location rules watch ``location.changed``: a stay
in a zone of a configured type for its dwell time suggests (or, per rule, sets) a state.
Dwell is measured on the injected clock; ``check_dwell`` is what the timer calls.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import msgspec

from floki_core import domain
from floki_core.domain import Principal, ZoneType, to_plain
from floki_core.events import DomainEvent
from floki_core.workflow import states_store
from floki_core.workflow.ppm_rules import PRESENTED_ONLY
from floki_core.workflow.settings import LocationRule, StateSettings
from floki_core.workflow.states_store import (
    Applied,
    DueArrival,
    StateChange,
    StateSuggestion,
)
from floki_core.workflow.states_table import StateTable, state_table

if TYPE_CHECKING:
    from floki_core.clock import Clock
    from floki_core.events import EventBus
    from floki_core.location.service import LocationService
    from floki_core.storage.store import Store

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Arrival:
    zone_id: int
    zone_type: str
    at: dt.datetime


class EquipmentStates:
    def __init__(
        self,
        *,
        settings: StateSettings,
        store: Store,
        clock: Clock,
        events: EventBus,
        locations: LocationService,
    ) -> None:
        """``locations``: where each asset is (its stays drive the location rules)."""
        self.settings = settings
        self.store = store
        self.clock = clock
        self.events = events
        self.locations = locations
        self._arrivals: dict[int, _Arrival] = {}
        self._timer: asyncio.Task[None] | None = None
        self._observing = False

    async def start(self) -> None:
        self._seed_arrivals()
        if not self._observing:
            self.events.add_observer("core.workflow.states", self._on_events, inline=True)
            self._observing = True
        if self._timer is None and self.settings.location_rules:
            self._timer = asyncio.create_task(self._check_forever(), name="state-dwell")

    async def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._timer
            self._timer = None

    # --- changes ---------------------------------------------------------------

    async def change(
        self,
        asset_id: int,
        to_state: str,
        *,
        actor: Principal | None,
        source: str,
        reason: str = "",
    ) -> dict[str, Any]:
        """Move an asset to ``to_state``; ``actor`` None is the system. Raises ``Conflict``
        (no such move), ``Forbidden`` (role too low), ``Invalid`` (reason missing)."""
        applied, events = await self.store.write_events(
            states_store.apply_state_change,
            asset_id,
            to_state,
            actor=actor,
            source=source,
            reason=reason,
            now=self.clock.now(),
            announce=lambda applied: applied_events([applied]),
        )
        await self.events.publish(events)
        return msgspec.structs.asdict(applied.change)

    async def edit_asset(
        self, asset_id: int, changes: dict[str, Any], actor: Principal
    ) -> domain.Asset:
        """A register edit (PATCH) that includes ``state``, held to the same table."""
        now = self.clock.now()

        (record, _), events = await self.store.write_events(
            states_store.edit_asset,
            asset_id,
            changes,
            actor=actor,
            now=now,
            announce=lambda done: edit_events(*done, now),
        )
        await self.events.publish(events)
        return record

    async def history(
        self, asset_id: int, *, limit: int, offset: int
    ) -> tuple[list[StateChange], int]:
        return await self.store.read(states_store.history, asset_id, limit=limit, offset=offset)

    def table(self) -> StateTable:
        return state_table(PRESENTED_ONLY)

    # --- suggestions -----------------------------------------------------------

    async def suggestions(
        self, *, status: str | None, asset_id: int | None, limit: int, offset: int
    ) -> tuple[list[StateSuggestion], int]:
        return await self.store.read(
            states_store.list_suggestions,
            status=status,
            asset_id=asset_id,
            limit=limit,
            offset=offset,
        )

    async def confirm(self, suggestion_id: int, actor: Principal, reason: str = "") -> StateChange:
        applied, events = await self.store.write_events(
            states_store.confirm_suggestion,
            suggestion_id,
            actor=actor,
            reason=reason,
            now=self.clock.now(),
            announce=lambda applied: applied_events([applied]),
        )
        await self.events.publish(events)
        return applied.change

    async def dismiss(
        self, suggestion_id: int, actor: Principal, reason: str = ""
    ) -> StateSuggestion:
        return await self.store.write(
            states_store.dismiss_suggestion,
            suggestion_id,
            actor=actor,
            reason=reason,
            now=self.clock.now(),
        )

    # --- location rules --------------------------------------------------------

    def _seed_arrivals(self) -> None:
        """Stays already under way when the appliance starts count from their start."""
        zones = self.locations.index.zones
        for asset_id, track in self.locations.resolver.tracks.items():
            zone = zones.get(track.zone_id) if track.zone_id else None
            if zone is not None and self._rule_for(zone.type) and track.since is not None:
                self._arrivals[asset_id] = _Arrival(zone.id, zone.type, track.since)

    def _rule_for(self, zone_type: str) -> LocationRule | None:
        try:
            return self.settings.location_rules.get(ZoneType(zone_type))
        except ValueError:
            return None

    async def _on_events(self, events: Sequence[DomainEvent]) -> None:
        moved = False
        for event in events:
            if event.type == "asset.deleted" and isinstance(event.entity_id, int):
                self._arrivals.pop(event.entity_id, None)
            if event.type != "location.changed":
                continue
            asset_id = event.data["asset_id"]
            zone_id = event.data.get("to_zone_id")
            zone = self.locations.index.zones.get(zone_id) if zone_id else None
            if zone is not None and self._rule_for(zone.type) is not None:
                self._arrivals[asset_id] = _Arrival(zone.id, zone.type, event.at)
                moved = True
            else:
                self._arrivals.pop(asset_id, None)
        if moved:
            try:
                await self.check_dwell()  # a rule without dwell acts at once
            except Exception as exc:
                # On a full disk the arrivals wait for the next check; anything else is
                # logged with its traceback by the event bus.
                if self.store.refused_write(exc, "applying location rules") is None:
                    raise

    async def check_dwell(self) -> int:
        """Act on every stay that has lasted its rule's dwell; returns how many stays
        were acted on (a suggestion made or a state set)."""
        now = self.clock.now()
        tracks = self.locations.resolver.tracks
        due: list[DueArrival] = []
        for asset_id, arrival in list(self._arrivals.items()):
            rule = self._rule_for(arrival.zone_type)
            track = tracks.get(asset_id)
            if rule is None or track is None or track.zone_id != arrival.zone_id:
                self._arrivals.pop(asset_id, None)
                continue
            if (now - arrival.at).total_seconds() < rule.dwell_seconds:
                continue
            del self._arrivals[asset_id]  # one decision per stay
            due.append(
                DueArrival(
                    asset_id=asset_id,
                    zone_id=arrival.zone_id,
                    zone_type=arrival.zone_type,
                    entered_at=arrival.at,
                    from_states=frozenset(s.value for s in rule.from_states),
                    to_state=rule.to_state.value,
                    mode=rule.mode,
                    dwell_seconds=rule.dwell_seconds,
                )
            )
        if not due:
            return 0
        (applied, suggested), events = await self.store.write_events(
            states_store.act_on_arrivals, due, now, announce=lambda done: applied_events(*done)
        )
        await self.events.publish(events)
        return len(applied) + len(suggested)

    async def _check_forever(self) -> None:
        while True:
            await asyncio.sleep(self.settings.check_seconds)
            try:
                await self.check_dwell()
            except Exception as exc:
                if self.store.refused_write(exc, "applying location rules") is None:
                    log.exception("checking stays against location rules failed")


# --- events ------------------------------------------------------------------


def applied_events(
    applied: Sequence[Applied], suggested: Sequence[StateSuggestion] = ()
) -> list[DomainEvent]:
    """What state moves (and suggestions) a write made announce, in order."""
    events: list[DomainEvent] = []
    for item in applied:
        change = item.change
        events.append(
            DomainEvent(
                type="asset.state_changed",
                at=change.at,
                entity="assets",
                entity_id=change.asset_id,
                data={
                    "asset_id": change.asset_id,
                    "from_state": change.from_state,
                    "to_state": change.to_state,
                    "actor": change.actor,
                    "source": change.source,
                    "reason": change.reason,
                },
            )
        )
        events.append(asset_updated_event(item.asset, change.at))
    for suggestion in suggested:
        events.append(
            DomainEvent(
                type="asset.state_suggested",
                at=suggestion.created_at,
                entity="assets",
                entity_id=suggestion.asset_id,
                data={
                    "suggestion_id": suggestion.id,
                    "asset_id": suggestion.asset_id,
                    "from_state": suggestion.from_state,
                    "to_state": suggestion.to_state,
                    "zone_id": suggestion.zone_id,
                    "zone": suggestion.zone,
                },
            )
        )
    return events


def edit_events(
    record: domain.Asset, applied: Applied | None, at: dt.datetime
) -> list[DomainEvent]:
    """What a write that may move the asset's state announces: the move, else the edit."""
    if applied is not None:
        return applied_events([applied])
    return [asset_updated_event(record, at)]


def asset_updated_event(record: domain.Asset, at: dt.datetime) -> DomainEvent:
    # The register's own event, so lists that follow asset.updated stay current.
    return DomainEvent(
        type="asset.updated", at=at, entity="assets", entity_id=record.id, data=to_plain(record)
    )
