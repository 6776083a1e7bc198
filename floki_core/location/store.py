"""Current locations and transition history: batched Core statements, plain results."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, cast

import msgspec
from sqlalchemy import ColumnElement, Table, and_, bindparam, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from floki_core.location.evidence import ZoneEvidence
from floki_core.location.locators.geofence import GeoEvidence, GeofenceLocator
from floki_core.location.resolver import OFF_SITE, LateSighting, LocationChange, Track
from floki_core.storage.models import (
    AssetClassRow,
    AssetLocationRow,
    AssetRow,
    TransitionRow,
)

_LOCATIONS = cast(Table, AssetLocationRow.__table__)
_TRANSITIONS = cast(Table, TransitionRow.__table__)


class Stay(msgspec.Struct, frozen=True, kw_only=True):
    """One stay of an asset in a zone (``zone_id`` None: off site)."""

    zone_id: int | None
    entered_at: dt.datetime
    left_at: dt.datetime | None
    method: str
    confidence: float
    reported_late: bool = False


def current_row(asset_id: int, track: Track) -> dict[str, Any]:
    pos = track.position
    return {
        "asset_id": asset_id,
        "zone_id": track.zone_id,
        "since": track.since,
        "last_seen": track.last_seen,
        "confidence": round(track.confidence, 4),
        "method": track.method,
        "technology": track.technology,
        "lat": pos.lat if pos else None,
        "lon": pos.lon if pos else None,
        "x": pos.x if pos else None,
        "y": pos.y if pos else None,
        "evidence": [msgspec.to_builtins(e) for e in track.evidence.values()],
    }


def seen_row(asset_id: int, track: Track) -> dict[str, Any]:
    """What changes while an asset stays put: when it was last seen, and how surely."""
    return {
        "b_asset_id": asset_id,
        "b_last_seen": track.last_seen,
        "b_confidence": round(track.confidence, 4),
    }


def write_locations(
    session: Session,
    rows: Sequence[dict[str, Any]],
    changes: Sequence[LocationChange],
    seen: Sequence[dict[str, Any]] = (),
) -> None:
    """Upsert current rows, refresh seen ones and close/open stays, each one executemany.

    ``seen`` rows (from :func:`seen_row`) only touch last_seen and confidence: rewriting
    every seen asset's evidence every few seconds cost more than the rest of the write.
    """
    if seen:
        session.execute(
            update(_LOCATIONS)
            .where(_LOCATIONS.c.asset_id == _bind("asset_id"))
            .values(last_seen=_bind("last_seen"), confidence=_bind("confidence")),
            list(seen),
        )
    if rows:
        dialect = session.get_bind().dialect.name
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        stmt = insert(_LOCATIONS)
        columns = [c.name for c in _LOCATIONS.columns if c.name != "asset_id"]
        stmt = stmt.on_conflict_do_update(
            index_elements=["asset_id"], set_={c: stmt.excluded[c] for c in columns}
        )
        session.execute(stmt, list(rows))
    if changes:
        # Several moves of one asset may share a flush: each new stay ends where the
        # asset's next move begins, and only the stay already stored is closed here.
        ordered = sorted(changes, key=lambda c: (c.asset_id, c.at))
        firsts, stays = [], []
        for i, change in enumerate(ordered):
            following = ordered[i + 1] if i + 1 < len(ordered) else None
            if i == 0 or ordered[i - 1].asset_id != change.asset_id:
                firsts.append({"b_asset_id": change.asset_id, "b_at": change.at})
            stays.append(
                {
                    "asset_id": change.asset_id,
                    "zone_id": change.to_zone_id,
                    "entered_at": change.at,
                    "left_at": following.at
                    if following is not None and following.asset_id == change.asset_id
                    else None,
                    "method": change.method,
                    "confidence": round(change.confidence, 4),
                }
            )
        session.execute(
            update(_TRANSITIONS)
            .where(
                and_(
                    _TRANSITIONS.c.asset_id == _bind("asset_id"),
                    _TRANSITIONS.c.left_at.is_(None),
                )
            )
            .values(left_at=_bind("at")),
            firsts,
        )
        session.execute(_TRANSITIONS.insert(), stays)


def write_late_stays(session: Session, sightings: Sequence[LateSighting]) -> int:
    """Put late sightings into history where they tell something new; returns stays added.

    Consecutive sightings of one asset in one zone become one stay from the first to the
    last. A stay is added only when history does not already have the asset in that zone
    at that time; the stays around it are left as they were (the asset is known to have
    been elsewhere before and after), and the new one is marked ``reported_late``.
    """
    runs: list[list[LateSighting]] = []
    for s in sorted(sightings, key=lambda s: (s.asset_id, s.at)):
        last = runs[-1][-1] if runs else None
        if last is not None and last.asset_id == s.asset_id and last.zone_id == s.zone_id:
            runs[-1].append(s)
        else:
            runs.append([s])
    assets = {r[0].asset_id for r in runs}
    if not assets:
        return 0
    present = set(session.scalars(select(AssetRow.id).where(AssetRow.id.in_(assets))))
    stays = []
    for run in runs:
        first, last = run[0], run[-1]
        if first.asset_id not in present:
            continue  # deleted meanwhile
        known = session.execute(
            select(TransitionRow.zone_id)
            .where(
                TransitionRow.asset_id == first.asset_id,
                TransitionRow.entered_at <= first.at,
                (TransitionRow.left_at.is_(None)) | (TransitionRow.left_at >= last.at),
            )
            .order_by(TransitionRow.entered_at.desc())
            .limit(1)
        ).first()
        if known is not None and known.zone_id == first.zone_id:
            continue
        stays.append(
            {
                "asset_id": first.asset_id,
                "zone_id": first.zone_id,
                "entered_at": first.at,
                "left_at": last.at,
                "method": first.method,
                "confidence": round(max(s.confidence for s in run), 4),
                "reported_late": True,
            }
        )
    if stays:
        session.execute(_TRANSITIONS.insert(), stays)
    return len(stays)


def _bind(name: str) -> Any:
    # "b_" keeps executemany parameter names apart from the table's column names.
    return bindparam(f"b_{name}")


def load_tracks(session: Session) -> dict[int, Track]:
    tracks: dict[int, Track] = {}
    for row in session.scalars(select(AssetLocationRow)):
        track = Track()
        track.zone = row.zone_id if row.zone_id is not None else OFF_SITE
        track.since, track.last_seen = row.since, row.last_seen
        track.confidence, track.method, track.technology = (
            row.confidence,
            row.method,
            row.technology,
        )
        for raw in row.evidence or []:
            # A GPS fix's accuracy and motion (in transit) survive a restart.
            kind = GeoEvidence if raw.get("method") == GeofenceLocator.method else ZoneEvidence
            ev = msgspec.convert(raw, kind)
            track.evidence[ev.method] = ev
        track.position = next(
            (e for e in track.evidence.values() if (e.zone_id or OFF_SITE) == track.zone), None
        )
        tracks[row.asset_id] = track
    return tracks


def history(session: Session, asset_id: int, *, limit: int, offset: int) -> tuple[list[Stay], int]:
    query = select(TransitionRow).where(TransitionRow.asset_id == asset_id)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(
        query.order_by(TransitionRow.entered_at.desc(), TransitionRow.id.desc())
        .limit(limit)
        .offset(offset)
    )
    stays = [
        Stay(
            zone_id=r.zone_id,
            entered_at=r.entered_at,
            left_at=r.left_at,
            method=r.method,
            confidence=r.confidence,
            reported_late=r.reported_late,
        )
        for r in rows
    ]
    return stays, total


def assets_in_zones(
    session: Session,
    zone_ids: Sequence[int],
    *,
    class_id: int | None,
    state: str | ColumnElement[bool] | None,
    limit: int,
    offset: int,
) -> tuple[list[dict[str, Any]], int]:
    query = (
        select(
            AssetRow.id,
            AssetRow.asset_number,
            AssetRow.description,
            AssetRow.state,
            AssetRow.class_id,
            AssetRow.next_ppm_due,
            AssetClassRow.name,
            AssetLocationRow.zone_id,
            AssetLocationRow.since,
            AssetLocationRow.last_seen,
            AssetLocationRow.confidence,
            AssetLocationRow.method,
        )
        .join(AssetLocationRow, AssetLocationRow.asset_id == AssetRow.id)
        .outerjoin(AssetClassRow, AssetClassRow.id == AssetRow.class_id)
        .where(AssetLocationRow.zone_id.in_(list(zone_ids)))
    )
    if class_id is not None:
        query = query.where(AssetRow.class_id == class_id)
    if isinstance(state, str):
        query = query.where(AssetRow.state == state)
    elif state is not None:  # a condition on the presented state (workflow.ppm)
        query = query.where(state)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.execute(query.order_by(AssetRow.asset_number).limit(limit).offset(offset))
    keys = (
        "id",
        "asset_number",
        "description",
        "state",
        "class_id",
        "next_ppm_due",
        "class_name",
        "zone_id",
        "since",
        "last_seen",
        "confidence",
        "method",
    )
    return [dict(zip(keys, row, strict=True)) for row in rows], total
