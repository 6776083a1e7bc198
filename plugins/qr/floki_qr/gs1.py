"""What a scanner or a phone camera hands over, read into a typed code. Pure: no I/O.

A scan is one of:

- a Floki label: ``https://<appliance>/q/<short code>``;
- a GS1 element string (Scan4Safety barcodes): ``8004`` GIAI for an asset, ``414`` GLN
  for a place, ``01`` GTIN + ``21`` serial (UDI) for a device, with or without a
  symbology identifier (``]C1`` GS1-128, ``]d2`` GS1 DataMatrix, ``]Q3`` GS1 QR, ``]e0``
  GS1 DataBar) and with FNC1 sent as GS (ASCII 29) before, between and after fields;
- the human-readable form ``(8004)...``, as printed under a barcode or typed;
- a GS1 Digital Link URI carrying the same keys (``https://id.gs1.org/8004/...``);
- plain text: an asset number on a Code 128 barcode, or a label code typed in.

All three GS1 forms are read by ``floki_qr.gs1_fields``, field by field and strictly: a
field too long, too short or holding characters its AI does not allow refuses the scan
with a reason naming the AI and the length, never cut to fit (a GIAI cut to 30
characters names another asset). A GS1 code that cannot be used is refused, never taken
for plain text. A GS separator anywhere marks a scan as GS1: scanners send FNC1 as GS,
and Python counts GS as white space, so only other white space is trimmed.

A code names one thing: one carrying a place's key (GLN) and an asset's is refused here;
one carrying a GIAI and a UDI keeps both (``keys``), and the register decides whether
they name the same asset (``floki_qr.resolve``).
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from urllib.parse import parse_qsl, unquote, urlsplit

from floki_core.sdk import gs1_check_digit, udi_value
from floki_qr.gs1_fields import (
    GS,
    Gs1Field,
    Gs1Refused,
    bracketed_fields,
    element_string_fields,
    link_fields,
)

__all__ = [
    "GS",
    "RejectedScan",
    "Scan",
    "ScanForm",
    "ScanKind",
    "ScannedCode",
    "gs1_check_digit",
    "read_scan",
    "udi_value",
]

MAX_SCAN_LENGTH = 500
# Digits that start like one of the keys we use are read as GS1 even without a marker
# (many scanners are set not to send symbology identifiers).
_UNMARKED_GS1 = re.compile(r"^(?:01\d{6}|414\d{5}|8004\d{4})", re.ASCII)
_FLOKI_PATH = re.compile(r"/q/([^/]+)/?$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# White space at either end, except the separators (FS, GS, RS, US) str.strip() removes.
_EDGE_SPACE = re.compile(r"^[^\S\x1c-\x1f]+|[^\S\x1c-\x1f]+$")


class ScanKind(enum.StrEnum):
    FLOKI_CODE = "floki_code"  # the short code of a Floki label
    GIAI = "giai"  # Global Individual Asset Identifier (AI 8004): an asset
    GLN = "gln"  # Global Location Number (AI 414): a place
    UDI = "udi"  # GTIN (AI 01) + serial (AI 21): one device
    PLAIN = "plain"  # an asset number or a code as printed


# How a key is named to people, in reasons.
_KEY_NAMES = {ScanKind.GIAI: "GIAI", ScanKind.GLN: "GLN", ScanKind.UDI: "UDI"}


class ScanForm(enum.StrEnum):
    FLOKI_URL = "floki_url"
    ELEMENT_STRING = "element_string"  # as a scanner sends it, or the bracketed form
    DIGITAL_LINK = "digital_link"
    PLAIN = "plain"


@dataclass(frozen=True)
class ScannedCode:
    kind: ScanKind
    value: str  # the short code, GIAI, GLN, normalised UDI or plain text
    form: ScanForm
    text: str  # the scan without surrounding white space and symbology identifier
    gtin: str | None = None  # a scan carrying a UDI: 14 digits
    serial: str | None = None  # a scan carrying a UDI
    may_be_plain: bool = False  # unmarked digits: could be an asset number after all
    fields: tuple[tuple[str, str], ...] = ()  # GS1 only: every (AI, value) read
    # GS1 only: every key that names an asset or a place, (kind, value), the GIAI first.
    # More than one (a GIAI and a UDI) is used only if the register says they name the
    # same asset (``floki_qr.resolve``).
    keys: tuple[tuple[ScanKind, str], ...] = ()


@dataclass(frozen=True)
class RejectedScan:
    reason: str
    text: str
    may_be_plain: bool = False


Scan = ScannedCode | RejectedScan


def read_scan(raw: str) -> Scan:
    text = _EDGE_SPACE.sub("", raw)
    if not text.strip():
        return RejectedScan("empty scan", "")
    if len(text) > MAX_SCAN_LENGTH:
        return RejectedScan(f"scan is {len(text)} characters long; at most {MAX_SCAN_LENGTH}", "")
    marked = GS in text
    if text.startswith("]"):
        from biip import ParseError  # loaded with the first scan (gs1_fields says why)
        from biip.symbology import SymbologyIdentifier

        try:
            symbology = SymbologyIdentifier.extract(text)
        except (ParseError, ValueError, IndexError):  # biip indexes past a lone "]"
            return RejectedScan(f"unknown symbology identifier {text[:3]!r}", text)
        text = _EDGE_SPACE.sub("", text[len(symbology) :])
        marked = marked or symbology.gs1_symbology is not None
        if not text:
            return RejectedScan("empty scan after the symbology identifier", text)
    if text[:8].lower().startswith(("http://", "https://")):
        return _read_url(text)
    if text.startswith("("):
        return _read_gs1(text, ScanForm.ELEMENT_STRING, bracketed=True)
    if marked:
        return _read_gs1(text, ScanForm.ELEMENT_STRING)
    if _UNMARKED_GS1.match(text) and " " not in text:
        return _read_gs1(text, ScanForm.ELEMENT_STRING, may_be_plain=True)
    if _CONTROL.search(text):
        return RejectedScan("scan contains control characters; check the scanner's settings", text)
    return ScannedCode(ScanKind.PLAIN, text, ScanForm.PLAIN, text)


def _read_gs1(
    text: str, form: ScanForm, *, bracketed: bool = False, may_be_plain: bool = False
) -> Scan:
    try:
        fields = bracketed_fields(text) if bracketed else element_string_fields(text)
    except Gs1Refused as refused:
        return RejectedScan(refused.reason, text, may_be_plain=may_be_plain)
    return _interpret(fields, form, text, may_be_plain=may_be_plain)


def _read_url(text: str) -> Scan:
    try:
        parts = urlsplit(text)
    except ValueError as exc:
        return RejectedScan(f"not a valid URL: {exc}", text)
    floki = _FLOKI_PATH.search(parts.path)
    if floki:
        code = unquote(floki.group(1))
        if not code or _CONTROL.search(code) or len(code) > 200:
            return RejectedScan("the label's code is not readable", text)
        return ScannedCode(ScanKind.FLOKI_CODE, code, ScanForm.FLOKI_URL, text)
    # Split before decoding, so that an encoded "/" (%2F) stays inside its value.
    segments = [unquote(s) for s in parts.path.strip("/").split("/")]
    try:
        fields = link_fields(segments, parse_qsl(parts.query, keep_blank_values=True))
    except Gs1Refused as refused:
        if refused.reason.startswith("no GS1 primary key"):
            return RejectedScan(
                f"URL is neither a Floki label (/q/<code>) nor a GS1 Digital Link: {refused}",
                text,
            )
        return RejectedScan(refused.reason, text)
    return _interpret(fields, ScanForm.DIGITAL_LINK, text)


def _interpret(
    fields: list[Gs1Field], form: ScanForm, text: str, *, may_be_plain: bool = False
) -> Scan:
    values = {f.ai: f.value for f in fields}  # a repeated AI repeats its value
    found = tuple((f.ai, f.value) for f in fields)
    gtin, serial = values.get("01"), values.get("21")
    asset_keys: list[tuple[ScanKind, str]] = []
    if "8004" in values:
        asset_keys.append((ScanKind.GIAI, values["8004"]))
    if gtin is not None and serial is not None:
        asset_keys.append((ScanKind.UDI, udi_value(gtin, serial)))
    gln = values.get("414")
    if gln is not None and asset_keys:
        named = " and ".join(f"{_KEY_NAMES[kind]} {value}" for kind, value in asset_keys)
        return RejectedScan(
            f"the code carries GLN {gln} (a place) and {named} (an asset); a code must "
            "name one thing",
            text,
            may_be_plain=may_be_plain,
        )
    if gln is not None:
        return ScannedCode(
            ScanKind.GLN,
            gln,
            form,
            text,
            may_be_plain=may_be_plain,
            fields=found,
            keys=((ScanKind.GLN, gln),),
        )
    if asset_keys:
        kind, value = asset_keys[0]
        return ScannedCode(
            kind,
            value,
            form,
            text,
            gtin=gtin if serial is not None else None,
            serial=serial if gtin is not None else None,
            may_be_plain=may_be_plain,
            fields=found,
            keys=tuple(asset_keys),
        )
    if gtin is not None:
        return RejectedScan(
            f"GTIN {gtin} without a serial number (AI 21) names a product, not one device",
            text,
            may_be_plain=may_be_plain,
        )
    named = ", ".join(f"({f.ai})" for f in fields)
    return RejectedScan(
        f"GS1 code carries no GIAI (8004), GLN (414) or GTIN + serial (01 + 21); it has {named}",
        text,
        may_be_plain=may_be_plain,
    )
