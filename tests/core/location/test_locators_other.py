"""Fixed-point scans, Wi-Fi association and GPS geofences (issue 3, §2): the zone each one
claims, how sure it is, and which reading wins when an asset appears twice in a batch.
"""

from __future__ import annotations

import datetime as dt
import logging
import random

import pytest

from floki_core.location.evidence import Locator, ReceiverInfo, Sighting
from floki_core.location.locators import (
    BUILTIN_METHODS,
    AssociationLocator,
    FixedPointLocator,
    GeofenceLocator,
    GeoZone,
    RssiLocator,
)

T0 = dt.datetime(2026, 3, 1, 8, 0, tzinfo=dt.UTC)


def receiver(rid: int, zone: int, technology: str = "qr") -> ReceiverInfo:
    return ReceiverInfo(
        id=rid,
        name=f"reader-{rid}",
        technology=technology,
        identifier=f"R{rid}",
        zone_id=zone,
        x=1.5 * rid,
        y=-1.0,
    )


def scan(at: float, rx: ReceiverInfo | None, asset: int = 7, technology: str = "qr") -> Sighting:
    return Sighting(
        asset_id=asset,
        technology=technology,
        tag=f"tag-{asset}",
        observed_at=T0 + dt.timedelta(seconds=at),
        receiver=rx,
    )


def fix(
    at: float, lon: float | None, lat: float | None, asset: int = 7, accuracy: float | None = 5.0
) -> Sighting:
    return Sighting(
        asset_id=asset,
        technology="gps",
        tag=f"gps-{asset}",
        observed_at=T0 + dt.timedelta(seconds=at),
        lon=lon,
        lat=lat,
        accuracy_m=accuracy,
    )


def square(zone: int, lon: float, lat: float, size: float) -> GeoZone:
    return GeoZone(
        id=zone,
        polygon=[(lon, lat), (lon + size, lat), (lon + size, lat + size), (lon, lat + size)],
    )


def test_builtin_methods_name_a_locator_for_every_technology() -> None:
    assert dict(BUILTIN_METHODS) == {
        "ble": "rssi",
        "ibeacon": "rssi",
        "eddystone": "rssi",
        "altbeacon": "rssi",
        "espresense": "rssi",
        "rfid": "fixed_point",
        "qr": "fixed_point",
        "barcode": "fixed_point",
        "nfc": "fixed_point",
        "gps": "geofence",
        "wifi": "association",
    }
    locators: list[Locator] = [
        RssiLocator(),
        FixedPointLocator(),
        AssociationLocator(),
        GeofenceLocator([]),
    ]
    assert set(BUILTIN_METHODS.values()) == {loc.method for loc in locators}
    with pytest.raises(TypeError):
        BUILTIN_METHODS["uwb"] = "x"  # type: ignore[index]


# --- fixed point -------------------------------------------------------------------------


def test_a_scan_puts_the_asset_in_the_readers_zone_at_once() -> None:
    desk = receiver(3, zone=40)
    (evidence,) = FixedPointLocator().locate([scan(5, desk)])
    assert evidence.zone_id == 40
    assert evidence.confidence == pytest.approx(0.95)
    assert (evidence.method, evidence.technology) == ("fixed_point", "qr")
    assert evidence.observed_at == T0 + dt.timedelta(seconds=5)
    assert (evidence.receiver_id, evidence.receiver_name, evidence.x, evidence.y) == (
        3,
        "reader-3",
        4.5,
        -1.0,
    )


def test_the_latest_scan_of_an_asset_in_a_batch_wins() -> None:
    ward, theatre, store = receiver(1, 10), receiver(2, 20), receiver(3, 30)
    batch = [
        scan(1, ward),
        scan(3, theatre),
        scan(2, store),  # arrived late: older than the theatre read
        scan(1, store, asset=8),
    ]
    evidence = {e.asset_id: e for e in FixedPointLocator(confidence=0.9).locate(batch)}
    assert {a: e.zone_id for a, e in evidence.items()} == {7: 20, 8: 30}
    assert all(e.confidence == pytest.approx(0.9) for e in evidence.values())


def test_a_scan_without_a_known_reader_claims_nothing() -> None:
    assert FixedPointLocator().locate([scan(0, None)]) == []
    assert FixedPointLocator().locate([]) == []


def test_confidence_outside_zero_to_one_is_refused() -> None:
    with pytest.raises(ValueError):
        FixedPointLocator(confidence=1.2)
    with pytest.raises(ValueError):
        AssociationLocator(confidence=-0.1)
    with pytest.raises(ValueError):
        GeofenceLocator([], confidence=2.0)


# --- Wi-Fi association --------------------------------------------------------------------


def test_association_claims_the_access_points_zone_with_lower_confidence() -> None:
    ap_ward, ap_corridor = receiver(5, 50, "wifi"), receiver(6, 60, "wifi")
    batch = [
        scan(0, ap_ward, technology="wifi"),
        scan(9, ap_corridor, technology="wifi"),  # roamed
        scan(4, ap_ward, asset=8, technology="wifi"),
        scan(4, None, asset=9, technology="wifi"),
    ]
    evidence = {e.asset_id: e for e in AssociationLocator().locate(batch)}
    assert {a: e.zone_id for a, e in evidence.items()} == {7: 60, 8: 50}
    assert all(e.method == "association" for e in evidence.values())
    assert evidence[7].confidence == pytest.approx(0.5)
    assert evidence[7].confidence < FixedPointLocator().confidence


# --- geofence -----------------------------------------------------------------------------

SITE = square(1, 10.00, 50.00, 0.010)
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
    locator = GeofenceLocator([SITE, WARD, BUILDING, CAR_PARK])  # order must not matter
    batch = [
        fix(0, 10.0035, 50.0035, asset=1),  # ward, in building, on site
        fix(0, 10.0025, 50.0025, asset=2),  # building, not ward
        fix(0, 10.0090, 50.0010, asset=3),  # on site only
        fix(0, 10.0210, 50.0010, asset=4),  # car park
    ]
    assert {e.asset_id: e.zone_id for e in locator.locate(batch)} == {1: 3, 2: 2, 3: 1, 4: 4}


def test_outside_every_zone_is_off_site_with_the_coordinates() -> None:
    (evidence,) = GeofenceLocator([SITE, CAR_PARK]).locate([fix(0, 11.5, 49.25)])
    assert evidence.zone_id is None
    assert (evidence.lon, evidence.lat) == (11.5, 49.25)
    assert evidence.confidence == pytest.approx(0.8)
    (nothing_drawn,) = GeofenceLocator([]).locate([fix(0, 10.0, 50.0)])
    assert nothing_drawn.zone_id is None


def test_poor_accuracy_lowers_confidence_down_to_a_floor() -> None:
    locator = GeofenceLocator([SITE])
    at = {
        accuracy: locator.locate([fix(0, 10.005, 50.005, accuracy=accuracy)])[0].confidence
        for accuracy in (None, 10.0, 50.0, 100.0, 275.0, 500.0, 5000.0)
    }
    assert at[None] == at[10.0] == at[50.0] == pytest.approx(0.8)
    assert 0.8 > at[100.0] > at[275.0] > at[500.0]
    assert at[275.0] == pytest.approx(0.5)
    assert at[500.0] == at[5000.0] == pytest.approx(0.2)


def test_the_latest_fix_of_an_asset_in_a_batch_wins() -> None:
    batch = [
        fix(0, 10.021, 50.001),
        fix(20, 10.0035, 50.0035),
        fix(10, 11.0, 49.0),  # arrived late
        fix(30, None, None),  # no coordinates: not a fix
    ]
    (evidence,) = GeofenceLocator([SITE, WARD, CAR_PARK]).locate(batch)
    assert evidence.zone_id == 3
    assert evidence.observed_at == T0 + dt.timedelta(seconds=20)


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
