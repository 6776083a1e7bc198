"""Short codes on labels: an asset's ``qr`` identifier, a location's ``qr`` receiver.

A code is made the first time a label needs one, through the register's audited
create functions (the same path as ``POST /api/v1/identifiers`` and ``/receivers``),
and reused on every reprint, so a printed label never goes stale.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from floki_core.domain import Identifier, Principal, Receiver, to_plain
from floki_core.events import DomainEvent
from floki_core.storage import register as reg
from floki_core.storage.models import AssetRow, IdentifierRow, ReceiverRow
from floki_core.storage.resources import create_record, event_name

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
    """What ensuring codes added to the register, for the events that tell the core."""

    identifiers: list[Identifier] = field(default_factory=list)
    receivers: list[Receiver] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.identifiers) + len(self.receivers)

    def events(self, at: dt.datetime) -> list[DomainEvent]:
        made: list[tuple[Any, Identifier | Receiver]] = [
            *((reg.IDENTIFIERS, i) for i in self.identifiers),
            *((reg.RECEIVERS, r) for r in self.receivers),
        ]
        return [
            DomainEvent(
                type=event_name(resource, "created"),
                at=at,
                entity=resource.name,
                entity_id=record.id,
                data=to_plain(record),
            )
            for resource, record in made
        ]


def asset_codes(session: Session, asset_ids: Iterable[int]) -> dict[int, str]:
    """The existing code of each asset that has one (its oldest ``qr`` identifier)."""
    ids = list(set(asset_ids))
    found: dict[int, str] = {}
    for start in range(0, len(ids), 500):
        rows = session.execute(
            select(IdentifierRow.asset_id, IdentifierRow.value)
            .where(
                IdentifierRow.technology == QR, IdentifierRow.asset_id.in_(ids[start : start + 500])
            )
            .order_by(IdentifierRow.id)
        )
        for asset_id, value in rows:
            found.setdefault(asset_id, value)
    return found


def zone_codes(session: Session, zone_ids: Iterable[int]) -> dict[int, str]:
    """The existing location code of each zone that has one (its oldest ``qr`` receiver)."""
    ids = list(set(zone_ids))
    found: dict[int, str] = {}
    for start in range(0, len(ids), 500):
        rows = session.execute(
            select(ReceiverRow.zone_id, ReceiverRow.identifier)
            .where(ReceiverRow.technology == QR, ReceiverRow.zone_id.in_(ids[start : start + 500]))
            .order_by(ReceiverRow.id)
        )
        for zone_id, identifier in rows:
            found.setdefault(zone_id, identifier)
    return found


def _code_taken(session: Session, code: str) -> bool:
    # Receivers are also matched by identifier alone, and plain scans by asset number.
    return (
        session.scalar(
            select(IdentifierRow.id).where(
                IdentifierRow.technology == QR, IdentifierRow.value == code
            )
        )
        is not None
        or session.scalar(select(ReceiverRow.id).where(ReceiverRow.identifier == code)) is not None
        or session.scalar(
            select(AssetRow.id).where(or_(AssetRow.asset_number == code, AssetRow.giai == code))
        )
        is not None
    )


def _unused_code(session: Session, randbelow: RandomBelow) -> str:
    for _ in range(20):
        code = new_short_code(randbelow)
        if not _code_taken(session, code):
            return code
    raise RuntimeError("could not find an unused label code in 20 tries")


def ensure_asset_codes(
    session: Session,
    asset_ids: Sequence[int],
    *,
    actor: Principal,
    now: dt.datetime,
    randbelow: RandomBelow = secrets.randbelow,
) -> tuple[dict[int, str], CreatedCodes]:
    """Every asset's code, creating (and auditing) those that have none."""
    codes = asset_codes(session, asset_ids)
    created = CreatedCodes()
    for asset_id in dict.fromkeys(asset_ids):
        if asset_id in codes:
            continue
        record = create_record(
            session,
            reg.IDENTIFIERS,
            {"asset_id": asset_id, "technology": QR, "value": _unused_code(session, randbelow)},
            actor=actor,
            now=now,
        )
        codes[asset_id] = record.value
        created.identifiers.append(record)
    return codes, created


def ensure_zone_codes(
    session: Session,
    zone_ids: Sequence[int],
    *,
    actor: Principal,
    now: dt.datetime,
    randbelow: RandomBelow = secrets.randbelow,
) -> tuple[dict[int, str], CreatedCodes]:
    """Every zone's location code, creating (and auditing) a ``qr`` receiver where none is."""
    codes = zone_codes(session, zone_ids)
    created = CreatedCodes()
    for zone_id in dict.fromkeys(zone_ids):
        if zone_id in codes:
            continue
        code = _unused_code(session, randbelow)
        record = create_record(
            session,
            reg.RECEIVERS,
            {
                "name": f"{LOCATION_LABEL} {code}",
                "technology": QR,
                "identifier": code,
                "zone_id": zone_id,
                "notes": "the code of this location's printed QR label",
            },
            actor=actor,
            now=now,
        )
        codes[zone_id] = record.identifier
        created.receivers.append(record)
    return codes, created


async def ensure_codes(
    core: Any,
    *,
    asset_ids: Sequence[int] = (),
    zone_ids: Sequence[int] = (),
    actor: Principal,
) -> tuple[dict[int, str], dict[int, str]]:
    """For a running appliance: ensure codes in one transaction, then tell the core
    (events; the location index is rebuilt before this returns, so a scan that follows
    at once is bound)."""

    def known(session: Session) -> tuple[dict[int, str], dict[int, str]]:
        return asset_codes(session, asset_ids), zone_codes(session, zone_ids)

    # Labels printed already (the usual case) need no write: a scan then works even
    # while the disk is full, and costs no durable commit.
    assets, zones = await core.read(known)
    if set(asset_ids) <= assets.keys() and set(zone_ids) <= zones.keys():
        return assets, zones

    def work(session: Session) -> tuple[dict[int, str], dict[int, str], CreatedCodes]:
        now = core.clock.now()
        assets, made_assets = ensure_asset_codes(session, asset_ids, actor=actor, now=now)
        zones, made_zones = ensure_zone_codes(session, zone_ids, actor=actor, now=now)
        made_assets.receivers = made_zones.receivers
        return assets, zones, made_assets

    assets, zones, created = await core.write(work)
    if created:
        await core.events.publish(created.events(core.clock.now()))
        await core.locations.reindex()
    return assets, zones
