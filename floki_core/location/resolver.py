"""Fusion: evidence from every technology becomes one current location per asset.

Each method's latest evidence is kept per asset and weighed by its confidence decayed
with age (a half-life per method), so a fresh QR scan beats a stale BLE room and a
stream of fresh BLE readings later beats an old scan. A move needs the new zone to
lead by a margin, and (except for a person's scan at a fixed point) to keep leading
for the dwell time of its zone type, so noise on a doorway raises no storm of moves.
When every method still vouching for the zone an asset is in has gone stale (older
than its half-life: a BLE tag gone quiet while the asset's Wi-Fi still reports), the
leading claim of another method moves it at once: there is no live claim to flap with.
"""

from __future__ import annotations

import datetime as dt
import operator
from collections.abc import Callable, Iterable, Sequence
from typing import Annotated

import msgspec

from floki_core.location.evidence import ZoneEvidence

OFF_SITE = 0  # zone ids start at 1; 0 keys "outside every zone"

# Where a located asset is, in a word (``Track.status``).
IN_ZONE = "in_zone"
STATUS_OFF_SITE = "off_site"  # in none of the trust's zones
IN_TRANSIT = "in_transit"  # off site, and the evidence placing it there says it is moving


class ResolverSettings(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    half_life_seconds: dict[str, Annotated[float, msgspec.Meta(gt=0)]] = msgspec.field(
        default_factory=lambda: {
            "fixed_point": 1800.0,
            "rssi": 60.0,
            "association": 300.0,
            "geofence": 300.0,
        }
    )
    default_half_life_seconds: Annotated[float, msgspec.Meta(gt=0)] = 300.0
    switch_margin: Annotated[float, msgspec.Meta(ge=0, le=1)] = 0.05
    # Zone type -> seconds a new zone must keep leading; "default" for the rest.
    dwell_seconds: dict[str, Annotated[float, msgspec.Meta(ge=0)]] = msgspec.field(
        default_factory=lambda: {"default": 5.0, "corridor": 30.0}
    )
    stale_after_seconds: Annotated[float, msgspec.Meta(gt=0)] = 900.0
    late_tolerance_seconds: Annotated[float, msgspec.Meta(ge=0)] = 5.0
    # Late evidence of these methods still says where the asset was at that moment, so
    # it goes into history. RSSI is left out: a backlog from one gateway, judged without
    # what the other receivers heard at the time, names the wrong room too often.
    late_history_methods: frozenset[str] = frozenset({"fixed_point", "geofence"})
    # Claims that are events, not readings: a scan at a place, a device joining an access
    # point (a roam is one syslog line, and nothing follows until it roams again or
    # leaves). Waiting out the dwell for a second record would leave the asset behind.
    immediate_methods: frozenset[str] = frozenset({"fixed_point", "association"})

    def half_life(self, method: str) -> float:
        return self.half_life_seconds.get(method, self.default_half_life_seconds)

    def dwell(self, zone_type: str | None) -> float:
        table = self.dwell_seconds
        return table.get(zone_type or "default", table.get("default", 0.0))


class LocationChange(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    asset_id: int
    from_zone_id: int | None
    to_zone_id: int | None
    at: dt.datetime
    method: str
    technology: str
    confidence: float
    first_fix: bool = False


class LateSighting(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """Evidence that arrived after newer locations were known: history, not "current"."""

    asset_id: int
    zone_id: int | None
    at: dt.datetime
    method: str
    confidence: float


class Track:
    """What the resolver knows of one asset."""

    __slots__ = (
        "candidate",
        "candidate_since",
        "confidence",
        "evidence",
        "last_seen",
        "method",
        "position",
        "since",
        "technology",
        "zone",
    )

    def __init__(self) -> None:
        self.zone: int | None = None  # OFF_SITE or a zone id; None: never located
        self.since: dt.datetime | None = None
        self.last_seen: dt.datetime | None = None
        self.confidence = 0.0
        self.method = ""
        self.technology = ""
        self.position: ZoneEvidence | None = None  # the evidence giving x/y or lat/lon
        self.evidence: dict[str, ZoneEvidence] = {}
        self.candidate: int | None = None
        self.candidate_since: dt.datetime | None = None

    @property
    def zone_id(self) -> int | None:
        return None if self.zone in (None, OFF_SITE) else self.zone

    @property
    def status(self) -> str | None:
        """IN_ZONE, STATUS_OFF_SITE or IN_TRANSIT; None if never located.

        In transit is off site with the evidence that keeps it there saying the asset
        moves: a GPS fix's "moving" (``GeoEvidence``); evidence of other kinds has no
        such field and says off site."""
        if self.zone is None:
            return None
        if self.zone != OFF_SITE:
            return IN_ZONE
        moving = getattr(self.position, "moving", False) is True
        return IN_TRANSIT if moving else STATUS_OFF_SITE

    def weighted(self, now: dt.datetime, settings: ResolverSettings) -> dict[int, float]:
        scores: dict[int, float] = {}
        for ev in self.evidence.values():
            age = max((now - ev.observed_at).total_seconds(), 0.0)
            weight = ev.confidence * 0.5 ** (age / settings.half_life(ev.method))
            key = OFF_SITE if ev.zone_id is None else ev.zone_id
            if weight > scores.get(key, 0.0):
                scores[key] = weight
        return scores


class Resolver:
    def __init__(self, settings: ResolverSettings, zone_type: Callable[[int], str | None]) -> None:
        self.settings = settings
        self.zone_type = zone_type
        self.tracks: dict[int, Track] = {}
        self.late = 0  # evidence older than what is already known, kept out of "current"
        self.late_sightings: list[LateSighting] = []  # ... of which these go into history

    def forget(self, asset_id: int) -> None:
        self.tracks.pop(asset_id, None)
        self.late_sightings = [s for s in self.late_sightings if s.asset_id != asset_id]

    def zone_of(self, asset_id: int) -> int | None:
        """An asset's zone id, OFF_SITE, or None if it was never located."""
        track = self.tracks.get(asset_id)
        return None if track is None else track.zone

    def take_late(self) -> list[LateSighting]:
        taken, self.late_sightings = self.late_sightings, []
        return taken

    def apply(self, evidence: Iterable[ZoneEvidence]) -> tuple[list[LocationChange], set[int]]:
        """Fold evidence in (any order); returns the moves and the assets seen."""
        changes: list[LocationChange] = []
        seen: set[int] = set()
        late_limit = dt.timedelta(seconds=self.settings.late_tolerance_seconds)
        tracks = self.tracks
        for ev in sorted(evidence, key=_observed_at):
            track = tracks.get(ev.asset_id)
            if track is None:
                track = tracks[ev.asset_id] = Track()
            last_seen = track.last_seen
            # Compared first without the tolerance (no datetime made): evidence newer
            # than the last seen, the common case, is never late.
            if (
                last_seen is not None
                and ev.observed_at < last_seen
                and ev.observed_at < last_seen - late_limit
            ):
                self.late += 1
                if ev.method in self.settings.late_history_methods:
                    self.late_sightings.append(
                        LateSighting(
                            asset_id=ev.asset_id,
                            zone_id=ev.zone_id,
                            at=ev.observed_at,
                            method=ev.method,
                            confidence=ev.confidence,
                        )
                    )
                continue
            kept = track.evidence
            held = kept.get(ev.method)
            if held is not None and held.observed_at > ev.observed_at:
                continue
            kept[ev.method] = ev
            if last_seen is None or ev.observed_at > last_seen:
                track.last_seen = ev.observed_at
            seen.add(ev.asset_id)
            if (
                len(kept) == 1
                and ev.confidence > 0
                and track.zone is not None
                and track.zone == (OFF_SITE if ev.zone_id is None else ev.zone_id)
            ):
                # What _decide does here, without the call (the common case: one locator
                # sees the asset, and it says the zone it is in): it stays, this sure.
                track.candidate = track.candidate_since = None
                track.confidence = ev.confidence
                track.position = ev
                continue
            change = self._decide(track, ev)
            if change is not None:
                changes.append(change)
        return changes, seen

    def heard(self, sightings: Iterable[tuple[int, dt.datetime]]) -> set[int]:
        """Assets heard at these times without anything placing them (a GPS tracker
        reporting with no fix, indoors): already located, each stays where it is and is
        last seen then. Returns the assets whose last_seen moved on."""
        seen: set[int] = set()
        for asset_id, at in sightings:
            track = self.tracks.get(asset_id)
            if track is None or track.zone is None:
                continue  # nothing says where it is: being heard places nothing
            if track.last_seen is None or at > track.last_seen:
                track.last_seen = at
                seen.add(asset_id)
        return seen

    def _decide(self, track: Track, ev: ZoneEvidence) -> LocationChange | None:
        # apply() settles one case inline, without calling this: one locator's evidence
        # for the zone the asset is already in. A change here must keep that in step.
        now = ev.observed_at
        ev_key = OFF_SITE if ev.zone_id is None else ev.zone_id
        scores: dict[int, float] | None = None
        if len(track.evidence) == 1 and ev.confidence > 0:
            # Only this evidence (one locator sees the asset): at its own time its weight
            # is its confidence, so the scores need no decay worked out (nor a dict).
            best, score = ev_key, ev.confidence
        else:
            scores = track.weighted(now, self.settings)
            best = max(scores, key=scores.__getitem__)
            score = scores[best]
        if track.zone is None:
            return self._move(track, ev, best, score, first=True)
        if best == track.zone:
            track.candidate = track.candidate_since = None
            track.confidence = score
            if ev_key == best:
                track.position = ev
            return None
        # With the one evidence, the held zone (not the best) scores nothing.
        held = 0.0 if scores is None else scores.get(track.zone, 0.0)
        if score < held + self.settings.switch_margin:
            track.candidate = track.candidate_since = None
            return None
        if ev.method in self.settings.immediate_methods and ev_key == best:
            return self._move(track, ev, best, score)
        if scores is not None and self._held_only_by_stale(track, now):
            # Dwell keeps live claims from flapping; a zone nothing fresh vouches for any
            # more (a BLE tag gone quiet) is not one, so the other technology places the
            # asset at once, without waiting for a second record it may never send.
            return self._move(track, ev, best, score)
        if track.candidate != best:
            track.candidate, track.candidate_since = best, now
        assert track.candidate_since is not None
        waited = (now - track.candidate_since).total_seconds()
        if waited >= self.settings.dwell(self.zone_type(best) if best != OFF_SITE else None):
            return self._move(track, ev, best, score)
        return None

    def fresh(self, ev: ZoneEvidence, now: dt.datetime) -> bool:
        """Whether ``ev`` is younger than its method's half-life (weighs more than half
        its confidence): what "fresh" means when technologies are fused."""
        return (now - ev.observed_at).total_seconds() <= self.settings.half_life(ev.method)

    def _held_only_by_stale(self, track: Track, now: dt.datetime) -> bool:
        """Whether the zone ``track`` is in still has evidence of some method for it and
        all of that evidence is stale. A method whose newest claim is elsewhere no longer
        counts for it, so one technology alone is never cut short of its dwell."""
        held = track.zone
        stale = False
        for ev in track.evidence.values():
            if (OFF_SITE if ev.zone_id is None else ev.zone_id) != held:
                continue
            if self.fresh(ev, now):
                return False
            stale = True
        return stale

    def _move(
        self, track: Track, ev: ZoneEvidence, zone: int, score: float, first: bool = False
    ) -> LocationChange:
        # The evidence that carried the decision names the method; if the triggering
        # evidence points elsewhere, the strongest supporter of the new zone does.
        support = ev
        if (ev.zone_id or OFF_SITE) != zone:
            support = max(
                (e for e in track.evidence.values() if (e.zone_id or OFF_SITE) == zone),
                key=lambda e: e.confidence,
            )
        change = LocationChange(
            asset_id=ev.asset_id,
            from_zone_id=track.zone_id,
            to_zone_id=None if zone == OFF_SITE else zone,
            at=ev.observed_at,
            method=support.method,
            technology=support.technology,
            confidence=score,
            first_fix=first,
        )
        track.zone = zone
        track.since = ev.observed_at
        track.confidence = score
        track.method, track.technology = support.method, support.technology
        track.position = support
        track.candidate = track.candidate_since = None
        return change

    def top_evidence(
        self, asset_id: int, now: dt.datetime, limit: int = 3
    ) -> Sequence[tuple[ZoneEvidence, float]]:
        """The evidence behind an answer, strongest first, with its weight now."""
        track = self.tracks.get(asset_id)
        if track is None:
            return []
        weighed = [
            (
                ev,
                ev.confidence
                * 0.5
                ** (
                    max((now - ev.observed_at).total_seconds(), 0.0)
                    / self.settings.half_life(ev.method)
                ),
            )
            for ev in track.evidence.values()
        ]
        return sorted(weighed, key=lambda pair: -pair[1])[:limit]


_observed_at = operator.attrgetter("observed_at")  # a sort key in C
