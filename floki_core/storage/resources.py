"""Generic create/read/update/delete for the register's tables.

Each ``Resource`` says which table, which domain record, which references must
exist and which rows still point at it. Every write checks, applies and audits in
one transaction, so a refused change leaves nothing behind.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import msgspec
from sqlalchemy import func, select
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.orm import Session

from floki_core.domain import Principal, Record, to_plain
from floki_core.errors import Conflict, Invalid, NotFound
from floki_core.storage.audit import write_audit
from floki_core.storage.models import Base

Validator = Callable[[Session, dict[str, Any], Any], None]


@dataclass(frozen=True)
class Resource:
    name: str  # plural, as in the URL and the audit trail
    label: str  # singular, for messages
    row: type[Base]
    record: type[Record]
    references: Mapping[str, tuple[type[Base], str]] = field(default_factory=dict)
    unique: tuple[tuple[str, ...], ...] = ()
    dependents: tuple[tuple[type[Base], str, str], ...] = ()  # (table, column, what)
    validate: Validator | None = None  # (session, values, existing row or None)
    normalise: Callable[[dict[str, Any], Any], dict[str, Any]] | None = None  # (values, row)
    timestamps: bool = False
    filters: tuple[str, ...] = ()

    def to_record(self, row: Any) -> Any:
        values = {f: getattr(row, f) for f in self.record.__struct_fields__ if hasattr(row, f)}
        return msgspec.convert(values, self.record, from_attributes=True, strict=False)


def event_name(resource: Resource, verb: str) -> str:
    """The domain event for a change to one of ``resource``: ``zone.created``,
    ``asset_class.updated``."""
    return f"{resource.label.replace(' ', '_')}.{verb}"


def fetch_row(session: Session, resource: Resource, record_id: int) -> Any:
    row = session.get(resource.row, record_id)
    if row is None:
        raise NotFound(f"{resource.label} {record_id} not found")
    return row


def get_record(session: Session, resource: Resource, record_id: int) -> Any:
    return resource.to_record(fetch_row(session, resource, record_id))


def list_records(
    session: Session,
    resource: Resource,
    *,
    filters: Mapping[str, Any] | None = None,
    limit: int = 100,
    offset: int = 0,
) -> tuple[list[Any], int]:
    query = select(resource.row)
    for name, value in (filters or {}).items():
        if name not in resource.filters:
            raise Invalid(f"cannot filter {resource.name} by {name!r}")
        query = query.where(getattr(resource.row, name) == value)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.order_by(resource.row.id).limit(limit).offset(offset))  # type: ignore[attr-defined]
    return [resource.to_record(r) for r in rows], total


def _check(session: Session, resource: Resource, values: dict[str, Any], row: Any) -> None:
    for column, (target, what) in resource.references.items():
        ref = values.get(column)
        if ref is not None and session.get(target, ref) is None:
            raise Invalid(f"{column}: {what} {ref} does not exist")
    for fields in resource.unique:
        if not any(f in values for f in fields):
            continue
        merged = {f: values.get(f, getattr(row, f, None)) for f in fields}
        if any(v is None for v in merged.values()):
            continue
        query = select(resource.row.id).where(  # type: ignore[attr-defined]
            *(getattr(resource.row, f) == v for f, v in merged.items())
        )
        if row is not None:
            query = query.where(resource.row.id != row.id)  # type: ignore[attr-defined]
        if session.scalar(query) is not None:
            shown = ", ".join(f"{f}={v!r}" for f, v in merged.items())
            raise Conflict(f"a {resource.label} with {shown} already exists")
    if resource.validate:
        resource.validate(session, values, row)


def create_record(
    session: Session,
    resource: Resource,
    values: dict[str, Any],
    *,
    actor: Principal,
    now: dt.datetime,
) -> Any:
    if resource.normalise:
        values = resource.normalise(values, None)
    _check(session, resource, values, None)
    if resource.timestamps:
        values = {**values, "created_at": now, "updated_at": now}
    row = resource.row(**values)
    session.add(row)
    _flush(session, resource)
    record = resource.to_record(row)
    write_audit(
        session,
        at=now,
        actor=actor.label,
        action="create",
        entity=resource.name,
        entity_id=row.id,  # type: ignore[attr-defined]
        after=to_plain(record),
    )
    return record


def update_record(
    session: Session,
    resource: Resource,
    record_id: int,
    changes: dict[str, Any],
    *,
    actor: Principal,
    now: dt.datetime,
) -> tuple[Any, Any]:
    """Apply changes; returns (before, after). No change writes no audit entry."""
    row = fetch_row(session, resource, record_id)
    if resource.normalise:
        changes = resource.normalise(changes, row)
    before = resource.to_record(row)
    _check(session, resource, changes, row)
    for name, value in changes.items():
        setattr(row, name, value)
    after = resource.to_record(row)
    if after != before:
        if resource.timestamps:
            row.updated_at = now
            after = resource.to_record(row)
        _flush(session, resource)
        write_audit(
            session,
            at=now,
            actor=actor.label,
            action="update",
            entity=resource.name,
            entity_id=record_id,
            before=to_plain(before),
            after=to_plain(after),
        )
    return before, after


def delete_record(
    session: Session, resource: Resource, record_id: int, *, actor: Principal, now: dt.datetime
) -> Any:
    row = fetch_row(session, resource, record_id)
    for table, column, what in resource.dependents:
        count = session.scalar(
            select(func.count()).select_from(table).where(getattr(table, column) == record_id)
        )
        if count:
            raise Conflict(
                f"cannot delete {resource.label} {record_id}: {count} {what} still refer to it"
            )
    before = resource.to_record(row)
    session.delete(row)
    _flush(session, resource)
    write_audit(
        session,
        at=now,
        actor=actor.label,
        action="delete",
        entity=resource.name,
        entity_id=record_id,
        before=to_plain(before),
    )
    return before


def _flush(session: Session, resource: Resource) -> None:
    try:
        session.flush()
    except IntegrityError as exc:
        # A race with another writer (the pre-checks above give the friendly message).
        raise Conflict(f"{resource.label} clashes with existing data: {exc.orig}") from None
    except DataError as exc:
        # The schemas keep values within the columns; this is the backstop.
        raise Invalid(f"{resource.label}: value not accepted by the database: {exc.orig}") from None
