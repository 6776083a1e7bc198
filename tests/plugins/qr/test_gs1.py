"""Reading scans: golden tables of accepted codes (with every decoded field) and refused
codes (with the reason a user is shown), in the style of Traccar's decoder tests.

Built from the published standards, not from what Floki prints:

- GS1 General Specifications (Release 24.0, 2024): section 3.2, the Application
  Identifiers with their formats (00 SSCC N18; 01 GTIN N14 with a check digit; 10
  batch/lot X..20; 17 expiry date N6, YYMMDD; 21 serial X..20; 254 GLN extension X..20;
  414 GLN N13 with a check digit; 8004 GIAI X..30, a GS1 Company Prefix first);
  figure 7.8.5-2 (7.8.4-2 in older releases), the AIs of predefined length, which need
  no separator after them; section 7.8.5, concatenation and the FNC1 separator sent as
  GS (ASCII 29); section 7.9, mod-10 check digits; section 7.11, character set 82.
- GS1 Digital Link URI syntax 1.4: primary key and qualifiers in the path, other AIs
  in the query, GTIN-8/12/13 padded to 14 digits.
- ISO/IEC 15424 (AIM) symbology identifiers: ``]C1`` GS1-128, ``]d2`` GS1 DataMatrix,
  ``]Q3`` GS1 QR Code, ``]e0`` GS1 DataBar; ``]C0``, ``]Q1`` for non-GS1 content.

Check digits are computed here by the mod-10 rule, independently of the code.
"""

from __future__ import annotations

import pytest

from floki_core import schemas
from floki_core.schemas import normalise_identifier
from floki_qr.gs1 import (
    RejectedScan,
    ScanForm,
    ScanKind,
    ScannedCode,
    gs1_check_digit,
    read_scan,
    udi_value,
)

GS = "\x1d"
GIAI = "50123451001"
GIAI_30 = "501234500000000000000000000001"  # the longest a GIAI may be
GIAI_34 = GIAI_30 + "1001"  # four characters too many: not the asset above
GLN = "5012345000015"
GTIN = "05012345678900"
SERIAL_20 = "SN345678901234567890"
UDI = f"(01){GTIN}(21)SN1001"
CSET82 = "letters, digits and !\"%&'()*+,-./:;<=>?_"

G, L, U = ScanKind.GIAI, ScanKind.GLN, ScanKind.UDI
ES, DL = ScanForm.ELEMENT_STRING, ScanForm.DIGITAL_LINK

# (scan, kind, value, form, may_be_plain, decoded fields)
ACCEPTED = [
    # Floki labels, as the camera or a scanner reads them.
    (
        "https://floki.example.nhs.uk/q/7K3M9QXA",
        ScanKind.FLOKI_CODE,
        "7K3M9QXA",
        ScanForm.FLOKI_URL,
        False,
        (),
    ),
    (
        "https://floki.example.nhs.uk:8443/q/E1001/",
        ScanKind.FLOKI_CODE,
        "E1001",
        ScanForm.FLOKI_URL,
        False,
        (),
    ),
    (
        "HTTPS://FLOKI.EXAMPLE/q/E%2F1001",
        ScanKind.FLOKI_CODE,
        "E/1001",
        ScanForm.FLOKI_URL,
        False,
        (),
    ),
    (
        "http://10.0.0.5/floki/q/7K3M9QXA",
        ScanKind.FLOKI_CODE,
        "7K3M9QXA",
        ScanForm.FLOKI_URL,
        False,
        (),
    ),
    (
        "]Q1https://floki.example/q/7K3M9QXA\r\n",
        ScanKind.FLOKI_CODE,
        "7K3M9QXA",
        ScanForm.FLOKI_URL,
        False,
        (),
    ),
    # GIAI (AI 8004): GS1-128, DataMatrix, QR, with and without symbology identifier.
    (f"]C18004{GIAI}", G, GIAI, ES, False, (("8004", GIAI),)),
    (f"]d28004{GIAI}", G, GIAI, ES, False, (("8004", GIAI),)),
    (f"]Q38004{GIAI}", G, GIAI, ES, False, (("8004", GIAI),)),
    (f"8004{GIAI}", G, GIAI, ES, True, (("8004", GIAI),)),
    (f"]C18004{GIAI_30}", G, GIAI_30, ES, False, (("8004", GIAI_30),)),
    ("]C18004501234ABC-7", G, "501234ABC-7", ES, False, (("8004", "501234ABC-7"),)),
    # FNC1 sent as GS: leading (FNC1 in first position), trailing, doubled. A separator
    # marks the scan as GS1, so it is never tried as an asset number.
    (f"]C18004{GIAI}{GS}", G, GIAI, ES, False, (("8004", GIAI),)),
    (f"8004{GIAI}{GS}", G, GIAI, ES, False, (("8004", GIAI),)),
    (f"{GS}8004{GIAI}", G, GIAI, ES, False, (("8004", GIAI),)),
    (f"{GS}{GS}8004{GIAI}{GS}{GS}", G, GIAI, ES, False, (("8004", GIAI),)),
    (f"]C1{GS}8004{GIAI}{GS}\r\n", G, GIAI, ES, False, (("8004", GIAI),)),
    # The human-readable form keeps its field boundaries; spaces people type are not data.
    (f"(8004){GIAI}", G, GIAI, ES, False, (("8004", GIAI),)),
    (f" (8004) {GIAI} ", G, GIAI, ES, False, (("8004", GIAI),)),
    (f"(8004){GIAI_30}", G, GIAI_30, ES, False, (("8004", GIAI_30),)),
    # White space and separators between fields (or around the code) are not data.
    (f"(8004) {GIAI} (10) LOT7", G, GIAI, ES, False, (("8004", GIAI), ("10", "LOT7"))),
    (f"(8004){GIAI}{GS}(10)LOT7{GS}", G, GIAI, ES, False, (("8004", GIAI), ("10", "LOT7"))),
    (f"\t(8004)\t{GIAI}\r\n", G, GIAI, ES, False, (("8004", GIAI),)),
    # GLN (AI 414, predefined length) followed by more data with no separator.
    (f"]C1414{GLN}", L, GLN, ES, False, (("414", GLN),)),
    (f"414{GLN}", L, GLN, ES, True, (("414", GLN),)),
    (f"]C1414{GLN}254BED4", L, GLN, ES, False, (("414", GLN), ("254", "BED4"))),
    (f"(414){GLN}(254)BED4", L, GLN, ES, False, (("414", GLN), ("254", "BED4"))),
    # UDI: GTIN (01) + serial (21), separators after variable-length fields only.
    (f"]d201{GTIN}21SN1001", U, UDI, ES, False, (("01", GTIN), ("21", "SN1001"))),
    (f"]e001{GTIN}21SN1001", U, UDI, ES, False, (("01", GTIN), ("21", "SN1001"))),
    (
        f"]d2{GS}01{GTIN}17280131{GS}21SN1001{GS}10LOT7",
        U,
        UDI,
        ES,
        False,
        (("01", GTIN), ("17", "280131"), ("21", "SN1001"), ("10", "LOT7")),
    ),
    (
        f"]d201{GTIN}1728013110LOT7{GS}{GS}21SN1001{GS}",
        U,
        UDI,
        ES,
        False,
        (("01", GTIN), ("17", "280131"), ("10", "LOT7"), ("21", "SN1001")),
    ),
    (
        f"01{GTIN}21SN1001{GS}10LOT7",
        U,
        UDI,
        ES,
        False,
        (("01", GTIN), ("21", "SN1001"), ("10", "LOT7")),
    ),
    (f"01{GTIN}21SN1001", U, UDI, ES, True, (("01", GTIN), ("21", "SN1001"))),
    (
        f"]d201{GTIN}21{SERIAL_20}",
        U,
        f"(01){GTIN}(21){SERIAL_20}",
        ES,
        False,
        (("01", GTIN), ("21", SERIAL_20)),
    ),
    (f"(01){GTIN}(21)SN1001", U, UDI, ES, False, (("01", GTIN), ("21", "SN1001"))),
    (f"(01) {GTIN} (21) SN1001", U, UDI, ES, False, (("01", GTIN), ("21", "SN1001"))),
    (
        f"(01){GTIN}(17)280131(10)LOT7(21)SN1001",
        U,
        UDI,
        ES,
        False,
        (("01", GTIN), ("17", "280131"), ("10", "LOT7"), ("21", "SN1001")),
    ),
    # Digital Link URIs, on GS1's resolver and on a domain with a path of its own.
    (f"https://id.gs1.org/8004/{GIAI}", G, GIAI, DL, False, (("8004", GIAI),)),
    (f"https://id.gs1.org/8004/{GIAI_30}", G, GIAI_30, DL, False, (("8004", GIAI_30),)),
    (
        "https://id.gs1.org/8004/501234ABC%2F7",
        G,
        "501234ABC/7",
        DL,
        False,
        (("8004", "501234ABC/7"),),
    ),
    (
        f"https://assets.example.nhs.uk/scan4safety/8004/{GIAI}",
        G,
        GIAI,
        DL,
        False,
        (("8004", GIAI),),
    ),
    (f"https://id.gs1.org/414/{GLN}", L, GLN, DL, False, (("414", GLN),)),
    (
        f"https://floki.example/414/{GLN}/254/BED4",
        L,
        GLN,
        DL,
        False,
        (("414", GLN), ("254", "BED4")),
    ),
    (
        f"https://id.gs1.org/01/{GTIN}/21/SN1001?17=280131&linkType=gs1:pip",
        U,
        UDI,
        DL,
        False,
        (("01", GTIN), ("21", "SN1001"), ("17", "280131")),
    ),
    # A GTIN-13 in a Digital Link is padded to 14 digits.
    (
        f"https://id.gs1.org/01/{GTIN[1:]}/21/SN1001",
        U,
        UDI,
        DL,
        False,
        (("01", GTIN), ("21", "SN1001")),
    ),
    (f"]Q3https://id.gs1.org/8004/{GIAI}", G, GIAI, DL, False, (("8004", GIAI),)),
    # Plain asset numbers (Code 128 without FNC1, or typed in).
    ("E1001", ScanKind.PLAIN, "E1001", ScanForm.PLAIN, False, ()),
    ("]C0E1001", ScanKind.PLAIN, "E1001", ScanForm.PLAIN, False, ()),
    ("  EQ/2024.17 \r", ScanKind.PLAIN, "EQ/2024.17", ScanForm.PLAIN, False, ()),
    ("100234", ScanKind.PLAIN, "100234", ScanForm.PLAIN, False, ()),
]

# (scan, reason, may_be_plain)
REJECTED = [
    ("", "empty scan", False),
    ("  \r\n", "empty scan", False),
    ("]C1", "empty scan after the symbology identifier", False),
    (f"]C1{GS}{GS}", "empty GS1 code", False),
    ("]W9E1001", "unknown symbology identifier ']W9'", False),
    ("]", "unknown symbology identifier ']'", False),
    # Too long: refused, never cut to the field's maximum (that names another asset).
    (f"(8004){GIAI_34}", "(8004) GIAI is 34 characters; at most 30", False),
    (f"(8004) {GIAI_34} ", "(8004) GIAI is 34 characters; at most 30", False),
    (f"]C18004{GIAI_34}", "(8004) GIAI is 34 characters; at most 30", False),
    (f"]C18004{GIAI_34}{GS}", "(8004) GIAI is 34 characters; at most 30", False),
    (f"8004{GIAI_34}", "(8004) GIAI is 34 characters; at most 30", True),
    (f"https://id.gs1.org/8004/{GIAI_34}", "(8004) GIAI is 34 characters; at most 30", False),
    (f"(01){GTIN}(21){SERIAL_20}X", "(21) serial number is 21 characters; at most 20", False),
    (f"]d201{GTIN}21{SERIAL_20}X", "(21) serial number is 21 characters; at most 20", False),
    (f"(01){GTIN}(21)SN1(10){'L' * 21}", "(10) batch/lot is 21 characters; at most 20", False),
    (f"(414){GLN}(254){'B' * 21}", "(254) GLN extension is 21 characters; at most 20", False),
    (f"(414){GLN}5", "(414) GLN is 14 characters; exactly 13", False),
    (f"(01){GTIN}0(21)SN1", "(01) GTIN is 15 characters; exactly 14", False),
    (f"(00)3{GLN}00000", "(00) SSCC is 19 characters; exactly 18", False),
    # Too short, or cut short by a separator.
    ("]C141450123", "(414) GLN is 5 characters; exactly 13", False),
    ("(414)501234500001", "(414) GLN is 12 characters; exactly 13", False),
    ("]d2010501234567", "(01) GTIN is 10 characters; exactly 14", False),
    (f"]d201050123{GS}4567890021SN1", "(01) GTIN is 6 characters; exactly 14", False),
    ("]C11705012", "(17) expiry date is 5 characters; exactly 6", False),
    ("]C18004", "(8004) GIAI is 0 characters; at least 1", False),
    ("(8004)", "(8004) GIAI is 0 characters; at least 1", False),
    (f"]d201{GTIN}21", "(21) serial number is 0 characters; at least 1", False),
    (f"]d201{GTIN}21{GS}10LOT7", "(21) serial number is 0 characters; at least 1", False),
    ("https://id.gs1.org/414/501234500001", "(414) GLN is 12 characters; exactly 13", False),
    ("https://id.gs1.org/8004", "(8004) GIAI has no value in the Digital Link path", False),
    # Characters the field may not hold.
    ("(414)50123450000A5", "(414) GLN has 'A' at character 12; only digits are allowed", False),
    # GS1 data is ASCII: digits of another script are not digits here.
    (
        "(414)\u0665012345000015",
        "(414) GLN has '\u0665' at character 1; only digits are allowed",
        False,
    ),
    (
        "]C18004501234 ABC",
        f"(8004) GIAI has ' ' at character 7; only GS1 character set 82 is allowed ({CSET82})",
        False,
    ),
    (
        "(8004)5012345#1",
        f"(8004) GIAI has '#' at character 8; only GS1 character set 82 is allowed ({CSET82})",
        False,
    ),
    ("(17)281331(8004)50123451", '(17) expiry date "281331" is not a date (YYMMDD)', False),
    (
        "(8004)ABC123",
        '(8004) GIAI "ABC123" does not start with a GS1 Company Prefix (4 digits or more)',
        False,
    ),
    (
        f"8004ABC123{GS}",  # a trailing separator: GS1, not the asset number 8004ABC123
        '(8004) GIAI "ABC123" does not start with a GS1 Company Prefix (4 digits or more)',
        False,
    ),
    (
        f"]C18004{GIAI}{GS}\x1e",
        "scan contains the control character 0x1e; only the GS1 separator (GS, 0x1d) "
        "belongs in a GS1 code: check the scanner's settings",
        False,
    ),
    # Two different GIAIs in one scan name no one asset.
    (
        f"(8004){GIAI}(8004)50123451002",
        "(8004) GIAI appears twice with different values",
        False,
    ),
    # Check digits.
    (
        "]d20105012345678901" + "21SN1",
        "GTIN 05012345678901 has a wrong check digit: expected 0, got 1",
        False,
    ),
    ("]C14145012345000016", "GLN 5012345000016 has a wrong check digit: expected 5, got 6", False),
    ("4145012345000016", "GLN 5012345000016 has a wrong check digit: expected 5, got 6", True),
    (
        "(00)350123450000000010",
        "SSCC 350123450000000010 has a wrong check digit: expected 6, got 0",
        False,
    ),
    (
        "https://id.gs1.org/414/5012345000016",
        "GLN 5012345000016 has a wrong check digit: expected 5, got 6",
        False,
    ),
    (
        "https://id.gs1.org/01/05012345678901/21/SN1",
        "GTIN 05012345678901 has a wrong check digit: expected 0, got 1",
        False,
    ),
    # Application Identifiers nobody assigned, named where GS1 fixes their length.
    ("]C12312345", 'unknown GS1 Application Identifier (231) at "2312345"', False),
    (f"]C18004{GIAI}{GS}2399", 'unknown GS1 Application Identifier (239) at "2399"', False),
    (f"]C10105012345678900{GS}5X", 'unknown GS1 Application Identifier at "5X"', False),
    ("(23)12345", "unknown GS1 Application Identifier (23)", False),
    (f"(8004){GIAI}(9999)X", "unknown GS1 Application Identifier (9999)", False),
    (
        f"https://id.gs1.org/8004/{GIAI}/foo/bar",
        'Digital Link path segment "foo" is not a GS1 Application Identifier',
        False,
    ),
    # Readable, but not something that names an asset or a place.
    (
        f"]d201{GTIN}",
        f"GTIN {GTIN} without a serial number (AI 21) names a product, not one device",
        False,
    ),
    (
        "]C11728013110LOT7",
        "GS1 code carries no GIAI (8004), GLN (414) or GTIN + serial (01 + 21); it has (17), (10)",
        False,
    ),
    (
        f"10023{GS}",  # batch 023 with a trailing separator, not the asset number 10023
        "GS1 code carries no GIAI (8004), GLN (414) or GTIN + serial (01 + 21); it has (10)",
        False,
    ),
    (
        "https://www.example.com/products/pump",
        "URL is neither a Floki label (/q/<code>) nor a GS1 Digital Link: no GS1 primary key "
        "(such as 8004, 414 or 01) in the Digital Link path",
        False,
    ),
    ("(8004", "malformed human-readable GS1 code '(8004'", False),
    # The bracketed form: white space, a separator or a bracket inside a value is refused,
    # never dropped (dropping joins "5012 3456" into the GIAI 50123456, another asset's).
    (
        "(8004)5012 3456",
        "(8004) GIAI has ' ' at character 5; in the bracketed form white space may stand "
        "only between fields",
        False,
    ),
    (
        "(8004) 5012\t3456 (10) LOT7",
        "(8004) GIAI has '\\t' at character 5; in the bracketed form white space may stand "
        "only between fields",
        False,
    ),
    (
        f"(8004)1234{GS}5678",
        "(8004) GIAI has a GS separator at character 5; in the bracketed form separators may "
        "stand only between fields",
        False,
    ),
    (
        f"(01){GTIN}(21)SN 1001",
        "(21) serial number has ' ' at character 3; in the bracketed form white space may "
        "stand only between fields",
        False,
    ),
    (
        "(8004)5012(1)X",
        "(8004) GIAI has '(' at character 5; in the bracketed form brackets stand only around "
        "an AI, as in (8004)",
        False,
    ),
    (
        "(8004)50123456)",
        "(8004) GIAI has ')' at character 9; in the bracketed form brackets stand only around "
        "an AI, as in (8004)",
        False,
    ),
    # A code names one thing: a place's key and an asset's key together name neither.
    (
        f"(414){GLN}(8004){GIAI}",
        f"the code carries GLN {GLN} (a place) and GIAI {GIAI} (an asset); a code must name "
        "one thing",
        False,
    ),
    (
        f"]d201{GTIN}21SN1001{GS}414{GLN}",
        f"the code carries GLN {GLN} (a place) and UDI {UDI} (an asset); a code must name "
        "one thing",
        False,
    ),
    (
        f"https://id.gs1.org/414/{GLN}/8004/{GIAI}",
        f"the code carries GLN {GLN} (a place) and GIAI {GIAI} (an asset); a code must name "
        "one thing",
        False,
    ),
    # GS1 Digital Link: the query string carries data attributes only, never a key.
    (
        f"https://id.gs1.org/01/{GTIN}/21/SN9?8004={GIAI}",
        "(8004) GIAI is a primary key: in a GS1 Digital Link it belongs in the path, not the "
        "query string (which carries only data attributes)",
        False,
    ),
    (
        f"https://id.gs1.org/8004/{GIAI}?414={GLN}",
        "(414) GLN is a primary key: in a GS1 Digital Link it belongs in the path, not the "
        "query string (which carries only data attributes)",
        False,
    ),
    (
        f"https://id.gs1.org/8004/{GIAI}?01={GTIN}&21=SN1",
        "(01) GTIN is a primary key: in a GS1 Digital Link it belongs in the path, not the "
        "query string (which carries only data attributes)",
        False,
    ),
    ("(ab)5012", "malformed human-readable GS1 code '(ab)5012'", False),
    ("E1001\x07", "scan contains control characters; check the scanner's settings", False),
    ("x" * 501, "scan is 501 characters long; at most 500", False),
]


@pytest.mark.parametrize(("scan", "kind", "value", "form", "may_be_plain", "fields"), ACCEPTED)
def test_accepted(
    scan: str,
    kind: ScanKind,
    value: str,
    form: ScanForm,
    may_be_plain: bool,
    fields: tuple[tuple[str, str], ...],
) -> None:
    found = read_scan(scan)
    assert isinstance(found, ScannedCode), found
    assert (found.kind, found.value, found.form, found.may_be_plain, found.fields) == (
        kind,
        value,
        form,
        may_be_plain,
        fields,
    )


@pytest.mark.parametrize(("scan", "reason", "may_be_plain"), REJECTED)
def test_rejected(scan: str, reason: str, may_be_plain: bool) -> None:
    found = read_scan(scan)
    assert isinstance(found, RejectedScan), found
    assert found.reason == reason
    assert found.may_be_plain is may_be_plain


def test_a_udi_keeps_its_parts() -> None:
    found = read_scan(f"]d201{GTIN}21SN1001")
    assert isinstance(found, ScannedCode)
    assert (found.gtin, found.serial) == (GTIN, "SN1001")


def test_a_short_gtin_is_spelled_with_fourteen_digits() -> None:
    assert udi_value("5012345678900", "A1") == "(01)05012345678900(21)A1"


def test_the_udi_of_a_scan_is_spelled_by_the_register() -> None:
    # One spelling, owned by the core: a udi identifier typed in any accepted form is
    # stored as the scan of its label is looked up.
    assert udi_value is schemas.udi_value
    for scan in (f"]d201{GTIN}21SN1001", f"(01) {GTIN} (21) SN1001"):
        found = read_scan(scan)
        assert isinstance(found, ScannedCode)
        assert normalise_identifier("udi", found.value) == found.value == UDI


# (scan, the keys it carries: (kind, value) each)
TWO_KEYS = [
    (
        f"(01){GTIN}(21)SN1001(8004){GIAI}",
        ((G, GIAI), (U, UDI)),
    ),
    (
        f"]d201{GTIN}21SN1001{GS}8004{GIAI}",
        ((G, GIAI), (U, UDI)),
    ),
    (
        f"https://id.gs1.org/01/{GTIN}/21/SN1001/8004/{GIAI}",
        ((G, GIAI), (U, UDI)),
    ),
]


@pytest.mark.parametrize(("scan", "keys"), TWO_KEYS)
def test_a_code_with_two_asset_keys_carries_both(
    scan: str, keys: tuple[tuple[ScanKind, str], ...]
) -> None:
    # The register decides: the code is used only if both keys name the same asset
    # (tests/plugins/qr/test_gs1_register_keys.py).
    found = read_scan(scan)
    assert isinstance(found, ScannedCode), found
    assert (found.kind, found.value, found.keys) == (G, GIAI, keys)


def test_a_code_with_one_key_carries_it() -> None:
    found = read_scan(f"]d201{GTIN}21SN1001{GS}10LOT7")
    assert isinstance(found, ScannedCode)
    assert found.keys == ((U, UDI),)


@pytest.mark.parametrize(
    ("body", "digit"),
    [("501234500001", 5), ("0501234567890", 0), ("9501234", 6), ("00000000000000000", 0)],
)
def test_check_digit(body: str, digit: int) -> None:
    assert gs1_check_digit(body) == digit


def test_the_golden_keys_have_right_check_digits() -> None:
    # The tables' valid keys are valid by the mod-10 rule, computed here.
    for key in (GLN, GTIN):
        assert gs1_check_digit(key[:-1]) == int(key[-1])
