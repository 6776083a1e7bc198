"""What a scanner or a phone camera hands over, read into a typed code. Pure: no I/O.

A scan is one of:

- a Floki label: ``https://<appliance>/q/<short code>``;
- a GS1 element string (Scan4Safety barcodes): ``8004`` GIAI for an asset, ``414`` GLN
  for a place, ``01`` GTIN + ``21`` serial (UDI) for a device, with or without a
  symbology identifier (``]C1``, ``]d2``, ``]Q3``, ...) and FNC1 separators (ASCII 29),
  or in the human-readable ``(8004)...`` form;
- a GS1 Digital Link URI carrying the same keys (``https://id.example.org/8004/...``);
- plain text: an asset number on a Code 128 barcode, or a label code typed in.

A GS1 code that cannot be used is rejected with a reason naming the fault (a wrong
check digit, an unknown Application Identifier, truncated data), never taken for
plain text and silently missed.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from biip import ParseError
from biip.gs1_application_identifiers import GS1ApplicationIdentifier
from biip.gs1_digital_link_uris import GS1DigitalLinkURI
from biip.gs1_element_strings import GS1ElementString
from biip.symbology import SymbologyIdentifier

from floki_core.schemas import gs1_check_digit

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

GS = "\x1d"  # the FNC1 separator between variable-length fields, as scanners send it
MAX_SCAN_LENGTH = 500
_AI_NAMES = {
    "01": "GTIN",
    "21": "serial number",
    "414": "GLN",
    "8004": "GIAI",
    "254": "GLN extension",
}
# Digits that start like one of the keys we use are read as GS1 even without a marker
# (many scanners are set not to send symbology identifiers).
_UNMARKED_GS1 = re.compile(r"^(?:01\d{6}|414\d{5}|8004\d{4})")
_FLOKI_PATH = re.compile(r"/q/([^/]+)/?$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_HRI = re.compile(r"\((\d{2,4})\)([^()]*)")


class ScanKind(enum.StrEnum):
    FLOKI_CODE = "floki_code"  # the short code of a Floki label
    GIAI = "giai"  # Global Individual Asset Identifier (AI 8004): an asset
    GLN = "gln"  # Global Location Number (AI 414): a place
    UDI = "udi"  # GTIN (AI 01) + serial (AI 21): one device
    PLAIN = "plain"  # an asset number or a code as printed


class ScanForm(enum.StrEnum):
    FLOKI_URL = "floki_url"
    ELEMENT_STRING = "element_string"
    DIGITAL_LINK = "digital_link"
    PLAIN = "plain"


@dataclass(frozen=True)
class ScannedCode:
    kind: ScanKind
    value: str  # the short code, GIAI, GLN, normalised UDI or plain text
    form: ScanForm
    text: str  # the scan without whitespace and symbology identifier
    gtin: str | None = None  # UDI only: 14 digits
    serial: str | None = None  # UDI only
    may_be_plain: bool = False  # unmarked digits: could be an asset number after all


@dataclass(frozen=True)
class RejectedScan:
    reason: str
    text: str
    may_be_plain: bool = False


Scan = ScannedCode | RejectedScan


def udi_value(gtin: str, serial: str) -> str:
    """The one spelling of a UDI in the register: ``(01)<GTIN-14>(21)<serial>``."""
    return f"(01){gtin.zfill(14)}(21){serial}"


def read_scan(raw: str) -> Scan:
    text = raw.strip()
    if not text:
        return RejectedScan("empty scan", text)
    if len(text) > MAX_SCAN_LENGTH:
        return RejectedScan(f"scan is {len(text)} characters long; at most {MAX_SCAN_LENGTH}", "")
    marked = GS in text
    if text.startswith("]"):
        try:
            symbology = SymbologyIdentifier.extract(text)
        except ParseError:
            return RejectedScan(f"unknown symbology identifier {text[:3]!r}", text)
        text = text[len(symbology) :].strip()
        marked = marked or symbology.gs1_symbology is not None
        if not text:
            return RejectedScan("empty scan after the symbology identifier", text)
    if text[:8].lower().startswith(("http://", "https://")):
        return _read_url(text)
    if text.startswith("("):
        return _read_hri(text)
    if marked:
        return _read_element_strings(text, ScanForm.ELEMENT_STRING)
    if _UNMARKED_GS1.match(text) and " " not in text:
        found = _read_element_strings(text, ScanForm.ELEMENT_STRING)
        if isinstance(found, RejectedScan):
            return RejectedScan(found.reason, text, may_be_plain=True)
        return ScannedCode(
            found.kind,
            found.value,
            found.form,
            text,
            gtin=found.gtin,
            serial=found.serial,
            may_be_plain=True,
        )
    if _CONTROL.search(text):
        return RejectedScan("scan contains control characters; check the scanner's settings", text)
    return ScannedCode(ScanKind.PLAIN, text, ScanForm.PLAIN, text)


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
    try:
        link = GS1DigitalLinkURI.parse(text)
    except ParseError as exc:
        return RejectedScan(_diagnose_link(parts.path) or _not_a_link(exc), text)
    problem = _check_digits(link.element_strings)
    if problem:
        return RejectedScan(problem, text)
    return _interpret(link.element_strings, ScanForm.DIGITAL_LINK, text)


def _not_a_link(exc: ParseError) -> str:
    return f"URL is neither a Floki label (/q/<code>) nor a GS1 Digital Link: {exc}"


def _diagnose_link(path: str) -> str | None:
    """The fault in a Digital Link path that biip refused, in our words (or None)."""
    segments = [unquote(s) for s in path.strip("/").split("/")]
    for i, segment in enumerate(segments):
        if segment not in _AI_NAMES:
            continue
        pairs = segments[i:]
        if len(pairs) % 2:
            ai = pairs[-1]
            return f"{_ai_label(ai)} has no value in the Digital Link path"
        data = GS.join(f"{pairs[j]}{pairs[j + 1]}" for j in range(0, len(pairs), 2))
        found = _read_element_strings(data, ScanForm.DIGITAL_LINK)
        return found.reason if isinstance(found, RejectedScan) else None
    return None


def _read_hri(text: str) -> Scan:
    pairs = _HRI.findall(text)
    if not pairs or "".join(f"({ai}){value}" for ai, value in pairs) != text:
        return RejectedScan(f"malformed human-readable GS1 code {text!r}", text)
    return _read_element_strings(
        GS.join(ai + value for ai, value in pairs), ScanForm.ELEMENT_STRING
    )


def _read_element_strings(data: str, form: ScanForm) -> Scan:
    elements: list[GS1ElementString] = []
    rest = data.lstrip(GS)
    while rest:
        try:
            ai = GS1ApplicationIdentifier.extract(rest)
        except ParseError:
            shown = rest.split(GS, 1)[0][:20]
            return RejectedScan(f'unknown GS1 Application Identifier at "{shown}"', data)
        try:
            element = GS1ElementString.extract(rest)
        except ParseError:
            field = rest[len(ai.ai) :].split(GS, 1)[0]
            expected = ai.format.split("+", 1)[-1]
            return RejectedScan(
                f'{_ai_label(ai.ai, ai.data_title)}: "{field}" is truncated or malformed; '
                f"expected {expected}",
                data,
            )
        elements.append(element)
        rest = rest[len(element) :].lstrip(GS)
    if not elements:
        return RejectedScan("empty GS1 code", data)
    problem = _check_digits(elements)
    if problem:
        return RejectedScan(problem, data)
    return _interpret(elements, form, data)


def _ai_label(ai: str, title: str = "") -> str:
    name = _AI_NAMES.get(ai, title)
    return f"{name} (AI {ai})" if name else f"AI {ai}"


def _check_digits(elements: list[GS1ElementString]) -> str | None:
    for element in elements:
        name = {"01": "GTIN", "414": "GLN"}.get(element.ai.ai)
        if name is None or not element.value.isdigit():
            continue
        expected = gs1_check_digit(element.value[:-1])
        got = int(element.value[-1])
        if expected != got:
            return f"{name} {element.value} has a wrong check digit: expected {expected}, got {got}"
    return None


def _interpret(elements: list[GS1ElementString], form: ScanForm, text: str) -> Scan:
    values: dict[str, str] = {}
    for element in elements:
        values.setdefault(element.ai.ai, element.value)
    if "8004" in values:
        return ScannedCode(ScanKind.GIAI, values["8004"], form, text)
    if "414" in values:
        return ScannedCode(ScanKind.GLN, values["414"], form, text)
    if "01" in values:
        gtin = values["01"].zfill(14)
        serial = values.get("21")
        if serial is None:
            return RejectedScan(
                f"GTIN {gtin} without a serial number (AI 21) names a product, not one device",
                text,
            )
        return ScannedCode(
            ScanKind.UDI, udi_value(gtin, serial), form, text, gtin=gtin, serial=serial
        )
    found = ", ".join(f"({e.ai.ai})" for e in elements)
    return RejectedScan(
        f"GS1 code carries no GIAI (8004), GLN (414) or GTIN + serial (01 + 21); it has {found}",
        text,
    )
