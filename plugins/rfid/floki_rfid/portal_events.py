"""Portal crossings as the appliance tells of them: a ``rfid.portal`` domain event on the
event bus (the WebSocket ``/api/v1/events`` and every observer), and the latest crossings
kept in memory for ``GET /api/v1/rfid/portal-events`` (docs/rfid-placement.md).

The event (the contract the console and the benchmark read)::

    DomainEvent(type="rfid.portal", entity="asset", entity_id=<asset id>, at=<arrival>,
                data={"portal", "direction": "entered" | "left", "zone_id": <inside zone>,
                      "zone": <its name>, "read_at": <deciding read, ISO 8601>, "epc",
                      "antenna": <deciding antenna>})

``record`` is called by the locator on the ingest path: it only appends and hands the
batch to a task that publishes it and then appends it to ``portal-events.jsonl`` in the
plugin's data directory (off the event loop), so the locator waits on neither. ``load``
(at start) reads the newest ``KEPT`` back; the file is cut back to those when it holds
twice as many. A crossing still being written when the appliance stops is not kept.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import msgspec

from floki_core.sdk import DomainEvent, EventBus, PluginContext, ZoneNode
from floki_rfid.portals import PortalCrossing

EVENT_TYPE = "rfid.portal"
KEPT = 10_000  # crossings GET /api/v1/rfid/portal-events can list (the newest)
_ZONE_NAMES_SECONDS = 30.0  # a renamed zone is called by its new name this soon
_STATE_KEY = "rfid_portal_events"
FILE_NAME = "portal-events.jsonl"
log = logging.getLogger(__name__)


class PortalEvents:
    """The latest crossings, newest last, and their publication."""

    def __init__(
        self,
        events: EventBus | None,
        zone_tree: Callable[[], Sequence[ZoneNode]] | None = None,
        *,
        path: Path | None = None,
        kept: int = KEPT,
    ) -> None:
        """``path``: the file crossings are kept in across restarts (None: memory only)."""
        self._events = events
        self._zone_tree = zone_tree
        self.path = path
        self.kept: collections.deque[DomainEvent] = collections.deque(maxlen=kept)
        self._zone_names: dict[int, str] = {}
        self._names_at = float("-inf")
        self._publishing: set[asyncio.Task[None]] = set()
        self._writing = asyncio.Lock()  # one append at a time, in the order recorded
        self._lines = 0  # lines in the file
        self._write_failed = False
        self._torn = False  # the file's last line was cut short

    def record(self, crossings: Sequence[PortalCrossing]) -> None:
        """Keep ``crossings`` and publish them (when an event loop runs)."""
        batch = [self._event(c) for c in crossings]
        self.kept.extend(batch)
        if not batch or (self._events is None and self.path is None):
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # outside the appliance (a tool, a unit test): kept only
        task = loop.create_task(self._publish(batch), name="rfid-portal-events")
        self._publishing.add(task)
        task.add_done_callback(self._published)

    def _published(self, task: asyncio.Task[None]) -> None:
        self._publishing.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("portal crossings were not published", exc_info=task.exception())

    async def settle(self) -> None:
        """Wait until every crossing recorded so far is published and written."""
        while self._publishing:
            await asyncio.gather(*self._publishing, return_exceptions=True)

    async def _publish(self, batch: list[DomainEvent]) -> None:
        if self._events is not None:
            await self._events.publish(batch)
        if self.path is not None:
            async with self._writing:
                await asyncio.to_thread(self._append, batch)

    async def load(self) -> None:
        """The crossings kept in the file before this start, older than any since."""
        if self.path is None:
            return
        found = await asyncio.to_thread(self._read_file)
        since = list(self.kept)
        self.kept.clear()
        self.kept.extend(found)
        self.kept.extend(since)

    def _read_file(self) -> list[DomainEvent]:
        assert self.path is not None
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return []
        except OSError as exc:
            log.warning("the kept portal crossings could not be read from %s: %s", self.path, exc)
            return []
        lines = data.splitlines()
        self._lines = len(lines)
        # A stop mid-write leaves a torn last line: the next append starts a line of its own.
        self._torn = bool(data) and not data.endswith(b"\n")
        wanted = self.kept.maxlen or KEPT
        found: list[DomainEvent] = []
        for line in reversed(lines):
            try:
                found.append(msgspec.json.decode(line, type=DomainEvent))
            except msgspec.DecodeError:
                continue  # a line cut short (the appliance stopped mid-write)
            if len(found) >= wanted:
                break
        found.reverse()
        return found

    def _append(self, batch: Sequence[DomainEvent]) -> None:
        assert self.path is not None
        text = b"".join(msgspec.json.encode(event) + b"\n" for event in batch)
        if self._torn:
            text = b"\n" + text
        limit = self.kept.maxlen or KEPT
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("ab") as file:
                file.write(text)
            self._lines += len(batch)
            self._torn = False
            if self._lines > 2 * limit:
                newest = self.path.read_bytes().splitlines()[-limit:]
                cut = self.path.with_suffix(".tmp")
                cut.write_bytes(b"".join(line + b"\n" for line in newest))
                cut.replace(self.path)
                self._lines = len(newest)
            self._write_failed = False
        except OSError as exc:
            if not self._write_failed:  # said once until a write works again
                log.warning(
                    "portal crossings could not be kept in %s (they are listed until the "
                    "appliance stops): %s",
                    self.path,
                    exc,
                )
            self._write_failed = True

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
        found = PortalEvents(
            context.events,
            register.zone_tree if register is not None else None,
            path=context.data_dir / FILE_NAME,
        )
        context.state[_STATE_KEY] = found
    return found
