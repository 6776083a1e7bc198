"""Fixed-point scans and Wi-Fi association (issue 3, §2): the zone each one
claims, how sure it is, and which reading wins when an asset appears twice in a batch.
"""

from __future__ import annotations

import datetime as dt

import pytest

from floki_core.location.evidence import Locator, ReceiverInfo, Sighting
from floki_core.location.locators import (
    BUILTIN_METHODS,
    AssociationLocator,
    FixedPointLocator,
    GeofenceLocator,
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
