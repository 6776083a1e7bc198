"""The location pipeline, wired: admission → tags → locators → resolver → store, events.

It consumes the ingest queue's batches. The hot path touches only memory; database
writes are gathered and flushed by a background task in one transaction per flush,
so a burst of sightings costs one upsert per moved or seen asset, not one per sighting.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import datetime as dt
import logging
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, Protocol, cast

import msgspec
from sqlalchemy.orm import Session

from floki_core.errors import NotSaved
from floki_core.events import DomainEvent
from floki_core.ingest import Batches
from floki_core.location import store
from floki_core.location.admission import Admission, AdmissionPolicy, SourceStats
from floki_core.location.batteries import TagBatteries
from floki_core.location.calibration import Calibrations
from floki_core.location.capture import RawCapture
from floki_core.location.evidence import Locator, ReceiverInfo, Sighting, ZoneEvidence
from floki_core.location.locators import (
    BUILTIN_METHODS,
    AssociationLocator,
    FixedPointLocator,
    GeofenceLocator,
    GeoZone,
    RssiLocator,
)
from floki_core.location.locators.geofence import GeoEvidence
from floki_core.location.locators.rssi import Reading
from floki_core.location.register_index import RegisterIndex, load_register_index
from floki_core.location.resolver import LateSighting, LocationChange, Resolver
from floki_core.location.unknown_tags import UnknownTags
from floki_core.observations import Observation
from floki_core.schemas import normalise_identifier
from floki_core.storage.loan_positions import write_raw_fixes

if TYPE_CHECKING:
    from pathlib import Path

    from floki_core.clock import Clock
    from floki_core.config import LocationConfig
    from floki_core.events import EventBus
    from floki_core.ingest import IngestQueue
    from floki_core.plugins.registry import NamedRegistry
    from floki_core.storage.store import Store

log = logging.getLogger(__name__)

# Loaned assets' raw fixes held for one write at most; more are dropped and counted (the
# zone-level location they gave is kept all the same).
MAX_RAW_FIXES_WAITING = 50_000

# Register changes that alter what the hot path must know.
_REINDEX_ENTITIES = frozenset({"identifiers", "receivers", "zones", "floors", "buildings", "sites"})


class LoanPrivacy(Protocol):
    """What the location service asks of loans: which loan, if any, keeps an asset's
    position out of the location tables (its raw fixes are kept apart, for that loan),
    and an answer as it may be shown (``Loans`` in the workflow)."""

    def hiding_loan(self, asset_id: int) -> int | None: ...

    def present(self, answer: dict[str, Any]) -> dict[str, Any]: ...


class _NothingOnLoan:
    def hiding_loan(self, asset_id: int) -> int | None:
        return None

    def present(self, answer: dict[str, Any]) -> dict[str, Any]:
        return answer


class LocationService:
    def __init__(
        self,
        *,
        settings: LocationConfig,
        store: Store,
        clock: Clock,
        events: EventBus,
        ingest: IngestQueue,
        plugin_locators: NamedRegistry[Any],
        capture_dir: Path,
        plugin_tag_keys: NamedRegistry[Any] | None = None,
    ) -> None:
        """``plugin_locators``: the locators plugins register (by technology), looked up
        before the built-in ones; ``capture_dir``: where sampled raw sightings go;
        ``plugin_tag_keys``: what else plugins say their technologies' tags are known by
        (an RFID EPC's GIAI). Loans are given later (:meth:`use_privacy`): the workflow
        is built on this service."""
        self.store = store
        self.clock = clock
        self.events = events
        self.ingest = ingest
        self.plugin_locators = plugin_locators
        self.plugin_tag_keys: Iterable[Any] = () if plugin_tag_keys is None else plugin_tag_keys
        self.privacy: LoanPrivacy = _NothingOnLoan()
        self.settings = settings
        self.admission = Admission(
            AdmissionPolicy(
                future_tolerance=dt.timedelta(seconds=settings.future_tolerance_seconds),
                max_age=dt.timedelta(hours=settings.max_age_hours),
                replay_window=dt.timedelta(seconds=settings.replay_window_seconds),
            )
        )
        self.index = RegisterIndex()
        self.resolver = Resolver(settings.resolver, self._zone_type)
        self.unknown = UnknownTags()
        self.capture = RawCapture(capture_dir, settings.capture_sample, settings.capture_days)
        self.batteries = TagBatteries(
            store=store, clock=clock, events=events, settings=settings.battery, index=self._index
        )
        self.calibrations = Calibrations(
            store=store,
            clock=clock,
            events=events,
            index=self._index,
            reindex=self.reindex,
            margin_db=settings.rssi.margin_db,
        )
        # Hysteresis resumes from where the resolver has each asset (after a restart).
        self.geofence = GeofenceLocator([], current_zone=self.resolver.zone_of)
        self._builtin: dict[str, Locator] = {
            "rssi": RssiLocator(settings.rssi),
            "fixed_point": FixedPointLocator(),
            "association": AssociationLocator(),
            "geofence": self.geofence,
        }
        self._dirty: set[int] = set()
        self._changes: list[LocationChange] = []
        # People's word on where things are, not yet written (a full disk): audit entries.
        self._records: list[Callable[[Session], None]] = []
        self._late: list[LateSighting] = []
        self._stopping = False
        self._flush_wanted = asyncio.Event()
        # One write at a time, so stays are closed and opened in the order they happened.
        self._writing = asyncio.Lock()
        self._reindex_wanted = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self.unknown_receivers: collections.Counter[str] = collections.Counter()
        self.unlocatable: collections.Counter[str] = collections.Counter()  # no locator
        self.applied = 0  # sightings that reached a locator
        self.transitions = 0
        self.late_stays = 0  # stays learned from late evidence, written to history
        # Loaned assets' fixes waiting for the next write (storage/loan_positions.py).
        self._raw_fixes: list[dict[str, Any]] = []
        self.raw_fixes_dropped = 0  # refused because too many waited for one write

    def use_privacy(self, privacy: LoanPrivacy) -> None:
        """Loans decide which positions are kept and shown (a patient's home is not)."""
        self.privacy = privacy

    def _index(self) -> RegisterIndex:
        return self.index

    # --- life cycle ----------------------------------------------------------

    async def start(self) -> None:
        self._stopping = False
        await self.reindex()
        await self.batteries.start()
        await self.calibrations.start()
        self.resolver.tracks = await self.store.read(store.load_tracks)
        self.ingest.add_handler(self.handle)
        # Inline (it is quick): a deleted asset's track and unwritten moves are gone
        # before the delete returns, so no write that follows puts them back.
        self.events.add_observer("core.location", self._on_events, inline=True)
        self._tasks = [
            asyncio.create_task(self._flush_forever(), name="location-writer"),
            asyncio.create_task(self._reindex_forever(), name="location-reindex"),
        ]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._stopping = True
        await self.flush()
        await self.batteries.stop()
        await self.calibrations.stop()

    async def reindex(self) -> None:
        index = await self.store.read(load_register_index)
        index.tag_keys = {
            str(r.extra.get("technology", r.name)): r.item for r in self.plugin_tag_keys
        }
        self.index = index
        self.geofence.update_zones(
            [
                GeoZone(id=z.id, polygon=[(p[0], p[1]) for p in z.geo_polygon])
                for z in self.index.zones.values()
                if z.geo_polygon
            ]
        )
        for technology, tag in list(self.index.tags):
            self.unknown.forget(technology, tag)

    def _zone_type(self, zone_id: int) -> str | None:
        zone = self.index.zones.get(zone_id)
        return zone.type if zone else None

    async def _on_events(self, events: Sequence[DomainEvent]) -> None:
        if any(e.entity in _REINDEX_ENTITIES or self._moves_a_giai(e) for e in events):
            self._reindex_wanted.set()
        for event in events:
            if event.type == "asset.deleted" and isinstance(event.entity_id, int):
                gone = event.entity_id
                self.resolver.forget(gone)
                self.geofence.forget(gone)
                self._dirty.discard(gone)
                self._late = [s for s in self._late if s.asset_id != gone]
                self._changes = [c for c in self._changes if c.asset_id != gone]
            elif event.type == "loan.returned":
                asset_id = event.data.get("asset_id")
                if isinstance(asset_id, int):
                    self._forget_position(asset_id)

    def _moves_a_giai(self, event: DomainEvent) -> bool:
        """Whether an asset event changes which asset a GIAI finds (the index holds each
        asset's own GIAI): an import, a deletion, or a record whose GIAI is not the one
        the index holds for it. A state change carries the same GIAI: no rebuild."""
        if event.type in ("register.imported", "asset.deleted"):
            return True
        if event.type not in ("asset.created", "asset.updated"):
            return False
        giai = event.data.get("giai")
        spelled = normalise_identifier("giai", giai) if isinstance(giai, str) and giai else None
        return self.index.giais.get(event.entity_id) != spelled  # type: ignore[arg-type]

    def _forget_position(self, asset_id: int) -> None:
        """A returned loan's last fixes may be a patient's home: the loan no longer hides
        them, so they go from memory too (the stored rows never had them); the asset's
        next fix gives it a position again. Its zone and evidence otherwise stay."""

        def bare(ev: ZoneEvidence) -> ZoneEvidence:
            if ev.lat is None and ev.lon is None:
                return ev
            return msgspec.structs.replace(ev, lat=None, lon=None)

        track = self.resolver.tracks.get(asset_id)
        if track is None:
            return
        if track.position is not None:
            track.position = bare(track.position)
        track.evidence = {key: bare(ev) for key, ev in track.evidence.items()}

    async def _reindex_forever(self) -> None:
        while True:
            await self._reindex_wanted.wait()
            self._reindex_wanted.clear()
            try:
                await self.reindex()
            except Exception:
                log.exception("rebuilding the register index failed")

    # --- hot path ------------------------------------------------------------

    def locator_for(self, technology: str) -> Locator | None:
        for registration in self.plugin_locators:
            if registration.extra.get("technology") == technology:
                return cast(Locator, registration.item)
        method = self.settings.methods.get(technology) or BUILTIN_METHODS.get(technology)
        return self._builtin.get(method) if method else None

    async def handle(self, items: Batches) -> None:
        """Apply waiting batches (each with its source) as one round."""
        now = self.clock.now()
        bound = _Round(self.locator_for)
        for source, batch in items:
            admitted = self.admission.admit(source, batch, now)
            self.capture.offer(source, admitted)
            self.batteries.observe(admitted)
            self.calibrations.observe(admitted)
            self._bind(self.admission.source(source), admitted, bound)
        await self._locate(bound)

    def _bind(self, stats: SourceStats, admitted: Sequence[Observation], bound: _Round) -> None:
        index = self.index
        tags = index.tags
        # A gateway's batch names one receiver (or a few) thousands of times.
        receivers: dict[tuple[str, str], ReceiverInfo | None] = {}
        # Each technology's list in the round, looked up once per batch.
        targets: dict[str, tuple[list[Reading] | None, list[Sighting] | None]] = {}
        hiding_loan = self.privacy.hiding_loan
        for obs in admitted:
            technology = obs.technology
            asset_id = tags.get((technology, obs.tag))
            if asset_id is None:
                asset_id = index.asset_for(technology, obs.tag)  # other spellings
                if asset_id is None:
                    stats.unknown_tags += 1
                    self.unknown.record(technology, obs.tag, obs.observed_at, obs.receiver)
                    continue
            if obs.lat is not None and obs.lon is not None:
                loan_id = hiding_loan(asset_id)
                if loan_id is not None:
                    self._keep_raw_fix(loan_id, asset_id, obs)
            receiver = None
            if obs.receiver is not None:
                key = (technology, obs.receiver)
                if key in receivers:
                    receiver = receivers[key]
                else:
                    receiver = receivers[key] = index.receiver(technology, obs.receiver)
                if receiver is None:
                    stats.rejected["unknown_receiver"] += 1
                    self.unknown_receivers[obs.receiver] += 1
                    continue
            if technology in targets:
                readings, sightings = targets[technology]
            else:
                readings = bound.readings_for(technology)
                sightings = None if readings is not None else bound.sightings_for(technology)
                targets[technology] = readings, sightings
            if readings is not None:
                if receiver is not None and obs.rssi is not None:
                    readings.append((asset_id, receiver, obs.rssi, obs.observed_at, technology))
                else:
                    bound.skipped += 1  # reached the locator, which has no use for it
                continue
            assert sightings is not None
            sightings.append(
                Sighting(
                    asset_id=asset_id,
                    technology=technology,
                    tag=obs.tag,
                    observed_at=obs.observed_at,
                    receiver=receiver,
                    rssi=obs.rssi,
                    lat=obs.lat,
                    lon=obs.lon,
                    accuracy_m=obs.accuracy_m,
                    extras=obs.extras,
                )
            )

    async def _locate(self, bound: _Round) -> None:
        evidence: list[ZoneEvidence] = []
        self.applied += bound.skipped
        for technology, readings in bound.readings.items():
            locator = bound.locators[technology]
            assert isinstance(locator, RssiLocator)
            self.applied += len(readings)
            evidence.extend(locator.locate_readings(readings))
        # Reports that place nothing (a GPS tracker with no fix; a device on the Wi-Fi
        # with no access point named): the asset was heard then, where it already is.
        heard: list[tuple[int, dt.datetime]] = []
        for technology, sightings in bound.sightings.items():
            found = bound.locator(technology)
            if found is None:
                self.unlocatable[technology] += len(sightings)
                continue
            self.applied += len(sightings)
            evidence.extend(found.locate(sightings))
            heard.extend(
                (s.asset_id, s.observed_at)
                for s in sightings
                if s.lat is None and s.receiver is None
            )
        changes, seen = self.resolver.apply(evidence)
        if heard:
            seen |= self.resolver.heard(heard)
        late = self.resolver.take_late()
        if late:
            self._late.extend(late)
            self._flush_wanted.set()
        was_clean = not self._dirty
        self._dirty |= seen
        if changes:
            # Announced by the writer once written (``_announce``), not here: an observer
            # reading the database on ``location.changed`` must find the move there.
            self._changes.extend(changes)
            self.transitions += len(changes)
        if changes or (seen and was_clean) or self.capture.enabled:
            self._flush_wanted.set()  # the writer also needs waking to time last_seen

    async def _announce(self, written: Sequence[DomainEvent]) -> None:
        """Publish the moves a write has just committed, in the order they happened.

        Called after the write lock is let go (an inline observer may write, or flush),
        with no wait between the commit and the publish, so writes' batches reach each
        observer in commit order. A move whose write fails stays waiting in
        ``_changes`` and is announced by the write that finally keeps it; if the
        appliance stops before that, it is neither written nor announced."""
        if written:
            await self.events.publish(written)

    def _event(self, change: LocationChange) -> DomainEvent:
        zone = self.index.zones.get(change.to_zone_id) if change.to_zone_id else None
        return DomainEvent(
            type="location.changed",
            at=change.at,
            entity="assets",
            entity_id=change.asset_id,
            data={
                "asset_id": change.asset_id,
                "from_zone_id": change.from_zone_id,
                "to_zone_id": change.to_zone_id,
                "zone": zone.name if zone else None,
                "method": change.method,
                "technology": change.technology,
                "confidence": round(change.confidence, 3),
                "first_fix": change.first_fix,
            },
        )

    # --- persistence ---------------------------------------------------------

    async def _flush_forever(self) -> None:
        # Moves are written within flush_seconds; assets merely seen again only update
        # last_seen, which is written every last_seen_write_seconds: at 40,000 sightings
        # a second that is the difference between one write per sighting and a few per asset.
        loop = asyncio.get_running_loop()
        last_full = loop.time()
        interval = self.settings.last_seen_write_seconds
        while True:
            if self._dirty and not self._changes:
                timeout = max(last_full + interval - loop.time(), 0.0)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._flush_wanted.wait(), timeout)
            else:
                await self._flush_wanted.wait()
            # Gather what arrives in the next moment into the same transaction.
            await asyncio.sleep(self.settings.flush_seconds)
            self._flush_wanted.clear()
            full = loop.time() - last_full >= interval
            try:
                wrote = await self.flush(full=full)
            except Exception as exc:
                if self.store.refused_write(exc, "writing locations") is None:
                    log.exception("writing locations failed; will retry with the next batch")
                self._flush_wanted.set()
            else:
                if full:
                    last_full = loop.time()
                if wrote:
                    await self.store.wrote()

    async def flush(self, full: bool = True) -> bool:
        """Write moves (and, when ``full``, every asset seen) since the last flush;
        returns whether there was anything to write."""
        written: list[DomainEvent] = []
        try:
            async with self._writing:
                moved = {c.asset_id for c in self._changes}
                wrote = False
                if self.capture.enabled:
                    # Taken here on the loop, where offer() adds: only the file is written
                    # on the worker thread.
                    lines = self.capture.take()
                    await self.store.run(self.capture.write_lines, lines, self.clock.now().date())
                if moved or (full and self._dirty) or self._records:
                    written = await self._write_current(moved, full)
                    wrote = True
                if self._late:  # after the moves, so the stays they are checked against exist
                    late, self._late = self._late, []
                    try:
                        self.late_stays += await self.store.write_batch(
                            store.write_late_stays, late
                        )
                    except Exception:
                        self._late = late + self._late
                        raise
                    wrote = True
                return wrote
        finally:
            await self._announce(written)  # kept even if the late stays then failed

    async def confirm(
        self, source: str, batch: Sequence[Observation], record: Callable[[Session], None]
    ) -> None:
        """A person's word on where something is ("it's here" on a phone page): applied at
        once, ahead of the queue, and written - its effect, every move waiting to be
        written and ``record(session)`` (its audit entry) in one durable transaction -
        before this returns. A page that then says "done" loses nothing to a crash."""
        async with self._writing:
            await self.ingest.apply_now(source, batch)
            self._records.append(record)
            try:
                written = await self._write_current({c.asset_id for c in self._changes}, False)
            except Exception as exc:
                reason = self.store.refused_write(exc, "a person's word on where")
                if reason is None:
                    raise
                self._flush_wanted.set()  # the location writer keeps trying
                # Taken in already (the map shows it); it waits with the moves and is
                # written, audit entry and all, by the first write that goes through.
                raise NotSaved(
                    f"{reason}. This is shown on the map now and is saved, with who said "
                    "so, as soon as there is space; if the appliance restarts before "
                    "then, it is lost"
                ) from None
        await self._announce(written)

    def _keep_raw_fix(self, loan_id: int, asset_id: int, obs: Observation) -> None:
        """A loaned asset's fix goes to the loan's raw positions (of ``loan_id``, the loan
        hiding it), apart from the location tables (which keep its zone only)."""
        if len(self._raw_fixes) >= MAX_RAW_FIXES_WAITING:
            self.raw_fixes_dropped += 1
            if self.raw_fixes_dropped % 1000 == 1:  # said at the first, then every 1000th
                log.warning(
                    "%d raw positions of loaned assets dropped so far: more than %d waited "
                    "for one write (the zones they gave are kept)",
                    self.raw_fixes_dropped,
                    MAX_RAW_FIXES_WAITING,
                )
            return
        self._raw_fixes.append(
            {
                "loan_id": loan_id,
                "asset_id": asset_id,
                "technology": obs.technology,
                "tag": obs.tag,
                "observed_at": obs.observed_at,
                "lat": obs.lat,
                "lon": obs.lon,
                "accuracy_m": obs.accuracy_m,
            }
        )

    async def _write_current(self, moved: set[int], full: bool) -> list[DomainEvent]:
        """Write ``moved`` assets whole (and, when ``full``, last_seen of every asset seen);
        with a person's word waiting (``confirm``), also its audit entries, durably: else
        as a batch, which the sightings that keep arriving would rebuild. Returns the
        moves written as events (kept for the hub in the same transaction, with
        ``[federation]`` on), for the caller to announce once it lets go of the write lock."""
        written = self._dirty if full else moved
        self._dirty = self._dirty - written
        changes, self._changes = self._changes, []
        records, self._records = self._records, []
        tracks = self.resolver.tracks
        # Moved assets get their whole row, evidence included (what a restart resumes
        # from); the rest only last_seen and confidence. ``stop`` writes everything whole.
        whole = written if self._stopping else moved & written
        rows = [
            self._stored(store.current_row(a, track))
            for a in whole
            if (track := tracks.get(a)) is not None and track.zone is not None
        ]
        seen = [
            store.seen_row(a, track)
            for a in written - whole
            if (track := tracks.get(a)) is not None and track.zone is not None
        ]
        changes = [c for c in changes if c.asset_id in tracks]
        raw, self._raw_fixes = self._raw_fixes, []
        if raw:
            stored_at = self.clock.now()
            for row in raw:
                row.setdefault("stored_at", stored_at)
        events = [self._event(c) for c in changes]
        # The moves go into the hub's outbox (with [federation] on) in the same transaction.
        keep = self.store.keep_for_hub
        try:
            if records:
                await self.store.write(
                    _with_records, records, rows, changes, seen, raw, events, keep
                )
            else:
                await self.store.write_batch(
                    _write_locations, rows, changes, seen, raw, events, keep
                )
        except Exception:
            self._dirty |= written
            self._changes = changes + self._changes
            self._records = records + self._records
            self._raw_fixes = raw + self._raw_fixes
            raise
        return events

    def _stored(self, row: dict[str, Any]) -> dict[str, Any]:
        # A loaned asset's GPS fix may be a patient's home: unless the trust chose precise
        # locations, only its zone is kept, in the database as in every answer.
        if self.privacy.hiding_loan(row["asset_id"]) is not None:
            row["lat"] = row["lon"] = None
            for ev in row["evidence"]:
                ev["lat"] = ev["lon"] = None
        return row

    # --- answers -------------------------------------------------------------

    def where_is(self, asset_id: int) -> dict[str, Any] | None:
        track = self.resolver.tracks.get(asset_id)
        if track is None or track.zone is None or track.last_seen is None:
            return None
        now = self.clock.now()
        age = (now - track.last_seen).total_seconds()
        zone_id = track.zone_id
        zone = self.index.zones.get(zone_id) if zone_id else None
        pos = track.position
        answer = {
            "asset_id": asset_id,
            "zone": {"id": zone.id, "name": zone.name, "type": zone.type} if zone else None,
            "off_site": zone_id is None,
            "status": track.status,  # in_zone, off_site or in_transit
            "path": self.index.path(zone_id) if zone_id else [],
            "x": pos.x if pos else None,
            "y": pos.y if pos else None,
            "lat": pos.lat if pos else None,
            "lon": pos.lon if pos else None,
            "confidence": round(track.confidence, 3),
            "method": track.method,
            "technology": track.technology,
            "since": track.since,
            "last_seen": track.last_seen,
            "age_seconds": round(age, 1),
            "stale": age > self.settings.resolver.stale_after_seconds,
            "evidence": [
                {
                    "method": ev.method,
                    "technology": ev.technology,
                    "zone_id": ev.zone_id,
                    "receiver": ev.receiver_name,
                    "signal": ev.signal,
                    "observed_at": ev.observed_at,
                    "age_seconds": round((now - ev.observed_at).total_seconds(), 1),
                    "weight": round(weight, 3),
                    # Younger than its method's half-life: fused technologies give way
                    # to another's lead once every claim for the zone is no longer fresh.
                    "fresh": self.resolver.fresh(ev, now),
                    # A GPS fix: its accuracy, motion and tracker protocol; else None.
                    "fix": ev.fix_detail() if isinstance(ev, GeoEvidence) else None,
                }
                for ev, weight in self.resolver.top_evidence(asset_id, now)
            ],
        }
        return self.privacy.present(answer)

    def summary(self, asset_id: int) -> dict[str, Any] | None:
        """The short form carried by asset lists."""
        full = self.where_is(asset_id)
        if full is None:
            return None
        keys = ("zone", "off_site", "status", "confidence", "method", "last_seen", "stale")
        short = {k: full[k] for k in keys}
        if "on_loan" in full:
            short["on_loan"], short["label"] = full["on_loan"], full["label"]
        return short


def _write_locations(
    session: Session,
    rows: Sequence[dict[str, Any]],
    changes: Sequence[LocationChange],
    seen: Sequence[dict[str, Any]],
    raw_fixes: Sequence[dict[str, Any]],
    events: Sequence[DomainEvent],
    keep_for_hub: Callable[[Session, Sequence[DomainEvent]], None],
) -> None:
    store.write_locations(session, rows, changes, seen)
    write_raw_fixes(session, raw_fixes)
    keep_for_hub(session, events)


def _with_records(
    session: Session,
    records: Sequence[Callable[[Session], None]],
    rows: Sequence[dict[str, Any]],
    changes: Sequence[LocationChange],
    seen: Sequence[dict[str, Any]],
    raw_fixes: Sequence[dict[str, Any]],
    events: Sequence[DomainEvent],
    keep_for_hub: Callable[[Session, Sequence[DomainEvent]], None],
) -> None:
    _write_locations(session, rows, changes, seen, raw_fixes, events, keep_for_hub)
    for record in records:
        record(session)


class _Round:
    """One round's bound sightings per technology, in the form its locator takes: plain
    readings for the built-in RSSI locator (the bulk of the traffic), ``Sighting``s
    for every other."""

    def __init__(self, locator_for: Callable[[str], Locator | None]) -> None:
        self._locator_for = locator_for
        self.locators: dict[str, Locator | None] = {}
        self.readings: dict[str, list[Reading]] = {}
        self.sightings: dict[str, list[Sighting]] = {}
        self.skipped = 0

    def locator(self, technology: str) -> Locator | None:
        if technology not in self.locators:
            self.locators[technology] = self._locator_for(technology)
        return self.locators[technology]

    def takes_readings(self, technology: str) -> bool:
        return isinstance(self.locator(technology), RssiLocator)

    def readings_for(self, technology: str) -> list[Reading] | None:
        """The technology's readings list, or None if its locator takes sightings."""
        readings = self.readings.get(technology)
        if readings is None and technology not in self.sightings:
            if self.takes_readings(technology):
                readings = self.readings[technology] = []
            else:
                self.sightings[technology] = []
        return readings

    def sightings_for(self, technology: str) -> list[Sighting]:
        return self.sightings[technology]  # readings_for made it
