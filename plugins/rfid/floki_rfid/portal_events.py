"""Portal crossings as the appliance tells of them: a ``rfid.portal`` domain event on the
event bus (the WebSocket ``/api/v1/events`` and every observer), and the latest crossings
kept in memory for ``GET /api/v1/rfid/portal-events`` (docs/rfid-placement.md).

The event (the contract the console and the benchmark read)::

    DomainEvent(type="rfid.portal", entity="asset", entity_id=<asset id>, at=<arrival>,
                data={"portal", "direction": "entered" | "left", "zone_id": <inside zone>,
                      "zone": <its name>, "read_at": <deciding read, ISO 8601>, "epc",
                      "antenna": <deciding antenna>})

``record`` is called by the locator on the ingest path: it only appends and hands the
batch to a task that publishes it, so the locator never waits on the bus.
"""

from __future__ import annotations

import asyncio
import collections
import time
from collections.abc import Callable, Sequence
from typing import Any

from floki_core.sdk import DomainEvent, EventBus, PluginContext, ZoneNode
from floki_rfid.portals import PortalCrossing

EVENT_TYPE = "rfid.portal"
KEPT = 10_000  # crossings GET /api/v1/rfid/portal-events can list (the newest)
_ZONE_NAMES_SECONDS = 30.0  # a renamed zone is called by its new name this soon
_STATE_KEY = "rfid_portal_events"


class PortalEvents:
    """The latest crossings, newest last, and their publication."""

    def __init__(
        self,
        events: EventBus | None,
        zone_tree: Callable[[], Sequence[ZoneNode]] | None = None,
        *,
        kept: int = KEPT,
    ) -> None:
        self._events = events
        self._zone_tree = zone_tree
        self.kept: collections.deque[DomainEvent] = collections.deque(maxlen=kept)
        self._zone_names: dict[int, str] = {}
        self._names_at = float("-inf")
        self._publishing: set[asyncio.Task[None]] = set()

    def record(self, crossings: Sequence[PortalCrossing]) -> None:
        """Keep ``crossings`` and publish them (when an event loop runs)."""
        batch = [self._event(c) for c in crossings]
        self.kept.extend(batch)
        if self._events is None or not batch:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # outside the appliance (a tool, a unit test): kept only
        task = loop.create_task(self._events.publish(batch), name="rfid-portal-events")
        self._publishing.add(task)
        task.add_done_callback(self._publishing.discard)

    def latest(
        self, *, asset_id: int | None = None, portal: str | None = None, limit: int = 100
    ) -> list[DomainEvent]:
        """The kept crossings, newest first, of one asset and/or portal if given."""
        found: list[DomainEvent] = []
        for event in reversed(self.kept):
            if asset_id is not None and event.entity_id != asset_id:
                continue
            if portal is not None and event.data["portal"] != portal:
                continue
            found.append(event)
            if len(found) >= limit:
                break
        return found

    def zone_name(self, zone_id: int) -> str | None:
        names = self._zone_names
        if zone_id not in names or time.monotonic() - self._names_at > _ZONE_NAMES_SECONDS:
            names = self._zone_names = self._read_zone_names()
            self._names_at = time.monotonic()
        return names.get(zone_id)

    def _read_zone_names(self) -> dict[int, str]:
        names: dict[int, str] = {}
        if self._zone_tree is None:
            return names
        waiting = list(self._zone_tree())
        while waiting:
            node = waiting.pop()
            names[node.id] = node.name
            waiting.extend(node.children)
        return names

    def _event(self, crossing: PortalCrossing) -> DomainEvent:
        data: dict[str, Any] = {
            "portal": crossing.portal,
            "direction": crossing.direction,
            "zone_id": crossing.zone_id,
            "zone": self.zone_name(crossing.zone_id),
            "read_at": crossing.read_at.isoformat(),
            "epc": crossing.epc,
            "antenna": crossing.antenna,
        }
        return DomainEvent(
            type=EVENT_TYPE,
            at=crossing.observed_at,
            entity="asset",
            entity_id=crossing.asset_id,
            data=data,
        )


def portal_events(context: PluginContext) -> PortalEvents:
    """The plugin's one ``PortalEvents`` for this appliance (shared by its locator and
    its routes through ``context.state``)."""
    found = context.state.get(_STATE_KEY)
    if not isinstance(found, PortalEvents):
        register = context.register
        found = PortalEvents(context.events, register.zone_tree if register is not None else None)
        context.state[_STATE_KEY] = found
    return found
