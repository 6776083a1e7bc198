"""Short codes on labels: an asset's ``qr`` identifier, a location's ``qr`` receiver.

A code is made the first time a label needs one, through the register's audited
create functions (the same path as ``POST /api/v1/identifiers`` and ``/receivers``),
and reused on every reprint, so a printed label never goes stale.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from floki_core.sdk import (
    Identifier,
    PluginContext,
    Principal,
    Receiver,
    RegisterReading,
    RegisterWriting,
)

__all__ = [
    "CODE_ALPHABET",
    "CODE_LENGTH",
    "QR",
    "CreatedCodes",
    "asset_codes",
    "ensure_asset_codes",
    "ensure_codes",
    "ensure_zone_codes",
    "new_short_code",
    "zone_codes",
]

QR = "qr"  # the technology of label codes, on identifiers (assets) and receivers (places)
# Crockford's base 32: no I, L, O or U, so a code read aloud or typed is unambiguous.
CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_LENGTH = 8  # 32**8 ~ 1.1e12 codes: a clash is rare and retried
LOCATION_LABEL = "Location label"

RandomBelow = Callable[[int], int]


def new_short_code(randbelow: RandomBelow = secrets.randbelow) -> str:
    return "".join(CODE_ALPHABET[randbelow(32)] for _ in range(CODE_LENGTH))


@dataclass
class CreatedCodes:
    """What ensuring codes added to the register (the appliance is told of each)."""

    identifiers: list[Identifier] = field(default_factory=list)
    receivers: list[Receiver] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.identifiers) + len(self.receivers)


def asset_codes(register: RegisterReading, asset_ids: Iterable[int]) -> dict[int, str]:
    """The existing code of each asset that has one (its oldest ``qr`` identifier)."""
    return register.identifiers_of(asset_ids, QR)


def zone_codes(register: RegisterReading, zone_ids: Iterable[int]) -> dict[int, str]:
    """The existing location code of each zone that has one (its oldest ``qr`` receiver)."""
    return register.receivers_of(zone_ids, QR)


def _code_taken(register: RegisterReading, code: str) -> bool:
    # Receivers are also matched by identifier alone, and plain scans by asset number.
    return (
        register.identifier_with_value_in(QR, [code]) is not None
        or register.receiver_with_identifier(code) is not None
        or register.asset_by_number(code) is not None
        or register.asset_by_giai(code) is not None
    )


def _unused_code(register: RegisterReading, randbelow: RandomBelow) -> str:
    for _ in range(20):
        code = new_short_code(randbelow)
        if not _code_taken(register, code):
            return code
    raise RuntimeError("could not find an unused label code in 20 tries")


def ensure_asset_codes(
    register: RegisterWriting,
    asset_ids: Sequence[int],
    *,
    actor: Principal,
    randbelow: RandomBelow = secrets.randbelow,
) -> tuple[dict[int, str], CreatedCodes]:
    """Every asset's code, creating (and auditing) those that have none."""
    codes = asset_codes(register, asset_ids)
    created = CreatedCodes()
    for asset_id in dict.fromkeys(asset_ids):
        if asset_id in codes:
            continue
        record = register.create_identifier(
            asset_id=asset_id,
            technology=QR,
            value=_unused_code(register, randbelow),
            actor=actor,
        )
        codes[asset_id] = record.value
        created.identifiers.append(record)
    return codes, created


def ensure_zone_codes(
    register: RegisterWriting,
    zone_ids: Sequence[int],
    *,
    actor: Principal,
    randbelow: RandomBelow = secrets.randbelow,
) -> tuple[dict[int, str], CreatedCodes]:
    """Every zone's location code, creating (and auditing) a ``qr`` receiver where none is."""
    codes = zone_codes(register, zone_ids)
    created = CreatedCodes()
    for zone_id in dict.fromkeys(zone_ids):
        if zone_id in codes:
            continue
        code = _unused_code(register, randbelow)
        record = register.create_receiver(
            name=f"{LOCATION_LABEL} {code}",
            technology=QR,
            identifier=code,
            zone_id=zone_id,
            notes="the code of this location's printed QR label",
            actor=actor,
        )
        codes[zone_id] = record.identifier
        created.receivers.append(record)
    return codes, created


async def ensure_codes(
    context: PluginContext,
    *,
    asset_ids: Sequence[int] = (),
    zone_ids: Sequence[int] = (),
    actor: Principal,
) -> tuple[dict[int, str], dict[int, str]]:
    """For a running appliance: ensure codes in one transaction (the appliance is told,
    and its location index rebuilt before this returns, so a scan that follows at once
    is bound)."""

    def known(register: RegisterReading) -> tuple[dict[int, str], dict[int, str]]:
        return asset_codes(register, asset_ids), zone_codes(register, zone_ids)

    # Labels printed already (the usual case) need no write: a scan then works even
    # while the disk is full, and costs no durable commit.
    assets, zones = await context.records.read(known)
    if set(asset_ids) <= assets.keys() and set(zone_ids) <= zones.keys():
        return assets, zones

    def work(register: RegisterWriting) -> tuple[dict[int, str], dict[int, str]]:
        assets, _ = ensure_asset_codes(register, asset_ids, actor=actor)
        zones, _ = ensure_zone_codes(register, zone_ids, actor=actor)
        return assets, zones

    return await context.records.write(work)
