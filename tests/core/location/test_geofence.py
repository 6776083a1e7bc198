"""GPS geofences (issue 3, §2; issue 13, §2): a fix is a circle of its accuracy radius.

A circle wholly inside a zone puts the asset there; one straddling the boundary of the
zone the asset is in keeps it there; one wholly outside lets it go. Outside every zone
the asset is off site, or in transit when the fix says it is moving.
"""

from __future__ import annotations

import datetime as dt
import itertools
import logging
import math
import random
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from floki_core.location import store
from floki_core.location.evidence import Sighting
from floki_core.location.locators import GeofenceLocator, GeoZone
from floki_core.location.locators.geofence import (
    DEFAULT_ACCURACY_M,
    IN_TRANSIT_SPEED_KMH,
    GeoEvidence,
)
from floki_core.location.resolver import OFF_SITE, Resolver, ResolverSettings
from floki_core.testing import Floki

T0 = dt.datetime(2026, 3, 1, 8, 0, tzinfo=dt.UTC)


def fix(
    at: float,
    lon: float | None,
    lat: float | None,
    asset: int = 7,
    accuracy: float | None = 5.0,
    **extras: Any,
) -> Sighting:
    return Sighting(
        asset_id=asset,
        technology="gps",
        tag=f"gps-{asset}",
        observed_at=T0 + dt.timedelta(seconds=at),
        lon=lon,
        lat=lat,
        accuracy_m=accuracy,
        extras=extras,
    )


def square(zone: int, lon: float, lat: float, size: float) -> GeoZone:
    return GeoZone(
        id=zone,
        polygon=[(lon, lat), (lon + size, lat), (lon + size, lat + size), (lon, lat + size)],
    )


# --- a community patch in metres -----------------------------------------------------------

# Positions are given in metres east and north of a point in Leeds; degrees come from a
# sphere of the mean Earth radius (within 0.3 % of WGS 84 here), and every distance a
# test relies on has a margin well beyond that.
ORIGIN_LON, ORIGIN_LAT = -1.55, 53.80
_M_PER_DEG = math.pi * 6_371_000.0 / 180.0


def lonlat(east: float, north: float) -> tuple[float, float]:
    return (
        ORIGIN_LON + east / (_M_PER_DEG * math.cos(math.radians(ORIGIN_LAT))),
        ORIGIN_LAT + north / _M_PER_DEG,
    )


def rect(zone: int, west: float, south: float, east: float, north: float) -> GeoZone:
    corners = [(west, south), (east, south), (east, north), (west, north)]
    return GeoZone(id=zone, polygon=[lonlat(e, n) for e, n in corners])


SITE = rect(1, 0, 0, 2000, 2000)  # a hospital site, 2 km square
HUB = rect(2, 400, 400, 600, 600)  # the community hub on it, 200 m square
DEPOT = rect(3, 3000, 0, 3300, 300)
HOME_AREA = rect(4, 0, 3000, 500, 3500)  # a patient-home area
PATCH = [SITE, HUB, DEPOT, HOME_AREA]


def gps(
    at: float,
    east: float,
    north: float,
    accuracy: float | None = 10.0,
    asset: int = 7,
    **extras: Any,
) -> Sighting:
    lon, lat = lonlat(east, north)
    return fix(at, lon, lat, asset=asset, accuracy=accuracy, **extras)


def claim(locator: GeofenceLocator, sighting: Sighting) -> GeoEvidence:
    (evidence,) = locator.locate([sighting])
    assert isinstance(evidence, GeoEvidence)
    return evidence


class Followed:
    """A geofence locator feeding a resolver, as the location service wires them."""

    def __init__(self, zones: list[GeoZone] = PATCH) -> None:
        self.locator = GeofenceLocator(zones)
        self.resolver = Resolver(ResolverSettings(), lambda zone_id: None)

    def feed(self, *sightings: Sighting) -> list[GeoEvidence]:
        evidence = self.locator.locate(sightings)
        self.resolver.apply(evidence)
        assert all(isinstance(e, GeoEvidence) for e in evidence)
        return evidence  # type: ignore[return-value]

    def zone(self, asset: int = 7) -> int | None:
        """The resolver's zone: a zone id, OFF_SITE, or None if never located."""
        return self.resolver.tracks[asset].zone

    def status(self, asset: int = 7) -> str | None:
        return self.resolver.tracks[asset].status


def test_straddling_fixes_do_not_flip_the_zone() -> None:
    followed = Followed()
    followed.feed(gps(0, 500, 500))
    assert followed.zone() == HUB.id
    # Every 30 s the tracker reports from around the hub's east edge (x = 600 m), each
    # circle reaching across it: out by 8 m, out by 15 m, in by 5 m, out by 4 m.
    straddling = [(608, 20.0), (615, 25.0), (595, 20.0), (604, 20.0)]
    for i, (east, accuracy) in enumerate(straddling, start=1):
        (evidence,) = followed.feed(gps(30 * i, east, 500, accuracy))
        assert followed.zone() == HUB.id, east
        assert evidence.zone_id == HUB.id, east
        assert evidence.placed_by == "held"


def test_a_clear_fix_outside_the_zone_moves_the_asset() -> None:
    followed = Followed()
    followed.feed(gps(0, 500, 500))
    # 100 m east of the hub with a 20 m circle: wholly outside the hub, wholly on site.
    (evidence,) = followed.feed(gps(30, 700, 500, 20.0))
    assert evidence.zone_id == SITE.id
    assert evidence.placed_by == "circle"
    followed.feed(gps(60, 705, 500, 20.0))  # the resolver's dwell: a second fix confirms
    assert followed.zone() == SITE.id
    # Out on the road, clear of every zone: off site.
    followed.feed(gps(90, 2500, 500, 20.0))
    followed.feed(gps(120, 2600, 500, 20.0))
    assert followed.zone() == OFF_SITE
    assert followed.status() == "off_site"


def test_nested_zones_take_the_smallest_holding_the_whole_circle() -> None:
    locator = GeofenceLocator([HUB, SITE, HOME_AREA, DEPOT])  # order must not matter
    # Centre in the hub, 10 m from its edge, 30 m circle: only the site holds it all.
    near_edge = claim(locator, gps(0, 590, 500, 30.0, asset=1))
    assert near_edge.zone_id == SITE.id
    assert near_edge.placed_by == "circle"
    assert near_edge.confidence == pytest.approx(0.8)
    middle = claim(locator, gps(0, 500, 500, 30.0, asset=2))
    assert middle.zone_id == HUB.id
    on_site = claim(locator, gps(0, 1500, 1500, 30.0, asset=3))
    assert on_site.zone_id == SITE.id


def test_a_two_kilometre_circle_cannot_take_the_asset_out_of_its_zone() -> None:
    followed = Followed()
    followed.feed(gps(0, 500, 500))
    for i in range(1, 6):  # a poor fix 300 m east of the hub, again and again
        (evidence,) = followed.feed(gps(30 * i, 900, 500, 2000.0))
        assert evidence.zone_id == HUB.id
        assert evidence.confidence == pytest.approx(0.2)  # the floor for poor fixes
    assert followed.zone() == HUB.id
    # The same fix for an asset never placed before: straddling everything, it goes
    # where its centre is (on site, outside the hub) at half the confidence.
    fresh = claim(GeofenceLocator(PATCH), gps(0, 900, 500, 2000.0))
    assert fresh.zone_id == SITE.id
    assert fresh.confidence == pytest.approx(0.1)
    assert fresh.placed_by == "centre"


def test_a_straddling_first_fix_goes_where_its_centre_is_at_half_confidence() -> None:
    locator = GeofenceLocator(PATCH)
    inside_edge = claim(locator, gps(0, 3010, 150, 30.0, asset=1))  # 10 m into the depot
    outside_edge = claim(locator, gps(0, 2990, 150, 30.0, asset=2))  # 10 m short of it
    clear = claim(locator, gps(0, 2900, 150, 30.0, asset=3))  # 100 m short of it
    assert (inside_edge.zone_id, outside_edge.zone_id, clear.zone_id) == (DEPOT.id, None, None)
    assert inside_edge.confidence == pytest.approx(0.4)
    assert outside_edge.confidence == pytest.approx(0.4)
    assert clear.confidence == pytest.approx(0.8)
    assert [e.placed_by for e in (inside_edge, outside_edge, clear)] == [
        "centre",
        "centre",
        "circle",
    ]


def test_a_fix_without_accuracy_is_a_circle_of_the_default_radius() -> None:
    locator = GeofenceLocator(PATCH)
    assert 15.0 < DEFAULT_ACCURACY_M < 100.0
    # 15 m inside the hub's edge: a 10 m circle is in the hub, the default one is not.
    reported = claim(locator, gps(0, 585, 500, 10.0, asset=1))
    unknown = claim(locator, gps(0, 585, 500, None, asset=2))
    assert (reported.zone_id, unknown.zone_id) == (HUB.id, SITE.id)
    assert unknown.confidence == pytest.approx(0.8)
    assert (reported.accuracy_m, reported.radius_m) == (10.0, 10.0)
    assert (unknown.accuracy_m, unknown.radius_m) == (None, DEFAULT_ACCURACY_M)


def test_an_off_site_asset_stays_off_site_until_a_fix_lies_inside_a_zone() -> None:
    followed = Followed()
    followed.feed(gps(0, 2500, 150, 20.0))
    assert followed.zone() == OFF_SITE
    (straddling,) = followed.feed(gps(30, 3005, 150, 20.0))  # 5 m into the depot
    assert straddling.zone_id is None
    followed.feed(gps(60, 3008, 150, 20.0))
    assert followed.zone() == OFF_SITE
    assert straddling.placed_by == "held"
    followed.feed(gps(90, 3150, 150, 20.0), gps(120, 3140, 150, 20.0))
    followed.feed(gps(150, 3150, 160, 20.0))
    assert followed.zone() == DEPOT.id


def test_off_site_or_in_transit_by_what_the_fix_says_of_its_motion() -> None:
    followed = Followed()
    followed.feed(gps(0, 500, 500, speed_kmh=30.0, moving=True))
    assert followed.status() == "in_zone"  # moving in the hub is still in the hub
    followed.feed(gps(30, 2500, 500, speed_kmh=40.0))
    followed.feed(gps(60, 2800, 500, speed_kmh=45.0))  # the dwell
    assert followed.zone() == OFF_SITE
    assert followed.status() == "in_transit"
    expected = {
        (0.0, None): "off_site",
        (IN_TRANSIT_SPEED_KMH - 1, None): "off_site",  # a receiver at rest drifts a little
        (IN_TRANSIT_SPEED_KMH + 1, None): "in_transit",
        (0.0, True): "in_transit",  # the tracker's own motion sensor says so
        (50.0, False): "in_transit",
        (None, None): "off_site",
        ("fast", "yes"): "off_site",  # not a number, not true: no claim of motion
    }
    for i, ((speed, moving), status) in enumerate(expected.items()):
        extras = {k: v for k, v in (("speed_kmh", speed), ("moving", moving)) if v is not None}
        followed.feed(gps(90 + 30 * i, 2900, 500, **extras))
        assert followed.status() == status, (speed, moving)


def test_gps_evidence_carries_accuracy_motion_and_protocol() -> None:
    locator = GeofenceLocator(PATCH)
    evidence = claim(
        locator, gps(0, 2500, 500, 12.0, protocol="teltonika", speed_kmh=42.5, satellites=9)
    )
    assert evidence.fix_detail() == {
        "accuracy_m": 12.0,
        "radius_m": 12.0,
        "placed_by": "circle",
        "moving": True,
        "speed_kmh": 42.5,
        "protocol": "teltonika",
    }
    bare = claim(locator, gps(0, 500, 500, None, asset=8))
    assert bare.fix_detail() == {
        "accuracy_m": None,
        "radius_m": DEFAULT_ACCURACY_M,
        "placed_by": "circle",
        "moving": False,
        "speed_kmh": None,
        "protocol": None,
    }


def test_the_circle_is_metres_east_west_as_north_south_far_north() -> None:
    """At 69.6° N a degree of longitude is 38.8 km against 111.5 km for latitude: a
    radius converted with one scale for both would be a third of its width east-west."""
    lat0, per_lat = 69.6, _M_PER_DEG
    per_lon = _M_PER_DEG * math.cos(math.radians(lat0))
    depot = GeoZone(id=5, polygon=[(19.0, lat0), (19.01, lat0), (19.01, 69.605), (19.0, 69.605)])
    east_edge, north_edge = 19.01, 69.605
    locator = GeofenceLocator([depot])
    held = claim(locator, fix(0, 19.005, 69.6025, accuracy=10.0))
    assert held.zone_id == 5
    # 30 m east of the east edge with a 40 m circle straddles it: still in the depot.
    east = claim(locator, fix(30, east_edge + 30 / per_lon, 69.6025, accuracy=40.0))
    assert east.zone_id == 5
    # So does the same north of the north edge.
    north = claim(locator, fix(60, 19.005, north_edge + 30 / per_lat, accuracy=40.0))
    assert north.zone_id == 5
    # 50 m east with a 40 m circle is wholly outside: off site.
    gone = claim(locator, fix(90, east_edge + 50 / per_lon, 69.6025, accuracy=40.0))
    assert gone.zone_id is None


def test_a_new_locator_holds_the_zone_the_asset_is_already_in() -> None:
    """After a restart the locator has no memory; it asks the resolver where the asset is."""
    before = Followed()
    before.feed(gps(0, 500, 500, asset=7), gps(0, 2500, 150, asset=8))
    assert (before.zone(7), before.zone(8)) == (HUB.id, OFF_SITE)
    locator = GeofenceLocator(PATCH, current_zone=before.resolver.zone_of)
    assert claim(locator, gps(30, 608, 500, 20.0)).zone_id == HUB.id
    assert claim(locator, gps(30, 3005, 150, 20.0, asset=8)).zone_id is None
    assert claim(locator, gps(30, 3005, 150, 20.0, asset=9)).zone_id == DEPOT.id  # never seen
    forgetful = GeofenceLocator(PATCH)
    assert claim(forgetful, gps(30, 608, 500, 20.0)).zone_id == SITE.id


def test_a_zone_no_longer_drawn_holds_nothing() -> None:
    locator = GeofenceLocator(PATCH)
    assert claim(locator, gps(0, 500, 500)).zone_id == HUB.id
    locator.update_zones([SITE, DEPOT, HOME_AREA])  # the hub's outline removed
    assert claim(locator, gps(30, 608, 500, 20.0)).zone_id == SITE.id


def test_an_older_fix_does_not_move_what_is_held() -> None:
    locator = GeofenceLocator(PATCH)
    claim(locator, gps(60, 500, 500))
    assert claim(locator, gps(30, 700, 500)).zone_id == SITE.id  # arrived late: claimed...
    assert claim(locator, gps(90, 608, 500, 20.0)).zone_id == HUB.id  # ...but nothing moved


# --- batched as one at a time --------------------------------------------------------------

_positions = st.tuples(st.floats(-200, 3500), st.floats(-200, 3700))
_fixes = st.lists(
    st.tuples(
        st.integers(1, 4),  # asset
        _positions,
        st.one_of(st.none(), st.floats(0, 2500)),  # accuracy
        st.one_of(st.none(), st.floats(0, 120)),  # speed
    ),
    min_size=1,
    max_size=40,
)


@settings(max_examples=60, deadline=None)
@given(fixes=_fixes, cuts=st.lists(st.integers(0, 40), max_size=4))
def test_batches_claim_what_fix_by_fix_would(
    fixes: list[tuple[int, tuple[float, float], float | None, float | None]], cuts: list[int]
) -> None:
    sightings = [
        gps(10.0 * i, east, north, accuracy, asset=asset, speed_kmh=speed)
        if speed is not None
        else gps(10.0 * i, east, north, accuracy, asset=asset)
        for i, (asset, (east, north), accuracy, speed) in enumerate(fixes)
    ]
    one_by_one = GeofenceLocator(PATCH)
    each = [claim(one_by_one, s) for s in sightings]
    batched = GeofenceLocator(PATCH)
    bounds = sorted({0, len(sightings), *(c for c in cuts if c < len(sightings))})
    for start, end in itertools.pairwise(bounds):
        got = {e.asset_id: e for e in batched.locate(sightings[start:end])}
        # Per asset, the newest fix of the batch, claimed as it was one at a time.
        want = {e.asset_id: e for e in each[start:end]}
        assert got.keys() == want.keys()
        for asset, evidence in got.items():
            assert isinstance(evidence, GeoEvidence)
            expected = want[asset]
            assert (evidence.zone_id, evidence.placed_by, evidence.observed_at) == (
                expected.zone_id,
                expected.placed_by,
                expected.observed_at,
            )
            assert evidence.confidence == pytest.approx(expected.confidence)
            assert evidence.fix_detail() == expected.fix_detail()


# --- end to end ----------------------------------------------------------------------------

API = "/api/v1"


async def _post(floki: Floki, path: str, body: dict[str, Any]) -> dict[str, Any]:
    resp = await floki.client.post(API + path, json=body, headers=await floki.headers("admin"))
    data = await resp.json()
    assert resp.status == 201, (path, data)
    assert isinstance(data, dict)
    return data


async def _community(floki: Floki) -> dict[str, int]:
    """A site with a community hub and a depot drawn on the map, and one tracked hoist."""
    site = await _post(floki, "/sites", {"name": "Community services"})

    def outline(zone: GeoZone) -> list[list[float]]:
        return [[lon, lat] for lon, lat in zone.polygon]

    hub = await _post(
        floki,
        "/zones",
        {
            "site_id": site["id"],
            "name": "Hub",
            "type": "community_hub",
            "geo_polygon": outline(HUB),
        },
    )
    depot = await _post(
        floki,
        "/zones",
        {"site_id": site["id"], "name": "Depot", "type": "store", "geo_polygon": outline(DEPOT)},
    )
    hoists = await _post(floki, "/asset-classes", {"name": "Hoist"})
    asset = await _post(
        floki,
        "/assets",
        {"asset_number": "HOIST-1", "description": "Hoist", "class_id": hoists["id"]},
    )
    await _post(
        floki, "/identifiers", {"asset_id": asset["id"], "technology": "gps", "value": "IMEI-1"}
    )
    await floki.core.locations.reindex()
    return {"hub": hub["id"], "depot": depot["id"], "asset": asset["id"]}


async def _report(floki: Floki, east: float, north: float, accuracy: float, **extras: Any) -> None:
    """The tracker reports 30 s after its last fix, through the ingest endpoint."""
    floki.clock.advance(30)
    lon, lat = lonlat(east, north)
    observation = {
        "technology": "gps",
        "tag": "IMEI-1",
        "observed_at": floki.clock.now().isoformat(),
        "lat": lat,
        "lon": lon,
        "accuracy_m": accuracy,
        "extras": {"protocol": "teltonika", **extras},
    }
    device = await floki.token_for("admin", device=True)
    resp = await floki.client.post(
        f"{API}/ingest", json={"observations": [observation]}, headers=floki.auth(device)
    )
    assert resp.status == 202, await resp.text()
    await floki.settle()


async def _where(floki: Floki, asset_id: int) -> dict[str, Any]:
    resp = await floki.client.get(
        f"{API}/assets/{asset_id}/location", headers=await floki.headers("viewer")
    )
    assert resp.status == 200
    answer = await resp.json()
    assert isinstance(answer, dict)
    return answer


async def test_trackers_through_ingest_keep_their_zone_until_clearly_out(floki: Floki) -> None:
    ids = await _community(floki)
    await _report(floki, 500, 500, 8.0)
    answer = await _where(floki, ids["asset"])
    assert (answer["located"], answer["zone"]["id"], answer["off_site"]) == (
        True,
        ids["hub"],
        False,
    )

    for east in (608, 612, 596, 604):  # circles straddling the hub's east edge
        await _report(floki, east, 500, 20.0)
        answer = await _where(floki, ids["asset"])
        assert answer["zone"]["id"] == ids["hub"], east
    assert answer["method"] == "geofence"

    await _report(floki, 2500, 500, 15.0)  # clear of every zone, twice (the dwell)
    await _report(floki, 2600, 500, 15.0)
    answer = await _where(floki, ids["asset"])
    assert (answer["located"], answer["off_site"], answer["zone"]) == (True, True, None)
    assert answer["path"] == []

    await _report(floki, 3150, 150, 15.0)  # into the depot, clearly
    await _report(floki, 3160, 150, 15.0)
    assert (await _where(floki, ids["asset"]))["zone"]["id"] == ids["depot"]


async def test_the_location_answer_says_in_transit_and_explains_the_fix(floki: Floki) -> None:
    ids = await _community(floki)
    await _report(floki, 500, 500, 8.0)
    assert (await _where(floki, ids["asset"]))["status"] == "in_zone"
    await _report(floki, 2500, 500, 12.0, speed_kmh=48.0)
    await _report(floki, 2900, 500, 12.0, speed_kmh=52.0)
    answer = await _where(floki, ids["asset"])
    assert (answer["status"], answer["off_site"], answer["zone"]) == ("in_transit", True, None)
    (gps_evidence,) = [e for e in answer["evidence"] if e["method"] == "geofence"]
    assert gps_evidence["fix"] == {
        "accuracy_m": 12.0,
        "radius_m": 12.0,
        "placed_by": "circle",
        "moving": True,
        "speed_kmh": 52.0,
        "protocol": "teltonika",
    }
    assert gps_evidence["age_seconds"] == 0.0
    await _report(floki, 2900, 500, 12.0, speed_kmh=0.0)
    assert (await _where(floki, ids["asset"]))["status"] == "off_site"


async def test_in_transit_and_the_fix_survive_a_restart(floki: Floki) -> None:
    ids = await _community(floki)
    await _report(floki, 2500, 500, 12.0, speed_kmh=48.0)
    await floki.core.locations.flush()  # what a restart reads back
    floki.core.locations.resolver.tracks = await floki.core.read(store.load_tracks)
    answer = await _where(floki, ids["asset"])
    assert answer["status"] == "in_transit"
    (gps_evidence,) = [e for e in answer["evidence"] if e["method"] == "geofence"]
    assert gps_evidence["fix"]["protocol"] == "teltonika"


# --- zones in degrees: nesting, batches, bad outlines -----------------------------------

CAMPUS = square(1, 10.00, 50.00, 0.010)
BUILDING = square(2, 10.002, 50.002, 0.004)
WARD = square(3, 10.003, 50.003, 0.001)
CAR_PARK = square(4, 10.020, 50.00, 0.002)


def test_a_fix_inside_a_zone_claims_it_with_the_coordinates() -> None:
    (evidence,) = GeofenceLocator([CAR_PARK]).locate([fix(0, 10.021, 50.001)])
    assert evidence.zone_id == 4
    assert (evidence.lon, evidence.lat) == (10.021, 50.001)
    assert evidence.confidence == pytest.approx(0.8)
    assert (evidence.method, evidence.technology) == ("geofence", "gps")


def test_nested_zones_resolve_to_the_smallest() -> None:
    locator = GeofenceLocator([CAMPUS, WARD, BUILDING, CAR_PARK])  # order must not matter
    batch = [
        fix(0, 10.0035, 50.0035, asset=1),  # ward, in building, on site
        fix(0, 10.0025, 50.0025, asset=2),  # building, not ward
        fix(0, 10.0090, 50.0010, asset=3),  # on site only
        fix(0, 10.0210, 50.0010, asset=4),  # car park
    ]
    assert {e.asset_id: e.zone_id for e in locator.locate(batch)} == {1: 3, 2: 2, 3: 1, 4: 4}


def test_outside_every_zone_is_off_site_with_the_coordinates() -> None:
    (evidence,) = GeofenceLocator([CAMPUS, CAR_PARK]).locate([fix(0, 11.5, 49.25)])
    assert evidence.zone_id is None
    assert (evidence.lon, evidence.lat) == (11.5, 49.25)
    assert evidence.confidence == pytest.approx(0.8)
    (nothing_drawn,) = GeofenceLocator([]).locate([fix(0, 10.0, 50.0)])
    assert nothing_drawn.zone_id is None


def test_poor_accuracy_lowers_confidence_down_to_a_floor() -> None:
    # A zone far wider than any circle here, so every fix lies wholly inside it.
    locator = GeofenceLocator([square(1, 9.5, 49.5, 1.0)])
    at = {
        accuracy: locator.locate([fix(0, 10.0, 50.0, accuracy=accuracy)])[0].confidence
        for accuracy in (None, 10.0, 50.0, 100.0, 275.0, 500.0, 5000.0)
    }
    assert at[None] == at[10.0] == at[50.0] == pytest.approx(0.8)
    assert 0.8 > at[100.0] > at[275.0] > at[500.0]
    assert at[275.0] == pytest.approx(0.5)
    assert at[500.0] == at[5000.0] == pytest.approx(0.2)


def test_every_fix_of_an_asset_in_a_batch_is_claimed_in_time_order() -> None:
    """A tracker's backlog arrives as one batch: each of its fixes is evidence, oldest
    first, so the resolver (and the history) sees where it was as it went."""
    batch = [
        fix(0, 10.021, 50.001),
        fix(20, 10.0035, 50.0035),
        fix(10, 11.0, 49.0),  # arrived late
        fix(30, None, None),  # no coordinates: not a fix
    ]
    evidence = GeofenceLocator([CAMPUS, WARD, CAR_PARK]).locate(batch)
    assert [e.observed_at - T0 for e in evidence] == [dt.timedelta(seconds=s) for s in (0, 10, 20)]
    assert evidence[1].zone_id is None  # far from every zone at the time
    assert evidence[-1].zone_id == 3


def test_two_thousand_zones_each_fix_lands_in_its_own_cell() -> None:
    cols, rows, size = 50, 40, 0.0005
    grid = [
        square(1000 + r * cols + c, 8.0 + c * size, 47.0 + r * size, size)
        for r in range(rows)
        for c in range(cols)
    ]
    locator = GeofenceLocator(grid)
    assert len(locator) == 2000
    rng = random.Random(3)
    batch: list[Sighting] = []
    expected: dict[int, int | None] = {}
    for asset in range(5000):
        c, r = rng.randrange(cols), rng.randrange(rows)
        lon = 8.0 + (c + rng.uniform(0.05, 0.95)) * size
        lat = 47.0 + (r + rng.uniform(0.05, 0.95)) * size
        batch.append(fix(0, lon, lat, asset=asset))
        expected[asset] = 1000 + r * cols + c
    batch.append(fix(0, 8.0 + cols * size + 0.001, 47.0, asset=-1))  # east of the grid
    expected[-1] = None
    assert {e.asset_id: e.zone_id for e in locator.locate(batch)} == expected


def test_an_invalid_polygon_is_skipped_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    bowtie = GeoZone(id=9, polygon=[(10.0, 50.0), (10.01, 50.01), (10.01, 50.0), (10.0, 50.01)])
    sliver = GeoZone(id=8, polygon=[(10.0, 50.0), (10.01, 50.01)])
    with caplog.at_level(logging.WARNING):
        locator = GeofenceLocator([bowtie, sliver, CAR_PARK])
    assert len(locator) == 1
    warned = " ".join(r.getMessage() for r in caplog.records if r.levelno == logging.WARNING)
    assert "zone 9" in warned and "zone 8" in warned
    inside_bowtie, car_park = locator.locate(
        [fix(0, 10.005, 50.002, asset=1), fix(0, 10.021, 50.001, asset=2)]
    )
    assert inside_bowtie.zone_id is None
    assert car_park.zone_id == 4


def test_updated_zones_replace_the_old_ones() -> None:
    locator = GeofenceLocator([CAR_PARK])
    locator.update_zones([square(5, 10.020, 50.00, 0.002)])  # car park renumbered
    (evidence,) = locator.locate([fix(0, 10.021, 50.001)])
    assert evidence.zone_id == 5
