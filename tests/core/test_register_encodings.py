"""What an asset register file is written in, and what exactly is wrong with a cell.

A CMMS or a spreadsheet saves CSV as UTF-8 (with or without a byte order mark), the
Windows ANSI code page, or UTF-16 ("Unicode text"). Each is read as what it is; what
cannot be read is refused naming the encoding problem and where it is.
"""

from __future__ import annotations

import codecs

import pytest

from floki_core.config import ImportConfig
from floki_core.errors import Invalid
from floki_core.register_csv import RowProblem, read_register
from floki_core.testing import Floki

DEFAULTS = ImportConfig()
HEADER = "Asset Number,Description,Serial No,Department"
DESCRIPTION = "Défibrillateur \u2013 spare £250"  # an en dash: not in Latin-1
ROW = f"UT-1,{DESCRIPTION},SN-1,Théâtres"


def lines(*rows: str) -> str:
    return "\r\n".join(rows) + "\r\n"


# --- encodings -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("UTF-16 LE", codecs.BOM_UTF16_LE + lines(HEADER, ROW).encode("utf-16-le")),
        ("UTF-16 BE", codecs.BOM_UTF16_BE + lines(HEADER, ROW).encode("utf-16-be")),
        ("UTF-8 with BOM", codecs.BOM_UTF8 + lines(HEADER, ROW).encode("utf-8")),
        ("UTF-8", lines(HEADER, ROW).encode("utf-8")),
    ],
)
def test_utf16_and_utf8_files_read_as_what_they_are(name: str, data: bytes) -> None:
    parsed = read_register(data, DEFAULTS)

    assert parsed.problems == [], name
    [row] = parsed.rows
    assert (row.asset_number, row.description, row.department) == (
        "UT-1",
        DESCRIPTION,
        "Théâtres",
    )


def test_excel_unicode_text_is_utf16_and_tab_separated() -> None:
    text = lines("Asset Number\tDescription", "UT-2\tSyringe driver, spare")
    data = codecs.BOM_UTF16_LE + text.encode("utf-16-le")

    [row] = read_register(data, DEFAULTS).rows

    assert (row.asset_number, row.description) == ("UT-2", "Syringe driver, spare")


def test_utf16_without_a_byte_order_mark_is_refused_naming_utf16() -> None:
    data = lines(HEADER, ROW).encode("utf-16-le")

    with pytest.raises(Invalid) as caught:
        read_register(data, DEFAULTS)

    message = str(caught.value)
    assert "UTF-16 without a byte order mark" in message
    assert "save it as CSV UTF-8" in message


def test_a_byte_neither_utf8_nor_windows_1252_is_refused_with_its_line_and_column() -> None:
    data = lines(HEADER, "UT-1,Pump,SN-1,Ward 7", "UT-2,Pump,SN\x81-2,Ward 7").encode("latin-1")

    with pytest.raises(Invalid) as caught:
        read_register(data, DEFAULTS)

    assert str(caught.value) == (
        "<upload>: line 3, column 'Serial No': byte 0x81 is not UTF-8 or Windows-1252 text; "
        "save the file as CSV UTF-8"
    )


def test_a_file_marked_utf8_is_not_read_as_windows_1252() -> None:
    # The byte order mark says UTF-8: an é written as one Windows-1252 byte is an error
    # in the file, not a reason to guess another encoding.
    data = codecs.BOM_UTF8 + lines(HEADER, "UT-1,Pump,SN-1,Th\xe9\xe2tres").encode("latin-1")

    with pytest.raises(Invalid) as caught:
        read_register(data, DEFAULTS)

    assert str(caught.value) == (
        "<upload>: line 2, column 'Department': byte 0xe9 is not UTF-8 text, though the file "
        "starts with a UTF-8 byte order mark; save the file as CSV UTF-8"
    )


def test_a_damaged_utf16_file_names_where_it_breaks() -> None:
    good = codecs.BOM_UTF16_LE + lines(HEADER, "UT-1,Pump").encode("utf-16-le")
    # A lone low surrogate (0xDC00) cannot stand in UTF-16.
    data = good + "UT-2,".encode("utf-16-le") + b"\x00\xdc" + "x\r\n".encode("utf-16-le")

    with pytest.raises(Invalid) as caught:
        read_register(data, DEFAULTS)

    assert str(caught.value).startswith(
        "<upload>: line 3, column 'Description': not valid UTF-16 LE text"
    )


def test_a_utf8_file_with_one_windows_1252_byte_is_refused_naming_the_byte() -> None:
    # Saved as UTF-8, then one line pasted in from a Windows-1252 file: reading it all as
    # Windows-1252 would turn every accent in the file into two wrong characters.
    data = lines(HEADER, ROW).encode("utf-8") + b"UT-3,Hoist \x96 Arjo,SN-3,Ward 7\r\n"

    with pytest.raises(Invalid) as caught:
        read_register(data, DEFAULTS)

    message = str(caught.value)
    assert message.startswith("<upload>: line 3, column 'Description': byte 0x96 is not UTF-8")
    assert "the rest of the file is UTF-8" in message
    assert message.endswith("save the file as CSV UTF-8")


def test_a_windows_1252_file_is_still_read_as_windows_1252() -> None:
    data = lines(HEADER, "UT-4,Hoist \u2013 Arjo \u00a3250,SN-4,Th\u00e9\u00e2tres").encode(
        "cp1252"
    )

    [row] = read_register(data, DEFAULTS).rows

    assert (row.description, row.department) == (
        "Hoist \u2013 Arjo \u00a3250",
        "Th\u00e9\u00e2tres",
    )


def test_utf16_without_a_byte_order_mark_holding_mostly_non_ascii_is_named_utf16() -> None:
    greek = "".join(f"\u0391{n},\u03a3\u03c5\u03c3\u03ba\u03b5\u03c5\u03ae\r\n" for n in range(5))
    for codec in ("utf-16-le", "utf-16-be"):
        data = ("Asset Number,Description\r\n" + greek).encode(codec)

        with pytest.raises(Invalid) as caught:
            read_register(data, DEFAULTS)

        message = str(caught.value)
        assert "UTF-16 without a byte order mark" in message, codec
        assert "universal-newline" not in message


@pytest.mark.parametrize("codec", ["utf-32-le", "utf-32-be"])
def test_utf32_without_a_byte_order_mark_is_named_utf32(codec: str) -> None:
    data = lines(HEADER, ROW).encode(codec)

    with pytest.raises(Invalid) as caught:
        read_register(data, DEFAULTS)

    message = str(caught.value)
    assert "UTF-32 without a byte order mark" in message
    assert "UTF-16" not in message
    assert "save it as CSV UTF-8" in message


def test_lines_ending_in_a_carriage_return_alone_are_named() -> None:
    data = lines(HEADER, ROW, "UT-2,Pump,SN-2,Ward 7").replace("\r\n", "\r").encode("utf-8")

    with pytest.raises(Invalid) as caught:
        read_register(data, DEFAULTS)

    message = str(caught.value)
    assert "end in a carriage return (CR) alone" in message
    assert "universal-newline" not in message
    assert "save the file as CSV UTF-8" in message


def test_a_carriage_return_inside_an_unquoted_cell_is_named_with_its_line() -> None:
    data = lines(HEADER, "UT-1,Pump,SN-1,Ward 7", "UT-2,Pump\rspare,SN-2,Ward 7").encode()

    with pytest.raises(Invalid) as caught:
        read_register(data, DEFAULTS)

    message = str(caught.value)
    assert message.startswith("line 3: a carriage return (CR) inside a cell not in quotes")
    assert "universal-newline" not in message


# --- what is wrong with a cell ---------------------------------------------------------


def test_a_nul_in_a_text_cell_is_reported_as_a_nul() -> None:
    parsed = read_register(lines(HEADER, "UT-1,Pump\x00x,SN-1,Ward 7"), DEFAULTS)

    assert parsed.problems == [
        RowProblem(
            2,
            "Description",
            "contains a NUL character (U+0000) at character 5; remove it (a NUL often means "
            "the file was saved as UTF-16 or is damaged)",
        )
    ]


def test_a_nul_in_a_small_uploaded_file_is_a_nul_not_utf16() -> None:
    parsed = read_register(b"Asset Number,Description\r\nUT-1,ab\x00c\r\n", DEFAULTS)

    [problem] = parsed.problems
    assert (problem.line, problem.column) == (2, "Description")
    assert "contains a NUL character (U+0000)" in problem.reason


def test_a_control_character_in_a_cell_is_named() -> None:
    parsed = read_register(lines(HEADER, "UT-1,Pump,SN\x07-1,Ward\x1b7"), DEFAULTS)

    assert parsed.problems == [
        RowProblem(2, "Serial No", "contains control character U+0007 at character 3; remove it"),
        RowProblem(2, "Department", "contains control character U+001B at character 5; remove it"),
    ]


def test_line_breaks_and_tabs_inside_a_quoted_cell_are_text() -> None:
    parsed = read_register(lines(HEADER, 'UT-1,"Pump\r\nspare\tkit",SN-1,Ward 7'), DEFAULTS)

    assert parsed.problems == []
    assert parsed.rows[0].description == "Pump\r\nspare\tkit"


def test_too_long_says_how_long_and_the_column_limit() -> None:
    parsed = read_register(lines(HEADER, f"UT-1,{'d' * 501},{'s' * 201},Ward 7"), DEFAULTS)

    assert parsed.problems == [
        RowProblem(2, "Description", "501 characters, longer than the 500 allowed"),
        RowProblem(2, "Serial No", "201 characters, longer than the 200 allowed"),
    ]


def test_a_nul_in_the_asset_number_is_named_too() -> None:
    parsed = read_register(lines(HEADER, "UT\x00-1,Pump,SN-1,Ward 7"), DEFAULTS)

    assert parsed.problems == [
        RowProblem(
            2,
            "Asset Number",
            "contains a NUL character (U+0000) at character 3; remove it (a NUL often means "
            "the file was saved as UTF-16 or is damaged)",
        )
    ]


async def test_over_http_utf16_imports_and_a_bad_encoding_is_a_422_with_the_reason(
    floki: Floki,
) -> None:
    headers = {**await floki.headers("engineer"), "Content-Type": "text/csv"}
    utf16 = codecs.BOM_UTF16_LE + lines(HEADER, ROW).encode("utf-16-le")

    resp = await floki.client.post("/api/v1/assets/import", data=utf16, headers=headers)
    assert resp.status == 200, await resp.text()
    assert (await resp.json())["created"] == 1
    listing = await floki.client.get("/api/v1/assets?q=UT-1", headers=headers)
    [asset] = (await listing.json())["items"]
    assert asset["description"] == DESCRIPTION

    no_bom = lines(HEADER, "UT-9,Pump,SN-9,Ward 7").encode("utf-16-le")
    resp = await floki.client.post("/api/v1/assets/import", data=no_bom, headers=headers)
    assert resp.status == 422
    assert "UTF-16 without a byte order mark" in (await resp.json())["error"]


async def test_over_http_a_utf8_file_with_a_windows_1252_byte_imports_nothing(
    floki: Floki,
) -> None:
    headers = {**await floki.headers("engineer"), "Content-Type": "text/csv"}
    data = lines(HEADER, ROW).encode("utf-8") + b"UT-3,Hoist \x96 Arjo,SN-3,Ward 7\r\n"

    resp = await floki.client.post("/api/v1/assets/import", data=data, headers=headers)

    assert resp.status == 422
    error = (await resp.json())["error"]
    assert "line 3, column 'Description': byte 0x96 is not UTF-8" in error
    assert "save the file as CSV UTF-8" in error
    listing = await floki.client.get("/api/v1/assets", headers=headers)
    assert (await listing.json())["items"] == []
