"""The resolver's fusion rule, claim by claim: a zone that only stale evidence still
vouches for gives way at once to another method's lead; one technology's own moves keep
their dwell; an association never outweighs a BLE room fix younger than BLE's half-life."""

from __future__ import annotations

import datetime as dt

from floki_core.location.resolver import Resolver, ResolverSettings
from floki_core.sdk import ZoneEvidence

T0 = dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC)
BAY, CORRIDOR, LIBRARY = 1, 2, 3


def claim(zone: int, seconds: float, method: str, confidence: float) -> ZoneEvidence:
    return ZoneEvidence(
        asset_id=7,
        zone_id=zone,
        confidence=confidence,
        method=method,
        technology="wifi" if method == "association" else "ble",
        observed_at=T0 + dt.timedelta(seconds=seconds),
    )


def resolver() -> Resolver:
    return Resolver(ResolverSettings(), lambda zone: "bay")


def test_a_quiet_ble_room_gives_way_to_one_wifi_record_at_once() -> None:
    fusion = resolver()
    fusion.apply([claim(BAY, 0, "rssi", 0.6)])
    changes, _ = fusion.apply([claim(LIBRARY, 120, "association", 0.3)])
    assert [(c.to_zone_id, c.method, c.technology) for c in changes] == [
        (LIBRARY, "association", "wifi")
    ]


def test_the_weakest_ble_room_heard_59_seconds_ago_holds_against_a_fresh_association() -> None:
    fusion = resolver()
    fusion.apply([claim(BAY, 0, "rssi", 0.5)])
    changes, _ = fusion.apply(
        [claim(CORRIDOR, 59, "association", 0.3), claim(CORRIDOR, 59.5, "association", 0.3)]
    )
    assert changes == [] and fusion.zone_of(7) == BAY


def test_one_technologys_own_move_still_waits_for_the_dwell() -> None:
    fusion = resolver()
    fusion.apply([claim(BAY, 0, "rssi", 0.6)])
    # BLE itself says another room, long after: no stale claim of another method holds the
    # bay, so the move waits for the room's dwell (5 s) as before.
    changes, _ = fusion.apply([claim(LIBRARY, 600, "rssi", 0.6)])
    assert changes == []
    changes, _ = fusion.apply([claim(LIBRARY, 606, "rssi", 0.6)])
    assert [c.to_zone_id for c in changes] == [LIBRARY]


def test_a_stale_association_gives_way_to_a_fresh_ble_room_at_once() -> None:
    fusion = resolver()
    fusion.apply([claim(CORRIDOR, 0, "association", 0.3)])
    assert fusion.zone_of(7) == CORRIDOR
    # The association is older than its half-life (300 s): BLE places the pump at once.
    changes, _ = fusion.apply([claim(BAY, 400, "rssi", 0.6)])
    assert [(c.to_zone_id, c.method) for c in changes] == [(BAY, "rssi")]


def test_an_association_moves_at_once_unless_the_site_lists_it_no_longer_immediate() -> None:
    # Wi-Fi alone: each roam is one record, so by default it moves the pump at once ...
    fusion = resolver()
    fusion.apply([claim(CORRIDOR, 0, "association", 0.3)])
    changes, _ = fusion.apply([claim(LIBRARY, 10, "association", 0.3)])
    assert [c.to_zone_id for c in changes] == [LIBRARY]
    # ... and a site that sets [location.resolver] immediate_methods without it has the
    # roam wait out the zone's dwell like any reading.
    waiting = Resolver(ResolverSettings(immediate_methods=frozenset()), lambda zone: "bay")
    waiting.apply([claim(CORRIDOR, 0, "association", 0.3)])
    changes, _ = waiting.apply([claim(LIBRARY, 10, "association", 0.3)])
    assert changes == [] and waiting.zone_of(7) == CORRIDOR
    changes, _ = waiting.apply([claim(LIBRARY, 16, "association", 0.3)])
    assert [c.to_zone_id for c in changes] == [LIBRARY]
