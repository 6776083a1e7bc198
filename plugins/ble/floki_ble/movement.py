"""Where simulated tags are and what gateways hear of them: one model for the BLE
simulator and the benchmark's traffic generator.

Pure and seeded: no I/O and no clock. Time is passed in as seconds and randomness comes
from the caller's ``numpy.random.Generator``, so the same seed and the same calls give
the same traffic.

A site is *places* (a zone's floor area, or a walkway between zones) joined by *links*
(doors, lifts, the path between buildings), with gateways hanging in places. A tag dwells
in a place for a time drawn from its place's dwell, then its routine picks a destination
and it walks there one linked place at a time, in straight lines at walking pace. Each
advert is offered to the gateways nearest the tag's place on its floor and arrives with
an RSSI from a log-distance path-loss model, less a loss per wall (a place boundary
between tag and gateway) and plus Gaussian noise, or is lost.

Arrays are indexed by tag, place or gateway number; lengths are metres.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from numpy.typing import NDArray

Floats = NDArray[np.float64]
Ints = NDArray[np.int64]
Bools = NDArray[np.bool_]
Rect = tuple[float, float, float, float]  # x0, y0, x1, y1: a half-open box [x0, x1) x [y0, y1)

_MARGIN = 0.15  # tags rest this fraction of a place's size away from its walls
_UNREACHABLE_WALLS = 10  # walls counted between places with no path on the floor
_SAMPLING_ROUNDS = 32


@dataclass(frozen=True)
class Place:
    name: str
    floor: int  # adverts are never heard across floors
    rect: Rect
    holes: tuple[Rect, ...] = ()  # rooms inside the rect that are places of their own
    kind: str = "room"  # the zone type, or "walkway"
    zone: int | None = None  # the zone a tag here is in; None for walkways


@dataclass(frozen=True)
class Gateway:
    identifier: str
    x: float
    y: float
    place: int  # the place it hangs in; its floor is that place's


@dataclass(frozen=True)
class Link:
    a: int
    b: int
    seconds: float | None = None  # a fixed journey (lift, between buildings); None: walked


@dataclass(frozen=True)
class Radio:
    tx_power_1m: float = -59.0  # dBm a gateway hears at one metre
    path_loss_exponent: float = 2.2
    wall_loss_db: float = 6.0
    noise_db: float = 4.0
    sensitivity_dbm: float = -100.0
    ceiling_m: float = 2.5  # gateways hang this far above the tags
    hearers: int = 5  # the nearest gateways an advert is offered to
    link_loss: float = 0.2  # chance one gateway misses one advert


@dataclass(frozen=True)
class Routine:
    """How long tags stay in each place and where they go from it.

    A stay lasts ``min_dwell_s`` plus an exponential with mean ``mean - min``; the next
    destination is drawn from the place's ``(place, weight)`` pairs. A place with no
    destinations keeps its tags.
    """

    min_dwell_s: tuple[float, ...]
    mean_dwell_s: tuple[float, ...]
    destinations: tuple[tuple[tuple[int, float], ...], ...]
    walk_m_per_s: float = 1.0


class Heard(NamedTuple):
    """One advert round: every tag's place, and the sightings that got through."""

    places: Ints  # per tag
    tags: Ints  # per sighting, tag-major in the gateways' nearest-first order
    gateways: Ints
    rssi: Ints  # whole dBm


class Site:
    """Places, links and gateways, with what the movement and radio need precomputed."""

    def __init__(
        self,
        places: Sequence[Place],
        gateways: Sequence[Gateway],
        links: Sequence[Link],
        radio: Radio | None = None,
    ) -> None:
        if not places:
            raise ValueError("a site needs at least one place")
        self.places = list(places)
        self.gateways = list(gateways)
        self.radio = radio or Radio()
        rects = np.array([p.rect for p in places], dtype=np.float64)
        self.x0, self.y0, self.x1, self.y1 = rects.T.copy()
        self.floor = np.array([p.floor for p in places], dtype=np.int64)
        self.centre_x = (self.x0 + self.x1) / 2
        self.centre_y = (self.y0 + self.y1) / 2
        # Holes padded with empty boxes, so "inside a hole" is one vectorised test.
        most = max((len(p.holes) for p in places), default=0)
        holes = np.tile(np.array([np.inf, np.inf, -np.inf, -np.inf]), (len(places), most, 1))
        for i, p in enumerate(places):
            if p.holes:
                holes[i, : len(p.holes)] = p.holes
        self.holes = holes
        self.anchor = [self._anchor(i) for i in range(len(places))]

        self.neighbours: list[list[int]] = [[] for _ in places]
        self.link_seconds: dict[tuple[int, int], float] = {}
        for link in links:
            for a, b in ((link.a, link.b), (link.b, link.a)):
                if b not in self.neighbours[a]:
                    self.neighbours[a].append(b)
                if link.seconds is not None:
                    self.link_seconds[(a, b)] = link.seconds
        self._costs: dict[int, tuple[dict[int, float], dict[int, int]]] = {}

        self.gateway_x = np.array([g.x for g in gateways], dtype=np.float64)
        self.gateway_y = np.array([g.y for g in gateways], dtype=np.float64)
        self.gateway_place = np.array([g.place for g in gateways], dtype=np.int64)
        self._hearers()

    # --- geometry ------------------------------------------------------------------

    def contains(self, places: Ints, x: Floats, y: Floats) -> Bools:
        """Whether each point lies in its place's area (its rect, less the holes)."""
        inside = (self.x0[places] <= x) & (x < self.x1[places])
        inside &= (self.y0[places] <= y) & (y < self.y1[places])
        if self.holes.shape[1]:
            h = self.holes[places]
            xs, ys = x[:, None], y[:, None]
            in_hole = (h[..., 0] <= xs) & (xs < h[..., 2]) & (h[..., 1] <= ys) & (ys < h[..., 3])
            inside &= ~in_hole.any(axis=1)
        found: Bools = inside
        return found

    def _anchor(self, place: int) -> tuple[float, float]:
        """A point surely in the place's area, for when random draws keep hitting holes."""
        x0, y0, x1, y1 = self.x0[place], self.y0[place], self.x1[place], self.y1[place]
        steps = (np.arange(20) + 0.5) / 20
        xs = np.repeat(x0 + steps * (x1 - x0), 20)
        ys = np.tile(y0 + steps * (y1 - y0), 20)
        ok = self.contains(np.full(xs.size, place), xs, ys)
        if not ok.any():
            return float(self.centre_x[place]), float(self.centre_y[place])
        d2 = (xs - self.centre_x[place]) ** 2 + (ys - self.centre_y[place]) ** 2
        best = int(np.argmin(np.where(ok, d2, np.inf)))
        return float(xs[best]), float(ys[best])

    def point_in(self, places: Ints, rng: np.random.Generator) -> tuple[Floats, Floats]:
        """A random resting point in each place, away from its walls."""
        u = rng.uniform(_MARGIN, 1 - _MARGIN, (2, len(places)))
        x = self.x0[places] + u[0] * (self.x1[places] - self.x0[places])
        y = self.y0[places] + u[1] * (self.y1[places] - self.y0[places])
        if self.holes.shape[1]:
            bad = np.flatnonzero(~self.contains(places, x, y))
            for _ in range(_SAMPLING_ROUNDS):
                if not bad.size:
                    break
                p = places[bad]
                u = rng.uniform(_MARGIN, 1 - _MARGIN, (2, bad.size))
                x[bad] = self.x0[p] + u[0] * (self.x1[p] - self.x0[p])
                y[bad] = self.y0[p] + u[1] * (self.y1[p] - self.y0[p])
                bad = bad[~self.contains(p, x[bad], y[bad])]
            for i in bad.tolist():
                x[i], y[i] = self.anchor[int(places[i])]
        return x, y

    # --- paths ---------------------------------------------------------------------

    def _edge_cost(self, a: int, b: int) -> float:
        fixed = self.link_seconds.get((a, b))
        if fixed is not None:
            return fixed  # seconds, costed as metres at walking pace
        return math.hypot(
            float(self.centre_x[a] - self.centre_x[b]), float(self.centre_y[a] - self.centre_y[b])
        )

    def costs_from(self, source: int) -> dict[int, float]:
        """Journey cost (metres) from ``source`` to every place it can reach."""
        return self._search(source)[0]

    def _search(self, source: int) -> tuple[dict[int, float], dict[int, int]]:
        found = self._costs.get(source)
        if found is None:
            cost: dict[int, float] = {source: 0.0}
            previous: dict[int, int] = {}
            queue = [(0.0, source)]
            while queue:
                c, here = heapq.heappop(queue)
                if c > cost[here]:
                    continue
                for there in self.neighbours[here]:
                    step = c + self._edge_cost(here, there)
                    if step < cost.get(there, math.inf):
                        cost[there] = step
                        previous[there] = here
                        heapq.heappush(queue, (step, there))
            found = self._costs[source] = (cost, previous)
        return found

    def path(self, source: int, target: int) -> list[int]:
        """The places walked into from ``source`` to ``target``, ``target`` last; empty
        when there is no way there."""
        if target == source:
            return []
        if target in self.neighbours[source]:
            return [target]
        # Searched from the target, so one search serves every tag heading there.
        _, previous = self._search(target)
        if source not in previous:
            return []
        route = []
        here = source
        while here != target:
            here = previous[here]
            route.append(here)
        return route

    # --- radio ---------------------------------------------------------------------

    def _hearers(self) -> None:
        """Per place, the nearest gateways on its floor and the walls to each."""
        count = self.radio.hearers
        n = len(self.places)
        self.hearers = np.full((n, count), -1, dtype=np.int64)
        self.hearer_walls = np.zeros((n, count), dtype=np.float64)
        if not self.gateways:
            return
        gateway_floor = self.floor[self.gateway_place]
        for place in range(n):
            same = np.flatnonzero(gateway_floor == self.floor[place])
            if not same.size:
                continue
            d2 = (self.gateway_x[same] - self.centre_x[place]) ** 2 + (
                self.gateway_y[same] - self.centre_y[place]
            ) ** 2
            chosen = same[np.argsort(d2, kind="stable")[:count]]
            self.hearers[place, : chosen.size] = chosen
            walls = self._walls_from(place)
            self.hearer_walls[place, : chosen.size] = [
                walls.get(int(self.gateway_place[g]), _UNREACHABLE_WALLS) for g in chosen
            ]

    def _walls_from(self, source: int) -> dict[int, int]:
        """Place boundaries between ``source`` and each place on its floor (fewest)."""
        floor = self.floor[source]
        walls = {source: 0}
        frontier = [source]
        while frontier:
            nxt = []
            for here in frontier:
                for there in self.neighbours[here]:
                    if there not in walls and self.floor[there] == floor:
                        walls[there] = walls[here] + 1
                        nxt.append(there)
            frontier = nxt
        return walls

    def hear(self, tags: Tags, rng: np.random.Generator) -> Heard:
        """One advert from every tag, as the gateways receive it."""
        radio = self.radio
        places = tags.places()
        if not self.gateways:
            none = np.zeros(0, dtype=np.int64)
            return Heard(places, none, none, none)
        hearers = self.hearers[places]  # (tags, hearers), -1 where a floor has fewer
        valid = hearers >= 0
        g = np.where(valid, hearers, 0)
        dx = self.gateway_x[g] - tags.x[:, None]
        dy = self.gateway_y[g] - tags.y[:, None]
        dist = np.sqrt(dx * dx + dy * dy + radio.ceiling_m * radio.ceiling_m)
        walls = self.hearer_walls[places]
        noise = rng.normal(0.0, radio.noise_db, hearers.shape)
        rssi = (
            radio.tx_power_1m
            - 10 * radio.path_loss_exponent * np.log10(dist)
            - radio.wall_loss_db * walls
        )
        rssi = np.rint(rssi + noise)
        keep: Bools = (rng.random(hearers.shape) >= radio.link_loss) & (
            rssi >= radio.sensitivity_dbm
        )
        keep &= valid
        tag_idx = np.broadcast_to(np.arange(len(places))[:, None], hearers.shape)[keep]
        return Heard(places, tag_idx, hearers[keep], rssi[keep].astype(np.int64))


class Tags:
    """Tags dwelling and walking about a site; ``advance(t)`` moves them to time ``t``."""

    def __init__(
        self,
        site: Site,
        routine: Routine,
        start: Ints,
        rng: np.random.Generator,
        dwell_scale: Floats | None = None,
    ) -> None:
        n_places = len(site.places)
        if (
            not (len(routine.min_dwell_s) == len(routine.mean_dwell_s) == len(routine.destinations))
            or len(routine.destinations) != n_places
        ):
            raise ValueError("the routine must describe every place of the site")
        self.site = site
        self.routine = routine
        self.rng = rng
        n = len(start)
        self.place = np.asarray(start, dtype=np.int64).copy()  # where it is, or walks from
        self.dwell_scale = np.ones(n) if dwell_scale is None else np.asarray(dwell_scale)
        self.min_dwell = np.asarray(routine.min_dwell_s, dtype=np.float64)
        self.extra_dwell = np.maximum(
            np.asarray(routine.mean_dwell_s, dtype=np.float64) - self.min_dwell, 0.0
        )
        # Destination tables padded to a rectangle: cumulative weights (inf pads) and ids.
        widest = max((len(d) for d in routine.destinations), default=0) or 1
        self.destination = np.full((n_places, widest), -1, dtype=np.int64)
        self.cumulative = np.full((n_places, widest), np.inf)
        self.total_weight = np.zeros(n_places)
        for p, choices in enumerate(routine.destinations):
            kept = [(d, w) for d, w in choices if w > 0]
            if kept:
                self.destination[p, : len(kept)] = [d for d, _ in kept]
                self.cumulative[p, : len(kept)] = np.cumsum([w for _, w in kept])
                self.total_weight[p] = self.cumulative[p, len(kept) - 1]

        self.x, self.y = site.point_in(self.place, rng)
        self.walking = np.zeros(n, dtype=np.bool_)
        self.to_place = self.place.copy()
        self.from_x, self.from_y = self.x.copy(), self.y.copy()
        self.to_x, self.to_y = self.x.copy(), self.y.copy()
        self.walk_start = np.zeros(n)
        self.walk_end = np.zeros(n)
        self.dwell_end = np.zeros(n)
        self.route: list[list[int]] = [[] for _ in range(n)]  # places after ``to_place``
        self.moves = 0  # journeys started
        self.time: float | None = None

    def __len__(self) -> int:
        return len(self.place)

    def _dwell(self, idx: Ints) -> Floats:
        places = self.place[idx]
        drawn = self.min_dwell[places] + self.rng.exponential(self.extra_dwell[places])
        return drawn * self.dwell_scale[idx]

    def _residual_dwell(self) -> Floats:
        """What is left of stays already under way, as if the site had always run.

        The residual of a stay of min + Exp(mean - min) is uniform over the minimum with
        probability min / mean, else the minimum plus an exponential; starting every tag
        afresh instead would send a burst of early moves.
        """
        low = self.min_dwell[self.place]
        extra = self.extra_dwell[self.place]
        total = low + extra
        share = np.divide(low, total, out=np.zeros_like(low), where=total > 0)
        in_minimum = self.rng.random(len(self)) < share
        drawn = np.where(in_minimum, self.rng.uniform(0.0, low), low + self.rng.exponential(extra))
        return drawn * self.dwell_scale

    def _walk(self, idx: Ints, targets: Ints, t: float) -> None:
        """Start the next leg of each tag in ``idx``: into the linked place ``targets``."""
        tx, ty = self.site.point_in(targets, self.rng)
        self.from_x[idx], self.from_y[idx] = self.x[idx], self.y[idx]
        self.to_x[idx], self.to_y[idx] = tx, ty
        self.to_place[idx] = targets
        seconds = np.maximum(
            np.hypot(tx - self.x[idx], ty - self.y[idx]) / self.routine.walk_m_per_s, 1.0
        )
        if self.site.link_seconds:
            fixed = self.site.link_seconds
            for k, (a, b) in enumerate(
                zip(self.place[idx].tolist(), targets.tolist(), strict=True)
            ):
                if (a, b) in fixed:
                    seconds[k] = fixed[(a, b)]
        self.walk_start[idx] = t
        self.walk_end[idx] = t + seconds
        self.walking[idx] = True

    def advance(self, t: float) -> None:
        """Move every tag on to time ``t`` (seconds; never earlier than the last call)."""
        if self.time is None:
            self.dwell_end = t + self._residual_dwell()
        self.time = t
        arrived = np.flatnonzero(self.walking & (self.walk_end <= t))
        if arrived.size:
            self.walking[arrived] = False
            self.x[arrived], self.y[arrived] = self.to_x[arrived], self.to_y[arrived]
            self.place[arrived] = self.to_place[arrived]
            onward = np.array([bool(self.route[i]) for i in arrived.tolist()], dtype=np.bool_)
            stays = arrived[~onward]
            if stays.size:
                self.dwell_end[stays] = t + self._dwell(stays)
            going = arrived[onward]
            if going.size:
                nxt = np.array([self.route[i].pop(0) for i in going.tolist()], dtype=np.int64)
                self._walk(going, nxt, t)
        walking = self.walking
        if walking.any():
            span = self.walk_end[walking] - self.walk_start[walking]
            frac = np.clip((t - self.walk_start[walking]) / span, 0.0, 1.0)
            fx, fy = self.from_x[walking], self.from_y[walking]
            self.x[walking] = fx + (self.to_x[walking] - fx) * frac
            self.y[walking] = fy + (self.to_y[walking] - fy) * frac
        leaving = np.flatnonzero(~self.walking & (self.dwell_end <= t))
        if leaving.size:
            self._leave(leaving, t)

    def _leave(self, idx: Ints, t: float) -> None:
        here = self.place[idx]
        u = self.rng.random(idx.size) * self.total_weight[here]
        pick = (self.cumulative[here] <= u[:, None]).sum(axis=1)
        pick = np.minimum(pick, self.destination.shape[1] - 1)
        target = self.destination[here, pick]
        first = np.full(idx.size, -1, dtype=np.int64)
        for k, (i, a, b) in enumerate(
            zip(idx.tolist(), here.tolist(), target.tolist(), strict=True)
        ):
            route = self.site.path(a, b) if b >= 0 else []
            if route:
                first[k] = route[0]
                self.route[i] = route[1:]
        going = first >= 0
        staying = idx[~going]
        if staying.size:  # nowhere to go: stay another while
            self.dwell_end[staying] = t + self._dwell(staying)
        if going.any():
            self._walk(idx[going], first[going], t)
            self.moves += int(going.sum())

    def places(self) -> Ints:
        """Each tag's place now: where it dwells, or the one it is walking through."""
        out = self.place.copy()
        w = np.flatnonzero(self.walking)
        if w.size:
            site = self.site
            to, start = self.to_place[w], self.place[w]
            inside = site.contains(to, self.x[w], self.y[w])
            # Between floors there is no shared plan to compare against: halfway is there.
            across = site.floor[to] != site.floor[start]
            if across.any():
                now = self.time if self.time is not None else 0.0
                span = self.walk_end[w] - self.walk_start[w]
                half = (now - self.walk_start[w]) >= span / 2
                inside = np.where(across, half, inside)
            out[w] = np.where(inside, to, start)
        return out

    def zones(self, places: Ints | None = None) -> list[int | None]:
        """The zone of each tag's place (None on a walkway)."""
        found = self.places() if places is None else places
        return [self.site.places[p].zone for p in found.tolist()]
