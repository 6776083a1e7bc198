"""The asset register as CSV: import from a CMMS export (e-Quip and the like), export back.

Import is two steps. ``read_register`` parses and checks every row without touching the
database; ``apply_register`` writes the checked rows inside the caller's transaction, so a
refused import leaves nothing behind.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TextIO

import msgspec
from sqlalchemy import select
from sqlalchemy.orm import Session

from floki_core.config import ImportConfig
from floki_core.domain import Criticality, Principal
from floki_core.errors import Conflict, Invalid
from floki_core.schemas import AssetNumber, Giai, ShortText
from floki_core.storage.audit import write_audit
from floki_core.storage.models import AssetClassRow, AssetRow, ZoneRow
from floki_core.storage.register import ASSET_CLASSES, ASSETS
from floki_core.storage.resources import create_record, update_record

# Header names are compared ignoring case, spaces and punctuation ("Serial No." == "serial_no").
DEFAULT_HEADERS: dict[str, tuple[str, ...]] = {
    "asset_number": (
        "Asset Number",
        "Asset No",
        "Equipment No",
        "Equipment Number",
        "Equipment ID",
        "Asset ID",
    ),
    "description": ("Description", "Equipment Description", "Asset Description"),
    "make": ("Make", "Manufacturer"),
    "model": ("Model", "Model No", "Model Number"),
    "serial": ("Serial", "Serial No", "Serial Number"),
    "department": ("Department", "Dept"),
    "location": ("Location", "Home Zone", "Home Location"),
    "last_ppm": ("Last PPM", "Last PPM Date", "Last Service Date"),
    "next_ppm_due": ("Next PPM Due", "Next PPM Date", "PPM Due Date", "PPM Due"),
    "category": ("Category", "Equipment Type", "Device Type"),
    "ppm_interval_days": ("PPM Interval Days", "PPM Interval (days)"),
    "giai": ("GIAI",),
    "criticality": ("Criticality", "Risk"),
}
COLUMNS = tuple(DEFAULT_HEADERS)
EXPORT_HEADERS = (
    "asset_number",
    "description",
    "class",
    "category",
    "make",
    "model",
    "serial",
    "giai",
    "department",
    "home_zone",
    "state",
    "last_ppm",
    "next_ppm_due",
)
DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y", "%d-%b-%Y")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
LISTED_PROBLEMS = 20
_TEXT_COLUMNS = ("description", "make", "model", "serial", "department", "location", "category")
_ASSET_FIELDS = ("description", "serial", "department", "giai", "last_ppm", "next_ppm_due")
Outcome = Literal["created", "updated", "unchanged"]


@dataclass(frozen=True)
class RowProblem:
    line: int  # physical line in the file, the header being line 1
    column: str | None  # the header as written in the file
    reason: str

    def __str__(self) -> str:
        where = f"line {self.line}: {self.column}" if self.column else f"line {self.line}"
        return f"{where}: {self.reason}"


@dataclass(frozen=True)
class RegisterRow:
    """One checked row. Columns absent from the file keep these defaults and are not applied."""

    line: int
    asset_number: str
    description: str = ""
    make: str = ""
    model: str = ""
    serial: str = ""
    department: str = ""
    location: str = ""
    last_ppm: dt.date | None = None
    next_ppm_due: dt.date | None = None
    category: str = ""
    ppm_interval_days: int | None = None
    giai: str | None = None
    criticality: Criticality | None = None


@dataclass
class ParsedRegister:
    source: str
    columns: dict[str, str]  # canonical column -> header found in the file
    rows: list[RegisterRow]  # only the rows without problems
    problems: list[RowProblem]
    warnings: list[RowProblem]
    ignored_headers: list[str]


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    problems: list[RowProblem] = field(default_factory=list)
    warnings: list[RowProblem] = field(default_factory=list)


def read_register(
    text_or_path: str | bytes | os.PathLike[str], config: ImportConfig
) -> ParsedRegister:
    """Parse and check a register; ``str`` is CSV text, ``bytes`` raw file content."""
    source, text = _load(text_or_path)
    records = _records(text)
    first = next(records, None)
    if first is None:
        raise Invalid(f"{source}: the file is empty")
    header_line, headers = first
    indexes, warnings = _map_headers(source, header_line, headers, config)
    columns = {c: headers[i].strip() for c, i in indexes.items()}
    used = set(indexes.values())
    ignored = [h.strip() for i, h in enumerate(headers) if i not in used and h.strip()]
    rows: list[RegisterRow] = []
    problems: list[RowProblem] = []
    first_seen: dict[tuple[str, str], int] = {}
    for line, cells in records:
        row, found = _check_row(line, cells, indexes, columns, config.date_format)
        for column, value in (("asset_number", row.asset_number), ("giai", row.giai)):
            if value and (earlier := first_seen.setdefault((column, value), line)) != line:
                what = "asset number" if column == "asset_number" else "GIAI"
                reason = f"{what} {value!r} already appears on line {earlier}"
                found.append(RowProblem(line, columns[column], reason))
        problems.extend(found)
        if not found:
            rows.append(row)
    return ParsedRegister(source, columns, rows, problems, warnings, ignored)


def apply_register(
    session: Session,
    parsed: ParsedRegister,
    *,
    actor: Principal,
    now: dt.datetime,
    skip_bad: bool,
    progress: Callable[[int], None] | None = None,
) -> ImportReport:
    """Create or update assets by asset number in the caller's transaction.

    With problems and not ``skip_bad`` this raises ``Invalid``; the caller's transaction
    then rolls back whatever was already written. ``progress`` gets the rows handled so far.
    """
    if parsed.problems and not skip_bad:
        raise Invalid(_problem_message(parsed.source, parsed.problems))
    report = ImportReport(
        skipped=len({p.line for p in parsed.problems}),
        problems=list(parsed.problems),
        warnings=list(parsed.warnings),
    )
    writer = _RegisterWriter(session, parsed.columns, actor, now, report.warnings)
    for done, row in enumerate(parsed.rows, start=1):
        try:
            outcome = writer.apply(row)
        except (Conflict, Invalid) as exc:
            column = exc.column if isinstance(exc, _Refused) else None
            report.problems.append(RowProblem(row.line, column, str(exc)))
            report.skipped += 1
        else:
            setattr(report, outcome, getattr(report, outcome) + 1)
        if progress is not None:
            progress(done)
    if report.problems and not skip_bad:
        raise Invalid(_problem_message(parsed.source, report.problems))
    counts = {
        "created": report.created,
        "updated": report.updated,
        "unchanged": report.unchanged,
        "skipped": report.skipped,
        "warnings": len(report.warnings),
    }
    write_audit(
        session,
        at=now,
        actor=actor.label,
        action="import",
        entity="assets",
        after={"source": parsed.source, **counts},
        detail=f"{parsed.source}: " + ", ".join(f"{n} {what}" for what, n in counts.items()),
    )
    return report


def export_assets(session: Session, out: TextIO, *, actor: Principal, now: dt.datetime) -> int:
    """Write every asset as CSV (open ``out`` with ``newline=""``); returns the row count."""
    query = (
        select(AssetRow, AssetClassRow, ZoneRow.name)
        .outerjoin(AssetClassRow, AssetRow.class_id == AssetClassRow.id)
        .outerjoin(ZoneRow, AssetRow.home_zone_id == ZoneRow.id)
        .order_by(AssetRow.asset_number)
    )
    writer = csv.writer(out)
    writer.writerow(EXPORT_HEADERS)
    count = 0
    for asset, cls, zone in session.execute(query):
        cells: list[object] = [
            asset.asset_number,
            asset.description,
            cls.name if cls else "",
            cls.category if cls else "",
            cls.make if cls else "",
            cls.model if cls else "",
            asset.serial,
            asset.giai,
            asset.department,
            zone,
            asset.state,
            asset.last_ppm,
            asset.next_ppm_due,
        ]
        writer.writerow([neutralise_cell(c) for c in cells])
        count += 1
    write_audit(
        session,
        at=now,
        actor=actor.label,
        action="export",
        entity="assets",
        after={"rows": count, "format": "csv"},
        detail=f"{count} assets exported as CSV",
    )
    return count


def neutralise_cell(value: object) -> str:
    # A number cannot carry a formula, and "-3" (days overdue) must stay a number.
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    text = "" if value is None else value.isoformat() if isinstance(value, dt.date) else str(value)
    # OWASP CSV injection: a spreadsheet would run a cell starting like this as a formula.
    return "'" + text if text.startswith(FORMULA_START) else text


def _cell_text(raw: str) -> str:
    # Undo our own export's neutralising quote so an export re-imports unchanged.
    if raw.startswith("'") and raw[1:].startswith(FORMULA_START):
        return raw[1:]
    return raw.strip()


def _load(source: str | bytes | os.PathLike[str]) -> tuple[str, str]:
    if isinstance(source, str):
        return "<text>", source.removeprefix("\ufeff")
    if isinstance(source, bytes):
        return "<upload>", _decode("<upload>", source)
    path = Path(source)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise Invalid(f"{path}: cannot read the file: {exc.strerror}") from None
    return path.name, _decode(path.name, data)


def _decode(source: str, data: bytes) -> str:
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        # Excel's "CSV" on Windows writes the ANSI code page, not UTF-8.
        return data.decode("cp1252")
    except UnicodeDecodeError as exc:
        raise Invalid(
            f"{source}: not UTF-8 or Windows-1252 text (byte {data[exc.start]:#04x} "
            f"at offset {exc.start})"
        ) from None


def _records(text: str) -> Iterator[tuple[int, list[str]]]:
    """Non-blank records with the physical line each starts on."""
    # Split on "\n" only, so a CR inside a quoted cell stays data and line numbers match
    # what an editor shows.
    reader = csv.reader(piece + "\n" for piece in text.split("\n"))
    line = 1
    try:
        for cells in reader:
            if any(c.strip() for c in cells):
                yield line, cells
            line = reader.line_num + 1
    except csv.Error as exc:
        raise Invalid(f"line {line}: not readable as CSV: {exc}") from None


def _key(header: str) -> str:
    return re.sub(r"[^a-z0-9]", "", header.casefold())


def _map_headers(
    source: str, header_line: int, headers: list[str], config: ImportConfig
) -> tuple[dict[str, int], list[RowProblem]]:
    unknown = sorted(set(config.columns) - set(COLUMNS))
    if unknown:
        raise Invalid(
            f"import.columns: unknown column {unknown[0]!r}; known columns: {', '.join(COLUMNS)}"
        )
    free: dict[str, int] = {}
    for i, header in enumerate(headers):
        if _key(header):
            free.setdefault(_key(header), i)
    found: dict[str, int] = {}
    warnings: list[RowProblem] = []
    # Configured headers first, so a default alias cannot claim a header given to another column.
    for column, header in config.columns.items():
        if (index := free.pop(_key(header), None)) is not None:
            found[column] = index
        elif column != "asset_number":
            reason = f"import.columns.{column} names {header!r}, which is not in the file"
            warnings.append(RowProblem(header_line, None, reason))
    for column, aliases in DEFAULT_HEADERS.items():
        if column in config.columns:
            continue
        for alias in aliases:
            if (index := free.pop(_key(alias), None)) is not None:
                found[column] = index
                break
    if "asset_number" not in found:
        wanted = config.columns.get("asset_number")
        expected = repr(wanted) if wanted else ", ".join(map(repr, DEFAULT_HEADERS["asset_number"]))
        seen = ", ".join(repr(h.strip()) for h in headers if h.strip()) or "none"
        raise Invalid(
            f"{source}: no asset number column (looked for {expected}); "
            f"the headers on line {header_line} are: {seen}"
        )
    return found, warnings


def _check_row(
    line: int,
    cells: list[str],
    indexes: dict[str, int],
    columns: dict[str, str],
    date_format: str | None,
) -> tuple[RegisterRow, list[RowProblem]]:
    problems: list[RowProblem] = []

    def cell(column: str) -> str:
        i = indexes.get(column)
        return _cell_text(cells[i]) if i is not None and i < len(cells) else ""

    def bad(column: str, reason: str) -> None:
        problems.append(RowProblem(line, columns[column], reason))

    values: dict[str, Any] = {"line": line}
    number = cell("asset_number")
    if not number:
        bad("asset_number", "asset number is empty")
    elif not _conforms(number, AssetNumber):
        bad(
            "asset_number",
            f"{number!r} is not a valid asset number (up to 64 letters, digits and . _ / -, "
            "starting with a letter or digit)",
        )
    values["asset_number"] = number
    for column in _TEXT_COLUMNS:
        if (text := cell(column)) and not _conforms(text, ShortText):
            bad(column, "longer than 500 characters")
        values[column] = text
    if giai := cell("giai"):
        if not _conforms(giai, Giai):
            bad("giai", f"{giai!r} is not a GIAI (1 to 30 printable characters, no spaces)")
        values["giai"] = giai
    for column in ("last_ppm", "next_ppm_due"):
        if text := cell(column):
            if (date := _parse_date(text, date_format)) is None:
                expected = date_format or "2025-03-31, 31/03/2025 or 31-Mar-2025"
                bad(column, f"{text!r} is not a date (expected {expected})")
            values[column] = date
    last, due = values.get("last_ppm"), values.get("next_ppm_due")
    if last and due and due < last:
        bad("next_ppm_due", f"next PPM due {due} is before the last PPM {last}")
    if text := cell("ppm_interval_days"):
        days = int(text) if text.isdigit() else 0
        if not 1 <= days <= 3650:
            bad("ppm_interval_days", f"{text!r} is not a whole number of days from 1 to 3650")
        values["ppm_interval_days"] = days
    if text := cell("criticality"):
        # CMMS risk ratings read like "High" or "High risk".
        word = text.split()[0].casefold()
        if word not in {c.value for c in Criticality}:
            bad("criticality", f"{text!r} is not a criticality (high, medium or low)")
        else:
            values["criticality"] = Criticality(word)
    return RegisterRow(**values), problems


def _conforms(value: str, kind: object) -> bool:
    try:
        msgspec.convert(value, kind)
    except msgspec.ValidationError:
        return False
    return True


def _parse_date(text: str, date_format: str | None) -> dt.date | None:
    for fmt in (date_format,) if date_format else DATE_FORMATS:
        try:
            return dt.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    return None


def _problem_message(source: str, problems: list[RowProblem]) -> str:
    listed = "\n".join(str(p) for p in problems[:LISTED_PROBLEMS])
    more = len(problems) - LISTED_PROBLEMS
    tail = f"\n... and {more} more" if more > 0 else ""
    noun = "problem" if len(problems) == 1 else "problems"
    return f"{source}: {len(problems)} {noun}, nothing was imported:\n{listed}{tail}"


class _Refused(Conflict):
    """A row the database would refuse, with the file's column to blame."""

    def __init__(self, column: str, reason: str) -> None:
        super().__init__(reason)
        self.column = column


class _RegisterWriter:
    """Applies checked rows, with the register loaded once rather than queried per row."""

    def __init__(
        self,
        session: Session,
        columns: dict[str, str],
        actor: Principal,
        now: dt.datetime,
        warnings: list[RowProblem],
    ) -> None:
        self.session, self.columns, self.actor, self.now = session, columns, actor, now
        self.warnings = warnings
        self.assets = {a.asset_number: a for a in session.scalars(select(AssetRow))}
        self.giai_owner = {a.giai: n for n, a in self.assets.items() if a.giai}
        self.classes: dict[int, AssetClassRow] = {
            c.id: c for c in session.scalars(select(AssetClassRow).order_by(AssetClassRow.id))
        }
        self.by_make_model: dict[tuple[str, str], AssetClassRow] = {}
        for cls in self.classes.values():
            self.by_make_model.setdefault(_make_model(cls.make, cls.model), cls)
        self.class_names = {c.name.casefold() for c in self.classes.values()}
        self.zones_by_name: dict[str, list[int]] = {}
        self.zones_by_gln: dict[str, int] = {}
        for zone in session.scalars(select(ZoneRow)):
            self.zones_by_name.setdefault(zone.name.strip().casefold(), []).append(zone.id)
            if zone.gln:
                self.zones_by_gln[zone.gln] = zone.id

    def apply(self, row: RegisterRow) -> Outcome:
        """Returns which count of the report the row adds to."""
        existing = self.assets.get(row.asset_number)
        outcome: Outcome
        values = {f: getattr(row, f) for f in _ASSET_FIELDS if f in self.columns}
        giai = values.get("giai")
        owner = self.giai_owner.get(giai) if giai else None
        if owner not in (None, row.asset_number):
            raise _Refused(self.columns["giai"], f"GIAI {giai!r} belongs to asset {owner}")
        if "location" in self.columns:
            matched, zone_id = self._zone(row, existing)
            if matched:
                values["home_zone_id"] = zone_id
        if row.make or row.model:
            values["class_id"] = self._class_id(row, existing)
        if existing is None:
            record = create_record(
                self.session,
                ASSETS,
                {"asset_number": row.asset_number, **values},
                actor=self.actor,
                now=self.now,
            )
            self.assets[row.asset_number] = self.session.get_one(AssetRow, record.id)
            outcome = "created"
        else:
            changes = {k: v for k, v in values.items() if getattr(existing, k) != v}
            if not changes:
                return "unchanged"
            if existing.giai and "giai" in changes:
                self.giai_owner.pop(existing.giai, None)
            update_record(
                self.session, ASSETS, existing.id, changes, actor=self.actor, now=self.now
            )
            outcome = "updated"
        if giai:
            self.giai_owner[giai] = row.asset_number
        return outcome

    def _zone(self, row: RegisterRow, existing: AssetRow | None) -> tuple[bool, int | None]:
        """(matched, zone id); an empty location clears the home zone."""
        if not row.location:
            return True, None
        if gln_match := self.zones_by_gln.get(row.location):
            return True, gln_match
        matches = self.zones_by_name.get(row.location.casefold(), [])
        if len(matches) == 1:
            return True, matches[0]
        kept = "home zone left as it was" if existing else "no home zone set"
        what = f"names {len(matches)} zones" if matches else "matches no zone by name or GLN"
        reason = f"{row.location!r} {what}; {kept}"
        self.warnings.append(RowProblem(row.line, self.columns["location"], reason))
        return False, None

    def _class_id(self, row: RegisterRow, existing: AssetRow | None) -> int:
        key = _make_model(row.make, row.model)
        current = self.classes.get(existing.class_id) if existing and existing.class_id else None
        # Keep a matching class the asset already has, even if another shares its make/model.
        if current is not None and _make_model(current.make, current.model) == key:
            cls: AssetClassRow | None = current
        else:
            cls = self.by_make_model.get(key)
        if cls is None:
            return self._create_class(row, key)
        # Fill what the class lacks; never overwrite, so rows sharing a class cannot flip it.
        fill: dict[str, Any] = {}
        if row.category and not cls.category:
            fill["category"] = row.category
        if row.ppm_interval_days and cls.ppm_interval_days is None:
            fill["ppm_interval_days"] = row.ppm_interval_days
        if fill:
            update_record(self.session, ASSET_CLASSES, cls.id, fill, actor=self.actor, now=self.now)
        return cls.id

    def _create_class(self, row: RegisterRow, key: tuple[str, str]) -> int:
        parts = (row.category or row.description, row.make, row.model)
        base = " ".join(p for p in parts if p)[:200].strip()
        name, n = base, 2
        while name.casefold() in self.class_names:
            name, n = f"{base[:190]} ({n})", n + 1
        values: dict[str, Any] = {
            "name": name,
            "category": row.category,
            "make": row.make,
            "model": row.model,
            "ppm_interval_days": row.ppm_interval_days,
        }
        if row.criticality is not None:
            values["criticality"] = row.criticality
        record = create_record(self.session, ASSET_CLASSES, values, actor=self.actor, now=self.now)
        cls = self.session.get_one(AssetClassRow, record.id)
        self.classes[cls.id] = cls
        self.by_make_model[key] = cls
        self.class_names.add(name.casefold())
        return cls.id


def _make_model(make: str, model: str) -> tuple[str, str]:
    return make.strip().casefold(), model.strip().casefold()
