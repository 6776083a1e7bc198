"""What a client may send to create or change a record.

Shared by the API (JSON bodies), ``import-site`` (TOML/JSON files) and plugins.
Unknown fields are refused; ``UNSET`` in an update means "leave as it is".
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any

import msgspec
from msgspec import UNSET, Meta, UnsetType

from floki_core.domain import AssetState, Criticality, Point, Role, ZoneType

# NUL is refused everywhere: PostgreSQL cannot store it in text.
NO_NUL = r"^[^\x00]*$"
Name = Annotated[str, Meta(min_length=1, max_length=200, pattern=NO_NUL)]
Text200 = Annotated[str, Meta(max_length=200, pattern=NO_NUL)]
ShortText = Annotated[str, Meta(max_length=500, pattern=NO_NUL)]
Notes = Annotated[str, Meta(max_length=4000, pattern=NO_NUL)]
SiteCode = Annotated[str, Meta(max_length=50, pattern=NO_NUL)]
TimeZone = Annotated[str, Meta(max_length=64, pattern=r"^[A-Za-z0-9_+/-]+$")]
# Ids fit a signed 64-bit column; anything larger is refused, not an overflow.
Id = Annotated[int, Meta(ge=1, le=2**63 - 1)]
Level = Annotated[int, Meta(ge=-50, le=500)]
RssiOffset = Annotated[float, Meta(ge=-40, le=40)]
Slug = Annotated[str, Meta(pattern=r"^[a-z][a-z0-9_]{1,31}$")]
Gln = Annotated[str, Meta(pattern=r"^\d{13}$")]
Giai = Annotated[str, Meta(pattern=r"^[!-~]{1,30}$")]
AssetNumber = Annotated[str, Meta(pattern=r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,63}$")]
Polygon = Annotated[list[Point], Meta(min_length=3, max_length=500)]
Username = Annotated[str, Meta(pattern=r"^[a-z0-9][a-z0-9._-]{1,63}$")]
Password = Annotated[str, Meta(min_length=10, max_length=200)]


class Input(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    def given(self) -> dict[str, Any]:
        """The fields the client actually sent."""
        return {f: v for f in self.__struct_fields__ if (v := getattr(self, f)) is not UNSET}


class SiteCreate(Input, kw_only=True):
    name: Name
    code: SiteCode | None = None
    timezone: TimeZone = "Europe/London"


class SiteUpdate(Input, kw_only=True):
    name: Name | UnsetType = UNSET
    code: SiteCode | UnsetType | None = UNSET
    timezone: TimeZone | UnsetType = UNSET


class BuildingCreate(Input, kw_only=True):
    site_id: Id
    name: Name


class BuildingUpdate(Input, kw_only=True):
    name: Name | UnsetType = UNSET


class FloorCreate(Input, kw_only=True):
    building_id: Id
    name: Name
    level: Level = 0
    metres_per_pixel: Annotated[float, Meta(gt=0)] | None = None


class FloorUpdate(Input, kw_only=True):
    name: Name | UnsetType = UNSET
    level: Level | UnsetType = UNSET
    metres_per_pixel: Annotated[float, Meta(gt=0)] | UnsetType | None = UNSET


class ZoneCreate(Input, kw_only=True):
    site_id: Id
    name: Name
    type: ZoneType = ZoneType.ROOM
    parent_id: Id | None = None
    floor_id: Id | None = None
    polygon: Polygon | None = None
    geo_polygon: Polygon | None = None
    gln: Gln | None = None


class ZoneUpdate(Input, kw_only=True):
    name: Name | UnsetType = UNSET
    type: ZoneType | UnsetType = UNSET
    parent_id: Id | UnsetType | None = UNSET
    floor_id: Id | UnsetType | None = UNSET
    polygon: Polygon | UnsetType | None = UNSET
    geo_polygon: Polygon | UnsetType | None = UNSET
    gln: Gln | UnsetType | None = UNSET


class ReceiverCreate(Input, kw_only=True):
    name: Name
    technology: Slug
    identifier: Name
    zone_id: Id
    x: float | None = None
    y: float | None = None
    notes: Notes = ""
    rssi_offset: RssiOffset = 0.0


class ReceiverUpdate(Input, kw_only=True):
    name: Name | UnsetType = UNSET
    identifier: Name | UnsetType = UNSET
    zone_id: Id | UnsetType = UNSET
    x: float | UnsetType | None = UNSET
    y: float | UnsetType | None = UNSET
    notes: Notes | UnsetType = UNSET
    rssi_offset: RssiOffset | UnsetType = UNSET


class AssetClassCreate(Input, kw_only=True):
    name: Name
    category: Text200 = ""
    make: Text200 = ""
    model: Text200 = ""
    ppm_interval_days: Annotated[int, Meta(ge=1, le=3650)] | None = None
    criticality: Criticality = Criticality.MEDIUM


class AssetClassUpdate(Input, kw_only=True):
    name: Name | UnsetType = UNSET
    category: Text200 | UnsetType = UNSET
    make: Text200 | UnsetType = UNSET
    model: Text200 | UnsetType = UNSET
    ppm_interval_days: Annotated[int, Meta(ge=1, le=3650)] | UnsetType | None = UNSET
    criticality: Criticality | UnsetType = UNSET


class AssetCreate(Input, kw_only=True):
    asset_number: AssetNumber
    description: ShortText = ""
    serial: Text200 = ""
    giai: Giai | None = None
    class_id: Id | None = None
    home_zone_id: Id | None = None
    department: Text200 = ""
    state: AssetState = AssetState.AVAILABLE
    last_ppm: dt.date | None = None
    next_ppm_due: dt.date | None = None


class AssetUpdate(Input, kw_only=True):
    description: ShortText | UnsetType = UNSET
    serial: Text200 | UnsetType = UNSET
    giai: Giai | UnsetType | None = UNSET
    class_id: Id | UnsetType | None = UNSET
    home_zone_id: Id | UnsetType | None = UNSET
    department: Text200 | UnsetType = UNSET
    state: AssetState | UnsetType = UNSET
    last_ppm: dt.date | UnsetType | None = UNSET
    next_ppm_due: dt.date | UnsetType | None = UNSET


class IdentifierCreate(Input, kw_only=True):
    asset_id: Id
    technology: Slug
    value: Name


class UserCreate(Input, kw_only=True):
    username: Username
    role: Role
    display_name: Text200 = ""
    password: Password | None = None  # generated and returned once when omitted


class UserUpdate(Input, kw_only=True):
    display_name: Text200 | UnsetType = UNSET
    role: Role | UnsetType = UNSET
    disabled: bool | UnsetType = UNSET


class PasswordChange(Input, kw_only=True):
    password: Password | None = None


class LoginRequest(Input, kw_only=True):
    username: Annotated[str, Meta(max_length=100, pattern=NO_NUL)]
    password: Annotated[str, Meta(max_length=200)]


class TokenCreate(Input, kw_only=True):
    name: Name
    username: Annotated[str, Meta(max_length=100, pattern=NO_NUL)] | None = (
        None  # admins may create tokens for others
    )
    device: bool = False
    expires_days: Annotated[int, Meta(ge=1, le=3650)] | None = None


# Technologies whose plain identifiers are MAC addresses (beacon ids are left alone).
_MAC_TECHNOLOGIES = frozenset({"ble", "wifi"})
_MAC_RE = re.compile(r"^[0-9A-Fa-f]{2}([-:]?[0-9A-Fa-f]{2}){5}$")


def normalise_identifier(technology: str, value: str) -> str:
    """One spelling per tag, so the same MAC typed two ways is one identifier."""
    value = value.strip()
    if (technology.endswith("mac") or technology in _MAC_TECHNOLOGIES) and _MAC_RE.match(value):
        digits = re.sub(r"[^0-9A-Fa-f]", "", value).upper()
        return ":".join(digits[i : i + 2] for i in range(0, 12, 2))
    if technology in {"rfid_epc", "ibeacon", "eddystone"}:
        return value.upper()
    return value


def gs1_check_digit(body: str) -> int:
    """GS1 mod-10 check digit of ``body`` (the digits before it): weights 3,1,3,... from
    the right."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return (10 - total % 10) % 10


def gs1_check_digit_ok(digits: str) -> bool:
    return gs1_check_digit(digits[:-1]) == int(digits[-1])
