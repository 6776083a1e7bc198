"""The fictional St Floki General Hospital: buildings, floors, zones and receivers.

Everything is laid out in floor-plan pixels, so the drawn plans, the zone polygons and
the receiver positions come from one description and cannot drift apart.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from floki_core.domain import Point, ZoneType

SITE_NAME = "St Floki General Hospital"
SITE_CODE = "SFGH"
MAIN_BLOCK = "Main Block"
OUTPATIENTS = "Outpatients & Community"
COMMUNITY_HUB = "Community Equipment Hub"
EQUIPMENT_LIBRARY = "Equipment Library"
MAIN_STORES = "Main Stores"
CORRIDOR = "Ground Floor Corridor"

PLAN_WIDTH = 1600
PLAN_HEIGHT = 1000
METRES_PER_PIXEL = 0.05  # 1600 x 1000 px is an 80 m x 50 m floor

# A made-up GS1 company prefix in the UK range (500-509); never issued to a real trust.
GS1_COMPANY_PREFIX = "5012345"

# Where the Outpatients & Community plan's top-left corner sits on the map (East Midlands,
# open farmland), so the hub's geographic polygon is the same rectangle as on its plan.
PLAN_ORIGIN_LON = -1.4712
PLAN_ORIGIN_LAT = 52.9218

Rect = tuple[int, int, int, int]  # left, top, right, bottom
# The community hub's room on the Outpatients & Community plan; it is also drawn on the map.
_HUB_RECT: Rect = (940, 90, 1540, 920)


@dataclass(frozen=True)
class ZoneLayout:
    name: str
    type: ZoneType
    rect: Rect
    parent: str | None = None
    department: str = ""  # top-level zones only; children inherit it
    gln_location: int | None = None  # the GLN's location reference, when the zone has one
    ble_at: tuple[Point, ...] = ()
    wifi_at: tuple[Point, ...] = ()
    geo: bool = False  # also give it a geographic polygon

    @property
    def polygon(self) -> list[Point]:
        left, top, right, bottom = self.rect
        return [
            (float(left), float(top)),
            (float(right), float(top)),
            (float(right), float(bottom)),
            (float(left), float(bottom)),
        ]


@dataclass(frozen=True)
class Feature:
    """Something drawn on a plan that is not a zone: lifts, a waiting area."""

    label: str
    rect: Rect


@dataclass(frozen=True)
class FloorLayout:
    building: str
    name: str
    level: int
    zones: tuple[ZoneLayout, ...]
    features: tuple[Feature, ...] = ()
    corridor_labels: tuple[tuple[str, Point], ...] = ()
    outline: Rect = (40, 70, 1560, 940)

    @property
    def title(self) -> str:
        return f"{SITE_NAME} - {self.building}, {self.name}"


@dataclass(frozen=True)
class SiteLayout:
    floors: tuple[FloorLayout, ...]
    buildings: tuple[str, ...] = field(default=(MAIN_BLOCK, OUTPATIENTS))

    def zones(self) -> list[tuple[FloorLayout, ZoneLayout]]:
        return [(floor, zone) for floor in self.floors for zone in floor.zones]

    def departments(self) -> dict[str, str]:
        """Zone name to the department that owns equipment kept there."""
        by_name = {zone.name: zone for _, zone in self.zones()}
        result = {}
        for name, zone in by_name.items():
            top = zone
            while top.parent is not None:
                top = by_name[top.parent]
            result[name] = top.department
        return result


def spread(rect: Rect, count: int) -> tuple[Point, ...]:
    """``count`` points evenly along a room's long side, a third of the way in."""
    left, top, right, bottom = rect
    width, height = right - left, bottom - top
    if width >= height:
        y = top + height / 3
        return tuple((left + width * (i + 1) / (count + 1), y) for i in range(count))
    x = left + width / 3
    return tuple((x, top + height * (i + 1) / (count + 1)) for i in range(count))


def gln(location: int) -> str:
    """A 13-digit GLN: company prefix, location reference, GS1 mod-10 check digit."""
    body = f"{GS1_COMPANY_PREFIX}{location:05d}"
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return body + str((10 - total % 10) % 10)


def plan_to_lon_lat(x: float, y: float) -> Point:
    """Plan pixels to (longitude, latitude); an equirectangular step is exact enough here."""
    metres_east, metres_south = x * METRES_PER_PIXEL, y * METRES_PER_PIXEL
    metres_per_degree_lat = 111_320.0
    metres_per_degree_lon = metres_per_degree_lat * math.cos(math.radians(PLAN_ORIGIN_LAT))
    return (
        round(PLAN_ORIGIN_LON + metres_east / metres_per_degree_lon, 6),
        round(PLAN_ORIGIN_LAT - metres_south / metres_per_degree_lat, 6),
    )


def _room(
    name: str,
    type: ZoneType,
    rect: Rect,
    parent: str | None = None,
    *,
    ble: int = 1,
    wifi: bool = False,
    department: str = "",
    gln_location: int | None = None,
    geo: bool = False,
) -> ZoneLayout:
    # A Wi-Fi access point sits between the room's BLE gateways, not on top of one.
    left, top, right, bottom = rect
    wifi_at = ((left + (right - left) / 2, top + (bottom - top) * 0.7),) if wifi else ()
    return ZoneLayout(
        name,
        type,
        rect,
        parent,
        department=department,
        gln_location=gln_location,
        ble_at=spread(rect, ble),
        wifi_at=wifi_at,
        geo=geo,
    )


def _ground_floor() -> FloorLayout:
    ed, theatres = "Emergency Department", "Theatres"
    return FloorLayout(
        MAIN_BLOCK,
        "Ground floor",
        0,
        zones=(
            ZoneLayout(ed, ZoneType.EMERGENCY, (60, 90, 640, 450), department=ed, gln_location=1),
            _room("ED Majors", ZoneType.BAY, (75, 130, 430, 435), ed, ble=2, wifi=True),
            _room("ED Resus", ZoneType.ROOM, (445, 130, 625, 435), ed),
            ZoneLayout(
                theatres,
                ZoneType.DEPARTMENT,
                (660, 90, 1200, 450),
                department=theatres,
                gln_location=2,
            ),
            _room("Theatre 1", ZoneType.THEATRE, (675, 130, 835, 435), theatres),
            _room("Theatre 2", ZoneType.THEATRE, (850, 130, 1010, 435), theatres),
            _room("Theatre Recovery", ZoneType.ROOM, (1025, 130, 1185, 435), theatres),
            # Stores has no gateway: a dead spot many real sites have, useful in the demo;
            # its RFID door portal and shelf antennas see the labelled kit there.
            _room(MAIN_STORES, ZoneType.STORE, (1220, 90, 1540, 450), ble=0, department="Stores"),
            # The corridor outside the library and stores doors, where their portals'
            # outer antennas read; no gateway (kit passes through, it is not kept there).
            _room(CORRIDOR, ZoneType.CORRIDOR, (60, 455, 1540, 555), ble=0),
            _room(
                "Clinical Engineering Workshop",
                ZoneType.WORKSHOP,
                (60, 560, 520, 920),
                wifi=True,
                department="Clinical Engineering",
                gln_location=3,
            ),
            _room(
                EQUIPMENT_LIBRARY,
                ZoneType.EQUIPMENT_LIBRARY,
                (540, 560, 1000, 920),
                ble=2,
                department="Equipment Library",
                gln_location=4,
            ),
            _room(
                "Ground Floor Dirty Utility",
                ZoneType.DIRTY_UTILITY,
                (1020, 560, 1240, 920),
                department="Equipment Library",
            ),
        ),
        features=(Feature("Lifts & stairs", (1260, 560, 1540, 920)),),
    )


def _ward(
    name: str,
    department: str,
    left: int,
    right: int,
    bays: int,
    gln_at: int,
    *,
    wifi: bool = False,
) -> list[ZoneLayout]:
    """A bay-based ward: bays above and below a central ward corridor. With ``wifi``, a
    Wi-Fi access point in the corridor a quarter of the way along, clear of the BLE
    gateway in its middle: one access point covers the whole ward (its bays included)."""
    top_row, bottom_row = (130, 430), (560, 905)
    inner_left, inner_right = left + 15, right - 15
    corridor = (float((left + right) // 2), 495.0)
    access_point = (float(left + (right - left) // 4), 495.0)
    zones = [
        ZoneLayout(
            name,
            ZoneType.WARD,
            (left, 90, right, 920),
            department=department,
            gln_location=gln_at,
            ble_at=(corridor,),
            wifi_at=(access_point,) if wifi else (),
        )
    ]
    # Two bays on the top row; the rest, then the dirty utility, share the bottom row.
    top_cells = _split(inner_left, inner_right, 2)
    bottom_cells = _split(inner_left, inner_right, (bays - 2) + 1)
    letters = "ABCD"
    for i, (x0, x1) in enumerate(top_cells):
        rect = (x0, top_row[0], x1, top_row[1])
        zones.append(_room(f"{name} Bay {letters[i]}", ZoneType.BAY, rect, name))
    for i, (x0, x1) in enumerate(bottom_cells[:-1]):
        rect = (x0, bottom_row[0], x1, bottom_row[1])
        zones.append(_room(f"{name} Bay {letters[i + 2]}", ZoneType.BAY, rect, name))
    x0, x1 = bottom_cells[-1]
    rect = (x0, bottom_row[0], x1, bottom_row[1])
    zones.append(_room(f"{name} Dirty Utility", ZoneType.DIRTY_UTILITY, rect, name))
    return zones


def _split(left: int, right: int, parts: int, gap: int = 15) -> list[tuple[int, int]]:
    width = (right - left - gap * (parts - 1)) // parts
    return [(left + i * (width + gap), left + i * (width + gap) + width) for i in range(parts)]


def _first_floor() -> FloorLayout:
    return FloorLayout(
        MAIN_BLOCK,
        "First floor",
        1,
        zones=(
            # Ward 5's Wi-Fi access point reports the demo's Wi-Fi pumps (demo/wifi.py).
            *_ward("Ward 5", "Ward 5 (Acute Medicine)", 60, 780, bays=4, gln_at=5, wifi=True),
            *_ward("Ward 6", "Ward 6 (General Surgery)", 1020, 1540, bays=3, gln_at=6),
        ),
        features=(Feature("Lifts & stairs", (810, 330, 990, 660)),),
        corridor_labels=(("Landing", (900.0, 300.0)),),
    )


def _outpatients_floor() -> FloorLayout:
    outpatients = "Outpatients"
    waiting = (485, 600, 885, 905)
    return FloorLayout(
        OUTPATIENTS,
        "Ground floor",
        0,
        zones=(
            ZoneLayout(
                outpatients,
                ZoneType.DEPARTMENT,
                (60, 90, 900, 920),
                department=outpatients,
                ble_at=((685.0, 750.0),),  # in the waiting area, outside both clinic rooms
            ),
            _room("Outpatient Clinic Room 1", ZoneType.ROOM, (75, 130, 470, 480), outpatients),
            _room("Outpatient Clinic Room 2", ZoneType.ROOM, (485, 130, 885, 480), outpatients),
            _room(
                COMMUNITY_HUB,
                ZoneType.COMMUNITY_HUB,
                _HUB_RECT,
                ble=2,
                wifi=True,
                department="Community Equipment Service",
                gln_location=7,
                geo=True,
            ),
        ),
        features=(Feature("Waiting area", waiting), Feature("Reception", (75, 600, 470, 905))),
    )


DEMO_SITE = SiteLayout(floors=(_ground_floor(), _first_floor(), _outpatients_floor()))


# --- the RFID readers of the Equipment Library and Main Stores ------------------------------


@dataclass(frozen=True)
class RfidAntenna:
    """One antenna port of a fixed UHF reader, registered as the receiver
    ``<reader>:<port>`` (technology ``rfid``) in the zone it reads."""

    reader: str
    port: int
    zone: str
    at: Point
    what: str  # the receiver's name after the reader's: "door, inside"

    @property
    def identifier(self) -> str:
        return f"{self.reader}:{self.port}"


# Each room has one four-port reader: port 1 inside its door and port 2 outside it in the
# corridor (a portal: the order of the two reads says in or out), ports 3 and 4 over its
# shelves. floki-rfid's demo simulator (floki_rfid/simulator_layout.py) emulates these
# readers and their portals by these names: change both together.
RFID_ANTENNAS: tuple[RfidAntenna, ...] = (
    RfidAntenna("library", 1, EQUIPMENT_LIBRARY, (770.0, 585.0), "door, inside"),
    RfidAntenna("library", 2, CORRIDOR, (770.0, 530.0), "door, corridor side"),
    RfidAntenna("library", 3, EQUIPMENT_LIBRARY, (600.0, 740.0), "shelves, west"),
    RfidAntenna("library", 4, EQUIPMENT_LIBRARY, (940.0, 740.0), "shelves, east"),
    RfidAntenna("stores", 1, MAIN_STORES, (1380.0, 425.0), "door, inside"),
    RfidAntenna("stores", 2, CORRIDOR, (1380.0, 480.0), "door, corridor side"),
    RfidAntenna("stores", 3, MAIN_STORES, (1270.0, 200.0), "shelves, west"),
    RfidAntenna("stores", 4, MAIN_STORES, (1490.0, 200.0), "shelves, east"),
)
# The zones whose kit carries a GIAI-96 RFID label (its asset's GIAI encoded) ...
RFID_LABELLED_ZONES = frozenset({EQUIPMENT_LIBRARY, MAIN_STORES})
# ... and carries that label only, no BLE tag: kit kept on shelves and booked in and out
# at a door needs no battery (and no gateway hears Main Stores). One technology per item
# keeps the demo's story plain: BLE-tagged kit wanders the wards, RFID-labelled kit is
# seen on its shelves and at its doors.
RFID_ONLY_ZONES = RFID_LABELLED_ZONES


# --- the community service's map: the hub, its depot and the home areas it serves ---------

# Fictional areas a few hundred metres across, each standing for many streets: a loaned
# item is shown as "in Home area N1", never at a house.
HOME_AREA_PREFIX = "Home area"
COMMUNITY_DEPOT = "Community Equipment Depot"
METRES_PER_DEGREE_LAT = 111_320.0


@dataclass(frozen=True)
class GeoArea:
    """A zone drawn only on the map: a rectangle placed by its centre's offset from the
    community hub's centre, in metres."""

    name: str
    type: ZoneType
    east_m: float
    north_m: float
    width_m: float
    height_m: float

    @property
    def geo_polygon(self) -> list[Point]:
        west, east = self.east_m - self.width_m / 2, self.east_m + self.width_m / 2
        south, north = self.north_m - self.height_m / 2, self.north_m + self.height_m / 2
        return [
            offset_lon_lat(west, south),
            offset_lon_lat(east, south),
            offset_lon_lat(east, north),
            offset_lon_lat(west, north),
        ]


def hub_centre() -> Point:
    """(longitude, latitude) of the middle of the community hub's outline."""
    left, top, right, bottom = _HUB_RECT
    return plan_to_lon_lat((left + right) / 2, (top + bottom) / 2)


def offset_lon_lat(east_m: float, north_m: float) -> Point:
    """The point ``east_m`` east and ``north_m`` north of the hub's centre."""
    lon, lat = hub_centre()
    per_degree_lon = METRES_PER_DEGREE_LAT * math.cos(math.radians(lat))
    return (
        round(lon + east_m / per_degree_lon, 6),
        round(lat + north_m / METRES_PER_DEGREE_LAT, 6),
    )


COMMUNITY_AREAS: tuple[GeoArea, ...] = (
    GeoArea(COMMUNITY_DEPOT, ZoneType.STORE, 2600.0, 1900.0, 180.0, 120.0),
    GeoArea(f"{HOME_AREA_PREFIX} N1", ZoneType.OTHER, 300.0, 3400.0, 450.0, 350.0),
    GeoArea(f"{HOME_AREA_PREFIX} E1", ZoneType.OTHER, 4300.0, -600.0, 400.0, 400.0),
    GeoArea(f"{HOME_AREA_PREFIX} S1", ZoneType.OTHER, -900.0, -3900.0, 500.0, 300.0),
)
