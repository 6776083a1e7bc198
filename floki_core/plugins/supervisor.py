"""Keeps each source running in its own task, restarting it with backoff and jitter.

A source that fails ``max_failures`` times within ``failure_window`` seconds is marked
failed, with the last error as the reason, and tried again every
``retry_failed_seconds`` (a gateway down for an hour comes back by itself); once a run
lasts ``backoff_max`` seconds it is running again.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import random
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import msgspec

from floki_core.clock import Clock
from floki_core.config import SupervisionConfig
from floki_core.ingest import SourceSink
from floki_core.plugins.registry import Source

log = logging.getLogger("floki_core.plugins")

Sleep = Callable[[float], Awaitable[None]]


@dataclass
class SourceStatus:
    name: str
    plugin: str
    status: str = "starting"  # starting, running, backoff, failed, stopped
    restarts: int = 0
    reason: str | None = None
    # The source's own ``details()`` (plugin API 1.2), if it has one: what it says of
    # itself in ``GET /api/v1/plugins`` (a reader's connection, antennas, read rate).
    describe: Callable[[], Mapping[str, Any] | None] | None = None

    def details(self) -> dict[str, Any] | None:
        """What the source says of itself, as plain JSON values; None if it says nothing
        or its answer cannot be had (logged: a broken ``details`` never breaks the list)."""
        if self.describe is None:
            return None
        try:
            answer = self.describe()
            return None if answer is None else msgspec.to_builtins(dict(answer))
        except Exception:
            log.exception("source %s (plugin %s): details() failed", self.name, self.plugin)
            return None


def backoff_delay(failures: int, policy: SupervisionConfig, rand: random.Random) -> float:
    """Exponential backoff with "equal jitter": half fixed, half random."""
    ceiling: float = min(policy.backoff_max, policy.backoff_initial * 2 ** max(failures - 1, 0))
    return ceiling / 2 + rand.uniform(0, ceiling / 2)


class SourceRunner:
    def __init__(
        self,
        *,
        plugin: str,
        name: str,
        source: Source,
        sink: SourceSink,
        policy: SupervisionConfig,
        clock: Clock,
        on_failed: Callable[[SourceStatus], Awaitable[None]] | None = None,
        on_recovered: Callable[[SourceStatus], Awaitable[None]] | None = None,
        sleep: Sleep = asyncio.sleep,
        rand: random.Random | None = None,
    ) -> None:
        self.source = source
        self.sink = sink
        self.policy = policy
        self.clock = clock
        describe = getattr(source, "details", None)
        self.status = SourceStatus(
            name=name, plugin=plugin, describe=describe if callable(describe) else None
        )
        self._failures: collections.deque[float] = collections.deque()
        self._on_failed = on_failed
        self._on_recovered = on_recovered
        self._sleep = sleep
        self._rand = rand or random.Random()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    def start(self) -> None:
        self._task = asyncio.create_task(self._supervise(), name=f"source-{self.status.name}")

    async def _supervise(self) -> None:
        while not self._stopping:
            failed = self.status.status == "failed"
            if not failed:
                self.status.status = "running"
            try:
                await self._run(failed)
                if self._stopping:
                    break
                error = "run() returned while the appliance was still running"
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                error = f"{type(exc).__name__}: {exc}"
                log.exception("plugin %s: source %s crashed", self.status.plugin, self.status.name)
            now = self.clock.monotonic()
            self._failures.append(now)
            while self._failures and now - self._failures[0] > self.policy.failure_window:
                self._failures.popleft()
            self.status.reason = error
            if failed or len(self._failures) >= self.policy.max_failures:
                if not failed:
                    self.status.status = "failed"
                    self.status.reason = (
                        f"failed {len(self._failures)} times in "
                        f"{self.policy.failure_window:g} s; last error: {error}"
                    )
                    log.error(
                        "plugin %s: source %s failed: %s",
                        self.status.plugin,
                        self.status.name,
                        self.status.reason,
                    )
                    if self._on_failed is not None:
                        await self._on_failed(self.status)
                else:
                    self.status.reason = f"still failing; last error: {error}"
                retry = self.policy.retry_failed_seconds
                if not retry:
                    return
                log.warning(
                    "plugin %s: trying failed source %s again in %g s",
                    self.status.plugin,
                    self.status.name,
                    retry,
                )
                await self._sleep(retry)
                continue
            delay = backoff_delay(len(self._failures), self.policy, self._rand)
            self.status.status = "backoff"
            self.status.restarts += 1
            log.warning(
                "plugin %s: restarting source %s in %.1f s",
                self.status.plugin,
                self.status.name,
                delay,
            )
            await self._sleep(delay)
        self.status.status = "stopped"

    async def _run(self, failed: bool) -> None:
        """One run of the source; for a failed one, it counts as recovered once the run
        has lasted ``backoff_max`` seconds."""
        if not failed:
            await self.source.run(self.sink)
            return
        run = asyncio.ensure_future(self.source.run(self.sink))
        try:
            done, _ = await asyncio.wait({run}, timeout=self.policy.backoff_max)
        except asyncio.CancelledError:
            run.cancel()
            raise
        if not done:
            self._failures.clear()
            self.status.status, self.status.reason = "running", None
            log.warning(
                "plugin %s: source %s is running again", self.status.plugin, self.status.name
            )
            if self._on_recovered is not None:
                await self._on_recovered(self.status)
        try:
            await run
        except asyncio.CancelledError:
            run.cancel()
            raise

    async def stop(self, timeout: float) -> None:
        self._stopping = True
        try:
            await asyncio.wait_for(self.source.stop(), timeout)
        except Exception:
            log.exception(
                "plugin %s: source %s stop() failed", self.status.plugin, self.status.name
            )
        if self._task is not None and not self._task.done():
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                await asyncio.wait_for(self._task, timeout)
        if self.status.status != "failed":
            self.status.status = "stopped"
