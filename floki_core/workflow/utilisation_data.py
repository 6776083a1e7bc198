"""What the utilisation report reads from the database, turned into plain facts."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from floki_core.storage.models import (
    AssetClassRow,
    AssetRow,
    AuditRow,
    SiteRow,
    TransitionRow,
    ZoneRow,
)
from floki_core.storage.models_ppm import StateChangeRow, WorkOrderRow
from floki_core.workflow.utilisation_metrics import AssetFacts, StateChange


def _as_date(value: Any) -> dt.date | None:
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            return None
    return value if isinstance(value, dt.date) else None


def install_day(session: Session) -> dt.date | None:
    first = session.scalar(select(func.min(AuditRow.at)))
    return first.date() if first is not None else None


def _ppm_history(
    session: Session, ids: list[int], scope: Select[Any], until: dt.datetime
) -> dict[int, list[tuple[dt.datetime, dt.date | None]]]:
    """Each asset's recorded next-PPM dates up to ``until``, oldest first."""
    found: dict[int, list[tuple[dt.datetime, dt.date | None]]] = defaultdict(list)
    wanted = {str(i): i for i in ids}
    entries = session.execute(
        select(AuditRow.entity_id, AuditRow.at, AuditRow.before, AuditRow.after)
        .where(AuditRow.entity == "assets", AuditRow.at <= until)
        .order_by(AuditRow.at, AuditRow.id)
    )
    for entity_id, at, before, after in entries:
        asset_id = wanted.get(entity_id or "")
        if asset_id is None or not isinstance(after, dict) or "next_ppm_due" not in after:
            continue
        if not found[asset_id] and isinstance(before, dict) and "next_ppm_due" in before:
            # The value before the first recorded change held from the beginning.
            found[asset_id].append(
                (dt.datetime.min.replace(tzinfo=dt.UTC), _as_date(before["next_ppm_due"]))
            )
        found[asset_id].append((at, _as_date(after["next_ppm_due"])))
    orders = session.execute(
        select(WorkOrderRow.asset_id, WorkOrderRow.completed_at, WorkOrderRow.next_due).where(
            WorkOrderRow.asset_id.in_(scope),
            WorkOrderRow.completed_at.is_not(None),
            WorkOrderRow.completed_at <= until,
            WorkOrderRow.next_due.is_not(None),
        )
    )
    for asset_id, completed_at, next_due in orders:
        if completed_at is not None:
            found[asset_id].append((completed_at, next_due))
    for history in found.values():
        history.sort(key=lambda item: item[0])
    return found


def load_facts(
    session: Session,
    *,
    start: dt.datetime,
    end: dt.datetime,
    history_from: dt.datetime,
    class_id: int | None,
    department: str | None,
) -> list[AssetFacts]:
    """Everything the report needs about the assets in scope, as plain facts."""
    conditions = [AssetRow.created_at < end]
    if class_id is not None:
        conditions.append(AssetRow.class_id == class_id)
    if department is not None:
        conditions.append(AssetRow.department == department)
    # A subquery, not a list of ids: a trust's whole fleet would overflow SQLite's
    # limit on bound parameters.
    scope = select(AssetRow.id).where(*conditions)
    assets = session.execute(
        select(AssetRow, AssetClassRow.name)
        .outerjoin(AssetClassRow, AssetClassRow.id == AssetRow.class_id)
        .where(*conditions)
        .order_by(AssetRow.id)
    ).all()
    ids = [a.id for a, _ in assets]
    if not ids:
        return []
    changes: dict[int, list[StateChange]] = defaultdict(list)
    for row in session.scalars(
        select(StateChangeRow)
        .where(StateChangeRow.asset_id.in_(scope), StateChangeRow.at >= history_from)
        .order_by(StateChangeRow.at, StateChangeRow.id)
    ):
        changes[row.asset_id].append(
            StateChange(row.asset_id, row.at, row.from_state, row.to_state)
        )
    latest = (
        select(TransitionRow.asset_id, func.max(TransitionRow.entered_at).label("entered"))
        .where(TransitionRow.asset_id.in_(scope), TransitionRow.entered_at <= end)
        .group_by(TransitionRow.asset_id)
        .subquery()
    )
    moves = {
        asset_id: (entered, zone)
        for asset_id, entered, zone in session.execute(
            select(TransitionRow.asset_id, TransitionRow.entered_at, ZoneRow.name)
            .join(
                latest,
                (latest.c.asset_id == TransitionRow.asset_id)
                & (latest.c.entered == TransitionRow.entered_at),
            )
            .outerjoin(ZoneRow, ZoneRow.id == TransitionRow.zone_id)
        )
    }
    ppm = _ppm_history(session, ids, scope, max(end, history_from))
    return [
        AssetFacts(
            id=a.id,
            asset_number=a.asset_number,
            class_id=a.class_id,
            class_name=class_name or "Unclassified",
            department=a.department,
            state=a.state,
            created_at=a.created_at,
            last_moved=moves.get(a.id, (None, None))[0],
            zone=moves.get(a.id, (None, None))[1],
            changes=changes.get(a.id, []),
            ppm_dues=ppm.get(a.id, []),
            next_ppm_due=a.next_ppm_due,
        )
        for a, class_name in assets
    ]


def site_name(session: Session, configured: str) -> str:
    names = list(session.scalars(select(SiteRow.name).order_by(SiteRow.id)))
    return ", ".join(names) if names else configured
