"""The audit trail: who changed what, when, with the record before and after."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from floki_core.domain import AuditEntry
from floki_core.storage.models import AuditRow


def write_audit(
    session: Session,
    *,
    at: dt.datetime,
    actor: str,
    action: str,
    entity: str,
    entity_id: object = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    detail: str = "",
) -> None:
    session.add(
        AuditRow(
            at=at,
            actor=actor,
            action=action,
            entity=entity,
            entity_id=None if entity_id is None else str(entity_id),
            before=before,
            after=after,
            detail=detail,
        )
    )


def list_audit(
    session: Session,
    *,
    entity: str | None = None,
    entity_id: str | None = None,
    action: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> tuple[list[AuditEntry], int]:
    query = select(AuditRow)
    if entity:
        query = query.where(AuditRow.entity == entity)
    if entity_id:
        query = query.where(AuditRow.entity_id == entity_id)
    if action:
        query = query.where(AuditRow.action == action)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.order_by(AuditRow.id.desc()).limit(limit).offset(offset))
    entries = [
        AuditEntry(
            id=r.id,
            at=r.at,
            actor=r.actor,
            action=r.action,
            entity=r.entity,
            entity_id=r.entity_id,
            before=r.before,
            after=r.after,
            detail=r.detail,
        )
        for r in rows
    ]
    return entries, total
