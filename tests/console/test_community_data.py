"""The Community view's data, shaped without Qt: its rows (overdue first, where each thing
is in words a user reads), the map's layer (no marker for a loaned asset) and the
projection from longitude/latitude to the widget."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import pytest

from floki_console.community_data import (
    CommunityInputs,
    MapLayer,
    Projection,
    TileUrlError,
    appliance_today,
    community_rows,
    describe_fix_age,
    map_layer,
    tile_bounds,
    tile_url,
    tiles_covering,
    valid_tile_template,
    zoom_for,
)

TODAY = dt.date(2026, 1, 10)
HUB = [[-1.56, 53.79], [-1.54, 53.79], [-1.54, 53.81], [-1.56, 53.81]]


def _loan(asset_id: int, number: str, reference: str, due: str, status: str) -> dict[str, Any]:
    return {
        "id": asset_id * 10,
        "asset_id": asset_id,
        "asset_number": number,
        "reference": reference,
        "destination_type": "home",
        "due_back": due,
        "status": status,
    }


def _located(zone: str | None, **extra: Any) -> dict[str, Any]:
    answer: dict[str, Any] = {
        "located": True,
        "zone": {"id": 5, "name": zone, "type": "community_hub"} if zone else None,
        "off_site": zone is None,
        "lat": None,
        "lon": None,
        "age_seconds": 30.0,
        "stale": False,
        "technology": "gps",
        "evidence": [],
    }
    answer.update(extra)
    return answer


def _inputs(**overrides: Any) -> CommunityInputs:
    base: dict[str, Any] = {
        "loans": [],
        "asset_numbers": {},
        "locations": {},
        "trackers": {},
        "devices": None,
        "batteries": [],
        "zones": [],
        "today": TODAY,
    }
    base.update(overrides)
    return CommunityInputs(**base)


def test_overdue_loans_come_first_then_by_due_date_then_tracked_kit_not_on_loan() -> None:
    inputs = _inputs(
        loans=[
            _loan(1, "BED-001", "L-101", "2026-01-20", "open"),
            _loan(2, "HOIST-002", "L-102", "2026-01-08", "overdue"),
            _loan(3, "MAT-003", "L-103", "2026-01-15", "open"),
            _loan(4, "O2-004", "L-104", "2026-01-02", "overdue"),
        ],
        asset_numbers={5: "AAA-005"},
        trackers={5: "356307042441013"},
    )
    rows = community_rows(inputs)
    numbers = [r.asset_number for r in rows]
    assert numbers == ["O2-004", "HOIST-002", "MAT-003", "BED-001", "AAA-005"]
    assert [r.days_overdue for r in rows] == [8, 2, None, None, None]
    assert rows[0].overdue and not rows[2].overdue
    assert rows[0].due_text == "2026-01-02 (8 days overdue)"
    assert rows[1].due_text == "2026-01-08 (2 days overdue)"
    assert rows[4].loan_reference == "" and rows[4].due_text == ""


def test_where_reads_the_loan_label_the_zone_off_site_or_in_transit() -> None:
    inputs = _inputs(
        loans=[_loan(1, "BED-001", "L-123", "2026-01-20", "open")],
        asset_numbers={2: "HOIST-002", 3: "MAT-003", 4: "O2-004", 6: "BED-006"},
        trackers={1: "t1", 2: "t2", 3: "t3", 4: "t4", 6: "t6"},
        locations={
            1: _located(None, label="in community, loan L-123", on_loan={}, precise=False),
            2: _located("Community hub"),
            3: _located(None),
            4: _located(None, status="in_transit"),
            6: {"asset_id": 6, "located": False},
        },
    )
    where = {r.asset_number: r.where for r in community_rows(inputs)}
    assert where == {
        "BED-001": "in community, loan L-123",
        "HOIST-002": "Community hub",
        "MAT-003": "off site",
        "O2-004": "in transit",
        "BED-006": "not located yet",
    }


def test_fix_age_battery_and_tracker_come_from_the_tracker_listing_else_the_tag() -> None:
    inputs = _inputs(
        asset_numbers={1: "HOIST-001", 2: "BED-002", 3: "MAT-003"},
        trackers={1: "352093081234567", 2: "phone-7", 3: "unheard"},
        locations={2: _located("Hub", evidence=[{"technology": "gps", "age_seconds": 7500.0}])},
        devices={
            "352093081234567": {
                "device": "352093081234567",
                "protocol": "teltonika",
                "connected": True,
                "fix_age_s": 720.0,
                "battery_pct": None,
                "battery_mv": 3950,
            },
            "phone-7": {
                "device": "phone-7",
                "protocol": "osmand",
                "connected": None,
                "fix_age_s": None,
                "battery_pct": None,
                "battery_mv": None,
            },
        },
        batteries=[{"technology": "gps", "tag": "phone-7", "level": 64.0, "millivolts": None}],
    )
    rows = {r.asset_number: r for r in community_rows(inputs)}
    assert (rows["HOIST-001"].fix_age, rows["HOIST-001"].battery) == ("12 min", "3950 mV")
    assert rows["HOIST-001"].tracker == "teltonika 352093081234567, connected"
    assert (rows["BED-002"].fix_age, rows["BED-002"].battery) == ("2 h", "64 %")
    assert rows["BED-002"].tracker == "osmand phone-7"
    assert (rows["MAT-003"].fix_age, rows["MAT-003"].battery) == ("", "")
    assert rows["MAT-003"].tracker == "unheard (not heard yet)"


def test_a_tracker_listing_that_is_not_available_leaves_the_tag_id() -> None:
    inputs = _inputs(asset_numbers={1: "HOIST-001"}, trackers={1: "t-1"}, devices=None)
    (row,) = community_rows(inputs)
    assert row.tracker == "t-1"


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(None, ""), (5, "just now"), (59.9, "just now"), (720, "12 min"), (7500, "2 h"),
     (3 * 86400 + 5, "3 days"), (86400, "1 day")],
)  # fmt: skip
def test_fix_ages_read_as_people_say_them(seconds: float | None, text: str) -> None:
    assert describe_fix_age(seconds) == text


def test_a_loaned_asset_gets_no_marker_unless_the_appliance_says_it_is_precise() -> None:
    inputs = _inputs(
        loans=[
            _loan(1, "BED-001", "L-1", "2026-01-20", "open"),
            _loan(2, "BED-002", "L-2", "2026-01-20", "open"),
        ],
        asset_numbers={3: "HOIST-003", 4: "HOIST-004"},
        trackers={1: "a", 2: "b", 3: "c", 4: "d"},
        locations={
            # Coordinates leaked into a loaned asset's answer must still not be drawn.
            1: _located(None, lat=53.7, lon=-1.5, on_loan={}, label="in community, loan L-1"),
            2: _located(None, lat=53.71, lon=-1.51, on_loan={}, label="x", precise=True),
            3: _located("Hub", lat=53.8, lon=-1.55),
            4: _located("Hub"),  # no coordinates given: nothing to draw
        },
        zones=[
            {"id": 5, "name": "Hub", "geo_polygon": HUB},
            {"id": 6, "name": "Ward 7", "geo_polygon": None},
        ],
    )
    layer = map_layer(inputs)
    assert sorted(m.asset_number for m in layer.markers) == ["BED-002", "HOIST-003"]
    hoist = next(m for m in layer.markers if m.asset_number == "HOIST-003")
    assert (hoist.lon, hoist.lat) == (-1.55, 53.8)
    assert "Hub" in hoist.tooltip
    assert [z.name for z in layer.zones] == ["Hub"]
    assert layer.zones[0].points[0] == (-1.56, 53.79)


def test_the_projection_keeps_north_up_the_centre_centred_and_metres_square() -> None:
    layer = MapLayer(zones=[], markers=[])
    assert layer.bounds() is None
    # Far north, a degree of longitude is about half a degree of latitude on the ground.
    west, south, east, north = 10.0, 59.5, 11.0, 60.5
    projection = Projection.fit((west, south, east, north), 800, 600, margin=0)
    cx, cy = projection.to_xy(10.5, 60.0)
    assert (cx, cy) == pytest.approx((400, 300))
    _, y_north = projection.to_xy(10.5, 60.1)
    assert y_north < cy  # north is up
    x_east, _ = projection.to_xy(10.6, 60.0)
    ratio = (x_east - cx) / (cy - y_north)
    assert ratio == pytest.approx(math.cos(math.radians(60.0)), rel=1e-6)
    # The whole area fits: the tallest side fills the height.
    assert projection.to_xy(10.5, north)[1] == pytest.approx(0)
    assert projection.to_xy(10.5, south)[1] == pytest.approx(600)
    assert projection.to_lonlat(*projection.to_xy(10.7, 59.9)) == pytest.approx((10.7, 59.9))


def test_tile_urls_are_formatted_for_z_x_y_and_bad_templates_refused() -> None:
    template = "https://tiles.example.org/{z}/{x}/{y}.png"
    assert tile_url(template, 14, 8101, 5302) == "https://tiles.example.org/14/8101/5302.png"
    assert valid_tile_template(template) == template
    for bad, why in [
        ("ftp://t/{z}/{x}/{y}.png", "http"),
        ("https://t/{z}/{x}.png", "{y}"),
        ("https://t/{z}/{x}/{y}/{q}.png", "{q}"),
    ]:
        with pytest.raises(TileUrlError, match=why.replace("{", r"\{").replace("}", r"\}")):
            valid_tile_template(bad)
    assert valid_tile_template("  ") == ""


def test_tiles_cover_the_area_at_the_zoom_its_scale_wants() -> None:
    # About 2 km square in Leeds: at zoom 14 it straddles two tiles of one column.
    area = (-1.56, 53.79, -1.54, 53.81)
    tiles = tiles_covering(area, 14)
    assert tiles == [(14, 8121, 5275), (14, 8121, 5276)]
    for z, x, y in tiles:
        west, south, east, north = tile_bounds(z, x, y)
        assert west < area[2] and east > area[0] and south < area[3] and north > area[1]
    assert len({(x, y) for _, x, y in tiles}) == len(tiles)
    # 256 pixels a tile: a scale of ~1,000 px per degree of latitude wants a low zoom,
    # ~100,000 a street-level one.
    assert zoom_for(1000.0, 53.8) < zoom_for(100_000.0, 53.8) <= 19
    assert tiles_covering((-180.0, -85.0, 180.0, 85.0), 12, limit=64) == []


def test_days_overdue_count_on_the_appliances_date_read_from_its_answers() -> None:
    # The appliance's clock, not the desktop's, says how late a loan is: each location
    # answer gives when it was last seen and how long ago that is on the appliance.
    locations = {
        1: _located(None, last_seen="2026-01-08T09:00:00Z", age_seconds=3600.0),
        2: {"asset_id": 2, "located": False},
    }
    assert appliance_today(locations, fallback=dt.date(2030, 1, 1)) == dt.date(2026, 1, 8)
    assert appliance_today({}, fallback=dt.date(2030, 1, 1)) == dt.date(2030, 1, 1)
