"""PPM compliance: the share of scheduled assets in date, by class, department or
criticality, and its trend from the snapshot written once a day.

Counted: every asset in service with a next-due date (imported, recorded, or last PPM
plus interval); condemned assets are out of service and left out. "In date" means not
past the due date plus its tolerance, the same rule that stops a list showing the
asset as available.
"""

from __future__ import annotations

import collections
import datetime as dt
from dataclasses import dataclass
from typing import Literal

import msgspec
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from floki_core.domain import SYSTEM, AssetState
from floki_core.storage.audit import write_audit
from floki_core.storage.models import AssetClassRow, AssetRow
from floki_core.storage.models_ppm import ComplianceSnapshotRow
from floki_core.workflow.ppm_rules import ScheduleBook, effective_due, ppm_overdue

Dimension = Literal["all", "class", "department", "criticality"]
DIMENSIONS: tuple[Dimension, ...] = ("all", "class", "department", "criticality")
NO_CLASS = "(no class)"
NO_DEPARTMENT = "(no department)"


class ComplianceGroup(msgspec.Struct, frozen=True, kw_only=True):
    key: str
    total: int  # assets with a PPM schedule
    in_date: int
    overdue: int
    percent: float | None  # None when nothing in the group has a schedule


class ComplianceReport(msgspec.Struct, frozen=True, kw_only=True):
    today: dt.date
    by: str
    total: int
    in_date: int
    percent: float | None
    groups: list[ComplianceGroup]


class TrendPoint(msgspec.Struct, frozen=True, kw_only=True):
    day: dt.date
    total: int
    in_date: int
    percent: float | None


class TrendSeries(msgspec.Struct, frozen=True, kw_only=True):
    key: str
    points: list[TrendPoint]


class ComplianceTrend(msgspec.Struct, frozen=True, kw_only=True):
    today: dt.date
    days: int
    by: str
    series: list[TrendSeries]


@dataclass(frozen=True)
class _Standing:
    keys: dict[str, str]  # dimension -> group
    in_date: bool


def percent(in_date: int, total: int) -> float | None:
    return round(100.0 * in_date / total, 1) if total else None


def _standings(session: Session, book: ScheduleBook, today: dt.date) -> list[_Standing]:
    rows = session.execute(
        select(
            AssetRow.id,
            AssetRow.class_id,
            AssetRow.department,
            AssetRow.last_ppm,
            AssetRow.next_ppm_due,
            AssetClassRow.name,
            AssetClassRow.criticality,
            AssetClassRow.ppm_interval_days,
        )
        .outerjoin(AssetClassRow, AssetClassRow.id == AssetRow.class_id)
        .where(AssetRow.state != AssetState.CONDEMNED.value)
    )
    found = []
    for asset_id, class_id, department, last, due, name, criticality, interval in rows:
        when = effective_due(due, last, book.interval(asset_id, interval))
        if when is None:
            continue
        after = book.tolerance(asset_id, class_id).after_days
        keys = {
            "all": "all",
            "class": name or NO_CLASS,
            "department": department or NO_DEPARTMENT,
            "criticality": criticality or NO_CLASS,
        }
        found.append(_Standing(keys, not ppm_overdue(when, today, after)))
    return found


def _groups(standings: list[_Standing], by: str) -> list[ComplianceGroup]:
    totals: collections.Counter[str] = collections.Counter()
    good: collections.Counter[str] = collections.Counter()
    for s in standings:
        key = s.keys[by]
        totals[key] += 1
        good[key] += s.in_date
    return [
        ComplianceGroup(
            key=key,
            total=totals[key],
            in_date=good[key],
            overdue=totals[key] - good[key],
            percent=percent(good[key], totals[key]),
        )
        for key in sorted(totals)
    ]


def compliance(session: Session, by: str, book: ScheduleBook, today: dt.date) -> ComplianceReport:
    standings = _standings(session, book, today)
    in_date = sum(s.in_date for s in standings)
    return ComplianceReport(
        today=today,
        by=by,
        total=len(standings),
        in_date=in_date,
        percent=percent(in_date, len(standings)),
        groups=_groups(standings, by),
    )


def write_snapshot(
    session: Session, book: ScheduleBook, today: dt.date, *, now: dt.datetime
) -> int:
    """Today's numbers for every dimension, replacing any taken earlier today."""
    standings = _standings(session, book, today)
    session.execute(delete(ComplianceSnapshotRow).where(ComplianceSnapshotRow.day == today))
    rows = [
        ComplianceSnapshotRow(
            day=today, dimension=dim, group_key=g.key[:200], total=g.total, in_date=g.in_date
        )
        for dim in DIMENSIONS
        for g in _groups(standings, dim)
    ]
    session.add_all(rows)
    overall = sum(s.in_date for s in standings)
    write_audit(
        session,
        at=now,
        actor=SYSTEM.label,
        action="snapshot",
        entity="ppm_compliance_snapshots",
        entity_id=today.isoformat(),
        after={"total": len(standings), "in_date": overall, "groups": len(rows)},
        detail="daily PPM compliance snapshot",
    )
    return len(rows)


def trend(
    session: Session, today: dt.date, days: int, by: str, group: str | None
) -> ComplianceTrend:
    first = today - dt.timedelta(days=days - 1)
    query = select(ComplianceSnapshotRow).where(
        ComplianceSnapshotRow.day >= first,
        ComplianceSnapshotRow.day <= today,
        ComplianceSnapshotRow.dimension == by,
    )
    if group is not None:
        query = query.where(ComplianceSnapshotRow.group_key == group)
    series: dict[str, list[TrendPoint]] = {}
    for row in session.scalars(query.order_by(ComplianceSnapshotRow.day)):
        series.setdefault(row.group_key, []).append(
            TrendPoint(
                day=row.day,
                total=row.total,
                in_date=row.in_date,
                percent=percent(row.in_date, row.total),
            )
        )
    return ComplianceTrend(
        today=today,
        days=days,
        by=by,
        series=[TrendSeries(key=k, points=series[k]) for k in sorted(series)],
    )
