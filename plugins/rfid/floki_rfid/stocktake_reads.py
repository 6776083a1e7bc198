"""A handheld sweep's reads, as posted: a JSON body, or the handheld's exported CSV with
its columns found by their usual headers or named by a header map (as the register
import maps a CMMS export's columns). Pure: nothing here touches the appliance.

Every EPC is read by ``floki_rfid.epc`` (its raw hex is the tag's key), and a tag read
more than once in the sweep is one read: its strongest RSSI, its counts summed, its
latest time. Anything wrong is a ``SweepError`` whose message names the row (``reads[3]``,
``line 4``) and the field or column, and says what is wrong.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Annotated, Final

import msgspec

from floki_core.sdk import MAX_ID
from floki_rfid.epc import EpcError, EpcIdentity, decode_epc_hex

__all__ = [
    "DEFAULT_HEADERS",
    "FIELDS",
    "MAX_READS",
    "Sweep",
    "SweepError",
    "SweepRead",
    "parse_columns",
    "reads_from_csv",
    "sweep_from_json",
]

MAX_READS: Final = 10_000  # rows (or reads) in one sweep: a large store's every tag
# A clock a little ahead is a handheld's drift; further is a wrong time zone or date.
FUTURE_TOLERANCE: Final = dt.timedelta(minutes=5)
RSSI_RANGE: Final = (-150.0, 50.0)  # dBm, as observations carry it
MAX_COUNT: Final = 1_000_000
FIELDS: Final = ("epc", "rssi", "seen_at", "count")
# Headers understood without a map, compared ignoring case, spaces and punctuation.
DEFAULT_HEADERS: Final[Mapping[str, tuple[str, ...]]] = {
    "epc": ("EPC", "Tag ID", "idHex", "TagID"),
    "rssi": ("RSSI", "PeakRSSI"),
    "seen_at": ("Time", "Timestamp", "LastSeen"),
    "count": ("Count", "ReadCount"),
}
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_SHOWN = 60  # characters of a refused cell quoted in its reason


class SweepError(ValueError):
    """A sweep that cannot be read; the message says where and why."""


@dataclass(frozen=True)
class SweepRead:
    """One tag read in the sweep (every read of it folded into one)."""

    identity: EpcIdentity
    rssi: float | None = None
    seen_at: dt.datetime | None = None
    count: int = 1


@dataclass(frozen=True)
class Sweep:
    zone_id: int
    reads: list[SweepRead]
    device: str = ""
    note: str = ""


# --- JSON ----------------------------------------------------------------------------------


class _ReadIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    epc: Annotated[str, msgspec.Meta(max_length=200)]
    rssi: Annotated[float, msgspec.Meta(ge=RSSI_RANGE[0], le=RSSI_RANGE[1])] | None = None
    seen_at: Annotated[dt.datetime, msgspec.Meta(tz=True)] | None = None
    count: Annotated[int, msgspec.Meta(ge=1, le=MAX_COUNT)] | None = None


class SweepBody(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """``POST /api/v1/rfid/stocktakes`` as JSON (also its OpenAPI schema)."""

    zone_id: Annotated[int, msgspec.Meta(ge=1, le=MAX_ID)]
    reads: list[_ReadIn]
    device: Annotated[str, msgspec.Meta(max_length=100)] | None = None
    note: Annotated[str, msgspec.Meta(max_length=2000)] | None = None


def sweep_from_json(raw: bytes, now: dt.datetime) -> Sweep:
    """The sweep a JSON body describes; ``SweepError`` naming what is wrong."""
    if not raw.strip():
        raise SweepError("the body is empty; expected a JSON object with zone_id and reads")
    if raw.lstrip()[:1] not in (b"{", b""):
        try:
            msgspec.json.decode(raw)
        except msgspec.DecodeError as exc:
            raise SweepError(f"malformed JSON: {exc}") from None
        raise SweepError("expected a JSON object with zone_id and reads")
    try:
        posted = msgspec.json.decode(raw, type=SweepBody)
    except msgspec.ValidationError as exc:
        raise SweepError(f"invalid body: {exc}") from None
    except msgspec.DecodeError as exc:
        raise SweepError(f"malformed JSON: {exc}") from None
    if len(posted.reads) > MAX_READS:
        raise SweepError(
            f"the sweep has {len(posted.reads)} reads; at most {MAX_READS} reads are taken "
            "in one sweep: post the zone's parts as sweeps of their own"
        )
    rows = (
        (f"reads[{i}]", r.epc, r.rssi, r.seen_at, r.count or 1) for i, r in enumerate(posted.reads)
    )
    return Sweep(
        zone_id=posted.zone_id,
        reads=_fold(_checked(rows, now, field_names=_JSON_FIELDS)),
        device=(posted.device or "").strip(),
        note=(posted.note or "").strip(),
    )


_JSON_FIELDS: Final = {f: f"{{where}}.{f}" for f in FIELDS}


# --- CSV ------------------------------------------------------------------------------------


def parse_columns(text: str) -> dict[str, str]:
    """A header map ``epc=Tag ID,rssi=Peak`` as field -> header; ``SweepError`` if wrong."""
    columns: dict[str, str] = {}
    for part in text.split(","):
        if not part.strip():
            continue
        field, sep, header = part.partition("=")
        field, header = field.strip(), header.strip()
        if not sep or not header:
            raise SweepError(
                f"columns: {part.strip()[:_SHOWN]!r} is not <field>=<header>, e.g. "
                "columns=epc=Tag ID,rssi=Peak RSSI"
            )
        if field not in FIELDS:
            known = ", ".join(FIELDS)
            raise SweepError(f"columns: unknown field {field[:_SHOWN]!r}; fields: {known}")
        if field in columns:
            raise SweepError(f"columns: {field} is named twice")
        columns[field] = header
    return columns


def reads_from_csv(
    raw: bytes, columns: Mapping[str, str] | None, now: dt.datetime
) -> list[SweepRead]:
    """The reads of a handheld's exported sweep; ``columns`` maps fields to headers
    (fields not mapped are found by ``DEFAULT_HEADERS``)."""
    text = _utf8(raw)
    records = _records(text)
    first = next(records, None)
    if first is None:
        raise SweepError("the file is empty; expected a header line and a line per tag read")
    header_line, headers = first
    where = _map_headers(header_line, headers, columns or {})
    rows: list[tuple[str, str, float | None, dt.datetime | None, int]] = []
    for line, cells in records:
        if len(rows) >= MAX_READS:
            raise SweepError(
                f"line {line}: the file has more than {MAX_READS} reads; at most {MAX_READS} "
                "are taken in one sweep: post the zone's parts as sweeps of their own"
            )
        rows.append(_csv_row(line, cells, where, headers))
    if not rows:
        raise SweepError(
            "the file has no reads after its header; to record a sweep that read nothing, "
            'post JSON with "reads": []'
        )
    names = {f: f"{{where}}, column {headers[i].strip()!r}" for f, i in where.items()}
    return _fold(_checked(iter(rows), now, field_names=names))


def _utf8(raw: bytes) -> str:
    try:
        return raw.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise SweepError(
            f"the file is not UTF-8 text: line {line} has byte {raw[exc.start]:#04x}, which "
            "UTF-8 does not allow; save the file as CSV UTF-8"
        ) from None


def _records(text: str) -> Iterator[tuple[int, list[str]]]:
    """(line the record starts on, cells) for every record that is not blank."""
    first_line = next((line for line in text.splitlines() if line.strip()), "")
    delimiter = max((",", ";", "\t"), key=first_line.count)
    reader = csv.reader(text.splitlines(keepends=True), delimiter=delimiter)
    start = 1
    try:
        for cells in reader:
            if any(c.strip() for c in cells):
                yield start, cells
            start = reader.line_num + 1
    except csv.Error as exc:
        raise SweepError(f"line {reader.line_num}: not CSV: {exc}") from None


def _key(header: str) -> str:
    return re.sub(r"[^0-9a-z]", "", header.lower())


def _map_headers(line: int, headers: list[str], columns: Mapping[str, str]) -> dict[str, int]:
    """Field -> index of its column: mapped headers first, then the usual ones."""
    free: dict[str, int] = {}
    for i, header in enumerate(headers):
        if _key(header):
            free.setdefault(_key(header), i)
    seen = ", ".join(repr(h.strip()) for h in headers if h.strip()) or "none"
    found: dict[str, int] = {}
    for field, header in columns.items():
        index = free.pop(_key(header), None)
        if index is None:
            raise SweepError(
                f"columns: {field}={header} names {header!r}, which is not a header of the "
                f"file; the headers on line {line} are: {seen}"
            )
        found[field] = index
    for field, aliases in DEFAULT_HEADERS.items():
        if field in found:
            continue
        for alias in aliases:
            if (index := free.pop(_key(alias), None)) is not None:
                found[field] = index
                break
    if "epc" not in found:
        looked = ", ".join(DEFAULT_HEADERS["epc"])
        raise SweepError(
            f"no EPC column (looked for {looked}; name yours with columns=epc=<header>); "
            f"the headers on line {line} are: {seen}"
        )
    return found


def _cell(cells: list[str], index: int | None) -> str:
    if index is None or index >= len(cells):
        return ""
    text = cells[index].strip()
    # A cell an export neutralised against spreadsheet formulas ("'-61") reads as written.
    if text.startswith("'") and text[1:].startswith(_FORMULA_START):
        return text[1:]
    return text


def _csv_row(
    line: int, cells: list[str], where: Mapping[str, int], headers: list[str]
) -> tuple[str, str, float | None, dt.datetime | None, int]:
    def refuse(field: str, reason: str) -> SweepError:
        return SweepError(f"line {line}, column {headers[where[field]].strip()!r}: {reason}")

    rssi_text = _cell(cells, where.get("rssi"))
    seen_text = _cell(cells, where.get("seen_at"))
    count_text = _cell(cells, where.get("count"))
    rssi = None
    if rssi_text:
        try:
            rssi = float(rssi_text)
        except ValueError:
            raise refuse("rssi", f"{rssi_text[:_SHOWN]!r} is not a number") from None
    seen_at = None
    if seen_text:
        try:
            seen_at = dt.datetime.fromisoformat(seen_text)
        except ValueError:
            raise refuse(
                "seen_at",
                f"{seen_text[:_SHOWN]!r} is not a date and time (ISO 8601, e.g. "
                "2026-01-05T09:30:00Z)",
            ) from None
        if seen_at.tzinfo is None:  # a handheld's export without an offset: UTC
            seen_at = seen_at.replace(tzinfo=dt.UTC)
    count = 1
    if count_text:
        if not count_text.isdigit() or not 1 <= int(count_text) <= MAX_COUNT:
            raise refuse(
                "count", f"{count_text[:_SHOWN]!r} is not a read count (a whole number from 1)"
            )
        count = int(count_text)
    return f"line {line}", _cell(cells, where["epc"]), rssi, seen_at, count


# --- both -----------------------------------------------------------------------------------


def _checked(
    rows: Iterable[tuple[str, str, float | None, dt.datetime | None, int]],
    now: dt.datetime,
    *,
    field_names: Mapping[str, str],
) -> Iterator[SweepRead]:
    """Each row's EPC decoded and its values checked; ``field_names`` spells where a
    field of a row is (``{where}`` is the row)."""
    latest = now + FUTURE_TOLERANCE
    for where, epc, rssi, seen_at, count in rows:

        def at(field: str, where: str = where) -> str:
            return field_names[field].replace("{where}", where)

        if not epc:
            raise SweepError(f"{at('epc')}: the EPC is empty")
        try:
            identity = decode_epc_hex(epc)
        except EpcError as exc:
            raise SweepError(f"{at('epc')}: {exc}") from None
        if rssi is not None and not RSSI_RANGE[0] <= rssi <= RSSI_RANGE[1]:
            raise SweepError(
                f"{at('rssi')}: {rssi:g} dBm is not an RSSI "
                f"({RSSI_RANGE[0]:g} to {RSSI_RANGE[1]:g})"
            )
        if seen_at is not None and seen_at > latest:
            ahead = (seen_at - now).total_seconds() / 60
            raise SweepError(
                f"{at('seen_at')}: {seen_at.astimezone(dt.UTC).isoformat()} is {ahead:.0f} "
                f"minutes after the appliance's clock ({now.isoformat()}); check the "
                "handheld's clock and time zone"
            )
        yield SweepRead(identity=identity, rssi=rssi, seen_at=seen_at, count=count)


def _fold(reads: Iterable[SweepRead]) -> list[SweepRead]:
    """One read per tag, in the order tags were first read."""
    folded: dict[str, SweepRead] = {}
    for read in reads:
        held = folded.get(read.identity.hex)
        if held is None:
            folded[read.identity.hex] = read
            continue
        rssis = [r for r in (held.rssi, read.rssi) if r is not None]
        times = [t for t in (held.seen_at, read.seen_at) if t is not None]
        folded[read.identity.hex] = SweepRead(
            identity=held.identity,
            rssi=max(rssis) if rssis else None,
            seen_at=max(times) if times else None,
            count=min(held.count + read.count, MAX_COUNT),
        )
    return list(folded.values())
