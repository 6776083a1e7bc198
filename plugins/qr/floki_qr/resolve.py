"""A scanned code to what it names in the register: an asset, a place, or a reason it
names nothing.

Floki label codes are ``qr`` identifiers (assets) and ``qr`` receivers (places); GIAIs
are the assets' ``giai`` field (or ``giai`` identifiers); GLNs are the zones' ``gln``
field (or ``gln`` receivers, for a GLN that marks a spot inside a zone); UDIs are
``udi`` identifiers spelled ``(01)<GTIN-14>(21)<serial>``; plain text is an asset
number, or any ``qr``/``barcode`` identifier or receiver.

Every path from a scan to an asset comes through here (the ``qr/resolve`` API, the
phone pages, the workshop desk, serial scanners), so every one gets the same strict
reading (``floki_qr.gs1``): a code that cannot be used names nothing and says why
(``read_as`` "unreadable"), and is never looked up by a part of itself. That includes a
code whose keys (a GIAI and a UDI) do not both name the same asset, and a bracketed code
that a GIAI or UDI stored by an earlier release, brackets and all, would read as well.

Identifiers and receivers are looked up in the one spelling the register stores them in
(``normalise_identifier``: label codes in upper case), so a code typed or scanned in any
case names what the register and the location pipeline name by it, and nothing else.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import msgspec
from aiohttp import web

from floki_core.sdk import (
    Answer,
    ApiError,
    Asset,
    Param,
    PluginContext,
    RegisterReading,
    RouteRegistry,
    Zone,
    json_response,
    udi_value,
)
from floki_qr.gs1 import RejectedScan, Scan, ScanForm, ScanKind, ScannedCode, read_scan
from floki_qr.label_codes import QR

__all__ = [
    "UNREADABLE",
    "Resolved",
    "register_resolve_route",
    "resolve_code",
    "resolve_scan",
    "resolve_texts",
]

PLAIN_TECHNOLOGIES = (QR, "barcode")
UNREADABLE = "unreadable"  # read_as of a scan that cannot be used: it names no one thing
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
    # "label code", "GIAI", "GLN", "UDI", "asset number or code", or "unreadable": a code
    # that cannot be used (malformed, or its keys name no one asset; ``error`` says why)
    read_as: str
    value: str  # what was looked up: the code, GIAI, GLN, UDI or text
    asset_id: int | None = None
    asset_number: str | None = None
    description: str | None = None
    tag: str | None = None  # the asset's label code (its ``qr`` identifier), if it has one
    zone_id: int | None = None
    zone_name: str | None = None
    receiver: str | None = None  # identifier of the place's label receiver, if it has one
    error: str | None = None  # why nothing was found (kind "unknown")


def resolve_code_sync(register: RegisterReading, text: str) -> Resolved:
    return resolve_scan(register, read_scan(text))


def resolve_texts(register: RegisterReading, texts: Sequence[str]) -> list[Resolved]:
    return [resolve_code_sync(register, text) for text in texts]


async def resolve_code(context: PluginContext, text: str) -> Resolved:
    """What ``text`` (a scan, a label URL, a typed code) names; for the running appliance."""
    return await context.records.read(resolve_code_sync, text)


def resolve_scan(register: RegisterReading, scan: Scan) -> Resolved:
    if isinstance(scan, RejectedScan):
        found = Resolved(kind="unknown", read_as=UNREADABLE, value=scan.text, error=scan.reason)
    else:
        found = _look_up(register, scan)
    if found.kind == "unknown" and scan.may_be_plain:
        # Unmarked digits that read as GS1 may still be an asset number.
        plain = _plain(register, scan.text)
        if plain is not None:
            return plain
    return found


def _look_up(register: RegisterReading, scan: ScannedCode) -> Resolved:
    refusal = _stored_with_brackets(register, scan) or _keys_disagree(register, scan)
    if refusal is not None:
        return Resolved(kind="unknown", read_as=UNREADABLE, value=scan.text, error=refusal)
    found, missing = _by_key(register, scan.kind, scan.value)
    if found is None:
        return Resolved(kind="unknown", read_as=READ_AS[scan.kind], value=scan.value, error=missing)
    return found


def _by_key(register: RegisterReading, kind: ScanKind, value: str) -> tuple[Resolved | None, str]:
    """What one key names, or None and why nothing."""
    read_as = READ_AS[kind]
    if kind is ScanKind.FLOKI_CODE:
        found = _floki_code(register, value)
        return found, f"no asset or location has the label code {value}"
    if kind is ScanKind.GIAI:
        found = _asset_by_field(register, "giai", value, "giai", read_as)
        return found, f"no asset has GIAI {value}"
    if kind is ScanKind.GLN:
        return _zone_by_gln(register, value), f"no location has GLN {value}"
    if kind is ScanKind.UDI:
        found = _asset_by_identifier(register, ("udi",), value, read_as)
        return found, f"no asset has UDI {value}"
    found = _plain(register, value)
    return found, f"{value!r} is neither an asset number nor a label code in the register"


def _keys_disagree(register: RegisterReading, scan: ScannedCode) -> str | None:
    """Why a code carrying a GIAI and a UDI names no one asset, or None if it does: a
    key that names another asset, or none, leaves it in doubt which device is in hand."""
    if len(scan.keys) < 2:
        return None
    named = [(kind, value, _by_key(register, kind, value)[0]) for kind, value in scan.keys]
    assets = {found.asset_id if found is not None else None for *_, found in named}
    if len(assets) == 1 and None not in assets:
        return None
    each = " and ".join(
        f"{READ_AS[kind]} {value} "
        f"({'no asset' if found is None else f'asset {found.asset_number}'})"
        for kind, value, found in named
    )
    return f"the code carries {each}; its keys must name one asset"


def _stored_with_brackets(register: RegisterReading, scan: ScannedCode) -> str | None:
    """Why a bracketed code is ambiguous here, or None.

    The register refuses brackets in GIAIs and UDI serial numbers, but an earlier release
    stored them: a GIAI ``50123456(10)ABC`` is named by its barcode, yet typed as
    ``(8004)50123456(10)ABC`` the same text reads as the GIAI 50123456 and a batch. When
    a key field followed by more fields, joined back, is such a stored key, the typed
    code could mean either asset, so it means neither."""
    if scan.form is not ScanForm.ELEMENT_STRING or not scan.text.startswith("("):
        return None  # only the bracketed form loses brackets into field boundaries
    giais = _joined(scan.fields, "8004")
    if giais:
        found = register.asset_with_giai_in(giais)
        stored = (found.asset_number, str(found.giai)) if found is not None else None
        stored = stored or _stored_identifier(register, "giai", giais)
        if stored is not None:
            return _ambiguous(*stored, "GIAI", "GIAIs")
    gtin = dict(scan.fields).get("01")
    serials = _joined(scan.fields, "21") if gtin is not None else []
    if gtin is not None and serials:
        udis = [udi_value(gtin, serial) for serial in serials]
        stored = _stored_identifier(register, "udi", udis)
        if stored is not None:
            return _ambiguous(*stored, "UDI", "serial numbers")
    return None


def _joined(fields: Sequence[tuple[str, str]], ai: str) -> list[str]:
    """The values ``ai``'s field would have had if each run of the fields after it were
    part of it, brackets and all."""
    after = next((i for i, (field, _) in enumerate(fields) if field == ai), None)
    if after is None:
        return []
    value, joined = fields[after][1], []
    for field, more in fields[after + 1 :]:
        value += f"({field}){more}"
        joined.append(value)
    return joined


def _stored_identifier(
    register: RegisterReading, technology: str, values: Sequence[str]
) -> tuple[str, str] | None:
    found = register.identifier_with_value_in(technology, values)
    asset = None if found is None else register.asset(found.asset_id)
    return None if found is None or asset is None else (asset.asset_number, found.value)


def _ambiguous(asset_number: str, stored: str, key: str, where: str) -> str:
    return (
        f"the bracketed form is ambiguous here: asset {asset_number} has {key} {stored!r}, "
        f"stored before the register refused brackets in {where}; scan its barcode, or "
        f"correct that {key}"
    )


def _floki_code(register: RegisterReading, code: str) -> Resolved | None:
    read_as = READ_AS[ScanKind.FLOKI_CODE]
    return _asset_by_identifier(register, (QR,), code, read_as) or _zone_by_receiver(
        register, (QR,), code, read_as
    )


def _plain(register: RegisterReading, text: str) -> Resolved | None:
    read_as = READ_AS[ScanKind.PLAIN]
    # Asset numbers are no tag identifiers and are kept as typed; one typed or scanned in
    # lower case still finds a number the register keeps in upper case.
    for number in dict.fromkeys((text, text.upper())):
        found = _asset_by_field(register, "asset_number", number, None, read_as)
        if found is not None:
            return found
    return _asset_by_identifier(register, PLAIN_TECHNOLOGIES, text, read_as) or _zone_by_receiver(
        register, PLAIN_TECHNOLOGIES, text, read_as
    )


def _asset(register: RegisterReading, asset: Asset, read_as: str, value: str) -> Resolved:
    return Resolved(
        kind="asset",
        read_as=read_as,
        value=value,
        asset_id=asset.id,
        asset_number=asset.asset_number,
        description=asset.description,
        tag=register.identifiers_of([asset.id], QR).get(asset.id),
    )


def _asset_by_field(
    register: RegisterReading,
    field: Literal["asset_number", "giai"],
    value: str,
    technology: str | None,
    read_as: str,
) -> Resolved | None:
    """The asset whose own ``field`` is ``value``, else (given ``technology``) the asset
    with such an identifier."""
    if field == "asset_number":
        found = register.asset_by_number(value)
    else:
        found = register.asset_by_giai(value)
    if found is not None:
        return _asset(register, found, read_as, value)
    if technology is not None:
        return _asset_by_identifier(register, (technology,), value, read_as)
    return None


def _asset_by_identifier(
    register: RegisterReading, technologies: Sequence[str], text: str, read_as: str
) -> Resolved | None:
    found = register.find_identifier(technologies, text)
    asset = None if found is None else register.asset(found.asset_id)
    return None if found is None or asset is None else _asset(register, asset, read_as, found.value)


def _zone(
    register: RegisterReading, zone: Zone, read_as: str, value: str, receiver: str | None
) -> Resolved:
    return Resolved(
        kind="zone",
        read_as=read_as,
        value=value,
        zone_id=zone.id,
        zone_name=zone.name,
        receiver=receiver or register.receivers_of([zone.id], QR).get(zone.id),
    )


def _zone_by_receiver(
    register: RegisterReading, technologies: Sequence[str], text: str, read_as: str
) -> Resolved | None:
    found = register.find_receiver(technologies, text)
    zone = None if found is None else register.zone(found.zone_id)
    if found is None or zone is None:
        return None
    return _zone(register, zone, read_as, found.identifier, found.identifier)


def _zone_by_gln(register: RegisterReading, gln: str) -> Resolved | None:
    zone = register.zone_by_gln(gln)
    if zone is not None:
        return _zone(register, zone, READ_AS[ScanKind.GLN], gln, None)
    return _zone_by_receiver(register, ("gln",), gln, READ_AS[ScanKind.GLN])


# --- API ----------------------------------------------------------------------


def register_resolve_route(registry: RouteRegistry, context: PluginContext) -> None:
    async def resolve_handler(request: web.Request) -> web.Response:
        text = request.query.get("text")
        if text is None or not text.strip():
            raise ApiError(400, "query parameter text is required: the scanned code")
        if len(text) > 500:
            raise ApiError(400, "query parameter text is longer than 500 characters")
        found = await resolve_code(context, text)
        # A code that cannot be read is the caller's to fix (a scanner's settings, a typo).
        return json_response(found, status=422 if found.read_as == UNREADABLE else 200)

    registry.add(
        "GET",
        "/api/v1/qr/resolve",
        resolve_handler,
        policy="viewer",
        summary=(
            "What a scanned code names: ?text=<label URL, GS1 code or asset number>. "
            "200 with kind asset, zone or unknown (error: why nothing matched); "
            "422 with the reason when the code cannot be used (a GS1 field too long, too "
            "short or malformed, a wrong check digit, an unknown AI, keys that do not name "
            "one asset, a key in a Digital Link query)"
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
        answers={422: Answer("the code cannot be used; error names what is wrong", Resolved)},
    )
