"""Tables of the workflow engine's alerts, their plain records and the queries on them.

``alerts.open_key`` holds the condition's key while the alert is open and NULL once it is
resolved: the unique constraint on it is what guarantees one open alert per condition.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import msgspec
from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from floki_core.errors import Conflict, NotFound
from floki_core.storage import audit
from floki_core.storage.models import Base

OPEN_STATUSES = ("raised", "acknowledged")
SYSTEM_ACTOR = "system"


class AlertRuleRow(Base):
    __tablename__ = "alert_rules"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    type: Mapped[str] = mapped_column(String(64))
    severity: Mapped[str] = mapped_column(String(10))
    params: Mapped[dict[str, Any]]
    notify: Mapped[list[str]] = mapped_column(JSON)
    enabled: Mapped[bool] = mapped_column(Boolean)
    auto_resolve: Mapped[bool] = mapped_column(Boolean)
    source: Mapped[str] = mapped_column(String(10))  # "config" (the file) or "api"
    created_at: Mapped[dt.datetime]
    updated_at: Mapped[dt.datetime]


class AlertRow(Base):
    __tablename__ = "alerts"
    __table_args__ = (Index("ix_alerts_status_raised_at", "status", "raised_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    rule_id: Mapped[int | None] = mapped_column(
        ForeignKey("alert_rules.id", ondelete="SET NULL"), index=True
    )
    # Copies, so an alert still reads well after its rule is deleted.
    rule_name: Mapped[str] = mapped_column(String(200))
    rule_type: Mapped[str] = mapped_column(String(64))
    key: Mapped[str] = mapped_column(String(300), index=True)
    open_key: Mapped[str | None] = mapped_column(String(300), unique=True)
    severity: Mapped[str] = mapped_column(String(10))
    title: Mapped[str] = mapped_column(String(500))
    detail: Mapped[dict[str, Any]]
    status: Mapped[str] = mapped_column(String(16))
    asset_id: Mapped[int | None] = mapped_column(Integer, index=True)
    zone_id: Mapped[int | None] = mapped_column(Integer)
    raised_at: Mapped[dt.datetime]
    last_occurred_at: Mapped[dt.datetime]
    occurrences: Mapped[int] = mapped_column(Integer)
    acknowledged_at: Mapped[dt.datetime | None]
    acknowledged_by: Mapped[str | None] = mapped_column(String(200))
    resolved_at: Mapped[dt.datetime | None]
    resolved_by: Mapped[str | None] = mapped_column(String(200))
    resolution: Mapped[str] = mapped_column(String(500))
    # When the condition was last seen to clear; NULL while it holds. A person's
    # resolution of a condition that still holds stays "latched" until it clears.
    cleared_at: Mapped[dt.datetime | None]


class AlertDeliveryRow(Base):
    __tablename__ = "alert_deliveries"
    id: Mapped[int] = mapped_column(primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"), index=True)
    notifier: Mapped[str] = mapped_column(String(100))
    change: Mapped[str] = mapped_column(String(16))  # the status delivered: raised, ...
    outcome: Mapped[str] = mapped_column(String(10))  # delivered, failed
    attempts: Mapped[int] = mapped_column(Integer)
    error: Mapped[str] = mapped_column(Text)
    at: Mapped[dt.datetime]


# --- plain records -------------------------------------------------------------------


class AlertRule(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    name: str
    type: str
    severity: str
    params: dict[str, Any]
    notify: list[str]
    enabled: bool
    auto_resolve: bool
    source: str
    created_at: dt.datetime
    updated_at: dt.datetime
    problem: str | None = None  # why the engine cannot evaluate it, if it cannot


class Alert(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    rule_id: int | None
    rule_name: str
    rule_type: str
    key: str
    severity: str
    title: str
    detail: dict[str, Any]
    status: str  # raised, acknowledged, resolved
    asset_id: int | None
    zone_id: int | None
    raised_at: dt.datetime
    last_occurred_at: dt.datetime
    occurrences: int
    acknowledged_at: dt.datetime | None
    acknowledged_by: str | None
    resolved_at: dt.datetime | None
    resolved_by: str | None
    resolution: str
    cleared_at: dt.datetime | None

    @property
    def open(self) -> bool:
        return self.status in OPEN_STATUSES


class AlertDelivery(msgspec.Struct, frozen=True, kw_only=True):
    notifier: str
    change: str
    outcome: str
    attempts: int
    error: str
    at: dt.datetime


def rule_record(row: AlertRuleRow) -> AlertRule:
    return AlertRule(
        id=row.id,
        name=row.name,
        type=row.type,
        severity=row.severity,
        params=dict(row.params),
        notify=list(row.notify),
        enabled=row.enabled,
        auto_resolve=row.auto_resolve,
        source=row.source,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


_ALERT_FIELDS = tuple(f for f in Alert.__struct_fields__)


def alert_record(row: AlertRow) -> Alert:
    return Alert(**{f: getattr(row, f) for f in _ALERT_FIELDS})


def _plain(record: msgspec.Struct) -> dict[str, Any]:
    plain: dict[str, Any] = msgspec.to_builtins(record)
    return plain


# --- rules ---------------------------------------------------------------------------


RULE_FIELDS = ("name", "type", "severity", "params", "notify", "enabled", "auto_resolve")


def list_rules(session: Session) -> list[AlertRule]:
    return [rule_record(r) for r in session.scalars(select(AlertRuleRow).order_by(AlertRuleRow.id))]


def _rule_row(session: Session, rule_id: int) -> AlertRuleRow:
    row = session.get(AlertRuleRow, rule_id)
    if row is None:
        raise NotFound(f"alert rule {rule_id} not found")
    return row


def _name_free(session: Session, name: str, rule_id: int | None = None) -> None:
    held = session.scalar(select(AlertRuleRow.id).where(AlertRuleRow.name == name))
    if held is not None and held != rule_id:
        raise Conflict(f"an alert rule named {name!r} already exists (id {held})")


def create_rule(
    session: Session, values: dict[str, Any], *, source: str, actor: str, now: dt.datetime
) -> AlertRule:
    _name_free(session, values["name"])
    row = AlertRuleRow(**values, source=source, created_at=now, updated_at=now)
    session.add(row)
    session.flush()
    rule = rule_record(row)
    audit.write_audit(
        session,
        at=now,
        actor=actor,
        action="create",
        entity="alert_rules",
        entity_id=row.id,
        after=_plain(rule),
    )
    return rule


def update_rule(
    session: Session, rule_id: int, changes: dict[str, Any], *, actor: str, now: dt.datetime
) -> tuple[AlertRule, AlertRule, list[Alert]]:
    """Change a rule; a rule switched off resolves its open alerts (returned)."""
    row = _rule_row(session, rule_id)
    before = rule_record(row)
    if "name" in changes:
        _name_free(session, changes["name"], rule_id)
    for name, value in changes.items():
        setattr(row, name, value)
    closed: list[Alert] = []
    if before.enabled and not row.enabled:
        closed = close_rule_alerts(session, rule_id, "rule switched off", now)
    after = rule_record(row)
    if after != before:
        row.updated_at = now
        after = rule_record(row)
        audit.write_audit(
            session,
            at=now,
            actor=actor,
            action="update",
            entity="alert_rules",
            entity_id=rule_id,
            before=_plain(before),
            after=_plain(after),
        )
    return before, after, closed


def delete_rule(
    session: Session, rule_id: int, *, actor: str, now: dt.datetime
) -> tuple[AlertRule, list[Alert]]:
    """Delete a rule; its open alerts are resolved and keep the rule's name and type."""
    row = _rule_row(session, rule_id)
    before = rule_record(row)
    closed = close_rule_alerts(session, rule_id, "rule deleted", now)
    session.delete(row)
    session.flush()
    audit.write_audit(
        session,
        at=now,
        actor=actor,
        action="delete",
        entity="alert_rules",
        entity_id=rule_id,
        before=_plain(before),
    )
    return before, closed


def close_rule_alerts(session: Session, rule_id: int, reason: str, now: dt.datetime) -> list[Alert]:
    closed = []
    for row in session.scalars(
        select(AlertRow).where(
            AlertRow.rule_id == rule_id,
            AlertRow.open_key.is_not(None) | AlertRow.cleared_at.is_(None),
        )
    ):
        row.cleared_at = now
        if row.status in OPEN_STATUSES:
            _resolve(row, SYSTEM_ACTOR, reason, now)
            closed.append(alert_record(row))
    return closed


# --- alerts --------------------------------------------------------------------------


def held_alerts(session: Session) -> list[Alert]:
    """Alerts that hold back a new one for their condition: open, or resolved by a person
    while the condition still held."""
    query = select(AlertRow).where(
        (AlertRow.open_key.is_not(None)) | (AlertRow.cleared_at.is_(None))
    )
    return [alert_record(r) for r in session.scalars(query)]


@dataclass
class AlertChanges:
    """One evaluation's outcome, written in one transaction."""

    raised: list[dict[str, Any]] = field(default_factory=list)  # columns of new alerts
    resolved: list[int] = field(default_factory=list)  # condition cleared
    recurred: list[int] = field(default_factory=list)  # back while the alert is open
    cleared: list[int] = field(default_factory=list)  # cleared; the alert stays as it is

    def __bool__(self) -> bool:
        return bool(self.raised or self.resolved or self.recurred or self.cleared)


def apply_changes(session: Session, changes: AlertChanges, now: dt.datetime) -> list[Alert]:
    """Write an evaluation's outcome; returns every alert it changed, as it is now."""
    new_rows = [
        AlertRow(
            **values,
            open_key=values["key"],
            status="raised",
            raised_at=now,
            last_occurred_at=now,
            occurrences=1,
            resolution="",
        )
        for values in changes.raised
    ]
    session.add_all(new_rows)
    touched = set(changes.resolved) | set(changes.recurred) | set(changes.cleared)
    rows = {r.id: r for r in session.scalars(select(AlertRow).where(AlertRow.id.in_(touched)))}
    for alert_id in changes.resolved:
        if (row := rows.get(alert_id)) is not None and row.status in OPEN_STATUSES:
            _resolve(row, SYSTEM_ACTOR, "condition cleared", now)
            row.cleared_at = now
    for alert_id in changes.cleared:
        if (row := rows.get(alert_id)) is not None:
            row.cleared_at = now
    for alert_id in changes.recurred:
        if (row := rows.get(alert_id)) is not None:
            row.occurrences += 1
            row.last_occurred_at = now
            row.cleared_at = None
    session.flush()
    return [alert_record(r) for r in new_rows] + [alert_record(r) for r in rows.values()]


def _resolve(row: AlertRow, who: str, reason: str, now: dt.datetime) -> None:
    row.status = "resolved"
    row.resolved_at = now
    row.resolved_by = who
    row.resolution = reason[:500]
    row.open_key = None


def change_status(
    session: Session,
    alert_id: int,
    action: str,
    *,
    actor: str,
    note: str,
    condition_holds: bool,
    now: dt.datetime,
) -> Alert:
    """``acknowledge`` or ``resolve`` an open alert on a person's word, audited."""
    row = session.get(AlertRow, alert_id, with_for_update=True)
    if row is None:
        raise NotFound(f"alert {alert_id} not found")
    if row.status == "resolved":
        raise Conflict(f"alert {alert_id} is already resolved (by {row.resolved_by})")
    before = alert_record(row)
    if action == "acknowledge":
        if row.status == "acknowledged":
            raise Conflict(f"alert {alert_id} is already acknowledged by {row.acknowledged_by}")
        row.status = "acknowledged"
        row.acknowledged_at = now
        row.acknowledged_by = actor
    else:
        _resolve(row, actor, note or "resolved by hand", now)
        row.cleared_at = None if condition_holds else now
    session.flush()
    after = alert_record(row)
    audit.write_audit(
        session,
        at=now,
        actor=actor,
        action=action,
        entity="alerts",
        entity_id=alert_id,
        before=_plain(before),
        after=_plain(after),
        detail=note,
    )
    return after


def list_alerts(
    session: Session,
    *,
    statuses: Sequence[str] = (),
    severities: Sequence[str] = (),
    rule_id: int | None = None,
    asset_id: int | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[Alert], int]:
    """Newest first."""
    query = select(AlertRow)
    if statuses:
        query = query.where(AlertRow.status.in_(statuses))
    if severities:
        query = query.where(AlertRow.severity.in_(severities))
    if rule_id is not None:
        query = query.where(AlertRow.rule_id == rule_id)
    if asset_id is not None:
        query = query.where(AlertRow.asset_id == asset_id)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(
        query.order_by(AlertRow.raised_at.desc(), AlertRow.id.desc()).limit(limit).offset(offset)
    )
    return [alert_record(r) for r in rows], total


def get_alert(session: Session, alert_id: int) -> tuple[Alert, list[AlertDelivery]]:
    row = session.get(AlertRow, alert_id)
    if row is None:
        raise NotFound(f"alert {alert_id} not found")
    deliveries = session.scalars(
        select(AlertDeliveryRow)
        .where(AlertDeliveryRow.alert_id == alert_id)
        .order_by(AlertDeliveryRow.id)
    )
    return alert_record(row), [
        AlertDelivery(
            notifier=d.notifier,
            change=d.change,
            outcome=d.outcome,
            attempts=d.attempts,
            error=d.error,
            at=d.at,
        )
        for d in deliveries
    ]


def record_deliveries(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    known = set(
        session.scalars(select(AlertRow.id).where(AlertRow.id.in_({r["alert_id"] for r in rows})))
    )
    session.add_all(AlertDeliveryRow(**r) for r in rows if r["alert_id"] in known)
