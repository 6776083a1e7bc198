"""What may enter the resolver: replays and implausible clocks are counted and kept out.

Gateways deliver at least once, so the same batch may arrive again in any order;
devices' clocks drift. Both are facts of the field, so they are counted per source
rather than logged, and visible at ``/api/v1/sources`` and ``/metrics``.
"""

from __future__ import annotations

import collections
import datetime as dt
import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field

from floki_core.ingest import RejectionLog
from floki_core.location.replay_memory import ReplayMemory
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


def replay_key(obs: Observation) -> int:
    """What makes two sightings one: who heard which tag when, how loud, and what it said.

    A tag interleaves adverts (an iBeacon, then an Eddystone TLM with its battery) that one
    gateway upload carries with the same RSSI and time, so what was reported (extras, a
    fix) is part of a sighting's identity; a replayed batch repeats all of it. Extras are
    compared as a set, so a resend that orders its keys differently is still a replay.
    """
    extras = obs.extras
    reported = frozenset(extras.items()) if extras else None
    return hash(
        (
            obs.technology,
            obs.tag,
            obs.receiver,
            obs.observed_at,
            obs.rssi,
            obs.lat,
            obs.lon,
            obs.accuracy_m,
            reported,
        )
    )


class Admission:
    """Dedupe by :func:`replay_key` within a window; skew checks.

    Observations are remembered as 64-bit hashes (``ReplayMemory``: the newest in a set,
    older ones in one sorted array, 12 bytes a key): a tuple of strings and a datetime per
    remembered sighting cost ~440 bytes, a hash in a set ~70.
    """

    def __init__(self, policy: AdmissionPolicy | None = None) -> None:
        self.policy = policy or AdmissionPolicy()
        self.stats: dict[str, SourceStats] = {}
        self.memory = ReplayMemory(self.policy.replay_window, self.policy.max_remembered)
        self.rejections = RejectionLog()

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
        memory = self.memory
        memory.expire(now)
        future_limit = now + self.policy.future_tolerance
        past_limit = now - self.policy.max_age
        keys: list[int] = []
        fresh: list[Observation] = []  # in time, not yet known to be a replay or not
        remember, take = keys.append, fresh.append
        for obs in batch:
            at = obs.observed_at
            if at > future_limit:
                stats.quarantined["future"] += 1
                continue
            if at < past_limit:
                stats.quarantined["too_old"] += 1
                continue
            # replay_key(obs), inline: this runs for every sighting.
            extras = obs.extras
            key = hash(
                (
                    obs.technology,
                    obs.tag,
                    obs.receiver,
                    at,
                    obs.rssi,
                    obs.lat,
                    obs.lon,
                    obs.accuracy_m,
                    frozenset(extras.items()) if extras else None,
                )
            )
            remember(key)
            take(obs)
        # Remembered by arrival time, so a late batch is still recognised when replayed.
        held = memory.known(keys)
        recent = memory.open
        before = len(recent)
        admitted: list[Observation] = []
        admit = admitted.append
        add = recent.add
        older = itertools.repeat(False) if held is None else held.tolist()
        for key, obs, known in zip(keys, fresh, older, strict=False):
            if not known and key not in recent:
                add(key)
                admit(obs)
        memory.added(len(recent) - before, now)
        stats.duplicates += len(fresh) - len(admitted)
        stats.accepted += len(admitted)
        return admitted

    def reject(self, source: str, reason: str, count: int = 1, *, expected: bool = False) -> None:
        """Count refused input against ``source`` and log it (once per reason per minute;
        at INFO when ``expected``: dropped by design, not a fault)."""
        self.source(source).rejected[reason] += count
        self.rejections.note(source, reason, count, expected=expected)
