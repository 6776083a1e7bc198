"""Utilisation and proof of value: time in each state, idle assets, peak use, reports."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from typing import TYPE_CHECKING

import msgspec
from sqlalchemy.orm import Session

from floki_core.workflow import utilisation_metrics as m
from floki_core.workflow.settings import UtilisationSettings
from floki_core.workflow.utilisation_data import install_day, load_facts, site_name
from floki_core.workflow.utilisation_metrics import AssetFacts

if TYPE_CHECKING:
    from floki_core.clock import Clock
    from floki_core.location.service import LocationService
    from floki_core.storage.store import Store

IDLE_LISTED = 200  # per group; the count covers them all


class IdleAsset(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    asset_number: str
    state: str
    last_moved: dt.datetime | None
    zone: str | None
    idle_days: int


class PpmCompliance(msgspec.Struct, frozen=True, kw_only=True):
    at: dt.date
    scheduled: int
    compliant: int
    share: float | None


class GroupReport(msgspec.Struct, frozen=True, kw_only=True):
    class_id: int | None
    class_name: str
    department: str
    fleet: int
    asset_hours: float
    hours: dict[str, float]
    shares: dict[str, float]
    peak_in_use: int
    peak_at: dt.datetime | None
    never_needed_at_peak: int
    recommendation: str | None
    idle_count: int
    idle: list[IdleAsset]
    reported_missing: int
    found: int
    still_missing: int
    median_hours_to_find: float | None
    ppm_before: PpmCompliance
    ppm_after: PpmCompliance | None


def other_share(group: GroupReport) -> float:
    """The share of the group's hours in states other than the headline ones."""
    return round(max(1.0 - sum(group.shares.get(s, 0.0) for s in m.HEADLINE_STATES), 0.0), 4)


def compliance_share(compliance: PpmCompliance | None) -> float | None:
    return compliance.share if compliance is not None else None


class UtilisationReport(msgspec.Struct, frozen=True, kw_only=True):
    site: str
    generated_at: dt.datetime
    period_from: dt.datetime
    period_to: dt.datetime
    period_days: float
    idle_days: int
    go_live: dt.date
    class_id: int | None
    department: str | None
    fleet: int
    never_needed_at_peak: int
    reported_missing: int
    shares: dict[str, float]
    ppm_before: PpmCompliance
    ppm_after: PpmCompliance | None
    groups: list[GroupReport]
    method: list[str]


METHOD = [
    "Time in state: each asset's recorded state changes, clipped to the period; an asset "
    "with no change counts in its current state from when it was registered.",
    "Fleet: assets registered before the period ended and not condemned throughout it.",
    "Peak use: the most assets of the group in use at the same moment.",
    "Idle: not seen to change zone for the idle threshold (assets on loan or condemned excluded).",
    "Search effort: reports of missing in the period; time to find runs to the next "
    "change away from missing.",
    "PPM compliance at a date: of the assets with a next-PPM date then, the share whose "
    "date had not passed at the end of that day. The date held at a moment is taken from "
    "the audit trail of the register and from completed work orders; an asset with no "
    "such record uses its current date.",
    "Department is the asset's department now.",
]


def _compliance(c: m.Compliance) -> PpmCompliance:
    return PpmCompliance(at=c.at, scheduled=c.scheduled, compliant=c.compliant, share=c.share)


def _shares(hours: dict[str, float]) -> dict[str, float]:
    total = sum(hours.values())
    return {s: round(h / total, 4) if total else 0.0 for s, h in hours.items()}


def _group(
    assets: list[AssetFacts],
    *,
    start: dt.datetime,
    end: dt.datetime,
    now: dt.datetime,
    idle_days: int,
    go_live: dt.date,
) -> GroupReport:
    first = assets[0]
    segments = {a.id: m.timeline(a, start, end) for a in assets}
    in_fleet = [a for a in assets if any(s[2] != m.CONDEMNED for s in segments[a.id])]
    everything = [s for a in in_fleet for s in segments[a.id]]
    hours = m.hours_by_state(everything)
    peak, peak_at = m.peak_concurrent(everything)
    fleet = len(in_fleet)
    idle = m.idle_assets(in_fleet, end, idle_days)
    search = m.search_effort(assets, start, end)
    after = m.ppm_compliance(assets, end.date()) if end.date() >= go_live else None
    return GroupReport(
        class_id=first.class_id,
        class_name=first.class_name,
        department=first.department,
        fleet=fleet,
        asset_hours=round(sum(hours.values()), 2),
        hours={s: round(h, 2) for s, h in hours.items()},
        shares=_shares(hours),
        peak_in_use=peak,
        peak_at=peak_at,
        never_needed_at_peak=max(fleet - peak, 0),
        recommendation=m.recommendation(
            fleet, peak, first.class_name, first.department, m.period_phrase(start, end, now)
        ),
        idle_count=len(idle),
        idle=[
            IdleAsset(
                id=a.id,
                asset_number=a.asset_number,
                state=m.state_at(a, end),
                last_moved=a.last_moved,
                zone=a.zone,
                idle_days=(end - (a.last_moved or a.created_at)).days,
            )
            for a in sorted(idle, key=lambda a: a.last_moved or a.created_at)[:IDLE_LISTED]
        ],
        reported_missing=search.reported_missing,
        found=search.found,
        still_missing=search.still_missing,
        median_hours_to_find=search.median_hours_to_find,
        ppm_before=_compliance(m.ppm_compliance(assets, go_live)),
        ppm_after=_compliance(after) if after is not None else None,
    )


def _sum_compliance(parts: Iterable[PpmCompliance | None]) -> PpmCompliance | None:
    present = [p for p in parts if p is not None]
    if not present:
        return None
    scheduled = sum(p.scheduled for p in present)
    compliant = sum(p.compliant for p in present)
    share = round(compliant / scheduled, 4) if scheduled else None
    return PpmCompliance(at=present[0].at, scheduled=scheduled, compliant=compliant, share=share)


def build_report(
    session: Session,
    *,
    start: dt.datetime,
    end: dt.datetime,
    now: dt.datetime,
    settings: UtilisationSettings,
    configured_site: str,
    class_id: int | None = None,
    department: str | None = None,
) -> UtilisationReport:
    go_live = settings.go_live or install_day(session) or now.date()
    go_live_start = dt.datetime.combine(go_live, dt.time(), tzinfo=dt.UTC)
    facts = load_facts(
        session,
        start=start,
        end=end,
        history_from=min(start, go_live_start),
        class_id=class_id,
        department=department,
    )
    grouped: dict[tuple[str, str, int | None], list[AssetFacts]] = defaultdict(list)
    for asset in facts:
        grouped[(asset.class_name, asset.department, asset.class_id)].append(asset)
    groups = [
        _group(
            grouped[key],
            start=start,
            end=end,
            now=now,
            idle_days=settings.idle_days,
            go_live=go_live,
        )
        for key in sorted(grouped, key=lambda k: (k[0].lower(), k[1].lower(), k[2] or 0))
    ]
    hours: dict[str, float] = defaultdict(float)
    for group in groups:
        for state, h in group.hours.items():
            hours[state] += h
    empty = PpmCompliance(at=go_live, scheduled=0, compliant=0, share=None)
    return UtilisationReport(
        site=site_name(session, configured_site),
        generated_at=now,
        period_from=start,
        period_to=end,
        period_days=round((end - start).total_seconds() / 86400, 2),
        idle_days=settings.idle_days,
        go_live=go_live,
        class_id=class_id,
        department=department,
        fleet=sum(g.fleet for g in groups),
        never_needed_at_peak=sum(g.never_needed_at_peak for g in groups),
        reported_missing=sum(g.reported_missing for g in groups),
        shares=_shares(dict(hours)),
        ppm_before=_sum_compliance(g.ppm_before for g in groups) or empty,
        ppm_after=_sum_compliance(g.ppm_after for g in groups),
        groups=groups,
        method=METHOD,
    )


class Utilisation:
    def __init__(
        self,
        *,
        settings: UtilisationSettings,
        site_name: str,
        store: Store,
        clock: Clock,
        locations: LocationService,
    ) -> None:
        """``site_name``: the configured site, named in reports; ``locations``: flushed
        first, so a report counts the stays still on their way to the database."""
        self.settings = settings
        self.site_name = site_name
        self.store = store
        self.clock = clock
        self.locations = locations

    async def start(self) -> None:
        pass

    async def stop(self) -> None:
        pass

    async def report(
        self,
        start: dt.datetime | None = None,
        end: dt.datetime | None = None,
        *,
        class_id: int | None = None,
        department: str | None = None,
    ) -> UtilisationReport:
        end = end or self.clock.now()
        start = start or end - dt.timedelta(days=self.settings.default_days)
        await self.locations.flush()  # moves still on their way count as moves
        return await self.store.read(
            build_report,
            start=start,
            end=end,
            now=self.clock.now(),
            settings=self.settings,
            configured_site=self.site_name,
            class_id=class_id,
            department=department,
        )
