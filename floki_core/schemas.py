"""What a client may send to create or change a record.

Shared by the API (JSON bodies), ``import-site`` (TOML/JSON files) and plugins.
Unknown fields are refused; ``UNSET`` in an update means "leave as it is".
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
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
Giai = Annotated[str, Meta(max_length=30)]  # and checked whole by giai_problem
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


# Dates a register can mean: outside these, date arithmetic (a PPM interval, a "days
# overdue") overflows and nothing a hospital plans is that far away.
EARLIEST_DATE = dt.date(1970, 1, 1)
LATEST_DATE = dt.date(2999, 12, 31)


# A GIAI (GS1 AI 8004) is a GS1 Company Prefix (at least 4 digits) and an asset
# reference, at most 30 characters of GS1 character set 82 (GS1 General Specifications
# 7.11). A label printed from anything else would be refused when scanned (hazard H11).
# Set 82 holds "(" and ")", but the register refuses them: in the bracketed form people
# type, (8004)50123456(10)ABC is the GIAI 50123456 and a batch, so a GIAI 50123456(10)ABC
# would be named by its barcode and another asset by its printed text.
_CSET82_NO_BRACKETS = "!\"%&'*-?A-Z_a-z"  # *-? runs * + , - . / 0-9 : ; < = > ?
_GIAI = re.compile(rf"[0-9]{{4}}[{_CSET82_NO_BRACKETS}]{{0,26}}", re.ASCII)
_GIAI_CHAR = re.compile(rf"[{_CSET82_NO_BRACKETS}]", re.ASCII)


def giai_problem(value: str) -> str | None:
    """Why ``value`` is not a GIAI a scanner reads back as this one asset's, or None."""
    if _GIAI.fullmatch(value):
        return None
    if len(value) > 30:
        return f"GIAI {value!r} is {len(value)} characters; at most 30"
    if not (len(value) >= 4 and value[:4].isascii() and value[:4].isdigit()):
        return f"GIAI {value!r} does not start with a GS1 Company Prefix (4 digits or more)"
    bad = next(c for c in value if not _GIAI_CHAR.fullmatch(c))
    if bad in "()":
        return (
            f"GIAI {value!r} has {bad!r}, which would be ambiguous in the bracketed form "
            f"people type ((8004){value}): brackets there mark the AIs"
        )
    return f"GIAI {value!r} has {bad!r}, which GS1 does not allow (character set 82)"


def check_giai(value: object) -> None:
    """Refuse (``ValueError``, a 422 through msgspec) a GIAI no scanner reads back."""
    if isinstance(value, str) and (problem := giai_problem(value)):
        raise ValueError(problem)


def check_dates(record: object, *names: str) -> None:
    """Refuse (``ValueError``, a 422 through msgspec) a date field outside the range."""
    for name in names:
        value = getattr(record, name)
        if isinstance(value, dt.date) and not EARLIEST_DATE <= value <= LATEST_DATE:
            raise ValueError(
                f"{name}: {value.isoformat()} is out of range; "
                f"{EARLIEST_DATE.isoformat()} to {LATEST_DATE.isoformat()}"
            )


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

    def __post_init__(self) -> None:
        check_giai(self.giai)
        check_dates(self, "last_ppm", "next_ppm_due")


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

    def __post_init__(self) -> None:
        check_giai(self.giai)
        check_dates(self, "last_ppm", "next_ppm_due")


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


# ---------------------------------------------------------------- tag identifiers
#
# One spelling per tag identity. Each kind of identifier has one function that reads the
# ways people and devices write it and answers the kind's one spelling, or None when the
# text is not of that kind. Identifiers are stored in that spelling (the API, the site
# import and plugins all write through ``storage.register``), the BLE decoders emit it,
# and the location index looks tags up by it.

_HEX = "0-9A-Fa-f"
_NOT_HEX = re.compile(f"[^{_HEX}]")
_MAC_FORMS = re.compile(
    rf"[{_HEX}]{{12}}"  # AABBCCDDEEFF
    rf"|[{_HEX}]{{2}}([:\-. ])[{_HEX}]{{2}}(?:\1[{_HEX}]{{2}}){{4}}"  # AA:BB:.. AA-BB-.. AA BB ..
    rf"|[{_HEX}]{{4}}\.[{_HEX}]{{4}}\.[{_HEX}]{{4}}"  # AABB.CCDD.EEFF
)
_UUID = rf"[{_HEX}]{{8}}-?[{_HEX}]{{4}}-?[{_HEX}]{{4}}-?[{_HEX}]{{4}}-?[{_HEX}]{{12}}"
_IBEACON_FORMS = re.compile(
    rf"(?:ibeacon:)?\{{?(?P<uuid>{_UUID})\}}?"
    r"[:\-/, ] *(?P<major>[0-9]{1,5})[:\-/, ] *(?P<minor>[0-9]{1,5})",
    re.IGNORECASE,
)
_EDDYSTONE_FORMS = re.compile(
    rf"(?:eddy(?:stone)?:)?(?:0x)?(?P<namespace>[{_HEX}]{{20}})"
    rf"[:\-/ ]?(?:0x)?(?P<instance>[{_HEX}]{{12}})",
    re.IGNORECASE,
)
# ESPresense's AltBeacon id: the first 16 bytes as a UUID, the last four as two decimals.
_ALTBEACON_ESPRESENSE = re.compile(
    rf"altbeacon:(?P<uuid>{_UUID})-(?P<major>[0-9]{{1,5}})-(?P<minor>[0-9]{{1,5}})",
    re.IGNORECASE,
)
_ALTBEACON_FORMS = re.compile(rf"(?:altbeacon:)?(?:0x)?(?P<id>[{_HEX}:\- ]+)", re.IGNORECASE)
_EPC_FORMS = re.compile(rf"(?:0x)?[{_HEX}][{_HEX}\- ]*", re.IGNORECASE)


def spell_uuid(text: str) -> str:
    """``F7826DA6-4FA2-4E98-8024-BC5B71E0893E`` from 32 hex digits, hyphens or not."""
    digits = text.replace("-", "").upper()
    return f"{digits[:8]}-{digits[8:12]}-{digits[12:16]}-{digits[16:20]}-{digits[20:]}"


def spell_mac(text: str) -> str | None:
    """``AA:BB:CC:DD:EE:FF`` from a MAC written bare, with ``:``/``-``/``.``/space between
    the bytes, or in dotted groups of four."""
    if not _MAC_FORMS.fullmatch(text):
        return None
    digits = _NOT_HEX.sub("", text).upper()
    return ":".join(digits[i : i + 2] for i in range(0, 12, 2))


def spell_ibeacon(text: str) -> str | None:
    """``UUID:major:minor`` (UUID upper case with hyphens, decimal numbers without leading
    zeros) from any case, the UUID with or without hyphens or braces, ``:``/``-``/``/``
    between the parts, and ESPresense's ``iBeacon:<uuid>-<major>-<minor>``."""
    found = _IBEACON_FORMS.fullmatch(text)
    if found is None:
        return None
    major, minor = int(found["major"]), int(found["minor"])
    if major > 0xFFFF or minor > 0xFFFF:
        return None
    return f"{spell_uuid(found['uuid'])}:{major}:{minor}"


def spell_eddystone(text: str) -> str | None:
    """``NAMESPACE:INSTANCE`` (20 and 12 hex digits, upper case) from any case, written
    together or with ``:``/``-``/``/`` between, and ESPresense's ``eddy:<ns>-<instance>``."""
    found = _EDDYSTONE_FORMS.fullmatch(text)
    if found is None:
        return None
    return f"{found['namespace'].upper()}:{found['instance'].upper()}"


def spell_altbeacon(text: str) -> str | None:
    """The 20-byte beacon id as 40 upper-case hex digits, from any case and grouping, and
    ESPresense's ``altBeacon:<uuid>-<major>-<minor>`` (major and minor in decimal)."""
    espresense = _ALTBEACON_ESPRESENSE.fullmatch(text)
    if espresense is not None:
        major, minor = int(espresense["major"]), int(espresense["minor"])
        if major > 0xFFFF or minor > 0xFFFF:
            return None
        return f"{espresense['uuid'].replace('-', '').upper()}{major:04X}{minor:04X}"
    found = _ALTBEACON_FORMS.fullmatch(text)
    if found is None:
        return None
    digits = _NOT_HEX.sub("", found["id"])
    return digits.upper() if len(digits) == 40 else None


def spell_epc(text: str) -> str | None:
    """An EPC in hex: upper case, no spaces or hyphens; None for anything else (an EPC
    URI, a vendor's own id), which is kept as typed."""
    if not _EPC_FORMS.fullmatch(text):
        return None
    return _NOT_HEX.sub("", text[2:] if text[:2] in ("0x", "0X") else text).upper()


def spell_giai(text: str) -> str | None:
    """A GIAI as typed (GS1 keys are case-sensitive), if the register holds it as one."""
    return text if giai_problem(text) is None else None


# A UDI is one device's GTIN (AI 01) and serial number (AI 21). The register spells it
# as the QR plugin's scan reader does, so a scan of its label finds it: the bracketed
# form with a 14-digit GTIN. The serial is GS1 character set 82 without brackets, which
# would be ambiguous in that spelling, as they would in a GIAI.
_SERIAL = rf"[{_CSET82_NO_BRACKETS}]{{1,20}}"
_UDI_BRACKETED = re.compile(
    rf"\(01\)\s*(?P<gtin>[0-9]{{8}}|[0-9]{{12,14}})\s*\(21\)\s*(?P<serial>{_SERIAL})",
    re.ASCII,
)
_UDI_ELEMENT_STRING = re.compile(rf"01(?P<gtin>[0-9]{{14}})\x1d?21(?P<serial>{_SERIAL})", re.ASCII)


def udi_value(gtin: str, serial: str) -> str:
    """The one spelling of a UDI in the register: ``(01)<GTIN-14>(21)<serial>``; a GTIN-8,
    -12 or -13 is padded to 14 digits, as GS1 does."""
    return f"(01){gtin.zfill(14)}(21){serial}"


def _udi_parts(text: str) -> tuple[str, str] | None:
    found = _UDI_BRACKETED.fullmatch(text) or _UDI_ELEMENT_STRING.fullmatch(text)
    return None if found is None else (found["gtin"].zfill(14), found["serial"])


def spell_udi(text: str) -> str | None:
    """``(01)<GTIN-14>(21)<serial>`` from that form with white space between the fields or
    a GTIN-8, -12 or -13, or from the element string ``01<GTIN-14>21<serial>`` (a GS
    between allowed); None for anything else, a GTIN with a wrong check digit included
    (a scan refuses it, so it names no device)."""
    parts = _udi_parts(text)
    if parts is None or not gs1_check_digit_ok(parts[0]):
        return None
    return udi_value(*parts)


def udi_problem(text: str) -> str | None:
    """The reason a value of the UDI form is not a UDI: its GTIN's check digit."""
    parts = _udi_parts(text)
    if parts is None or gs1_check_digit_ok(parts[0]):
        return None
    gtin = parts[0]
    return (
        f"{text!r} is not a UDI: GTIN {gtin} has a wrong check digit: expected "
        f"{gs1_check_digit(gtin[:-1])}, got {gtin[-1]}"
    )


def spell_label_code(text: str) -> str:
    """A printed label's code (QR, barcode) in upper case: scans are read regardless of
    case, so codes that differ only in case would be one label."""
    return text.upper()


def spell_as_typed(text: str) -> str:
    return text


@dataclass(frozen=True)
class IdentifierKind:
    """How one kind of identifier is spelled.

    ``expected`` says what a tag's value must look like (a tag of another form is
    refused, naming it; ``problem`` may give a closer reason); a kind without it takes any
    text. Text a kind cannot read is kept as typed, or upper-cased where earlier releases
    stored it so (``upper_when_unread``, the beacon ids), so a stored row keeps its
    spelling and a receiver named by a room (ESPresense) stays as named."""

    spell: Callable[[str], str | None]
    expected: str | None = None
    problem: Callable[[str], str | None] | None = None
    upper_when_unread: bool = False


_MAC_KIND = IdentifierKind(
    spell_mac,
    "a MAC address of 6 bytes in hex, e.g. C0:FF:EE:00:AA:01 (any case; also with -, . "
    "or a space between the bytes, or as C0FF.EE00.AA01 or C0FFEE00AA01)",
)
_TEXT_KIND = IdentifierKind(spell_as_typed)
_LABEL_KIND = IdentifierKind(spell_label_code)
_EPC_KIND = IdentifierKind(spell_epc)

IDENTIFIER_KINDS: Mapping[str, IdentifierKind] = MappingProxyType(
    {
        "ble": _MAC_KIND,
        "wifi": _MAC_KIND,
        "ibeacon": IdentifierKind(
            spell_ibeacon,
            "an iBeacon identity UUID:major:minor, e.g. "
            "F7826DA6-4FA2-4E98-8024-BC5B71E0893E:100:7 (major and minor 0-65535)",
            upper_when_unread=True,
        ),
        "eddystone": IdentifierKind(
            spell_eddystone,
            "an Eddystone UID NAMESPACE:INSTANCE of 20 and 12 hex digits, e.g. "
            "EDD1EBEAC04E5DEFA017:0123456789AB",
            upper_when_unread=True,
        ),
        "altbeacon": IdentifierKind(
            spell_altbeacon,
            "an AltBeacon id of 40 hex digits, e.g. F7826DA64FA24E988024BC5B71E0893E00010102",
            upper_when_unread=True,
        ),
        "rfid": _EPC_KIND,
        "rfid_epc": _EPC_KIND,
        "qr": _LABEL_KIND,
        "barcode": _LABEL_KIND,
        "udi": IdentifierKind(
            spell_udi,
            "a UDI (01)<GTIN>(21)<serial>, e.g. (01)05012345678900(21)SN1001 or "
            "010501234567890021SN1001: a GTIN of 8, 12, 13 or 14 digits with its check "
            "digit, a serial number of 1 to 20 letters, digits or !\"%&'*+,-./:;<=>?_",
            udi_problem,
        ),
        "giai": IdentifierKind(
            spell_giai,
            "a GIAI: a GS1 Company Prefix (4 digits or more) and up to 30 characters in all",
            giai_problem,
        ),
    }
)


def identifier_kind(technology: str) -> IdentifierKind:
    """The kind of a technology's identifiers; ``*mac`` technologies are MACs, others not
    listed in ``IDENTIFIER_KINDS`` are kept as typed (trimmed)."""
    found = IDENTIFIER_KINDS.get(technology)
    if found is not None:
        return found
    return _MAC_KIND if technology.endswith("mac") else _TEXT_KIND


def normalise_identifier(technology: str, value: str) -> str:
    """One spelling per tag, so the same tag typed two ways is one identifier.

    Never fails: text that is not of its kind is trimmed (and, for beacon ids, upper-cased,
    as earlier releases stored it); :func:`identifier_problem` says why it is not.
    """
    text = value.strip()
    kind = identifier_kind(technology)
    spelled = kind.spell(text)
    if spelled is not None:
        return spelled
    return text.upper() if kind.upper_when_unread else text


def identifier_problem(technology: str, value: str) -> str | None:
    """Why ``value`` cannot be a ``technology`` tag identifier, or None if it can."""
    kind = identifier_kind(technology)
    text = value.strip()
    if kind.expected is None or kind.spell(text) is not None:
        return None
    closer = kind.problem(text) if kind.problem is not None else None
    return closer or f"{value!r} is not {kind.expected}"


def gs1_check_digit(body: str) -> int:
    """GS1 mod-10 check digit of ``body`` (the digits before it): weights 3,1,3,... from
    the right."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return (10 - total % 10) % 10


def gs1_check_digit_ok(digits: str) -> bool:
    return gs1_check_digit(digits[:-1]) == int(digits[-1])
