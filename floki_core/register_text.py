"""A register file as text: which encoding its bytes are in, and its CSV records.

Spreadsheets and CMMS exports save "CSV" as UTF-8 (with or without a byte order
mark), the Windows ANSI code page (Windows-1252 in the UK) or, as Excel's "Unicode
text", UTF-16 with a byte order mark and tabs between cells. A byte order mark is
believed; without one UTF-8 is tried, then Windows-1252. What cannot be read is
refused with the encoding problem and the line and column where it is.
"""

from __future__ import annotations

import codecs
import csv
from collections.abc import Iterator

from floki_core.errors import Invalid

SAVE_AS = "save the file as CSV UTF-8"
# (byte order mark, codec, name): UTF-32's marks start like UTF-16 LE's, so first.
_REFUSED_MARKS = (
    (codecs.BOM_UTF32_LE, "UTF-32 LE"),
    (codecs.BOM_UTF32_BE, "UTF-32 BE"),
)
_MARKS = (
    (codecs.BOM_UTF8, "utf-8", "UTF-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le", "UTF-16 LE"),
    (codecs.BOM_UTF16_BE, "utf-16-be", "UTF-16 BE"),
)
_SNIFF_BYTES = 4096


def decode_register(source: str, data: bytes) -> str:
    """The file's text; ``Invalid`` naming the problem and where it is otherwise."""
    for mark, name in _REFUSED_MARKS:
        if data.startswith(mark):
            raise Invalid(f"{source}: the file is {name} text, which is not read here; {SAVE_AS}")
    for mark, codec, name in _MARKS:
        if data.startswith(mark):
            body = data[len(mark) :]
            try:
                return body.decode(codec)
            except UnicodeDecodeError as exc:
                if codec == "utf-8":
                    what = (
                        f"byte {body[exc.start]:#04x} is not UTF-8 text, though the file "
                        "starts with a UTF-8 byte order mark"
                    )
                else:
                    shown = " ".join(f"{b:#04x}" for b in body[exc.start : exc.end])
                    what = f"not valid {name} text (bytes {shown})"
                raise _located(source, body, exc.start, codec, what) from None
    if _looks_like_utf16(data):
        raise Invalid(
            f"{source}: the file looks like UTF-16 without a byte order mark (every other "
            f"byte is 0), so its encoding cannot be told for sure; save it as CSV UTF-8"
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        # Excel's "CSV" on Windows writes the ANSI code page, not UTF-8.
        return data.decode("cp1252")
    except UnicodeDecodeError as exc:
        what = f"byte {data[exc.start]:#04x} is not UTF-8 or Windows-1252 text"
        raise _located(source, data, exc.start, "cp1252", what) from None


def _looks_like_utf16(data: bytes) -> bool:
    # ASCII text in UTF-16 has a zero in every other byte; UTF-8 and Windows-1252 text
    # has none (a stray NUL in a cell is reported with its cell instead).
    sample = data[:_SNIFF_BYTES]
    if len(sample) < 4:
        return False
    half = len(sample) // 2
    return max(sample[0::2].count(0), sample[1::2].count(0)) > half * 0.6


def _located(source: str, data: bytes, offset: int, codec: str, what: str) -> Invalid:
    """``what`` went wrong at byte ``offset``: name the line and the header above it."""
    before = data[:offset].decode(codec)  # valid up to the error, by definition
    line = before.count("\n") + 1
    if line == 1:
        return Invalid(f"{source}: line 1 (the header line): {what}; {SAVE_AS}")
    try:
        records = list(csv_records(before, delimiter_of(before)))
    except Invalid:
        records = []
    index = 0  # the error starts a line: its first cell
    if records and records[-1][0] > 1 and not before.endswith("\n"):
        index = len(records[-1][1]) - 1
    header = records[0][1] if records else []
    name = header[index].strip() if index < len(header) else f"column {index + 1}"
    return Invalid(f"{source}: line {line}, column {name!r}: {what}; {SAVE_AS}")


def delimiter_of(text: str) -> str:
    """Comma, or tab for Excel's "Unicode text" (a header line with tabs and no comma)."""
    header = text.split("\n", 1)[0]
    return "\t" if "\t" in header and "," not in header else ","


def csv_records(text: str, delimiter: str = ",") -> Iterator[tuple[int, list[str]]]:
    """Non-blank records with the physical line each starts on."""
    # Split on "\n" only, so a CR inside a quoted cell stays data and line numbers match
    # what an editor shows.
    reader = csv.reader((piece + "\n" for piece in text.split("\n")), delimiter=delimiter)
    line = 1
    try:
        for cells in reader:
            if any(c.strip() for c in cells):
                yield line, cells
            line = reader.line_num + 1
    except csv.Error as exc:
        raise Invalid(f"line {line}: not readable as CSV: {exc}") from None
