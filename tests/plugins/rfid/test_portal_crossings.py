"""Portals (docs/rfid-placement.md): the order of a tag's reads at a doorway's outer and
inner antennas says whether it entered or left the inner antenna's zone; a tag read at one
antenna only, or at both with no clear order, does not move. Pure: the locator is fed
sightings, and what it announces is recorded."""

from __future__ import annotations

import datetime as dt

import msgspec
from floki_rfid.config import PortalSettings

from tests.plugins.rfid.test_read_zones import (
    CORRIDOR,
    DOOR,
    DOOR_IN,
    DOOR_OUT,
    EPC,
    HOIST,
    LIBRARY,
    PUMP,
    SHELF_A,
    SHELF_A1,
    T0,
    Placement,
    read,
)


def crossed(placement: Placement) -> list[tuple[int, str, str]]:
    return [(c.asset_id, c.portal, c.direction) for c in placement.crossings]


def test_outer_then_inner_is_entering_the_inner_zone() -> None:
    placement = Placement()
    assert placement.zones(read(PUMP, DOOR_OUT, 0, until=0.4)) == []
    assert placement.zones(read(PUMP, DOOR_IN, 0.5, until=0.9)) == [LIBRARY]
    (crossing,) = placement.crossings
    assert (crossing.asset_id, crossing.portal, crossing.direction) == (
        PUMP,
        "library-door",
        "entered",
    )
    assert (crossing.zone_id, crossing.epc, crossing.antenna) == (
        LIBRARY,
        EPC[PUMP],
        "library-door:1",
    )
    assert crossing.read_at == T0 + dt.timedelta(seconds=0.9), "the deciding read"
    assert crossing.observed_at == T0 + dt.timedelta(seconds=0.9)


def test_inner_then_outer_is_leaving_it_for_the_outer_zone() -> None:
    placement = Placement()
    placement.zones(read(PUMP, DOOR_IN, 0))
    assert placement.zones(read(PUMP, DOOR_OUT, 0.6)) == [CORRIDOR]
    (crossing,) = placement.crossings
    assert (crossing.direction, crossing.zone_id) == ("left", LIBRARY), "the inside zone"


def test_the_evidence_of_a_crossing_is_fixed_point_at_the_deciding_antenna() -> None:
    placement = Placement()
    placement.locator.locate([read(PUMP, DOOR_OUT, 0)])
    (evidence,) = placement.locator.locate([read(PUMP, DOOR_IN, 0.5, rssi=-48)])
    assert (evidence.method, evidence.confidence, evidence.technology) == (
        "fixed_point",
        0.95,
        "rfid",
    )
    assert (evidence.receiver_name, evidence.signal) == ("antenna library-door:1", -48.0)


def test_the_order_is_the_readers_clock_even_within_one_hand_over() -> None:
    placement = Placement()
    # One window of the reader: both antennas' tallies handed over together, inner first.
    zones = placement.zones(
        read(PUMP, DOOR_IN, 0.8, until=1.2, heard=1.5), read(PUMP, DOOR_OUT, 0.1, heard=1.5)
    )
    assert zones == [LIBRARY] and crossed(placement) == [(PUMP, "library-door", "entered")]


def test_a_tag_read_only_at_one_antenna_does_not_move() -> None:
    placement = Placement()
    placement.zones(read(PUMP, SHELF_A1, 0))
    for second in range(1, 10):
        assert placement.zones(read(PUMP, DOOR_OUT, second)) == []
    assert placement.crossings == []
    # It is still where the shelf put it: the next shelf read says so, at once.
    assert placement.zones(read(PUMP, SHELF_A1, 11)) == [SHELF_A]


def test_reads_at_both_antennas_with_no_clear_order_are_no_crossing() -> None:
    placement = Placement()
    # Parked in the doorway: both antennas read it, turn about, each window.
    for second in range(10):
        assert (
            placement.zones(
                read(PUMP, DOOR_OUT, second, until=second + 0.2),
                read(PUMP, DOOR_IN, second + 0.1, until=second + 0.3),
            )
            == []
        )
    assert placement.crossings == []


def test_the_order_is_clear_only_once_the_first_antenna_has_been_quiet() -> None:
    placement = Placement()
    placement.zones(read(PUMP, DOOR_OUT, 0, until=0.5))
    # Read at the inner antenna 0.1 s after the outer's last read: not yet clear.
    assert placement.zones(read(PUMP, DOOR_IN, 0.6)) == []
    assert placement.zones(read(PUMP, DOOR_IN, 0.9)) == [LIBRARY]


def test_reads_further_apart_than_the_window_are_no_crossing() -> None:
    placement = Placement(portals=(PortalSettings(**{**DOOR_FIELDS, "window_seconds": 2.0}),))
    placement.zones(read(PUMP, DOOR_OUT, 0))
    assert placement.zones(read(PUMP, DOOR_IN, 2.5)) == []
    assert placement.crossings == []
    # ... but the inner read starts a passage of its own.
    assert placement.zones(read(PUMP, DOOR_OUT, 3.0)) == [CORRIDOR]
    assert crossed(placement) == [(PUMP, "library-door", "left")]


DOOR_FIELDS = {"name": DOOR.name, "inner": DOOR.inner, "outer": DOOR.outer}


def test_each_tag_has_its_own_passage() -> None:
    placement = Placement()
    placement.zones(read(PUMP, DOOR_OUT, 0), read(HOIST, DOOR_IN, 0))
    zones = placement.zones(read(PUMP, DOOR_IN, 1), read(HOIST, DOOR_OUT, 1))
    assert sorted(zones, key=str) == sorted([LIBRARY, CORRIDOR], key=str)
    assert sorted(crossed(placement)) == [
        (PUMP, "library-door", "entered"),
        (HOIST, "library-door", "left"),
    ]


def test_in_and_out_again_is_two_crossings() -> None:
    placement = Placement()
    placement.zones(read(PUMP, DOOR_OUT, 0))
    placement.zones(read(PUMP, DOOR_IN, 1))
    placement.zones(read(PUMP, DOOR_IN, 30))
    assert placement.zones(read(PUMP, DOOR_OUT, 31)) == [CORRIDOR]
    assert [c.direction for c in placement.crossings] == ["entered", "left"]


def test_a_crossing_moves_a_tag_a_read_zone_had_placed_at_once() -> None:
    placement = Placement(dwell_seconds=60.0)
    placement.zones(read(PUMP, SHELF_A1, 0))
    placement.zones(read(PUMP, DOOR_IN, 1))
    assert placement.zones(read(PUMP, DOOR_OUT, 2)) == [CORRIDOR]
    # The read zones go on from where the portal put it: shelf A must wait out its dwell.
    assert placement.zones(read(PUMP, SHELF_A1, 3)) == [CORRIDOR]


def test_reads_without_the_readers_clock_are_ordered_by_arrival() -> None:
    placement = Placement()
    outer, inner = (
        msgspec.structs.replace(s, extras={"seen_count": 1})
        for s in (read(PUMP, DOOR_OUT, 0), read(PUMP, DOOR_IN, 1))
    )
    placement.zones(outer)
    assert placement.zones(inner) == [LIBRARY]
