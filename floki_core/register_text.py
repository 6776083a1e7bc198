"""A register file as text: which encoding its bytes are in, and its CSV records.

Spreadsheets and CMMS exports save "CSV" as UTF-8 (with or without a byte order
mark), the Windows ANSI code page (Windows-1252 in the UK) or, as Excel's "Unicode
text", UTF-16 with a byte order mark and tabs between cells. A byte order mark is
believed; without one UTF-8 is tried, then Windows-1252 - but only for a file with no
UTF-8 in it at all: one that holds UTF-8 characters and also a byte UTF-8 cannot read
was saved in two encodings, and reading all of it as Windows-1252 would garble every
accent in it. What cannot be read is refused with the encoding problem and the line
and column where it is.
"""

from __future__ import annotations

import codecs
import csv
import re
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
    if (unmarked := _unmarked_wide_encoding(data)) is not None:
        raise Invalid(
            f"{source}: the file looks like {unmarked} without a byte order mark, so its "
            f"encoding cannot be told for sure; save it as CSV UTF-8"
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        if _holds_utf8(data):
            what = (
                f"byte {data[exc.start]:#04x} is not UTF-8 text, though the rest of the file "
                "is UTF-8 (part of it was saved in another encoding)"
            )
            raise _located(source, data, exc.start, "utf-8", what) from None
    try:
        # Excel's "CSV" on Windows writes the ANSI code page, not UTF-8.
        return data.decode("cp1252")
    except UnicodeDecodeError as exc:
        what = f"byte {data[exc.start]:#04x} is not UTF-8 or Windows-1252 text"
        raise _located(source, data, exc.start, "cp1252", what) from None


def _unmarked_wide_encoding(data: bytes) -> str | None:
    """ "UTF-32" or "UTF-16" for text in them without a byte order mark, else None.

    UTF-8 and Windows-1252 text holds no zero bytes (a stray NUL in a cell is reported
    with its cell instead). UTF-32 holds three in every four, at the same places in each
    group of four. UTF-16 ends its lines with a line feed and a zero (LE; BE the other
    way round) at an even offset, and stores the ASCII in a register (digits, commas,
    line ends) as the character and a zero, so zeros gather in every other byte,
    whatever the language of the rest."""
    sample = data[:_SNIFF_BYTES]
    if len(sample) < 4:
        return None
    quarters = [sample[i::4].count(0) / len(sample[i::4]) for i in range(4)]
    little, big = min(quarters[2:]) > 0.9 > quarters[0], min(quarters[:2]) > 0.9 > quarters[3]
    if little or big:
        return "UTF-32"
    even, odd = (sample[i::2].count(0) / len(sample[i::2]) for i in range(2))
    for line_end, zeros, others in ((b"\n\x00", odd, even), (b"\x00\n", even, odd)):
        ends = (m.start() for m in re.finditer(re.escape(line_end), sample))
        if zeros >= 0.05 and zeros > others and any(at % 2 == 0 for at in ends):
            return "UTF-16"
    return None


# A valid multi-byte UTF-8 sequence (RFC 3629): Windows-1252 text almost never holds one.
_UTF8_MULTIBYTE = re.compile(
    rb"[\xc2-\xdf][\x80-\xbf]"
    rb"|\xe0[\xa0-\xbf][\x80-\xbf]|[\xe1-\xec\xee\xef][\x80-\xbf]{2}|\xed[\x80-\x9f][\x80-\xbf]"
    rb"|\xf0[\x90-\xbf][\x80-\xbf]{2}|[\xf1-\xf3][\x80-\xbf]{3}|\xf4[\x80-\x8f][\x80-\xbf]{2}"
)


def _holds_utf8(data: bytes) -> bool:
    return _UTF8_MULTIBYTE.search(data) is not None


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
    if "\r" in text and "\n" not in text:
        raise Invalid(
            "the lines end in a carriage return (CR) alone, as old Mac spreadsheets save "
            f"CSV, which is not read here; {SAVE_AS} (lines ending CRLF or LF)"
        )
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
        if "new-line character" in str(exc):  # Python's words suggest a programmer's fix
            raise Invalid(
                f"line {line}: a carriage return (CR) inside a cell not in quotes; put the "
                f"cell in double quotes, or remove the line break, or {SAVE_AS}"
            ) from None
        raise Invalid(f"line {line}: not readable as CSV: {exc}") from None
