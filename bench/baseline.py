"""The bare baseline: the same JSON batches, decoded and located in one loop, nothing else.

No HTTP, no queue, no admission, no storage, no events: decode with msgspec, look the
tag and gateway up, smooth the RSSI per tag and gateway, take the strongest gateway's
zone. The product path's throughput divided by this one is the headline ratio: what the
appliance's safety and durability cost on the same machine and data.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import msgspec

SMOOTHING = 0.3  # the product's default EMA weight, so both do the same arithmetic


class _Observation(msgspec.Struct):
    technology: str
    tag: str
    observed_at: dt.datetime
    receiver: str
    rssi: float


class _Batch(msgspec.Struct):
    observations: list[_Observation]


@dataclass(frozen=True)
class BaselineResult:
    observations: int
    seconds: float
    transitions: int

    @property
    def per_s(self) -> float:
        return self.observations / self.seconds if self.seconds > 0 else 0.0


def run_baseline(
    payloads: Sequence[bytes],
    tags: dict[str, int],
    gateways: dict[str, int],
    budget_s: float = 10.0,
    min_s: float = 1.0,
) -> BaselineResult:
    """Decode and locate ``payloads`` in order, for at most ``budget_s`` seconds.

    A small scenario is gone through again until ``min_s`` has passed, so the rate is
    not a timer's rounding error; repeated batches cost the same work as new ones.
    """
    decode = msgspec.json.Decoder(_Batch).decode
    smoothed: dict[int, dict[str, float]] = {}
    zone_of: dict[int, int] = {}
    count = transitions = 0
    start = time.perf_counter()
    deadline = start + budget_s
    for raw in _cycle(payloads, start + min_s):
        batch = decode(raw).observations
        for obs in batch:
            asset = tags.get(obs.tag)
            if asset is None or obs.receiver not in gateways:
                continue
            per = smoothed.get(asset)
            if per is None:
                per = smoothed[asset] = {}
            old = per.get(obs.receiver)
            per[obs.receiver] = obs.rssi if old is None else old + SMOOTHING * (obs.rssi - old)
            zone = gateways[max(per, key=per.__getitem__)]
            if zone_of.get(asset) != zone:
                zone_of[asset] = zone
                transitions += 1
        count += len(batch)
        if time.perf_counter() > deadline:
            break
    return BaselineResult(count, time.perf_counter() - start, transitions)


def _cycle(payloads: Sequence[bytes], until: float) -> Iterator[bytes]:
    yield from payloads
    while payloads and time.perf_counter() < until:
        yield from payloads
