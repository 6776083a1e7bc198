"""The arithmetic of utilisation, on plain facts: no database, no clock.

Time in state comes from each asset's state changes clipped to the period; peak use is
a sweep over the in-use intervals; PPM compliance at a moment is the share of scheduled
assets whose next PPM date had not passed then.
"""

from __future__ import annotations

import bisect
import datetime as dt
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

HEADLINE_STATES = ("in_use", "available", "dirty", "in_maintenance", "missing")
IN_USE = "in_use"
MISSING = "missing"
CONDEMNED = "condemned"
UNKNOWN = "unknown"
# Where an asset is expected not to move: at a patient's home, or written off.
NOT_IDLE_STATES = frozenset({"on_loan", CONDEMNED})


@dataclass(frozen=True)
class StateChange:
    asset_id: int
    at: dt.datetime
    from_state: str | None
    to_state: str


@dataclass(frozen=True)
class AssetFacts:
    id: int
    asset_number: str
    class_id: int | None
    class_name: str
    department: str
    state: str  # now
    created_at: dt.datetime
    last_moved: dt.datetime | None = None  # latest zone entry up to the period's end
    zone: str | None = None  # the zone of that entry
    changes: Sequence[StateChange] = ()  # from the earliest moment asked about, by time
    ppm_dues: Sequence[tuple[dt.datetime, dt.date | None]] = ()  # recorded next_ppm_due
    next_ppm_due: dt.date | None = None  # now


Segment = tuple[dt.datetime, dt.datetime, str]


def state_at(asset: AssetFacts, moment: dt.datetime) -> str:
    """The asset's state just after ``moment``."""
    times = [c.at for c in asset.changes]
    i = bisect.bisect_right(times, moment)
    if i > 0:
        return asset.changes[i - 1].to_state
    if asset.changes:
        return asset.changes[0].from_state or UNKNOWN
    return asset.state


def timeline(asset: AssetFacts, start: dt.datetime, end: dt.datetime) -> list[Segment]:
    """The asset's states over [start, end), from its creation if that is later."""
    begin = max(start, asset.created_at)
    if begin >= end:
        return []
    segments: list[Segment] = []
    t, current = begin, state_at(asset, begin)
    for change in asset.changes:
        if change.at <= begin:
            continue
        if change.at >= end:
            break
        segments.append((t, change.at, current))
        t, current = change.at, change.to_state
    segments.append((t, end, current))
    return [s for s in segments if s[1] > s[0]]


def hours_by_state(segments: Iterable[Segment]) -> dict[str, float]:
    hours = dict.fromkeys(HEADLINE_STATES, 0.0)
    for begin, end, state in segments:
        hours[state] = hours.get(state, 0.0) + (end - begin).total_seconds() / 3600
    return hours


def peak_concurrent(
    segments: Iterable[Segment], state: str = IN_USE
) -> tuple[int, dt.datetime | None]:
    """The most assets in ``state`` at one moment, and the first moment it happened."""
    edges: list[tuple[dt.datetime, int]] = []
    for begin, end, seg_state in segments:
        if seg_state == state:
            edges += [(begin, 1), (end, -1)]
    # An interval ending when another starts is not overlap: ends sort first.
    edges.sort()
    peak, at, now = 0, None, 0
    for moment, step in edges:
        now += step
        if now > peak:
            peak, at = now, moment
    return peak, at


@dataclass(frozen=True)
class SearchEffort:
    reported_missing: int
    found: int
    still_missing: int
    median_hours_to_find: float | None


def search_effort(
    assets: Iterable[AssetFacts], start: dt.datetime, end: dt.datetime
) -> SearchEffort:
    """Reports of missing within the period and how long each took to be found."""
    reported, waits, still = 0, [], 0
    for asset in assets:
        changes = asset.changes
        for i, change in enumerate(changes):
            if change.to_state != MISSING or not start <= change.at < end:
                continue
            reported += 1
            found = next((c.at for c in changes[i + 1 :] if c.to_state != MISSING), None)
            if found is None:
                still += 1
            else:
                waits.append((found - change.at).total_seconds() / 3600)
    median = round(statistics.median(waits), 2) if waits else None
    return SearchEffort(reported, len(waits), still, median)


def idle_assets(assets: Iterable[AssetFacts], end: dt.datetime, idle_days: int) -> list[AssetFacts]:
    """Assets not moved for ``idle_days`` at ``end`` (never moved counts from creation)."""
    cutoff = end - dt.timedelta(days=idle_days)
    return [
        a
        for a in assets
        if a.created_at <= end
        and (a.last_moved or a.created_at) <= cutoff
        and state_at(a, end) not in NOT_IDLE_STATES
    ]


def ppm_due_at(asset: AssetFacts, moment: dt.datetime) -> dt.date | None:
    """The next PPM date the register held at ``moment``: the latest recorded value then,
    or, for an asset whose schedule was never recorded, its current one."""
    known = [due for at, due in asset.ppm_dues if at <= moment]
    if known:
        return known[-1]
    return asset.next_ppm_due if not asset.ppm_dues else None


@dataclass(frozen=True)
class Compliance:
    at: dt.date
    scheduled: int
    compliant: int

    @property
    def share(self) -> float | None:
        return round(self.compliant / self.scheduled, 4) if self.scheduled else None


def ppm_compliance(assets: Iterable[AssetFacts], day: dt.date) -> Compliance:
    """Compliance at the end of ``day``: scheduled assets in service whose due date had
    not passed."""
    moment = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)
    scheduled = compliant = 0
    for asset in assets:
        if asset.created_at >= moment or state_at(asset, moment) == CONDEMNED:
            continue
        due = ppm_due_at(asset, moment)
        if due is None:
            continue
        scheduled += 1
        compliant += due >= day
    return Compliance(day, scheduled, compliant)


def plural(name: str) -> str:
    if not name or name.endswith("s"):
        return name
    if name.endswith(("x", "ch", "sh")):
        return name + "es"
    if name.endswith("y") and name[-2:-1] not in ("a", "e", "i", "o", "u", ""):
        return name[:-1] + "ies"
    return name + "s"


def recommendation(
    fleet: int, peak: int, class_name: str, department: str, period: str
) -> str | None:
    """The sentence a CE lead quotes: how much of the fleet was never needed at peak."""
    if fleet == 0:
        return None
    what = plural(class_name) + (f" in {department}" if department else "")
    spare = fleet - peak
    if spare > 0:
        return (
            f"{spare} of {fleet} {what} were never needed at peak in {period} "
            f"(at most {peak} in use at once)"
        )
    return f"all {fleet} {what} were in use at once at peak in {period}: no spare capacity"


def period_phrase(start: dt.datetime, end: dt.datetime, now: dt.datetime) -> str:
    days = round((end - start).total_seconds() / 86400)
    if days >= 1 and abs((now - end).total_seconds()) < 3600:
        return "the last day" if days == 1 else f"the last {days} days"
    if end - start < dt.timedelta(days=2):
        return f"{start:%d %b %Y %H:%M} to {end:%d %b %Y %H:%M} UTC"
    return f"{start:%d %b %Y} to {end:%d %b %Y}"
