"""What may enter the resolver: replays and implausible clocks are counted and kept out.

Gateways deliver at least once, so the same batch may arrive again in any order;
devices' clocks drift. Both are facts of the field, so they are counted per source
rather than logged, and visible at ``/api/v1/sources`` and ``/metrics``.
"""

from __future__ import annotations

import collections
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

from floki_core.observations import Observation


@dataclass
class SourceStats:
    received: int = 0
    accepted: int = 0
    duplicates: int = 0
    unknown_tags: int = 0
    rejected: collections.Counter[str] = field(default_factory=collections.Counter)
    quarantined: collections.Counter[str] = field(default_factory=collections.Counter)
    last_batch_at: dt.datetime | None = None

    def as_dict(self) -> dict[str, object]:
        return {
            "received": self.received,
            "accepted": self.accepted,
            "duplicates": self.duplicates,
            "unknown_tags": self.unknown_tags,
            "rejected": dict(self.rejected),
            "quarantined": dict(self.quarantined),
            "last_batch_at": self.last_batch_at,
        }


@dataclass(frozen=True)
class AdmissionPolicy:
    future_tolerance: dt.timedelta = dt.timedelta(seconds=30)
    max_age: dt.timedelta = dt.timedelta(hours=24)
    replay_window: dt.timedelta = dt.timedelta(minutes=10)
    max_remembered: int = 2_000_000  # bounds the replay memory whatever the traffic


_Key = tuple[str, str, str | None, dt.datetime, float | None]


class Admission:
    """Dedupe by (technology, tag, receiver, observed_at, rssi) within a window; skew checks."""

    def __init__(self, policy: AdmissionPolicy | None = None) -> None:
        self.policy = policy or AdmissionPolicy()
        self.stats: dict[str, SourceStats] = {}
        self._seen: set[_Key] = set()
        self._order: collections.deque[tuple[dt.datetime, _Key]] = collections.deque()

    def source(self, name: str) -> SourceStats:
        stats = self.stats.get(name)
        if stats is None:
            stats = self.stats[name] = SourceStats()
        return stats

    def admit(
        self, source: str, batch: Sequence[Observation], now: dt.datetime
    ) -> list[Observation]:
        stats = self.source(source)
        stats.received += len(batch)
        stats.last_batch_at = now
        self._forget_before(now - self.policy.replay_window)
        future_limit = now + self.policy.future_tolerance
        past_limit = now - self.policy.max_age
        seen, order = self._seen, self._order
        admitted: list[Observation] = []
        for obs in batch:
            at = obs.observed_at
            if at > future_limit:
                stats.quarantined["future"] += 1
                continue
            if at < past_limit:
                stats.quarantined["too_old"] += 1
                continue
            key = (obs.technology, obs.tag, obs.receiver, at, obs.rssi)
            if key in seen:
                stats.duplicates += 1
                continue
            seen.add(key)
            # Remembered by arrival time, so a late batch is still recognised when replayed.
            order.append((now, key))
            admitted.append(obs)
        while len(order) > self.policy.max_remembered:
            seen.discard(order.popleft()[1])
        stats.accepted += len(admitted)
        return admitted

    def reject(self, source: str, reason: str, count: int = 1) -> None:
        self.source(source).rejected[reason] += count

    def _forget_before(self, cutoff: dt.datetime) -> None:
        order, seen = self._order, self._seen
        while order and order[0][0] < cutoff:
            seen.discard(order.popleft()[1])
