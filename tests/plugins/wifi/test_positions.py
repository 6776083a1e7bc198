"""The position placer: x/y on a mapped floor plan -> the smallest zone whose polygon holds
it, latitude/longitude -> the zone whose geo polygon does, uncertainty -> confidence."""

from __future__ import annotations

import datetime as dt
from typing import Any

import msgspec
import pytest
from floki_wifi.config import WifiSettings
from floki_wifi.meraki_config import FloorPlan
from floki_wifi.positions import MAX_CONFIDENCE, PositionPlacer, confidence_for, position_extras

from floki_core.sdk import (
    Floor,
    ReceiverInfo,
    RegisterIndex,
    RegisterSnapshot,
    RegisterView,
    Sighting,
    Zone,
)

AT = dt.datetime(2026, 12, 7, 10, 0, tzinfo=dt.UTC)
AP = ReceiverInfo(
    id=9, name="ward7-ap-1", technology="wifi", identifier="AA:AA:AA:11:11:11", zone_id=30
)
BLE_ROOM_LEVEL_AT_LEAST = 0.5  # the RSSI locator's lowest room-level confidence
WARD_GEO = [[-0.16, 51.54], [-0.14, 51.54], [-0.14, 51.56], [-0.16, 51.56]]


class Register:
    """A register of one floor (5 cm a pixel) with Ward 7 and its Bay 1 drawn on the plan
    and Ward 7 on the map; counts its reads."""

    def __init__(self) -> None:
        self.reads = 0
        self.zones = [
            Zone(
                id=10,
                site_id=1,
                name="Ward 7",
                floor_id=1,
                polygon=[[0, 0], [1000, 0], [1000, 1000], [0, 1000]],
                geo_polygon=WARD_GEO,
            ),
            Zone(
                id=20,
                site_id=1,
                name="Ward 7 Bay 1",
                floor_id=1,
                polygon=[[200, 200], [400, 200], [400, 400], [200, 400]],
            ),
            Zone(id=30, site_id=1, name="Ward 7 Corridor", floor_id=1),
        ]

    async def read(self, fn: Any, *args: Any) -> RegisterSnapshot:
        self.reads += 1
        floor = Floor(id=1, building_id=1, name="Level 3", metres_per_pixel=0.05)
        return RegisterSnapshot(
            floors=[floor], zones=list(self.zones), receivers=[], assets=[], identifiers=[]
        )

    def view(self) -> RegisterView:
        return RegisterView(RegisterIndex, self.read)


def settings(**plan: Any) -> WifiSettings:
    mapping = {"id": "g_1", "floor_id": 1, "origin_x_px": 100.0, "origin_y_px": 50.0, **plan}
    return msgspec.convert({"meraki": {"floor_plans": [mapping]}}, WifiSettings)


def sighting(lat: float | None = None, lon: float | None = None, **extras: Any) -> Sighting:
    return Sighting(
        asset_id=1,
        technology="wifi",
        tag="00:1B:44:11:3A:B7",
        observed_at=AT,
        receiver=AP,
        rssi=-34.0,
        lat=lat,
        lon=lon,
        extras=extras,
    )


@pytest.fixture
async def placer() -> PositionPlacer:
    found = PositionPlacer(settings(), Register().view())
    await found.refresh()
    return found


async def test_x_y_on_a_mapped_plan_is_the_smallest_zone_holding_it(placer: PositionPlacer) -> None:
    # (8.59 m, 11.40 m) from the plan's corner at (100, 50), 20 px a metre: (271.8, 278.0).
    placed = placer.place(
        sighting(x=8.59, y=11.40, floor_plan="g_1", uncertainty_m=1.5), "position"
    )
    assert placed is not None
    assert (placed.zone_id, placed.method, placed.receiver_id) == (20, "position", 9)
    assert (placed.x, placed.y) == pytest.approx((271.8, 278.0))
    assert placed.confidence == MAX_CONFIDENCE


async def test_outside_the_bay_it_is_the_ward(placer: PositionPlacer) -> None:
    placed = placer.place(sighting(x=40.0, y=40.0, floor_plan="g_1"), "position")
    assert placed is not None and placed.zone_id == 10


async def test_a_plan_of_its_own_scale_overrides_the_floors() -> None:
    placer = PositionPlacer(
        settings(metres_per_pixel=0.5, origin_x_px=0, origin_y_px=0), Register().view()
    )
    await placer.refresh()
    # 150 m at 2 px a metre is pixel 300: in the bay; at the floor's 20 px a metre it would not be.
    placed = placer.place(sighting(x=150.0, y=150.0, floor_plan="g_1"), "position")
    assert placed is not None and placed.zone_id == 20


async def test_latitude_longitude_is_the_zone_whose_geo_polygon_holds_it(
    placer: PositionPlacer,
) -> None:
    placed = placer.place(sighting(lat=51.55, lon=-0.15, uncertainty_m=3.0), "position")
    assert placed is not None and (placed.zone_id, placed.lat, placed.lon) == (10, 51.55, -0.15)
    # An unmapped plan's x/y says nothing; its latitude/longitude still does.
    placed = placer.place(
        sighting(lat=51.55, lon=-0.15, x=1.0, y=1.0, floor_plan="g_other"), "position"
    )
    assert placed is not None and placed.zone_id == 10


async def test_no_position_or_one_no_zone_holds_is_none(placer: PositionPlacer) -> None:
    assert placer.place(sighting(), "position") is None
    assert placer.place(sighting(lat=48.85, lon=2.35), "position") is None
    assert placer.place(sighting(x=500.0, y=500.0, floor_plan="g_1"), "position") is None


def test_wider_uncertainty_lower_confidence_never_up_to_ble_room_level() -> None:
    values = [confidence_for(u) for u in (0.5, 2.0, 5.0, 10.0, 15.0, 100.0)]
    assert values == sorted(values, reverse=True) and values[2] > values[4]
    assert max([*values, confidence_for(None)]) < BLE_ROOM_LEVEL_AT_LEAST


async def test_zones_are_read_again_when_they_change() -> None:
    register = Register()
    view = register.view()
    placer = PositionPlacer(settings(), view)
    await placer.refresh()
    await placer.refresh()
    assert register.reads == 1  # read once, not for every post
    register.zones.append(
        Zone(
            id=40,
            site_id=1,
            name="Ward 7 Bay 2",
            floor_id=1,
            polygon=[[500, 500], [600, 500], [600, 600], [500, 600]],
        )
    )
    placer.changed()
    # The locator's placer (another one, on the same register) sees what the feed's read.
    other = PositionPlacer(settings(), view)
    await placer.refresh()
    placed = other.place(sighting(x=22.0, y=24.0, floor_plan="g_1"), "position")
    assert register.reads == 2 and placed is not None and placed.zone_id == 40


def test_a_feeds_position_goes_in_the_extras_the_placer_reads() -> None:
    plans = [FloorPlan(id="g_1", floor_id=3)]

    def extras(**given: Any) -> dict[str, Any]:
        position = {"x": None, "y": None, "floor_plan": None, "uncertainty_m": None, **given}
        return dict(position_extras("meraki", plans, **position))

    assert extras(x=8.5, y=11.4, floor_plan="g_1", uncertainty_m=2.5) == {
        "feed": "meraki",
        "x": 8.5,
        "y": 11.4,
        "floor_plan": "g_1",
        "floor_id": 3,
        "uncertainty_m": 2.5,
    }
    assert extras(x=8.5, y=11.4, floor_plan="g_9") == {
        "feed": "meraki",
        "x": 8.5,
        "y": 11.4,
        "floor_plan": "g_9",
    }
    assert extras(x=8.5, floor_plan="g_1") == {"feed": "meraki"}  # half a position: none
