"""Which notifiers hear of which alert changes, and delivery to them off the event path.

Each notifier has its own queue and task, so a slow mail server never holds up a webhook
nor the evaluation that raised the alert. A failed delivery is retried with exponential
backoff; after the last attempt it is given up and recorded against the alert.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from floki_core.plugins.registry import Notifier
from floki_core.storage.models_alerts import Alert
from floki_core.workflow.rules import SEVERITIES
from floki_core.workflow.settings import DeliverySettings, RouteSettings

log = logging.getLogger(__name__)

MAX_BATCH = 100


class DeliveryRefused(Exception):
    """Raised by a notifier when retrying cannot help: the receiver refused the message
    (a 4xx from a webhook, a recipient the mail server rejects)."""


def severity_rank(severity: str) -> int:
    return SEVERITIES.index(severity) if severity in SEVERITIES else 0


class AlertRouter:
    """Names the notifiers an alert's latest change goes to: those its rule names (for the
    changes in ``rule_events``) and every route it matches."""

    def __init__(self, routes: Sequence[RouteSettings], rule_events: Sequence[str]) -> None:
        self.routes = list(routes)
        self.rule_events = frozenset(rule_events)

    def targets(self, alert: Alert, rule_notify: Sequence[str]) -> list[str]:
        change = alert.status
        names = list(rule_notify) if change in self.rule_events else []
        for route in self.routes:
            if (
                change in route.events
                and severity_rank(alert.severity) >= severity_rank(route.min_severity)
                and (not route.rule_types or alert.rule_type in route.rule_types)
            ):
                names.append(route.notifier)
        return list(dict.fromkeys(names))


Record = Callable[[list[dict[str, Any]]], Awaitable[None]]


class NotifierOutbox:
    """Queues per notifier; ``offer`` never waits."""

    def __init__(
        self,
        settings: DeliverySettings,
        find: Callable[[str], Notifier | None],
        record: Record,
        now: Callable[[], dt.datetime],
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.settings = settings
        self._find = find
        self._record = record
        self._now = now
        self._sleep = sleep
        self._queues: dict[str, asyncio.Queue[Alert]] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self.delivered = 0
        self.failed = 0
        self.dropped = 0  # refused because a notifier's queue was full

    def offer(self, notifier: str, alert: Alert) -> None:
        queue = self._queues.get(notifier)
        if queue is None:
            queue = self._queues[notifier] = asyncio.Queue(self.settings.queue_size)
            self._tasks[notifier] = asyncio.create_task(
                self._work(notifier, queue), name=f"notifier-{notifier}"
            )
        try:
            queue.put_nowait(alert)
        except asyncio.QueueFull:
            self.dropped += 1
            log.error(
                "notifier %s is %d alerts behind; alert %d dropped",
                notifier,
                queue.qsize(),
                alert.id,
            )

    async def join(self) -> None:
        """Wait until everything offered so far is delivered or given up."""
        for queue in list(self._queues.values()):
            await queue.join()

    async def stop(self) -> None:
        waiting = sum(q.qsize() for q in self._queues.values())
        if waiting:
            log.warning("stopping with %d alert notifications undelivered", waiting)
        for task in self._tasks.values():
            task.cancel()
        for task in self._tasks.values():
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        self._queues.clear()

    async def _work(self, name: str, queue: asyncio.Queue[Alert]) -> None:
        while True:
            batch = [await queue.get()]
            while not queue.empty() and len(batch) < MAX_BATCH:
                batch.append(queue.get_nowait())
            try:
                await self._deliver(name, batch)
            except Exception:
                log.exception("delivering alerts to notifier %s failed", name)
            finally:
                for _ in batch:
                    queue.task_done()

    async def _deliver(self, name: str, batch: list[Alert]) -> None:
        settings = self.settings
        delay = settings.first_retry_seconds
        attempts, error = 0, ""
        while attempts < settings.attempts:
            notifier = self._find(name)
            if notifier is None:
                error = f"no notifier named {name!r} is registered"
                break
            attempts += 1
            try:
                async with asyncio.timeout(settings.timeout_seconds):
                    await notifier.send(batch)
            except DeliveryRefused as exc:
                error = f"refused: {exc}"
                break
            except Exception as exc:
                error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
                if attempts < settings.attempts:
                    log.warning(
                        "notifier %s: attempt %d failed (%s); retrying in %.0f s",
                        name,
                        attempts,
                        error,
                        delay,
                    )
                    await self._sleep(delay)
                    delay = min(delay * 2, settings.max_retry_seconds)
            else:
                error = ""
                break
        outcome = "failed" if error else "delivered"
        if error:
            self.failed += len(batch)
            log.error("notifier %s gave up on %d alerts: %s", name, len(batch), error)
        else:
            self.delivered += len(batch)
        at = self._now()
        await self._record(
            [
                {
                    "alert_id": alert.id,
                    "notifier": name,
                    "change": alert.status,
                    "outcome": outcome,
                    "attempts": attempts,
                    "error": error[:2000],
                    "at": at,
                }
                for alert in batch
            ]
        )
