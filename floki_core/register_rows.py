"""The rows of an asset register file: which header is which column, and what is wrong
with each cell. Pure: nothing here touches the database."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from floki_core.config import ImportConfig
from floki_core.csv_cells import FORMULA_START
from floki_core.domain import Criticality
from floki_core.schemas import EARLIEST_DATE, LATEST_DATE, giai_problem

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
DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y", "%d-%b-%Y")
# The most each text column may hold: what the register's columns store.
TEXT_LIMITS = {
    "description": 500,
    "make": 200,
    "model": 200,
    "serial": 200,
    "department": 200,
    "location": 500,
    "category": 200,
}
# Tab, LF and CR are text (a quoted cell may span lines); every other control character
# is not, and NUL cannot be stored at all (PostgreSQL refuses it).
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_ASSET_NUMBER = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/-]{0,63}")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_CRITICALITIES = frozenset(c.value for c in Criticality)


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


class HeaderError(Exception):
    """The header line cannot be used; the message says why."""


def header_key(header: str) -> str:
    return re.sub(r"[^a-z0-9]", "", header.casefold())


def map_headers(
    source: str, header_line: int, headers: list[str], config: ImportConfig
) -> tuple[dict[str, int], list[RowProblem]]:
    """Canonical column -> index in the row, and warnings about configured headers."""
    unknown = sorted(set(config.columns) - set(COLUMNS))
    if unknown:
        raise HeaderError(
            f"import.columns: unknown column {unknown[0]!r}; known columns: {', '.join(COLUMNS)}"
        )
    free: dict[str, int] = {}
    for i, header in enumerate(headers):
        if header_key(header):
            free.setdefault(header_key(header), i)
    found: dict[str, int] = {}
    warnings: list[RowProblem] = []
    # Configured headers first, so a default alias cannot claim a header given to another column.
    for column, header in config.columns.items():
        if (index := free.pop(header_key(header), None)) is not None:
            found[column] = index
        elif column != "asset_number":
            reason = f"import.columns.{column} names {header!r}, which is not in the file"
            warnings.append(RowProblem(header_line, None, reason))
    for column, aliases in DEFAULT_HEADERS.items():
        if column in config.columns:
            continue
        for alias in aliases:
            if (index := free.pop(header_key(alias), None)) is not None:
                found[column] = index
                break
    if "asset_number" not in found:
        wanted = config.columns.get("asset_number")
        expected = repr(wanted) if wanted else ", ".join(map(repr, DEFAULT_HEADERS["asset_number"]))
        seen = ", ".join(repr(h.strip()) for h in headers if h.strip()) or "none"
        raise HeaderError(
            f"{source}: no asset number column (looked for {expected}); "
            f"the headers on line {header_line} are: {seen}"
        )
    return found, warnings


def cell_text(raw: str) -> str:
    # Undo our own export's neutralising quote so an export re-imports unchanged.
    if raw.startswith("'") and raw[1:].startswith(FORMULA_START):
        return raw[1:]
    return raw.strip()


def character_problem(text: str) -> str | None:
    """What is wrong with the characters of a cell, if anything."""
    found = _CONTROL.search(text)
    if found is None:
        return None
    at = found.start() + 1
    if found.group() == "\x00":
        return (
            f"contains a NUL character (U+0000) at character {at}; remove it (a NUL often "
            "means the file was saved as UTF-16 or is damaged)"
        )
    return f"contains control character U+{ord(found.group()):04X} at character {at}; remove it"


class RowChecker:
    """Checks rows one by one; remembers the dates it has read (a register repeats them)."""

    def __init__(
        self, indexes: dict[str, int], columns: dict[str, str], date_format: str | None
    ) -> None:
        self.indexes = indexes
        self.columns = columns
        self.date_format = date_format
        self._dates: dict[str, dt.date | None] = {}
        self._text_columns = [c for c in TEXT_LIMITS if c in indexes]

    def check(self, line: int, cells: list[str]) -> tuple[RegisterRow, list[RowProblem]]:
        problems: list[RowProblem] = []
        columns = self.columns
        count = len(cells)
        texts = {c: cell_text(cells[i]) if i < count else "" for c, i in self.indexes.items()}

        def bad(column: str, reason: str) -> None:
            problems.append(RowProblem(line, columns[column], reason))

        # One search of the whole row first: control characters are rare.
        unreadable: set[str] = set()
        if _CONTROL.search("".join(cells)) is not None:
            for column, text in texts.items():
                if (wrong := character_problem(text)) is not None:
                    bad(column, wrong)
                    unreadable.add(column)
                    texts[column] = ""  # reported; not checked again below

        def get(column: str) -> str:
            return texts.get(column, "")

        values: dict[str, Any] = {"line": line}
        number = texts["asset_number"]
        if not number:
            if "asset_number" not in unreadable:
                bad("asset_number", "asset number is empty")
        elif not _ASSET_NUMBER.fullmatch(number):
            bad(
                "asset_number",
                f"{number!r} is not a valid asset number (up to 64 letters, digits and . _ / -, "
                "starting with a letter or digit)",
            )
        values["asset_number"] = number
        for column in self._text_columns:
            text = texts[column]
            if len(text) > (limit := TEXT_LIMITS[column]):
                bad(column, f"{len(text)} characters, longer than the {limit} allowed")
            values[column] = text
        if giai := get("giai"):
            if problem := giai_problem(giai):
                bad("giai", problem)
            values["giai"] = giai
        for column in ("last_ppm", "next_ppm_due"):
            if text := get(column):
                if (date := self._date(text)) is None:
                    expected = self.date_format or "2025-03-31, 31/03/2025 or 31-Mar-2025"
                    bad(column, f"{text!r} is not a date (expected {expected})")
                elif not EARLIEST_DATE <= date <= LATEST_DATE:
                    bad(
                        column,
                        f"{date.isoformat()} is out of range; {EARLIEST_DATE} to {LATEST_DATE}",
                    )
                values[column] = date
        last, due = values.get("last_ppm"), values.get("next_ppm_due")
        if last and due and due < last:
            bad("next_ppm_due", f"next PPM due {due} is before the last PPM {last}")
        if text := get("ppm_interval_days"):
            days = int(text) if text.isascii() and text.isdigit() else 0
            if not 1 <= days <= 3650:
                bad("ppm_interval_days", f"{text!r} is not a whole number of days from 1 to 3650")
            values["ppm_interval_days"] = days
        if text := get("criticality"):
            # CMMS risk ratings read like "High" or "High risk".
            word = text.split()[0].casefold()
            if word not in _CRITICALITIES:
                bad("criticality", f"{text!r} is not a criticality (high, medium or low)")
            else:
                values["criticality"] = Criticality(word)
        return RegisterRow(**values), problems

    def _date(self, text: str) -> dt.date | None:
        if text not in self._dates:
            self._dates[text] = parse_date(text, self.date_format)
        return self._dates[text]


def parse_date(text: str, date_format: str | None) -> dt.date | None:
    if date_format is None and _ISO_DATE.fullmatch(text):
        try:
            return dt.date.fromisoformat(text)
        except ValueError:
            return None
    for fmt in (date_format,) if date_format else DATE_FORMATS:
        try:
            return dt.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    return None
