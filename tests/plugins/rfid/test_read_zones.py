"""Read zones (docs/rfid-placement.md): a tag read at an antenna is placed in the antenna's
zone at once; it moves to another read zone only after the dwell (at once when its zone
has not read it for that long); two zones hearing it together are compared by peak RSSI,
within the margin by read count, and the current zone keeps it on a near tie. Pure: the
locator is fed sightings, time comes from them.

The sightings helpers here are used by the portal and fusion tests too."""

from __future__ import annotations

import datetime as dt

import msgspec
from floki_rfid.config import PlacementSettings, PortalSettings
from floki_rfid.placement import RfidPlacement
from floki_rfid.portals import PortalCrossing

from floki_core.sdk import ReceiverInfo, Sighting

T0 = dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC)
PUMP, HOIST = 7, 8
EPC = {PUMP: "E28011700000020A1B2C3D4E", HOIST: "E28011700000020A1B2C3D4F"}

# Zones: the equipment library, its two shelf bays, the corridor outside.
LIBRARY, SHELF_A, SHELF_B, CORRIDOR = 10, 11, 12, 13


def antenna(rid: int, identifier: str, zone_id: int) -> ReceiverInfo:
    return ReceiverInfo(
        id=rid, name=f"antenna {identifier}", technology="rfid", identifier=identifier,
        zone_id=zone_id,
    )  # fmt: skip


SHELF_A1 = antenna(1, "shelves:1", SHELF_A)
SHELF_A2 = antenna(2, "shelves:2", SHELF_A)
SHELF_B1 = antenna(3, "shelves:3", SHELF_B)
DOOR_IN = antenna(4, "library-door:1", LIBRARY)
DOOR_OUT = antenna(5, "library-door:2", CORRIDOR)
DOOR = PortalSettings(name="library-door", inner="library-door:1", outer="library-door:2")


def read(
    asset: int,
    receiver: ReceiverInfo,
    seconds: float,
    rssi: float | None = -60.0,
    count: int = 1,
    *,
    until: float | None = None,
    heard: float | None = None,
) -> Sighting:
    """A window's tally of ``asset`` at ``receiver``: first read ``seconds`` after T0 by the
    reader's clock, last read at ``until`` (default: the same), handed over at ``heard``
    (default: the last read) by the appliance's clock."""
    last = seconds if until is None else until
    first_at = T0 + dt.timedelta(seconds=seconds)
    last_at = T0 + dt.timedelta(seconds=last)
    return Sighting(
        asset_id=asset,
        technology="rfid",
        tag=EPC[asset],
        observed_at=T0 + dt.timedelta(seconds=last if heard is None else heard),
        receiver=receiver,
        rssi=rssi,
        extras={
            "seen_count": count,
            "first_seen": first_at.isoformat(),
            "last_seen": last_at.isoformat(),
        },
    )


class Placement:
    """The locator under test, with the crossings it announced."""

    def __init__(self, portals: tuple[PortalSettings, ...] = (DOOR,), **settings: float) -> None:
        self.crossings: list[PortalCrossing] = []
        self.locator = RfidPlacement(
            PlacementSettings(**settings), portals, on_crossings=self.crossings.extend
        )

    def zones(self, *batch: Sighting) -> list[int | None]:
        """The zones the evidence from one batch places things in, in order."""
        return [ev.zone_id for ev in self.locator.locate(list(batch))]


# --- placing at once, and the evidence ------------------------------------------------------


def test_a_first_read_places_the_tag_in_the_antennas_zone_at_once() -> None:
    placement = Placement()
    (evidence,) = placement.locator.locate([read(PUMP, SHELF_A1, 0, rssi=-55)])
    assert (evidence.asset_id, evidence.zone_id) == (PUMP, SHELF_A)
    assert (evidence.method, evidence.technology, evidence.confidence) == (
        "fixed_point",
        "rfid",
        0.95,
    )
    assert (evidence.receiver_name, evidence.signal) == ("antenna shelves:1", -55.0)
    assert evidence.observed_at == T0


def test_two_zones_hearing_a_new_tag_place_it_at_the_stronger() -> None:
    placement = Placement()
    assert placement.zones(read(PUMP, SHELF_A1, 0, -70), read(PUMP, SHELF_B1, 0, -52)) == [SHELF_B]


def test_each_tag_read_in_a_batch_gets_its_evidence() -> None:
    placement = Placement()
    found = placement.locator.locate([read(PUMP, SHELF_A1, 0), read(HOIST, SHELF_B1, 0)])
    assert sorted((e.asset_id, e.zone_id) for e in found) == [(PUMP, SHELF_A), (HOIST, SHELF_B)]


# --- dwell ------------------------------------------------------------------------------------


def test_a_move_to_another_zone_waits_for_the_dwell() -> None:
    placement = Placement(dwell_seconds=5.0)
    placement.zones(read(PUMP, SHELF_A1, 0))
    # Read at shelf B only, while shelf A read it moments ago: not yet.
    assert placement.zones(read(PUMP, SHELF_B1, 1)) == [SHELF_A]
    assert placement.zones(read(PUMP, SHELF_B1, 4)) == [SHELF_A]
    # Read at shelf B for the dwell: moved.
    assert placement.zones(read(PUMP, SHELF_B1, 6)) == [SHELF_B]


def test_a_tag_no_longer_read_at_its_zone_moves_at_once() -> None:
    placement = Placement(dwell_seconds=5.0)
    placement.zones(read(PUMP, SHELF_A1, 0))
    # Nothing at shelf A for longer than the dwell: the first read elsewhere moves it.
    assert placement.zones(read(PUMP, SHELF_B1, 5.5)) == [SHELF_B]


def test_a_zero_dwell_moves_at_once() -> None:
    placement = Placement(dwell_seconds=0.0)
    placement.zones(read(PUMP, SHELF_A1, 0))
    assert placement.zones(read(PUMP, SHELF_B1, 0.5)) == [SHELF_B]


def test_a_rival_that_stops_winning_starts_its_dwell_again() -> None:
    placement = Placement(dwell_seconds=5.0, hysteresis_db=6.0)
    placement.zones(read(PUMP, SHELF_A1, 0, -60))
    placement.zones(read(PUMP, SHELF_A1, 1, -70), read(PUMP, SHELF_B1, 1, -55))  # B leads
    placement.zones(read(PUMP, SHELF_A1, 3, -55), read(PUMP, SHELF_B1, 3, -70))  # A again
    placement.zones(read(PUMP, SHELF_A1, 4, -70), read(PUMP, SHELF_B1, 4, -55))  # B again
    assert placement.zones(read(PUMP, SHELF_A1, 7, -70), read(PUMP, SHELF_B1, 7, -55)) == [
        SHELF_A
    ], "3 s of leading since it last lost is not the dwell"
    assert placement.zones(read(PUMP, SHELF_A1, 9, -70), read(PUMP, SHELF_B1, 9, -55)) == [SHELF_B]


# --- hysteresis: antennas that both hear the tag ----------------------------------------------


def test_a_rival_within_the_rssi_margin_and_read_as_often_never_takes_over() -> None:
    placement = Placement(dwell_seconds=2.0, hysteresis_db=6.0)
    placement.zones(read(PUMP, SHELF_A1, 0, -62))
    for second in range(1, 20):
        zones = placement.zones(
            read(PUMP, SHELF_A1, second, -62, 4), read(PUMP, SHELF_B1, second, -57, 5)
        )
        assert zones == [SHELF_A], f"moved at {second} s on a 5 dB lead"


def test_a_rival_stronger_by_more_than_the_margin_takes_over_after_the_dwell() -> None:
    placement = Placement(dwell_seconds=2.0, hysteresis_db=6.0)
    placement.zones(read(PUMP, SHELF_A1, 0, -62))
    both = [(read(PUMP, SHELF_A1, s, -68), read(PUMP, SHELF_B1, s, -61)) for s in (1, 2, 3)]
    assert [placement.zones(*pair) for pair in both] == [[SHELF_A], [SHELF_A], [SHELF_B]]


def test_on_a_near_tie_the_more_read_antenna_wins_by_the_count_ratio() -> None:
    placement = Placement(dwell_seconds=1.0, hysteresis_db=6.0, count_ratio=2.0)
    placement.zones(read(PUMP, SHELF_A1, 0, -60, 5))
    # 1.6 times as often: not enough.
    assert placement.zones(read(PUMP, SHELF_A1, 1, -60, 5), read(PUMP, SHELF_B1, 1, -58, 8)) == [
        SHELF_A
    ]
    assert placement.zones(read(PUMP, SHELF_A1, 3, -60, 5), read(PUMP, SHELF_B1, 3, -58, 8)) == [
        SHELF_A
    ]
    # Three times as often, for the dwell: moved.
    placement.zones(read(PUMP, SHELF_A1, 4, -60, 4), read(PUMP, SHELF_B1, 4, -61, 12))
    assert placement.zones(read(PUMP, SHELF_A1, 5, -60, 4), read(PUMP, SHELF_B1, 5, -61, 12)) == [
        SHELF_B
    ]


def test_a_much_weaker_antenna_loses_however_often_it_reads() -> None:
    placement = Placement(dwell_seconds=1.0, hysteresis_db=6.0)
    placement.zones(read(PUMP, SHELF_A1, 0, -55))
    for second in (1, 2, 3, 4):
        assert placement.zones(
            read(PUMP, SHELF_A1, second, -55, 1), read(PUMP, SHELF_B1, second, -70, 30)
        ) == [SHELF_A]


def test_two_antennas_of_one_zone_count_together() -> None:
    placement = Placement(dwell_seconds=1.0, hysteresis_db=6.0, count_ratio=2.0)
    placement.zones(read(PUMP, SHELF_B1, 0, -60, 2))
    # Shelf A's two antennas read it 3 times each, 6 in all, shelf B's one twice.
    shelf_a = [(read(PUMP, SHELF_A1, s, -60, 3), read(PUMP, SHELF_A2, s, -61, 3)) for s in (1, 2)]
    assert placement.zones(*shelf_a[0], read(PUMP, SHELF_B1, 1, -60, 2)) == [SHELF_B]
    assert placement.zones(*shelf_a[1], read(PUMP, SHELF_B1, 2, -60, 2)) == [SHELF_A]


def weak_then_strong_rival(placement: Placement) -> list[int | None]:
    """Shelf A reads the tag strongly; a second later shelf B reads it weakly, alone; then
    both read it every second, shelf B clearly the stronger."""
    placement.zones(read(PUMP, SHELF_A1, 0, -50))
    zones = placement.zones(read(PUMP, SHELF_B1, 1, -75))
    for second in (2, 3, 4, 5):
        zones += placement.zones(
            read(PUMP, SHELF_A1, second, -70), read(PUMP, SHELF_B1, second, -55)
        )
    return zones


def test_reads_within_together_seconds_are_compared() -> None:
    # Shelf B's weak read 1 s after shelf A's strong one lost; its dwell starts at 2 s.
    zones = weak_then_strong_rival(Placement(dwell_seconds=3.0, together_seconds=2.0))
    assert zones == [SHELF_A, SHELF_A, SHELF_A, SHELF_A, SHELF_B]


def test_reads_further_apart_than_together_seconds_are_not_compared() -> None:
    # Shelf B's read at 1 s was uncontested: it has led since then.
    zones = weak_then_strong_rival(Placement(dwell_seconds=3.0, together_seconds=0.5))
    assert zones == [SHELF_A, SHELF_A, SHELF_A, SHELF_B, SHELF_B]


# --- batches ----------------------------------------------------------------------------------


def test_a_backlog_in_one_batch_keeps_every_move() -> None:
    placement = Placement(dwell_seconds=2.0)
    zones = placement.zones(
        read(PUMP, SHELF_A1, 0),
        read(PUMP, SHELF_B1, 10),
        read(PUMP, SHELF_B1, 11),
    )
    assert zones == [SHELF_A, SHELF_B, SHELF_B], "the move, and where it is at the end"


def test_a_batch_out_of_order_is_judged_in_time_order() -> None:
    placement = Placement(dwell_seconds=2.0)
    zones = placement.zones(read(PUMP, SHELF_B1, 10), read(PUMP, SHELF_A1, 0))
    assert zones == [SHELF_A, SHELF_B]


def test_reads_without_rssi_are_compared_by_count() -> None:
    placement = Placement(dwell_seconds=0.0)
    placement.zones(read(PUMP, SHELF_A1, 0, None, 2))
    assert placement.zones(read(PUMP, SHELF_A1, 1, None, 2), read(PUMP, SHELF_B1, 1, None, 9)) == [
        SHELF_B
    ]


def test_portal_antennas_give_no_read_zone_evidence() -> None:
    placement = Placement()
    assert placement.zones(read(PUMP, DOOR_IN, 0), read(PUMP, DOOR_IN, 1)) == []
    assert placement.zones(read(PUMP, DOOR_OUT, 5)) == []


def test_a_stocktake_read_places_at_once_whatever_the_read_zones_say() -> None:
    placement = Placement(dwell_seconds=60.0)
    placement.zones(read(PUMP, SHELF_A1, 0, -50), read(PUMP, SHELF_A2, 0, -50))
    # Swept a second later in shelf B's zone by a handheld: there now.
    swept = msgspec.structs.replace(
        read(PUMP, SHELF_B1, 1, None), extras={"stocktake": 3, "seen_count": 1}
    )
    (evidence,) = placement.locator.locate([swept])
    assert (evidence.zone_id, evidence.method, evidence.confidence) == (
        SHELF_B,
        "fixed_point",
        0.95,
    )
    # The read zones go on from there: shelf A must now wait out its dwell.
    assert placement.zones(read(PUMP, SHELF_A1, 2, -50)) == [SHELF_B]
