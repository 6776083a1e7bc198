"""The map's rules without Qt: which floor a zone is on, where markers go in a zone, and
what a live event changes."""

from __future__ import annotations

from typing import Any

from floki_console.map_data import MapData, point_in_polygon, spread_in_zone

WARD = [(0.0, 0.0), (400.0, 0.0), (400.0, 300.0), (0.0, 300.0)]
ROOM = [(10.0, 10.0), (200.0, 10.0), (200.0, 150.0), (10.0, 150.0)]
L_SHAPE = [(0.0, 0.0), (100.0, 0.0), (100.0, 40.0), (40.0, 40.0), (40.0, 100.0), (0.0, 100.0)]


def data() -> MapData:
    asset: dict[str, Any] = {
        "id": 1,
        "asset_number": "SCAN-001",
        "class_id": 3,
        "class_name": "Bladder scanner",
        "state": "available",
        "location": {"zone": {"id": 11, "name": "Room 7A"}, "stale": True, "last_seen": "x"},
    }
    return MapData.from_api(
        buildings=[{"id": 1, "name": "Main"}],
        floors=[{"id": 5, "building_id": 1, "name": "Level 2", "has_plan": True}],
        zones=[
            {"id": 10, "name": "Ward 7", "floor_id": 5, "polygon": WARD},
            {"id": 11, "name": "Room 7A", "floor_id": 5, "parent_id": 10, "polygon": ROOM},
            {"id": 12, "name": "Bed 3", "parent_id": 11},  # no drawing of its own
            {"id": 13, "name": "Community hub"},  # on no floor
        ],
        classes=[{"id": 3, "name": "Bladder scanner"}],
        assets=[asset, {"id": 2, "asset_number": "PUMP-001", "state": "dirty"}],
    )


def test_a_zone_without_a_drawing_uses_its_nearest_drawn_parent() -> None:
    map_data = data()

    assert map_data.floor_of(12) == 5
    assert map_data.drawn_zone(12) == 11
    assert map_data.floor_of(13) is None and map_data.drawn_zone(13) is None
    assert [z.name for z in map_data.zones_on(5)] == ["Ward 7", "Room 7A"]
    assert map_data.ordered_floors()[0].label == "Main \u2014 Level 2"


def test_markers_stay_inside_their_zone_and_out_of_rooms_within_it() -> None:
    points = spread_in_zone(40, WARD, holes=[ROOM])

    assert len(points) == len(set(points)) == 40
    assert all(point_in_polygon(p, WARD) for p in points)
    assert not any(point_in_polygon(p, ROOM) for p in points)


def test_a_crowded_odd_shaped_zone_still_holds_every_marker() -> None:
    points = spread_in_zone(300, L_SHAPE)

    assert len(points) == 300
    assert all(point_in_polygon(p, L_SHAPE) for p in points)


def test_a_move_event_places_the_asset_and_makes_it_fresh() -> None:
    map_data = data()

    changed = map_data.apply_events(
        [
            {
                "type": "location.changed",
                "at": "2026-01-05T09:00:05Z",
                "data": {"asset_id": 1, "to_zone_id": 10, "zone": "Ward 7"},
            },
            {"type": "location.changed", "data": {"asset_id": 999, "to_zone_id": 10}},
            {"type": "asset.updated", "entity_id": 2, "data": {"state": "faulty"}},
            {"type": "zone.updated", "entity_id": 10, "data": {}},
        ]
    )

    assert changed == {1, 2}
    scanner = map_data.assets[1]
    assert (scanner.zone_id, scanner.zone_name, scanner.stale) == (10, "Ward 7", False)
    assert map_data.assets[2].state == "faulty"


def test_new_and_deleted_assets() -> None:
    map_data = data()

    changed = map_data.apply_events(
        [
            {
                "type": "asset.created",
                "entity_id": 3,
                "data": {"asset_number": "HOIST-1", "class_id": 3},
            },
            {"type": "asset.deleted", "entity_id": 2, "data": {}},
        ]
    )

    assert changed == {2, 3}
    assert map_data.assets[3].class_name == "Bladder scanner"
    assert 2 not in map_data.assets
