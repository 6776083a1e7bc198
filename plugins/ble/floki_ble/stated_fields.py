"""Beacon fields a gateway decoded itself and uploads beside (or instead of) the raw advert.

Minew gateways (and others that copy their JSON) can send an iBeacon as ``ibeaconUuid``,
``ibeaconMajor`` and ``ibeaconMinor`` with no ``rawData``; Eddystone UID frames as
``eddystoneNamespace`` and ``eddystoneInstance``; TLM readings as ``batteryVoltage`` and
``temperature``. Field names are matched ignoring case, ``_`` and ``-``; numbers may
arrive as JSON numbers or as text. The identity is spelled as the register spells it
(``floki_core.schemas``), which is how the advert decoders spell the same tag.

Pure: an entry in, the stated identity and readings out, or the reason they are refused.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Mapping
from typing import NamedTuple

from floki_ble.adverts import BATTERY_MV, TEMPERATURE_C
from floki_ble.decoders import Rejected
from floki_ble.technologies import EDDYSTONE, IBEACON
from floki_core.sdk import Extra, spell_eddystone, spell_ibeacon

# Folded field name (lower case, no "_" or "-") -> what it states.
FIELDS: Mapping[str, str] = {
    "ibeaconuuid": "uuid",
    "ibeaconmajor": "major",
    "ibeaconminor": "minor",
    "eddystonenamespace": "namespace",
    "eddystonenamespaceid": "namespace",
    "eddystoneinstance": "instance",
    "eddystoneinstanceid": "instance",
    "batteryvoltage": "battery_mv",
    "eddystonebatteryvoltage": "battery_mv",
    "eddystonetlmbattery": "battery_mv",
    "temperature": "temperature_c",
    "eddystonetemperature": "temperature_c",
    "eddystonetlmtemperature": "temperature_c",
}
_FOLD = str.maketrans("", "", "_-")
_UUID = re.compile(r"\{?([0-9a-fA-F]{8}-?(?:[0-9a-fA-F]{4}-?){3}[0-9a-fA-F]{12})\}?")
_NAMESPACE = re.compile(r"(?:0[xX])?([0-9a-fA-F]{20})")
_INSTANCE = re.compile(r"(?:0[xX])?([0-9a-fA-F]{12})")
MAX_MILLIVOLTS = 10_000  # the core's bound: a bigger number is not millivolts
TLM_TEMPERATURE_RANGE = (-128.0, 128.0)  # what TLM's signed 8.8 fixed point can hold


class Stated(NamedTuple):
    """What an entry's own fields say: the tag's identity (technology, value), if any, and
    its readings as observation extras."""

    identity: tuple[str, str] | None
    extras: dict[str, Extra]


@functools.lru_cache(maxsize=4096)
def stated_field(key: str) -> str | None:
    """What an entry's field ``key`` states (``"uuid"``, ``"battery_mv"``...), or None.

    Cached: a gateway sends the same few names in every entry of every upload.
    """
    return FIELDS.get(key.lower().translate(_FOLD))


def read_stated(entry: Mapping[str, object]) -> Stated | Rejected | None:
    """The identity and readings an upload entry states in its own fields; None when it
    states none (only ``rawData``, or nothing but a MAC)."""
    found: dict[str, object] = {}
    for key, value in entry.items():
        field = stated_field(key)
        if field is not None and stated_value(value):
            found[field] = value
    return judge_stated(found) if found else None


def stated_value(value: object) -> bool:
    # Empty fields are how some firmware says "not this kind of beacon".
    return value is not None and value != ""


def judge_stated(found: Mapping[str, object]) -> Stated | Rejected:
    """What the values found under :func:`stated_field` names state, or why not."""
    ibeacon = _ibeacon(found)
    if isinstance(ibeacon, Rejected):
        return ibeacon
    eddystone = _eddystone(found)
    if isinstance(eddystone, Rejected):
        return eddystone
    if ibeacon is not None and eddystone is not None:
        return Rejected("beacon_fields_disagree")  # one advert is one kind of beacon
    extras = _readings(found)
    if isinstance(extras, Rejected):
        return extras
    return Stated(ibeacon or eddystone, extras)


def _ibeacon(found: Mapping[str, object]) -> tuple[str, str] | Rejected | None:
    if "uuid" not in found:
        return None  # a major or minor alone names nothing: the MAC still does
    uuid = found["uuid"]
    matched = _UUID.fullmatch(uuid.strip()) if isinstance(uuid, str) else None
    if matched is None:
        return Rejected("bad_ibeacon_uuid")
    numbers: list[int] = []
    for part in ("major", "minor"):
        if part not in found:
            return Rejected("incomplete_ibeacon")
        number = _whole(found[part])
        if number is None or not 0 <= number <= 0xFFFF:
            return Rejected(f"bad_ibeacon_{part}")
        numbers.append(number)
    spelled = spell_ibeacon(f"{matched[1]}:{numbers[0]}:{numbers[1]}")
    return Rejected("bad_ibeacon_uuid") if spelled is None else (IBEACON, spelled)


def _eddystone(found: Mapping[str, object]) -> tuple[str, str] | Rejected | None:
    namespace, instance = found.get("namespace"), found.get("instance")
    if namespace is None and instance is None:
        return None
    if namespace is None or instance is None:
        return Rejected("incomplete_eddystone_uid")
    ns = _NAMESPACE.fullmatch(namespace.strip()) if isinstance(namespace, str) else None
    if ns is None:
        return Rejected("bad_eddystone_namespace")
    inst = _INSTANCE.fullmatch(instance.strip()) if isinstance(instance, str) else None
    if inst is None:
        return Rejected("bad_eddystone_instance")
    spelled = spell_eddystone(f"{ns[1]}:{inst[1]}")
    return Rejected("bad_eddystone_namespace") if spelled is None else (EDDYSTONE, spelled)


def _readings(found: Mapping[str, object]) -> dict[str, Extra] | Rejected:
    extras: dict[str, Extra] = {}
    if "battery_mv" in found:
        millivolts = _whole(found["battery_mv"])
        if millivolts is None or not 0 <= millivolts <= MAX_MILLIVOLTS:
            return Rejected("bad_battery_voltage")
        if millivolts:  # TLM's 0: mains powered, no battery to report
            extras[BATTERY_MV] = millivolts
    if "temperature_c" in found:
        low, high = TLM_TEMPERATURE_RANGE
        celsius = _real(found["temperature_c"])
        if celsius is None or not low <= celsius <= high:
            return Rejected("bad_temperature")
        extras[TEMPERATURE_C] = celsius
    return extras


def _real(value: object) -> float | None:
    """A finite number from JSON: a number, or text holding one ("21.5")."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            return None
    if not isinstance(value, int | float):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


def _whole(value: object) -> int | None:
    number = _real(value)
    if number is None or not number.is_integer():
        return None
    return int(number)
