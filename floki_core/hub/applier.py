"""Applying sites' events to the hub's tables, each exactly once in effect (docs/hub.md).

A batch is applied in one transaction: per site, the ``hub_sites`` row is locked and
each event is written (history, where the asset is now) unless it was applied before:

- above the site's ``applied_seq`` (the highest applied): new;
- at or below it: new only if its history row (site, seq, occurred_at) is not there. A
  site's events normally reach the stream in ``seq`` order, but not always: when the
  stream's leader changes during a round, a later message may be stored and an earlier
  one refused and sent again after it. Below the history's cut-off (``history_days``)
  an event is taken as applied: its row may have been swept.

Where an asset is now moves only forward: a move older (by ``seq``) than the one already
shown changes the history, not the current location. The consumer acknowledges the
messages only after this commits, so a crash in between delivers them again, and they
are skipped then.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import msgspec
from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from floki_core.config import SUBJECT_TOKEN
from floki_core.hub import history
from floki_core.storage.hub_tables import HubAssetRow, HubEventRow, HubSiteRow

PAYLOAD_FORMAT = 1
LOCATION_EVENT = "location.changed"
ASSET_EVENTS = ("asset.created", "asset.updated")
SITE_TOKEN = SUBJECT_TOKEN  # a site id is one subject token, as [federation] site_id checks


class SiteEvent(msgspec.Struct, kw_only=True):
    """A site's message as docs/federation.md describes it (format 1)."""

    format: int
    site: str
    seq: int
    type: str
    occurred_at: dt.datetime
    entity: str | None = None
    entity_id: int | None = None
    data: dict[str, Any] = msgspec.field(default_factory=dict)


class Refused(ValueError):
    """A message the hub cannot take: it is logged and not applied (never retried)."""


_decoder = msgspec.json.Decoder(SiteEvent)


def parse(subject: str, body: bytes, subject_prefix: str) -> SiteEvent:
    """The event in a message, checked against the subject it came on."""
    try:
        event = _decoder.decode(body)
    except msgspec.DecodeError as exc:
        raise Refused(f"not a site event: {exc}") from None
    if event.format != PAYLOAD_FORMAT:
        raise Refused(f"payload format {event.format} is not {PAYLOAD_FORMAT}")
    if event.occurred_at.tzinfo is None:
        raise Refused("occurred_at has no time zone")
    expected = f"{subject_prefix}.{event.site}.events.{event.type}"
    if not SITE_TOKEN.match(event.site) or subject != expected:
        # The stream's permissions keep a site to its own subjects; a body naming
        # another site would be one site writing into another's view.
        raise Refused(f"the body's site {event.site!r} does not match subject {subject!r}")
    if event.seq < 1:
        raise Refused(f"seq {event.seq} is not a site sequence number")
    return event


class Applied(msgspec.Struct, kw_only=True):
    applied: int = 0
    skipped: int = 0


def apply_batch(
    session: Session, events: Sequence[SiteEvent], now: dt.datetime, kept_since: dt.datetime
) -> Applied:
    """Apply ``events`` (in stream order) once each; see the module's docstring.
    ``kept_since``: the history's cut-off."""
    result = Applied()
    if history.partitioned(session):
        history.ensure_partitions(session, (e.occurred_at for e in events))
    sites: dict[str, HubSiteRow] = {}
    for name in sorted({e.site for e in events}):  # one lock order for every batch
        row = session.scalars(
            select(HubSiteRow).where(HubSiteRow.site == name).with_for_update()
        ).one_or_none()
        if row is None:
            # A first event from this site: a concurrent hub process inserting the same
            # row fails this transaction on the primary key, and the batch is retried.
            row = HubSiteRow(
                site=name,
                applied_seq=0,
                events_applied=0,
                duplicates_skipped=0,
                last_event_at=now,
                last_applied_at=now,
            )
            session.add(row)
        sites[name] = row
    for event in events:
        site = sites[event.site]
        if event.seq <= site.applied_seq and (
            event.occurred_at < kept_since or _in_history(session, event)
        ):
            site.duplicates_skipped += 1
            result.skipped += 1
            continue
        session.add(
            HubEventRow(
                site=event.site,
                seq=event.seq,
                type=event.type,
                occurred_at=event.occurred_at,
                received_at=now,
                entity=event.entity,
                entity_id=event.entity_id,
                data=event.data,
            )
        )
        _update_asset(session, event, now)
        if event.seq > site.applied_seq:
            site.applied_seq = event.seq
            site.last_event_at = event.occurred_at
        site.events_applied += 1
        site.last_applied_at = now
        result.applied += 1
    session.flush()
    return result


def _in_history(session: Session, event: SiteEvent) -> bool:
    key = (event.site, event.seq, event.occurred_at)
    return session.get(HubEventRow, key) is not None


def _update_asset(session: Session, event: SiteEvent, now: dt.datetime) -> None:
    data = event.data
    if event.type == LOCATION_EVENT and isinstance(data.get("asset_id"), int):
        values: dict[str, Any] = {
            "zone_id": data.get("to_zone_id"),
            "zone": data.get("zone"),
            "located_at": event.occurred_at,
            "location_seq": event.seq,
        }
        newer = HubAssetRow.location_seq.is_(None) | (HubAssetRow.location_seq < event.seq)
        asset_id = int(data["asset_id"])
    elif event.entity == "assets" and event.type in ASSET_EVENTS and event.entity_id:
        if not isinstance(data.get("asset_number"), str):
            return  # a state change's body: nothing the index keeps
        values = {"asset_number": data["asset_number"], "record_seq": event.seq}
        if isinstance(data.get("description"), str):
            values["description"] = data["description"]
        newer = HubAssetRow.record_seq.is_(None) | (HubAssetRow.record_seq < event.seq)
        asset_id = event.entity_id
    elif event.entity == "assets" and event.type == "asset.deleted" and event.entity_id:
        session.execute(
            delete(HubAssetRow).where(
                HubAssetRow.site == event.site, HubAssetRow.asset_id == event.entity_id
            )
        )
        return
    else:
        return
    session.flush()  # the ORM's pending history rows first, in order
    statement = pg_insert(HubAssetRow).values(
        site=event.site, asset_id=asset_id, updated_at=now, **values
    )
    session.execute(
        statement.on_conflict_do_update(
            index_elements=["site", "asset_id"], set_={**values, "updated_at": now}, where=newer
        )
    )


class HubAsset(msgspec.Struct, kw_only=True):
    """Where one site's asset is now, as the hub knows it."""

    site: str
    asset_id: int
    asset_number: str | None
    description: str | None
    zone_id: int | None
    zone: str | None
    located_at: dt.datetime | None


class HubSite(msgspec.Struct, kw_only=True):
    """One site as the hub sees it."""

    site: str
    applied_seq: int  # the site's highest sequence number applied
    events_applied: int
    duplicates_skipped: int  # delivered again and recognised
    last_event_at: dt.datetime  # when the newest applied event happened at the site
    last_applied_at: dt.datetime  # when the hub applied it
    lag_seconds: float  # how long that event took from the site to the hub's database
    history_events: int  # events kept in the history (within history_days)
    oldest_event_at: dt.datetime | None


def find_assets(session: Session, site: str | None, text: str | None, limit: int) -> list[HubAsset]:
    query = select(HubAssetRow)
    if site is not None:
        query = query.where(HubAssetRow.site == site)
    if text:
        pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = query.where(
            HubAssetRow.asset_number.ilike(pattern, escape="\\")
            | HubAssetRow.description.ilike(pattern, escape="\\")
        )
    query = query.order_by(HubAssetRow.site, HubAssetRow.asset_number, HubAssetRow.asset_id)
    return [
        HubAsset(
            site=row.site,
            asset_id=row.asset_id,
            asset_number=row.asset_number,
            description=row.description,
            zone_id=row.zone_id,
            zone=row.zone,
            located_at=row.located_at,
        )
        for row in session.scalars(query.limit(limit))
    ]


def known_site(session: Session, site: str) -> bool:
    return session.get(HubSiteRow, site) is not None


def list_sites(session: Session) -> list[HubSite]:
    history = {
        site: (count, oldest)
        for site, count, oldest in session.execute(
            select(HubEventRow.site, func.count(), func.min(HubEventRow.occurred_at)).group_by(
                HubEventRow.site
            )
        )
    }
    found = []
    for row in session.scalars(select(HubSiteRow).order_by(HubSiteRow.site)):
        count, oldest = history.get(row.site, (0, None))
        found.append(
            HubSite(
                site=row.site,
                applied_seq=row.applied_seq,
                events_applied=row.events_applied,
                duplicates_skipped=row.duplicates_skipped,
                last_event_at=row.last_event_at,
                last_applied_at=row.last_applied_at,
                lag_seconds=max((row.last_applied_at - row.last_event_at).total_seconds(), 0.0),
                history_events=int(count),
                oldest_event_at=oldest,
            )
        )
    return found
