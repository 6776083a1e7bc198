"""GS1 data read field by field, strictly: element strings (as a scanner transmits them),
the bracketed human-readable form, and the key/value pairs of a Digital Link URI. Pure.

Every field keeps its boundaries and is checked whole against the GS1 Application
Identifier table: its length (fixed or variable), its character set, its check digit,
and for a GIAI a GS1 Company Prefix first. A field that breaks a rule refuses the whole
scan with one reason naming the AI and what is wrong, e.g. "(8004) GIAI is 34
characters; at most 30". Nothing is ever cut to fit: a value cut to its maximum names
a different asset (the one whose GIAI is its first 30 characters).

The AI table (formats, patterns, character sets, which AIs have a predefined length)
is biip's, bundled from GS1's published list of Application Identifiers. biip's own
parsers (element strings, the bracketed form, Digital Link) are not used for reading
scans: its element-string extractor stops a variable-length field at the pattern's
maximum and reads what follows as the next element (a 34-character GIAI becomes a
30-character GIAI plus a batch number), and its errors name regular expressions, not
the AI and the length. The rules applied here (GS1 General Specifications):

- a predefined-length AI (figure 7.8.5-2, 7.8.4-2 in older releases: 00, 01, 02, 03,
  11-20, 31-36, 41x) takes exactly its length and may be followed by the next AI
  without a separator;
- any other AI runs to the next separator (FNC1, sent by scanners as GS, ASCII 29) or
  the end, and the whole of it is its value;
- separators are accepted before the first element, between any two and after the
  last, doubled or not (section 7.8.5);
- character set 82 (section 7.11) for alphanumeric fields; mod-10 check digits
  (section 7.9) for the keys that carry one.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache

from floki_core.sdk import gs1_check_digit

# biip, and the GS1 tables it carries (~16 MB once loaded), is imported where a scan is
# first read, not with the appliance: a department that never scans a GS1 code never
# holds it.

__all__ = [
    "GS",
    "Gs1Field",
    "Gs1Refused",
    "bracketed_fields",
    "check_field",
    "element_string_fields",
    "link_fields",
]

GS = "\x1d"  # FNC1 as scanners transmit it
# The names people use for the keys Floki looks up; other AIs use GS1's data title.
_NAMES = {
    "00": "SSCC",
    "01": "GTIN",
    "02": "GTIN of contained items",
    "10": "batch/lot",
    "11": "production date",
    "17": "expiry date",
    "21": "serial number",
    "254": "GLN extension",
    "414": "GLN",
    "8004": "GIAI",
}
# Where a GS1 key's mod-10 check digit sits: the first n digits of the value end with it.
_CHECKED_DIGITS = {
    "00": 18,
    "01": 14,
    "02": 14,
    "03": 14,
    "253": 13,
    "255": 13,
    "402": 17,
    **{f"41{i}": 13 for i in range(8)},
    "8003": 14,
    "8006": 14,
    "8017": 18,
    "8018": 18,
    "8026": 14,
}
# Keys that start with a GS1 Company Prefix; the shortest prefix is four digits (GS1
# General Specifications, "GS1 Company Prefix"; the Syntax Dictionary's gcppos1 check).
_STARTS_WITH_COMPANY_PREFIX = {"401", "8004", "8010"}
_COMPANY_PREFIX = re.compile(r"[0-9]{4}")
_DATE_AIS = {"11", "12", "13", "15", "16", "17"}
# GS1 AI encodable character set 82 (section 7.11, figure 7.11-1).
CSET82 = frozenset(
    "!\"%&'()*+,-./0123456789:;<=>?ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz"
)
_CSET82_SHOWN = "letters, digits and !\"%&'()*+,-./:;<=>?_"
# One component of a format: N14 (fixed), X..30 (up to), N1..N2 (from .. to); "[" optional.
_COMPONENT = re.compile(r"(\[)?\+?([NXYZ])(?:(\d+)\.\.[NXYZ]?(\d+)|\.\.(\d+)|(\d+))")
# An AI in the bracketed form; white space inside the brackets is what people type.
_HRI_AI = re.compile(r"\(\s*([0-9]{2,4})\s*\)", re.ASCII)
_CONTROL_NOT_GS = re.compile(r"[\x00-\x1c\x1e\x1f\x7f]")


class Gs1Refused(ValueError):
    """GS1 data that cannot be used; ``reason`` says why, naming the AI."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Gs1Field:
    ai: str
    value: str


@dataclass(frozen=True)
class _Spec:
    ai: str
    name: str
    format: str  # the data part of GS1's format: "N14", "X..30", "N14[+X..16]"
    pattern: re.Pattern[str]  # the whole element string: AI + value
    predefined: bool  # predefined length: no separator needed after it
    min_length: int
    max_length: int
    charset: str | None  # "N" or "X" when the whole value is one kind; else None

    @property
    def label(self) -> str:
        return f"({self.ai}) {self.name}"


def _spec(ai: str) -> _Spec | None:
    # AIs are 2 to 4 digits; checking first keeps the cache to those, whatever is scanned.
    return _spec_of(ai) if 2 <= len(ai) <= 4 and ai.isascii() and ai.isdigit() else None


@cache
def _spec_of(ai: str) -> _Spec | None:
    from biip import ParseError
    from biip.gs1_application_identifiers import GS1ApplicationIdentifier

    try:
        found = GS1ApplicationIdentifier.extract(ai)
    except ParseError:
        return None
    if found.ai != ai:
        return None
    data_format = found.format.split("+", 1)[1] if "+" in found.format else ""
    low = high = 0
    kinds = set()
    for optional, kind, range_low, range_high, up_to, fixed in _COMPONENT.findall(data_format):
        if fixed:
            least = most = int(fixed)
        elif up_to:
            least, most = 1, int(up_to)
        else:
            least, most = int(range_low), int(range_high)
        low += 0 if optional else least
        high += most
        kinds.add(kind)
    if "[-]" in data_format:
        high += 1
    single = len(_COMPONENT.findall(data_format)) == 1 and kinds <= {"N", "X"}
    return _Spec(
        ai=ai,
        name=_NAMES.get(ai, found.data_title),
        format=data_format,
        pattern=re.compile(found.pattern),
        predefined=not found.separator_required,
        min_length=max(low, 1),
        max_length=max(high, 1),
        charset=kinds.pop() if single else None,
    )


@cache
def _ai_lengths() -> dict[str, int]:
    """The length of the AIs that begin with each pair of digits (GS1 keeps it unique)."""
    from biip.gs1_application_identifiers import (
        _GS1_APPLICATION_IDENTIFIERS,  # the table: biip has no public accessor
    )

    return {ai[:2]: len(ai) for ai in _GS1_APPLICATION_IDENTIFIERS}


def _unknown_ai(data: str) -> Gs1Refused:
    length = _ai_lengths().get(data[:2])
    shown = data.split(GS, 1)[0][:20]
    if length is not None and data[:length].isascii() and data[:length].isdigit():
        return Gs1Refused(f'unknown GS1 Application Identifier ({data[:length]}) at "{shown}"')
    return Gs1Refused(f'unknown GS1 Application Identifier at "{shown}"')


def _ai_at(data: str) -> _Spec:
    for length in (2, 3, 4):
        candidate = data[:length]
        if len(candidate) == length and candidate.isdigit():
            spec = _spec(candidate)
            if spec is not None:
                return spec
    raise _unknown_ai(data)


# --- one field ------------------------------------------------------------------


def _length_rule(spec: _Spec, length: int) -> str | None:
    if spec.min_length == spec.max_length and length != spec.max_length:
        return f"exactly {spec.max_length}"
    if length > spec.max_length:
        return f"at most {spec.max_length}"
    if length < spec.min_length:
        return f"at least {spec.min_length}"
    return None


def check_field(ai: str, value: str) -> Gs1Field:
    """The field if ``value`` is a whole, valid value of ``ai``; else ``Gs1Refused``."""
    spec = _spec(ai)
    if spec is None:
        raise Gs1Refused(f"unknown GS1 Application Identifier ({ai})")
    # GS1 data is ASCII: biip's patterns say \d, which would let other scripts' digits in.
    if not (value.isascii() and spec.pattern.fullmatch(ai + value)):
        # GS1's pattern decides; the format's lengths only explain a refusal.
        rule = _length_rule(spec, len(value))
        if rule is not None:
            raise Gs1Refused(f"{spec.label} is {len(value)} characters; {rule}")
        raise Gs1Refused(_format_fault(spec, value))
    checked = _CHECKED_DIGITS.get(ai)
    if checked is not None:
        digits = value[:checked]
        expected, got = gs1_check_digit(digits[:-1]), int(digits[-1])
        if expected != got:
            raise Gs1Refused(
                f"{spec.name} {value} has a wrong check digit: expected {expected}, got {got}"
            )
    if ai in _STARTS_WITH_COMPANY_PREFIX and not _COMPANY_PREFIX.match(value):
        raise Gs1Refused(
            f'{spec.label} "{value}" does not start with a GS1 Company Prefix (4 digits or more)'
        )
    return Gs1Field(ai, value)


def _format_fault(spec: _Spec, value: str) -> str:
    if spec.charset == "N":
        for i, char in enumerate(value, 1):
            if not ("0" <= char <= "9"):
                return f"{spec.label} has {char!r} at character {i}; only digits are allowed"
    if spec.charset == "X":
        for i, char in enumerate(value, 1):
            if char not in CSET82:
                return (
                    f"{spec.label} has {char!r} at character {i}; only GS1 character set 82 "
                    f"is allowed ({_CSET82_SHOWN})"
                )
    if spec.ai in _DATE_AIS:
        return f'{spec.label} "{value}" is not a date (YYMMDD)'
    return f'{spec.label} "{value}" does not match its format {spec.format}'


# --- the three ways fields arrive -------------------------------------------------


def element_string_fields(data: str) -> list[Gs1Field]:
    """The fields of element strings as a scanner sends them (symbology identifier
    already removed; separators as GS)."""
    control = _CONTROL_NOT_GS.search(data)
    if control:
        raise Gs1Refused(
            f"scan contains the control character 0x{ord(control.group()):02x}; only the GS1 "
            "separator (GS, 0x1d) belongs in a GS1 code: check the scanner's settings"
        )
    fields: list[Gs1Field] = []
    rest = data.lstrip(GS)
    while rest:
        spec = _ai_at(rest)
        after_ai = rest[len(spec.ai) :]
        up_to_separator = after_ai.split(GS, 1)[0]
        if spec.predefined and len(up_to_separator) >= spec.max_length:
            value = after_ai[: spec.max_length]
        else:
            value = up_to_separator
        fields.append(check_field(spec.ai, value))
        rest = after_ai[len(value) :].lstrip(GS)
    if not fields:
        raise Gs1Refused("empty GS1 code")
    return _no_conflicts(fields)


def bracketed_fields(text: str) -> list[Gs1Field]:
    """The fields of the human-readable form ``(01)05012345678900(21)SN1001``. Each
    bracketed AI starts a field and the field ends where the next one starts. White space
    and separators may stand between fields, as people type them (``(01) 0501... (21)
    SN1001``); inside a value they are refused, never dropped: dropping them would join
    two values into one (``(8004)5012 3456`` is not the GIAI 50123456). A bracket inside
    a value is refused too: it can only be a mistyped AI."""
    code = text.strip()  # str.strip() also strips GS
    parts = _HRI_AI.split(code)
    # re.split with one group: ["", ai, value, ai, value, ...]
    if parts[0] != "" or len(parts) < 3:
        raise Gs1Refused(f"malformed human-readable GS1 code {text!r}")
    fields = [_bracketed_field(parts[i], parts[i + 1]) for i in range(1, len(parts), 2)]
    return _no_conflicts(fields)


def _bracketed_field(ai: str, between: str) -> Gs1Field:
    value = between.strip()
    spec = _spec(ai)
    if spec is None:
        return check_field(ai, value)  # refused: an unknown AI
    for i, char in enumerate(value, 1):
        if char == GS:
            raise Gs1Refused(
                f"{spec.label} has a GS separator at character {i}; in the bracketed form "
                "separators may stand only between fields"
            )
        if char.isspace():
            raise Gs1Refused(
                f"{spec.label} has {char!r} at character {i}; in the bracketed form white "
                "space may stand only between fields"
            )
        if char in "()":
            raise Gs1Refused(
                f"{spec.label} has {char!r} at character {i}; in the bracketed form "
                "brackets stand only around an AI, as in (8004)"
            )
    return check_field(ai, value)


PRIMARY_KEYS = frozenset(
    {"00", "01", "253", "255", "401", "402", "414", "415", "417"}
    | {"8003", "8004", "8006", "8010", "8013", "8017", "8018"}
)


def link_fields(segments: Sequence[str], query: Iterable[tuple[str, str]]) -> list[Gs1Field]:
    """The fields of a GS1 Digital Link URI: its path segments (percent-decoded; anything
    before the first primary key is the resolver's own path) and its query pairs (those
    whose key is an AI, data attributes; others are for the resolver). A primary key in
    the query is refused."""
    start = next((i for i, s in enumerate(segments) if s in PRIMARY_KEYS), None)
    if start is None:
        raise Gs1Refused("no GS1 primary key (such as 8004, 414 or 01) in the Digital Link path")
    pairs = list(segments[start:])
    if len(pairs) % 2:
        raise Gs1Refused(f"{_label(pairs[-1])} has no value in the Digital Link path")
    fields: list[Gs1Field] = []
    for i in range(0, len(pairs), 2):
        ai, value = pairs[i], pairs[i + 1]
        if _spec(ai) is None:
            raise Gs1Refused(
                f'Digital Link path segment "{ai}" is not a GS1 Application Identifier'
            )
        if ai == "01" and value.isdigit() and len(value) in (8, 12, 13):
            value = value.zfill(14)  # GTIN-8, -12 and -13 are written as they are
        fields.append(check_field(ai, value))
    for key, value in query:
        if key.isdigit() and _spec(key) is not None:
            if key in PRIMARY_KEYS:
                # GS1 Digital Link: a key names what the link is about, in its path; the
                # query carries data attributes only, never a second thing it names.
                raise Gs1Refused(
                    f"{_label(key)} is a primary key: in a GS1 Digital Link it belongs in "
                    "the path, not the query string (which carries only data attributes)"
                )
            fields.append(check_field(key, value))
    return _no_conflicts(fields)


def _label(ai: str) -> str:
    spec = _spec(ai)
    return spec.label if spec else f"({ai})"


def _no_conflicts(fields: list[Gs1Field]) -> list[Gs1Field]:
    """A repeated AI must repeat its value: two GIAIs in one scan name no one asset."""
    seen: dict[str, str] = {}
    for field in fields:
        if seen.setdefault(field.ai, field.value) != field.value:
            raise Gs1Refused(f"{_label(field.ai)} appears twice with different values")
    return fields
