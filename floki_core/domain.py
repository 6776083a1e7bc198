"""Plain domain records handed to the API, the CLI and plugins.

Rows never leave the storage layer: ``floki_core.storage`` converts them into
these frozen structs, so nothing outside it can lazy-load or mutate the database.
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

import msgspec


class Role(enum.StrEnum):
    """User roles, lowest first. ``device`` is a token kind limited to ingest."""

    VIEWER = "viewer"
    STAFF = "staff"
    ENGINEER = "engineer"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        return _ROLE_ORDER.index(self)

    def at_least(self, other: Role) -> bool:
        return self.rank >= other.rank


_ROLE_ORDER = [Role.VIEWER, Role.STAFF, Role.ENGINEER, Role.ADMIN]


class ZoneType(enum.StrEnum):
    DEPARTMENT = "department"
    WARD = "ward"
    ROOM = "room"
    BAY = "bay"
    THEATRE = "theatre"
    EMERGENCY = "emergency"
    STORE = "store"
    DIRTY_UTILITY = "dirty_utility"
    EQUIPMENT_LIBRARY = "equipment_library"
    WORKSHOP = "workshop"
    CORRIDOR = "corridor"
    COMMUNITY_HUB = "community_hub"
    OTHER = "other"


class AssetState(enum.StrEnum):
    AVAILABLE = "available"  # clean and ready
    IN_USE = "in_use"
    DIRTY = "dirty"  # awaiting decontamination
    FAULTY = "faulty"
    QUARANTINED = "quarantined"
    IN_MAINTENANCE = "in_maintenance"
    ON_LOAN = "on_loan"
    MISSING = "missing"
    CONDEMNED = "condemned"


class Criticality(enum.StrEnum):
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


class TokenKind(enum.StrEnum):
    SESSION = "session"  # from a login, expires
    API = "api"  # long-lived user token for scripts and the console
    DEVICE = "device"  # gateways: ingest only


Point = tuple[float, float]


class Record(msgspec.Struct, frozen=True, kw_only=True):
    id: int


class Site(Record, frozen=True, kw_only=True):
    name: str
    code: str | None = None
    timezone: str = "Europe/London"


class Building(Record, frozen=True, kw_only=True):
    site_id: int
    name: str


class Floor(Record, frozen=True, kw_only=True):
    building_id: int
    name: str
    level: int = 0
    metres_per_pixel: float | None = None
    plan_width_px: int | None = None
    plan_height_px: int | None = None
    has_plan: bool = False


class Zone(Record, frozen=True, kw_only=True):
    site_id: int
    name: str
    type: ZoneType = ZoneType.ROOM
    parent_id: int | None = None
    floor_id: int | None = None
    polygon: list[Point] | None = None  # pixels on the floor plan
    geo_polygon: list[Point] | None = None  # (longitude, latitude) pairs
    gln: str | None = None


class Receiver(Record, frozen=True, kw_only=True):
    name: str
    technology: str
    identifier: str
    zone_id: int
    x: float | None = None
    y: float | None = None
    notes: str = ""
    rssi_offset: float = 0.0  # dB added to this receiver's readings (calibration)


class AssetClass(Record, frozen=True, kw_only=True):
    name: str
    category: str = ""
    make: str = ""
    model: str = ""
    ppm_interval_days: int | None = None
    criticality: Criticality = Criticality.MEDIUM


class Asset(Record, frozen=True, kw_only=True):
    asset_number: str
    description: str = ""
    serial: str = ""
    giai: str | None = None
    class_id: int | None = None
    home_zone_id: int | None = None
    department: str = ""
    state: AssetState = AssetState.AVAILABLE
    last_ppm: dt.date | None = None
    next_ppm_due: dt.date | None = None
    created_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None


class Identifier(Record, frozen=True, kw_only=True):
    asset_id: int
    technology: str
    value: str


class User(Record, frozen=True, kw_only=True):
    username: str
    display_name: str = ""
    role: Role = Role.VIEWER
    disabled: bool = False
    locked_until: dt.datetime | None = None
    created_at: dt.datetime | None = None


class Token(Record, frozen=True, kw_only=True):
    user_id: int
    name: str
    kind: TokenKind
    created_at: dt.datetime
    expires_at: dt.datetime | None = None
    revoked_at: dt.datetime | None = None
    last_used_at: dt.datetime | None = None


class AuditEntry(Record, frozen=True, kw_only=True):
    at: dt.datetime
    actor: str
    action: str
    entity: str
    entity_id: str | None = None
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None
    detail: str = ""


class Principal(msgspec.Struct, frozen=True, kw_only=True):
    """Who is making a request: a user (by role) or a device token."""

    user_id: int | None
    username: str
    role: Role | None  # None for device tokens
    token_kind: TokenKind | None = None
    token_id: int | None = None
    token_name: str | None = None

    @property
    def is_device(self) -> bool:
        return self.token_kind is TokenKind.DEVICE

    @property
    def label(self) -> str:
        return f"{self.username} (device)" if self.is_device else self.username


SYSTEM = Principal(user_id=None, username="system", role=Role.ADMIN)


def to_plain(record: msgspec.Struct) -> dict[str, Any]:
    """JSON-ready dict of a record (dates as ISO strings), for audit and events."""
    result: dict[str, Any] = msgspec.to_builtins(record)
    return result
