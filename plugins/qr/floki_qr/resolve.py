"""A scanned code to what it names in the register: an asset, a place, or a reason it
names nothing.

Floki label codes are ``qr`` identifiers (assets) and ``qr`` receivers (places); GIAIs
are the assets' ``giai`` field (or ``giai`` identifiers); GLNs are the zones' ``gln``
field (or ``gln`` receivers, for a GLN that marks a spot inside a zone); UDIs are
``udi`` identifiers spelled ``(01)<GTIN-14>(21)<serial>``; plain text is an asset
number, or any ``qr``/``barcode`` identifier or receiver.

Every path from a scan to an asset comes through here (the ``qr/resolve`` API, the
phone pages, the workshop desk, serial scanners), so every one gets the same strict
reading (``floki_qr.gs1``): a code that cannot be read names nothing and says why
(``read_as`` "unreadable"), and is never looked up by a part of itself.

Identifiers and receivers are looked up in the one spelling the register stores them in
(``normalise_identifier``: label codes in upper case), so a code typed or scanned in any
case names what the register and the location pipeline name by it, and nothing else.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import msgspec
from aiohttp import web
from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.orm import Session

from floki_core.api.bodies import ApiError, json_response
from floki_core.api.keys import CORE
from floki_core.plugins.registry import Answer, Param, RouteRegistry
from floki_core.schemas import normalise_identifier
from floki_core.storage.models import AssetRow, IdentifierRow, ReceiverRow, ZoneRow
from floki_qr.gs1 import RejectedScan, Scan, ScanKind, ScannedCode, read_scan
from floki_qr.label_codes import QR, asset_codes, zone_codes

__all__ = [
    "UNREADABLE",
    "Resolved",
    "register_resolve_route",
    "resolve_code",
    "resolve_scan",
    "resolve_texts",
]

PLAIN_TECHNOLOGIES = (QR, "barcode")
UNREADABLE = "unreadable"  # read_as of a scan refused before any look-up
READ_AS = {
    ScanKind.FLOKI_CODE: "label code",
    ScanKind.GIAI: "GIAI",
    ScanKind.GLN: "GLN",
    ScanKind.UDI: "UDI",
    ScanKind.PLAIN: "asset number or code",
}


class Resolved(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """What a scan names. ``tag`` and ``receiver`` are what an ``Observation`` needs:
    ``Observation(technology="qr", tag=asset.tag, receiver=place.receiver, ...)``."""

    kind: Literal["asset", "zone", "unknown"]
    read_as: str  # "label code", "GIAI", "GLN", "UDI", "asset number or code", "unreadable"
    value: str  # what was looked up: the code, GIAI, GLN, UDI or text
    asset_id: int | None = None
    asset_number: str | None = None
    description: str | None = None
    tag: str | None = None  # the asset's label code (its ``qr`` identifier), if it has one
    zone_id: int | None = None
    zone_name: str | None = None
    receiver: str | None = None  # identifier of the place's label receiver, if it has one
    error: str | None = None  # why nothing was found (kind "unknown")


def resolve_code_sync(session: Session, text: str) -> Resolved:
    return resolve_scan(session, read_scan(text))


def resolve_texts(session: Session, texts: Sequence[str]) -> list[Resolved]:
    return [resolve_code_sync(session, text) for text in texts]


async def resolve_code(core: Any, text: str) -> Resolved:
    """What ``text`` (a scan, a label URL, a typed code) names; for the running appliance."""
    result: Resolved = await core.read(resolve_code_sync, text)
    return result


def resolve_scan(session: Session, scan: Scan) -> Resolved:
    if isinstance(scan, RejectedScan):
        found = Resolved(kind="unknown", read_as=UNREADABLE, value=scan.text, error=scan.reason)
    else:
        found = _look_up(session, scan)
    if found.kind == "unknown" and scan.may_be_plain:
        # Unmarked digits that read as GS1 may still be an asset number.
        plain = _plain(session, scan.text)
        if plain is not None:
            return plain
    return found


def _look_up(session: Session, scan: ScannedCode) -> Resolved:
    read_as = READ_AS[scan.kind]
    found: Resolved | None
    if scan.kind is ScanKind.FLOKI_CODE:
        found = _floki_code(session, scan.value)
        missing = f"no asset or location has the label code {scan.value}"
    elif scan.kind is ScanKind.GIAI:
        found = _asset_by_field(session, AssetRow.giai, scan.value, "giai", read_as)
        missing = f"no asset has GIAI {scan.value}"
    elif scan.kind is ScanKind.GLN:
        found = _zone_by_gln(session, scan.value)
        missing = f"no location has GLN {scan.value}"
    elif scan.kind is ScanKind.UDI:
        found = _asset_by_identifier(session, ("udi",), scan.value, read_as)
        missing = f"no asset has UDI {scan.value}"
    else:
        found = _plain(session, scan.value)
        missing = f"{scan.value!r} is neither an asset number nor a label code in the register"
    if found is None:
        return Resolved(kind="unknown", read_as=read_as, value=scan.value, error=missing)
    return found


def _floki_code(session: Session, code: str) -> Resolved | None:
    read_as = READ_AS[ScanKind.FLOKI_CODE]
    return _asset_by_identifier(session, (QR,), code, read_as) or _zone_by_receiver(
        session, (QR,), code, read_as
    )


def _plain(session: Session, text: str) -> Resolved | None:
    read_as = READ_AS[ScanKind.PLAIN]
    # Asset numbers are no tag identifiers and are kept as typed; one typed or scanned in
    # lower case still finds a number the register keeps in upper case.
    for number in dict.fromkeys((text, text.upper())):
        found = _asset_by_field(session, AssetRow.asset_number, number, None, read_as)
        if found is not None:
            return found
    return _asset_by_identifier(session, PLAIN_TECHNOLOGIES, text, read_as) or _zone_by_receiver(
        session, PLAIN_TECHNOLOGIES, text, read_as
    )


def _in_register_spelling(
    technology: Any, identifier: Any, technologies: Sequence[str], text: str
) -> ColumnElement[bool]:
    """Rows of ``technologies`` whose identifier is ``text`` spelled as the register
    spells that technology's identifiers."""
    return or_(
        *(
            and_(technology == name, identifier == normalise_identifier(name, text))
            for name in technologies
        )
    )


def _asset(session: Session, row: AssetRow, read_as: str, value: str) -> Resolved:
    return Resolved(
        kind="asset",
        read_as=read_as,
        value=value,
        asset_id=row.id,
        asset_number=row.asset_number,
        description=row.description,
        tag=asset_codes(session, [row.id]).get(row.id),
    )


def _asset_by_field(
    session: Session, column: Any, value: str, technology: str | None, read_as: str
) -> Resolved | None:
    row = session.scalar(select(AssetRow).where(column == value))
    if row is not None:
        return _asset(session, row, read_as, value)
    if technology is not None:
        return _asset_by_identifier(session, (technology,), value, read_as)
    return None


def _asset_by_identifier(
    session: Session, technologies: Sequence[str], text: str, read_as: str
) -> Resolved | None:
    found = session.execute(
        select(AssetRow, IdentifierRow.value)
        .join(IdentifierRow, IdentifierRow.asset_id == AssetRow.id)
        .where(
            _in_register_spelling(IdentifierRow.technology, IdentifierRow.value, technologies, text)
        )
        .order_by(IdentifierRow.id)
        .limit(1)
    ).first()
    return None if found is None else _asset(session, found[0], read_as, found[1])


def _zone(
    session: Session, zone: ZoneRow, read_as: str, value: str, receiver: str | None
) -> Resolved:
    return Resolved(
        kind="zone",
        read_as=read_as,
        value=value,
        zone_id=zone.id,
        zone_name=zone.name,
        receiver=receiver or zone_codes(session, [zone.id]).get(zone.id),
    )


def _zone_by_receiver(
    session: Session, technologies: Sequence[str], text: str, read_as: str
) -> Resolved | None:
    found = session.execute(
        select(ZoneRow, ReceiverRow.identifier)
        .join(ReceiverRow, ReceiverRow.zone_id == ZoneRow.id)
        .where(
            _in_register_spelling(
                ReceiverRow.technology, ReceiverRow.identifier, technologies, text
            )
        )
        .order_by(ReceiverRow.id)
        .limit(1)
    ).first()
    if found is None:
        return None
    zone, receiver = found
    return _zone(session, zone, read_as, receiver, receiver)


def _zone_by_gln(session: Session, gln: str) -> Resolved | None:
    zone = session.scalar(select(ZoneRow).where(ZoneRow.gln == gln))
    if zone is not None:
        return _zone(session, zone, READ_AS[ScanKind.GLN], gln, None)
    return _zone_by_receiver(session, ("gln",), gln, READ_AS[ScanKind.GLN])


# --- API ----------------------------------------------------------------------


def register_resolve_route(registry: RouteRegistry) -> None:
    registry.add(
        "GET",
        "/api/v1/qr/resolve",
        _resolve_handler,
        policy="viewer",
        summary=(
            "What a scanned code names: ?text=<label URL, GS1 code or asset number>. "
            "200 with kind asset, zone or unknown (error: why nothing matched); "
            "422 with the reason when the code cannot be read (a GS1 field too long, too "
            "short or malformed, a wrong check digit, an unknown AI)"
        ),
        response=Resolved,
        query=(
            Param(
                "text",
                description="the scanned code: a label URL, GS1 element string or asset number",
                required=True,
                max_length=500,
            ),
        ),
        answers={422: Answer("the code cannot be read; error names what is wrong", Resolved)},
    )


async def _resolve_handler(request: web.Request) -> web.Response:
    text = request.query.get("text")
    if text is None or not text.strip():
        raise ApiError(400, "query parameter text is required: the scanned code")
    if len(text) > 500:
        raise ApiError(400, "query parameter text is longer than 500 characters")
    found = await resolve_code(request.app[CORE], text)
    # A code that cannot be read is the caller's to fix (a scanner's settings, a typo).
    return json_response(found, status=422 if found.read_as == UNREADABLE else 200)
