"""RSSI calibration: a reference tag in a known room, and offsets proposed per receiver.

A CE engineer leaves a spare tag in a room for a minute. Every receiver that hears it
gives a median raw RSSI; the proposal makes the room's own receivers read a target level
and keeps other zones' receivers far enough below that the RSSI locator picks the room.
Sessions live in memory (a commissioning aid); what they change, receiver offsets, is
written through the register's audited update like any other edit.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import datetime as dt
import logging
import statistics
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from floki_core.domain import Principal, to_plain
from floki_core.errors import Conflict, Invalid, NotFound
from floki_core.events import DomainEvent
from floki_core.location.calibration_proposal import (
    CalibrationStart,
    CalibrationStatus,
    CalibrationView,
    OffsetProposal,
    Proposal,
    ReceiverSamples,
    propose,
    round_db,
)
from floki_core.location.evidence import ReceiverInfo
from floki_core.observations import Observation
from floki_core.schemas import normalise_identifier
from floki_core.storage import resources
from floki_core.storage.audit import write_audit
from floki_core.storage.models import ReceiverRow, ZoneRow
from floki_core.storage.register import RECEIVERS
from floki_core.storage.resources import event_name

if TYPE_CHECKING:
    from floki_core.clock import Clock
    from floki_core.events import EventBus
    from floki_core.location.register_index import RegisterIndex
    from floki_core.storage.store import Store

log = logging.getLogger(__name__)

KEEP_SESSIONS = 50
MAX_COLLECTING = 10
MAX_SAMPLES = 20_000  # per receiver and session: 600 s at 33 readings a second
_MAX_UNREGISTERED = 100
_MAX_SPELLINGS = 10_000
_TICK_SECONDS = 1.0


def _reference_zone(session: Session, zone_id: int, technology: str) -> tuple[str, int]:
    """The zone's name and how many receivers of ``technology`` it has."""
    zone = session.get(ZoneRow, zone_id)
    if zone is None:
        raise Invalid(f"zone_id: zone {zone_id} does not exist")
    count = session.scalar(
        select(func.count())
        .select_from(ReceiverRow)
        .where(ReceiverRow.zone_id == zone_id, ReceiverRow.technology == technology)
    )
    return zone.name, count or 0


class _Session:
    """One reference-tag session and the raw readings gathered for it."""

    def __init__(
        self,
        sid: int,
        start: CalibrationStart,
        tag: str,
        zone: str,
        asset_id: int | None,
        now: dt.datetime,
        actor: str,
    ) -> None:
        self.id = sid
        self.spec = start
        self.tag = tag
        self.zone = zone
        self.asset_id = asset_id
        self.started_at = now
        self.started_by = actor
        self.ends_at = now + dt.timedelta(seconds=start.seconds)
        self.status = CalibrationStatus.COLLECTING
        self.values: dict[int, list[float]] = {}
        self.counts: collections.Counter[int] = collections.Counter()
        self.receivers: dict[int, ReceiverInfo] = {}
        self.unregistered: collections.Counter[str] = collections.Counter()
        self.summary: list[ReceiverSamples] | None = None  # frozen at completion
        self.proposal: Proposal | None = None
        self.message = ""
        self.completed_at: dt.datetime | None = None
        self.cancelled_at: dt.datetime | None = None
        self.applied_at: dt.datetime | None = None
        self.applied_by: str | None = None
        self.applied: list[int] = []
        self.applying = False

    def add(self, receiver: ReceiverInfo | None, identifier: str, rssi: float) -> None:
        if receiver is None:
            if identifier in self.unregistered or len(self.unregistered) < _MAX_UNREGISTERED:
                self.unregistered[identifier] += 1
            return
        rid = receiver.id
        self.counts[rid] += 1
        self.receivers[rid] = receiver
        values = self.values.get(rid)
        if values is None:
            values = self.values[rid] = []
        if len(values) < MAX_SAMPLES:
            values.append(rssi)


class Calibrations:
    """Running and recent sessions; the hot path only looks while one is collecting."""

    def __init__(
        self,
        *,
        store: Store,
        clock: Clock,
        events: EventBus,
        index: Callable[[], RegisterIndex],
        reindex: Callable[[], Awaitable[None]],
        margin_db: float,
    ) -> None:
        """``index``: the register index in use now; ``reindex`` rebuilds it once applied
        offsets are saved; ``margin_db``: the RSSI locator's margin, which a proposal
        must beat."""
        self.store = store
        self.clock = clock
        self.events = events
        self._index = index
        self._reindex = reindex
        self._margin_db = margin_db
        self._sessions: dict[int, _Session] = {}  # oldest first
        self._collecting: dict[tuple[str, str], _Session] = {}
        self._technologies: frozenset[str] = frozenset()
        # Tag spellings as gateways send them -> the session collecting them (or None), so
        # normalising an identifier is paid once per spelling, not once per sighting.
        self._spellings: dict[tuple[str, str], _Session | None] = {}
        self._next_end: dt.datetime | None = None
        self._last_id = 0
        self._publishing: set[asyncio.Task[None]] = set()
        self._wake = asyncio.Event()
        self._timer: asyncio.Task[None] | None = None

    # --- life cycle ----------------------------------------------------------

    async def start(self) -> None:
        """Complete sessions on time even when the tag falls silent and nobody asks."""
        if self._timer is None:
            self._timer = asyncio.create_task(self._tick_forever(), name="calibration-timer")

    async def stop(self) -> None:
        tasks = [*self._publishing, *([self._timer] if self._timer else [])]
        self._timer = None
        for task in tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _tick_forever(self) -> None:
        while True:
            if not self._collecting:
                self._wake.clear()
                await self._wake.wait()
            await asyncio.sleep(_TICK_SECONDS)
            try:
                await self.poll()
            except Exception as exc:
                if self.store.refused_write(exc, "completing calibrations") is None:
                    log.exception("completing calibrations failed")

    # --- hot path ------------------------------------------------------------

    def observe(self, admitted: Sequence[Observation]) -> None:
        """Called on the hot path with every admitted batch; must stay cheap."""
        if not self._collecting:
            return
        now = self.clock.now()
        if self._next_end is not None and now >= self._next_end:
            self._publish_soon(self._finish_due(now))
            if not self._collecting:
                return
        technologies = self._technologies
        spellings = self._spellings
        index = self._index()
        for obs in admitted:
            if obs.technology not in technologies or obs.rssi is None or obs.receiver is None:
                continue
            key = (obs.technology, obs.tag)
            try:
                session = spellings[key]
            except KeyError:
                spelled = normalise_identifier(obs.technology, obs.tag)
                session = self._collecting.get((obs.technology, spelled))
                if len(spellings) >= _MAX_SPELLINGS:
                    spellings.clear()
                spellings[key] = session
            if session is not None:
                session.add(index.receiver(obs.technology, obs.receiver), obs.receiver, obs.rssi)

    # --- sessions ------------------------------------------------------------

    async def create(self, start: CalibrationStart, actor: Principal) -> CalibrationView:
        zone, receivers = await self.store.read(_reference_zone, start.zone_id, start.technology)
        if not receivers:
            raise Invalid(
                f"zone_id: {zone} has no {start.technology} receiver; the reference zone "
                "must have one"
            )
        await self.poll()
        tag = normalise_identifier(start.technology, start.tag)
        key = (start.technology, tag)
        running = self._collecting.get(key)
        now = self.clock.now()
        if running is not None:
            left = (running.ends_at - now).total_seconds()
            raise Conflict(
                f"calibration {running.id} is already collecting readings of {tag} "
                f"({left:.0f} s left): cancel it or wait for it to finish"
            )
        if len(self._collecting) >= MAX_COLLECTING:
            raise Conflict(f"{MAX_COLLECTING} calibrations are already collecting; wait for one")
        self._last_id += 1
        asset_id = self._index().asset_for(start.technology, tag)
        session = _Session(self._last_id, start, tag, zone, asset_id, now, actor.label)
        self._sessions[session.id] = session
        self._collecting[key] = session
        self._changed()
        excess = len(self._sessions) - KEEP_SESSIONS
        if excess > 0:
            finished = [
                s.id
                for s in self._sessions.values()
                if s.status is not CalibrationStatus.COLLECTING
            ]
            for old in finished[:excess]:
                del self._sessions[old]
        return self._view(session, now)

    async def view(self, sid: int) -> CalibrationView:
        await self.poll()
        return self._view(self._get(sid), self.clock.now())

    async def listing(self) -> list[CalibrationView]:
        """Recent sessions, newest first."""
        await self.poll()
        now = self.clock.now()
        return [self._view(s, now) for s in reversed(self._sessions.values())]

    async def cancel(self, sid: int) -> CalibrationView:
        await self.poll()
        session = self._get(sid)
        if session.status not in (CalibrationStatus.COLLECTING, CalibrationStatus.COMPLETE):
            raise Conflict(f"calibration {sid} is {session.status.value}; nothing to cancel")
        if session.applying:
            raise Conflict(f"calibration {sid} is being applied")
        now = self.clock.now()
        if session.status is CalibrationStatus.COLLECTING:
            del self._collecting[(session.spec.technology, session.tag)]
            self._changed()
            session.summary = self._summary(session)
        session.status = CalibrationStatus.CANCELLED
        session.cancelled_at = now
        session.message = "cancelled"
        return self._view(session, now)

    async def apply(
        self, sid: int, receiver_ids: Sequence[int] | None, actor: Principal
    ) -> CalibrationView:
        """Write the proposed offsets in one audited transaction; the index follows at once."""
        await self.poll()
        session = self._get(sid)
        now = self.clock.now()
        if session.status is CalibrationStatus.COLLECTING:
            left = (session.ends_at - now).total_seconds()
            raise Conflict(f"calibration {sid} is still collecting ({left:.0f} s left)")
        if session.status is not CalibrationStatus.COMPLETE:
            raise Conflict(f"calibration {sid} is {session.status.value}; nothing to apply")
        if session.applying:
            raise Conflict(f"calibration {sid} is being applied")
        if session.proposal is None:
            raise Conflict(f"calibration {sid} has no proposal: {session.message}")
        proposed = {
            o.receiver_id: o for o in session.proposal.offsets if o.proposed_offset is not None
        }
        if receiver_ids is not None:
            unknown = [rid for rid in receiver_ids if rid not in proposed]
            if unknown:
                shown = ", ".join(str(rid) for rid in unknown)
                raise Invalid(f"receivers: no proposed offset for receiver {shown} in {sid}")
            chosen = [proposed[rid] for rid in dict.fromkeys(receiver_ids)]
        else:
            chosen = list(proposed.values())
        chosen = [o for o in chosen if o.change_db]  # an unchanged offset is left alone
        session.applying = True
        try:
            _, events = await self.store.write_events(
                _write_offsets,
                session,
                chosen,
                actor,
                now,
                announce=lambda changed: [
                    DomainEvent(
                        type=event_name(RECEIVERS, "updated"),
                        at=now,
                        entity=RECEIVERS.name,
                        entity_id=rid,
                        data=record,
                    )
                    for rid, record in changed
                ],
            )
        finally:
            session.applying = False
        await self.events.publish(events)
        await self._reindex()  # new readings use the offsets from now on
        session.status = CalibrationStatus.APPLIED
        session.applied_at = now
        session.applied_by = actor.label
        session.applied = [o.receiver_id for o in chosen]
        count = len(chosen)
        session.message = f"applied: {count} offset{'s' if count != 1 else ''} changed"
        return self._view(session, now)

    async def poll(self) -> None:
        """Complete the sessions whose time is up and announce them."""
        events = self._finish_due(self.clock.now())
        if events:
            await self.events.publish(events)

    # --- internals -----------------------------------------------------------

    def _get(self, sid: int) -> _Session:
        session = self._sessions.get(sid)
        if session is None:
            raise NotFound(f"calibration {sid} not found (only the last {KEEP_SESSIONS} are kept)")
        return session

    def _changed(self) -> None:
        self._technologies = frozenset(t for t, _ in self._collecting)
        self._spellings = {}
        ends = [s.ends_at for s in self._collecting.values()]
        self._next_end = min(ends) if ends else None
        if self._collecting:
            self._wake.set()

    def _finish_due(self, now: dt.datetime) -> list[DomainEvent]:
        if self._next_end is None or now < self._next_end:
            return []
        due = [(k, s) for k, s in self._collecting.items() if now >= s.ends_at]
        events = []
        for key, session in due:
            del self._collecting[key]
            self._complete(session)
            events.append(self._completed_event(session))
        self._changed()
        return events

    def _complete(self, session: _Session) -> None:
        session.status = CalibrationStatus.COMPLETE
        session.completed_at = session.ends_at
        session.summary = self._summary(session)
        session.proposal, session.message = propose(
            session.zone,
            session.summary,
            target_dbm=session.spec.target_dbm,
            margin_db=self._margin_db,
            min_samples=session.spec.min_samples,
        )

    def _completed_event(self, session: _Session) -> DomainEvent:
        proposal = session.proposal
        return DomainEvent(
            type="calibration.completed",
            at=session.ends_at,
            entity="calibrations",
            entity_id=session.id,
            data={
                "calibration_id": session.id,
                "technology": session.spec.technology,
                "tag": session.tag,
                "zone_id": session.spec.zone_id,
                "zone": session.zone,
                "message": session.message,
                "receivers_heard": len(session.counts),
                "offsets_to_change": (
                    sum(1 for o in proposal.offsets if o.change_db) if proposal else 0
                ),
            },
        )

    def _publish_soon(self, events: list[DomainEvent]) -> None:
        if not events:
            return
        task = asyncio.get_running_loop().create_task(self.events.publish(events))
        self._publishing.add(task)
        task.add_done_callback(self._publishing.discard)

    def _summary(self, session: _Session) -> list[ReceiverSamples]:
        index = self._index()
        live = {r.id: r for r in index.receivers.values()}
        zones = index.zones
        out = []
        for rid, values in session.values.items():
            info = live.get(rid, session.receivers[rid])
            zone = zones.get(info.zone_id)
            out.append(
                ReceiverSamples(
                    receiver_id=rid,
                    name=info.name,
                    zone_id=info.zone_id,
                    zone=zone.name if zone else None,
                    in_reference_zone=info.zone_id == session.spec.zone_id,
                    count=session.counts[rid],
                    median_rssi=round_db(statistics.median(values)),
                    mean_rssi=round_db(statistics.fmean(values)),
                    min_rssi=round_db(min(values)),
                    max_rssi=round_db(max(values)),
                    spread_db=round_db(statistics.pstdev(values)),
                    current_offset=info.rssi_offset,
                )
            )
        out.sort(key=lambda r: (-r.median_rssi, r.name))
        return out

    def _view(self, session: _Session, now: dt.datetime) -> CalibrationView:
        collecting = session.status is CalibrationStatus.COLLECTING
        left = max((session.ends_at - now).total_seconds(), 0.0) if collecting else 0.0
        start = session.spec
        return CalibrationView(
            id=session.id,
            status=session.status,
            technology=start.technology,
            tag=session.tag,
            asset_id=session.asset_id,
            zone_id=start.zone_id,
            zone=session.zone,
            seconds=start.seconds,
            target_dbm=start.target_dbm,
            min_samples=start.min_samples,
            started_at=session.started_at,
            started_by=session.started_by,
            ends_at=session.ends_at,
            seconds_left=round_db(left),
            message=f"collecting: {left:.0f} s left" if collecting else session.message,
            receivers=self._summary(session) if session.summary is None else session.summary,
            unregistered_receivers=dict(session.unregistered),
            proposal=session.proposal,
            completed_at=session.completed_at,
            cancelled_at=session.cancelled_at,
            applied_at=session.applied_at,
            applied_by=session.applied_by,
            applied_receivers=list(session.applied),
        )


def _write_offsets(
    db: Session,
    session: _Session,
    chosen: Sequence[OffsetProposal],
    actor: Principal,
    now: dt.datetime,
) -> list[tuple[int, dict[str, Any]]]:
    """Every offset through the register's audited update, and the session in the audit."""
    changed = []
    for offset in chosen:
        row = db.get(ReceiverRow, offset.receiver_id)
        if row is not None and row.rssi_offset != offset.current_offset:
            # The proposal was worked out from the offset the receiver had then.
            raise Conflict(
                f"receiver {row.name}'s offset changed since calibration {session.id} completed "
                f"({offset.current_offset:+.1f} dB then, {row.rssi_offset:+.1f} dB now): "
                "run the calibration again"
            )
        before, after = resources.update_record(
            db,
            RECEIVERS,
            offset.receiver_id,
            {"rssi_offset": offset.proposed_offset},
            actor=actor,
            now=now,
        )
        if after != before:
            changed.append((offset.receiver_id, to_plain(after)))
    write_audit(
        db,
        at=now,
        actor=actor.label,
        action="apply",
        entity="calibrations",
        entity_id=session.id,
        after={
            "technology": session.spec.technology,
            "tag": session.tag,
            "zone_id": session.spec.zone_id,
            "offsets": {str(o.receiver_id): o.proposed_offset for o in chosen},
        },
        detail=f"RSSI calibration in {session.zone}",
    )
    return changed
