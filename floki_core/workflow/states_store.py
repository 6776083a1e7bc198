"""Equipment states in the database: one change = the asset's state, a history row and
an audit entry, written in the same transaction; location suggestions and their fate."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import msgspec
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from floki_core import domain
from floki_core.domain import AssetState, Principal, to_plain
from floki_core.errors import Conflict, NotFound
from floki_core.storage import resources
from floki_core.storage.audit import write_audit
from floki_core.storage.models import AssetRow, ZoneRow
from floki_core.storage.models_ppm import StateChangeRow, StateSuggestionRow
from floki_core.storage.register import ASSETS
from floki_core.workflow.states_table import check_transition, parse_state

SYSTEM_ACTOR = "system"


class StateChange(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    asset_id: int
    from_state: str | None
    to_state: str
    at: dt.datetime
    actor: str
    source: str
    reason: str = ""


class StateSuggestion(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    asset_id: int
    asset_number: str
    zone_id: int | None
    zone: str | None
    zone_type: str
    from_state: str
    to_state: str
    created_at: dt.datetime
    status: str  # open, confirmed, dismissed, superseded
    resolved_at: dt.datetime | None = None
    resolved_by: str | None = None


@dataclass(frozen=True)
class Applied:
    """A change made, with the asset record after it (for ``asset.updated``)."""

    change: StateChange
    asset: domain.Asset


def _label(actor: Principal | None) -> str:
    return actor.label if actor is not None else SYSTEM_ACTOR


def _change(row: StateChangeRow) -> StateChange:
    return StateChange(
        id=row.id,
        asset_id=row.asset_id,
        from_state=row.from_state,
        to_state=row.to_state,
        at=row.at,
        actor=row.actor,
        source=row.source,
        reason=row.reason,
    )


def apply_state_change(
    session: Session,
    asset_id: int,
    to_state: str,
    *,
    actor: Principal | None,
    source: str,
    reason: str,
    now: dt.datetime,
) -> Applied:
    """Check the move against the table and the actor's role, then record it."""
    # Locked on PostgreSQL, so two changes at once cannot both start from the same state.
    row = session.get(AssetRow, asset_id, with_for_update=True)
    if row is None:
        raise NotFound(f"asset {asset_id} not found")
    target = parse_state(to_state)
    current = AssetState(row.state)
    check_transition(current, target, actor, reason)
    before = ASSETS.to_record(row)
    row.state = target.value
    row.updated_at = now
    history = StateChangeRow(
        asset_id=asset_id,
        from_state=current.value,
        to_state=target.value,
        at=now,
        actor=_label(actor),
        source=source,
        reason=reason.strip(),
    )
    session.add(history)
    # A suggestion made for the old state no longer applies.
    session.execute(
        update(StateSuggestionRow)
        .where(StateSuggestionRow.asset_id == asset_id, StateSuggestionRow.status == "open")
        .values(status="superseded", resolved_at=now, resolved_by=_label(actor))
    )
    session.flush()
    after = ASSETS.to_record(row)
    write_audit(
        session,
        at=now,
        actor=_label(actor),
        action="update",
        entity="assets",
        entity_id=asset_id,
        before=to_plain(before),
        after=to_plain(after),
        detail=f"state {current.value} -> {target.value} ({source})"
        + (f": {reason.strip()}" if reason.strip() else ""),
    )
    return Applied(_change(history), after)


def edit_asset(
    session: Session,
    asset_id: int,
    changes: dict[str, Any],
    *,
    actor: Principal,
    now: dt.datetime,
) -> tuple[domain.Asset, Applied | None]:
    """A register edit that includes ``state``: the state goes through the table."""
    changes = dict(changes)
    state = str(changes.pop("state"))
    if changes:
        resources.update_record(session, ASSETS, asset_id, changes, actor=actor, now=now)
    row = resources.fetch_row(session, ASSETS, asset_id)
    if row.state == state:
        return ASSETS.to_record(row), None
    applied = apply_state_change(
        session, asset_id, state, actor=actor, source="api", reason="register edit", now=now
    )
    return applied.asset, applied


def history(
    session: Session, asset_id: int, *, limit: int, offset: int
) -> tuple[list[StateChange], int]:
    resources.fetch_row(session, ASSETS, asset_id)
    query = select(StateChangeRow).where(StateChangeRow.asset_id == asset_id)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(
        query.order_by(StateChangeRow.at.desc(), StateChangeRow.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return [_change(r) for r in rows], total


# --- suggestions ------------------------------------------------------------


def _suggestion_query() -> Any:
    return (
        select(StateSuggestionRow, AssetRow.asset_number, ZoneRow.name)
        .join(AssetRow, AssetRow.id == StateSuggestionRow.asset_id)
        .outerjoin(ZoneRow, ZoneRow.id == StateSuggestionRow.zone_id)
    )


def _suggestion(row: StateSuggestionRow, asset_number: str, zone: str | None) -> StateSuggestion:
    return StateSuggestion(
        id=row.id,
        asset_id=row.asset_id,
        asset_number=asset_number,
        zone_id=row.zone_id,
        zone=zone,
        zone_type=row.zone_type,
        from_state=row.from_state,
        to_state=row.to_state,
        created_at=row.created_at,
        status=row.status,
        resolved_at=row.resolved_at,
        resolved_by=row.resolved_by,
    )


def list_suggestions(
    session: Session, *, status: str | None, asset_id: int | None, limit: int, offset: int
) -> tuple[list[StateSuggestion], int]:
    query = _suggestion_query()
    if status is not None:
        query = query.where(StateSuggestionRow.status == status)
    if asset_id is not None:
        query = query.where(StateSuggestionRow.asset_id == asset_id)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.execute(
        query.order_by(StateSuggestionRow.created_at.desc(), StateSuggestionRow.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return [_suggestion(*r) for r in rows], total


def get_suggestion(session: Session, suggestion_id: int) -> StateSuggestion:
    found = session.execute(
        _suggestion_query().where(StateSuggestionRow.id == suggestion_id)
    ).first()
    if found is None:
        raise NotFound(f"state suggestion {suggestion_id} not found")
    return _suggestion(*found)


def _open_suggestion(session: Session, suggestion_id: int) -> StateSuggestionRow:
    row = session.get(StateSuggestionRow, suggestion_id)
    if row is None:
        raise NotFound(f"state suggestion {suggestion_id} not found")
    if row.status != "open":
        raise Conflict(f"state suggestion {suggestion_id} is already {row.status}")
    return row


def confirm_suggestion(
    session: Session, suggestion_id: int, *, actor: Principal, reason: str, now: dt.datetime
) -> Applied:
    row = _open_suggestion(session, suggestion_id)
    asset = session.get_one(AssetRow, row.asset_id)
    if asset.state != row.from_state:
        raise Conflict(
            f"the asset is now {asset.state}, not {row.from_state}: the suggestion no longer "
            "applies; dismiss it or change the state directly"
        )
    row.status, row.resolved_at, row.resolved_by = "confirmed", now, actor.label
    session.flush()
    why = f"confirmed location suggestion {row.id} ({row.zone_type})"
    return apply_state_change(
        session,
        row.asset_id,
        row.to_state,
        actor=actor,
        source="location",
        reason=f"{why}: {reason.strip()}" if reason.strip() else why,
        now=now,
    )


def dismiss_suggestion(
    session: Session, suggestion_id: int, *, actor: Principal, reason: str, now: dt.datetime
) -> StateSuggestion:
    row = _open_suggestion(session, suggestion_id)
    before = {"status": row.status}
    row.status, row.resolved_at, row.resolved_by = "dismissed", now, actor.label
    write_audit(
        session,
        at=now,
        actor=actor.label,
        action="dismiss",
        entity="state_suggestions",
        entity_id=row.id,
        before=before,
        after={"status": "dismissed", "asset_id": row.asset_id, "to_state": row.to_state},
        detail=reason.strip(),
    )
    session.flush()
    return get_suggestion(session, suggestion_id)


@dataclass(frozen=True)
class DueArrival:
    """An asset that has stayed in a zone with a location rule for the rule's dwell."""

    asset_id: int
    zone_id: int
    zone_type: str
    entered_at: dt.datetime
    from_states: frozenset[str]
    to_state: str
    mode: str  # suggest or set
    dwell_seconds: float


def act_on_arrivals(
    session: Session, arrivals: Sequence[DueArrival], now: dt.datetime
) -> tuple[list[Applied], list[StateSuggestion]]:
    """Apply "set" rules and record "suggest" rules, for a batch of arrivals."""
    ids = [a.asset_id for a in arrivals]
    states = {
        i: s
        for i, s in session.execute(select(AssetRow.id, AssetRow.state).where(AssetRow.id.in_(ids)))
    }
    applied: list[Applied] = []
    made: list[int] = []
    for arrival in arrivals:
        state = states.get(arrival.asset_id)
        if state is None or state not in arrival.from_states:
            continue
        zone = session.get(ZoneRow, arrival.zone_id)
        where = f"{zone.name if zone else 'zone ' + str(arrival.zone_id)} ({arrival.zone_type})"
        if arrival.mode == "set":
            minutes = round(arrival.dwell_seconds / 60, 1)
            applied.append(
                apply_state_change(
                    session,
                    arrival.asset_id,
                    arrival.to_state,
                    actor=None,
                    source="location",
                    reason=f"in {where} for {minutes:g} min",
                    now=now,
                )
            )
            states[arrival.asset_id] = arrival.to_state
            continue
        # One suggestion per stay: a dismissed one is not raised again after a restart.
        already = session.scalar(
            select(func.count())
            .select_from(StateSuggestionRow)
            .where(
                StateSuggestionRow.asset_id == arrival.asset_id,
                StateSuggestionRow.to_state == arrival.to_state,
                (StateSuggestionRow.status == "open")
                | (StateSuggestionRow.created_at >= arrival.entered_at),
            )
        )
        if already:
            continue
        row = StateSuggestionRow(
            asset_id=arrival.asset_id,
            zone_id=arrival.zone_id,
            zone_type=arrival.zone_type,
            from_state=state,
            to_state=arrival.to_state,
            created_at=now,
            status="open",
        )
        session.add(row)
        session.flush()
        write_audit(
            session,
            at=now,
            actor=SYSTEM_ACTOR,
            action="create",
            entity="state_suggestions",
            entity_id=row.id,
            after={"asset_id": row.asset_id, "from_state": state, "to_state": row.to_state},
            detail=f"suggested by a stay in {where}",
        )
        made.append(row.id)
    return applied, [get_suggestion(session, i) for i in made]
