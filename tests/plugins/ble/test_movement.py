"""The shared movement and radio model (issue 4, §4): seeded, walks only through linked
places, RSSI falls with distance and walls, adverts are lost at the configured rate."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from floki_ble.movement import Gateway, Heard, Link, Place, Radio, Routine, Site, Tags

# A ward on floor 0: three bays and a dirty utility off its corridor, a gateway in each,
# and a store on floor 1 reached by lift from the corridor.
WARD, BAY_A, BAY_B, BAY_C, DIRTY, STORE = range(6)
BAYS = ((0, 0, 10, 8), (10, 0, 20, 8), (20, 0, 30, 8))
DIRTY_RECT = (20, 12, 30, 20)


def ward_site(radio: Radio | None = None) -> Site:
    places = [
        Place("Ward", 0, (0, 0, 30, 20), holes=(*BAYS, DIRTY_RECT), kind="ward", zone=100),
        *(
            Place(f"Bay {c}", 0, r, kind="bay", zone=101 + i)
            for i, (c, r) in enumerate(zip("ABC", BAYS, strict=True))
        ),
        Place("Dirty utility", 0, DIRTY_RECT, kind="dirty_utility", zone=104),
        Place("Store", 1, (0, 0, 10, 10), kind="store", zone=105),
    ]
    gateways = [
        Gateway("corridor", 15, 10, WARD),
        Gateway("bay-a", 5, 4, BAY_A),
        Gateway("bay-b", 15, 4, BAY_B),
        Gateway("bay-c", 25, 4, BAY_C),
        Gateway("dirty", 25, 16, DIRTY),
        Gateway("store", 5, 5, STORE),
    ]
    links = [Link(room, WARD) for room in (BAY_A, BAY_B, BAY_C, DIRTY)]
    links.append(Link(WARD, STORE, seconds=30.0))
    return Site(places, gateways, links, radio)


def round_routine(min_s: float = 20.0, mean_s: float = 60.0) -> Routine:
    """Bays send kit to the dirty utility, which sends it to the store upstairs, which
    sends it back to a bay: every journey but one crosses the corridor."""
    return Routine(
        min_dwell_s=(min_s,) * 6,
        mean_dwell_s=(mean_s,) * 6,
        destinations=(
            ((BAY_B, 1.0),),
            ((DIRTY, 1.0),),
            ((DIRTY, 1.0),),
            ((DIRTY, 1.0),),
            ((STORE, 1.0),),
            ((BAY_A, 1.0), (BAY_B, 1.0), (BAY_C, 1.0)),
        ),
    )


def walk(site: Site, seed: int, tags: int, seconds: int) -> tuple[Tags, list[Heard]]:
    rng = np.random.default_rng(seed)
    start = rng.integers(BAY_A, DIRTY + 1, tags)
    moving = Tags(site, round_routine(), start, rng)
    heard = []
    for t in range(seconds):
        moving.advance(float(t))
        heard.append(site.hear(moving, rng))
    return moving, heard


def test_the_same_seed_gives_the_same_traffic_and_another_seed_does_not() -> None:
    _, first = walk(ward_site(), seed=3, tags=20, seconds=200)
    _, again = walk(ward_site(), seed=3, tags=20, seconds=200)
    _, other = walk(ward_site(), seed=4, tags=20, seconds=200)
    for a, b in zip(first, again, strict=True):
        for x, y in zip(a, b, strict=True):
            assert np.array_equal(x, y)
    assert any(not np.array_equal(a.rssi, b.rssi) for a, b in zip(first, other, strict=True))


def test_tags_only_step_between_linked_places_and_take_the_lift_upstairs() -> None:
    site = ward_site()
    moving, heard = walk(site, seed=1, tags=30, seconds=1500)
    places = np.stack([h.places for h in heard])  # (seconds, tags)
    steps = 0
    for before, after in itertools.pairwise(places):
        for a, b in zip(before.tolist(), after.tolist(), strict=True):
            if a != b:
                steps += 1
                assert b in site.neighbours[a], (site.places[a].name, site.places[b].name)
    assert moving.moves > 30
    assert steps > 60
    visited = set(places.ravel().tolist())
    assert {WARD, STORE, DIRTY} <= visited  # the corridor is walked through, the lift taken


def test_tags_are_never_heard_across_floors() -> None:
    site = ward_site()
    _, heard = walk(site, seed=2, tags=30, seconds=600)
    upstairs = 0
    for h in heard:
        tag_floor = site.floor[h.places[h.tags]]
        gateway_floor = site.floor[site.gateway_place[h.gateways]]
        assert np.array_equal(tag_floor, gateway_floor)
        upstairs += int((tag_floor == 1).sum())
    assert upstairs > 0


def test_stays_last_at_least_the_minimum_and_about_the_mean() -> None:
    site = ward_site()
    rng = np.random.default_rng(5)
    moving = Tags(site, round_routine(min_s=30.0, mean_s=90.0), np.full(200, BAY_A), rng)
    arrived: dict[int, float] = {}
    stays = []
    was_walking = np.zeros(200, dtype=np.bool_)
    for t in range(0, 3000):
        moving.advance(float(t))
        for i in np.flatnonzero(was_walking & ~moving.walking).tolist():
            arrived[i] = t
        for i in np.flatnonzero(~was_walking & moving.walking).tolist():
            if i in arrived:  # a whole stay, seen from arrival to departure
                stays.append(t - arrived.pop(i))
        was_walking = moving.walking.copy()
    # Walkways are passed through without stopping; destinations hold tags for a stay.
    long_stays = [s for s in stays if s > 1]
    assert len(long_stays) > 500
    assert min(long_stays) >= 30
    assert 75 <= float(np.mean(long_stays)) <= 105


def test_the_simulation_starts_mid_stay_rather_than_all_at_once() -> None:
    site = ward_site()
    rng = np.random.default_rng(6)
    moving = Tags(site, round_routine(min_s=30.0, mean_s=60.0), np.full(1000, BAY_A), rng)
    left_by = {}
    for t in (0, 10, 30):
        moving.advance(float(t))
        left_by[t] = int((moving.walking | (moving.place != BAY_A)).sum())
    # As if the site had always run: some tags leave at once, most stay a while.
    assert left_by[0] < 20
    assert 50 < left_by[10] < 350
    assert left_by[30] < 700


def test_rssi_is_path_loss_less_six_db_a_wall_without_noise() -> None:
    radio = Radio(noise_db=0.0, link_loss=0.0, sensitivity_dbm=-150.0, hearers=6)
    site = ward_site(radio)
    moving, heard = walk(site, seed=7, tags=40, seconds=300)
    last = heard[-1]
    assert last.tags.size > 0
    walls = {(BAY_A, "bay-a"): 0, (BAY_A, "corridor"): 1, (BAY_A, "bay-b"): 2}
    checked = 0
    for tag, gateway, rssi in zip(last.tags, last.gateways, last.rssi, strict=True):
        g = site.gateways[int(gateway)]
        place = int(last.places[tag])
        key = (place, g.identifier)
        if key not in walls:
            continue
        d = math.sqrt((g.x - moving.x[tag]) ** 2 + (g.y - moving.y[tag]) ** 2 + 2.5**2)
        expected = -59.0 - 22.0 * math.log10(d) - 6.0 * walls[key]
        assert rssi == round(expected)
        checked += 1
    assert checked > 0


def test_rssi_falls_with_distance_through_the_noise() -> None:
    radio = Radio(link_loss=0.0, sensitivity_dbm=-150.0, hearers=1)
    hall = Site([Place("Hall", 0, (0, 0, 100, 10))], [Gateway("end", 0, 5, 0)], [], radio)
    rng = np.random.default_rng(8)
    still = Routine(min_dwell_s=(1e9,), mean_dwell_s=(1e9,), destinations=((),))
    tags = Tags(hall, still, np.zeros(400, dtype=np.int64), rng)
    tags.advance(0.0)
    distance, rssi = [], []
    for _ in range(40):
        h = hall.hear(tags, rng)
        distance.append(tags.x[h.tags])
        rssi.append(h.rssi)
    d, r = np.concatenate(distance), np.concatenate(rssi)
    means = [float(r[(d >= lo) & (d < lo + 10)].mean()) for lo in range(20, 80, 10)]
    assert all(a > b for a, b in itertools.pairwise(means)), means


@pytest.mark.parametrize("loss", [0.0, 0.2, 0.5])
def test_adverts_are_lost_at_the_link_loss_rate(loss: float) -> None:
    radio = Radio(link_loss=loss, sensitivity_dbm=-150.0)
    site = ward_site(radio)
    _, heard = walk(site, seed=9, tags=100, seconds=100)
    offered = sum(int((site.hearers[h.places] >= 0).sum()) for h in heard)
    kept = sum(h.tags.size for h in heard)
    assert kept / offered == pytest.approx(1 - loss, abs=0.01)
