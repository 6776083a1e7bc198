"""Reading scans: accepted and rejected codes, built from the GS1 General Specifications
and the GS1 Digital Link standard (check digits computed by the mod-10 rule)."""

from __future__ import annotations

import pytest

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
GLN = "5012345000015"
GTIN = "05012345678900"

# (scan, kind, value, form, may_be_plain)
ACCEPTED = [
    # Floki labels, as the camera or a scanner reads them.
    (
        "https://floki.example.nhs.uk/q/7K3M9QXA",
        ScanKind.FLOKI_CODE,
        "7K3M9QXA",
        ScanForm.FLOKI_URL,
        False,
    ),
    (
        "https://floki.example.nhs.uk:8443/q/E1001/",
        ScanKind.FLOKI_CODE,
        "E1001",
        ScanForm.FLOKI_URL,
        False,
    ),
    ("HTTPS://FLOKI.EXAMPLE/q/E%2F1001", ScanKind.FLOKI_CODE, "E/1001", ScanForm.FLOKI_URL, False),
    (
        "http://10.0.0.5/floki/q/7K3M9QXA",
        ScanKind.FLOKI_CODE,
        "7K3M9QXA",
        ScanForm.FLOKI_URL,
        False,
    ),
    (
        "]Q1https://floki.example/q/7K3M9QXA\r\n",
        ScanKind.FLOKI_CODE,
        "7K3M9QXA",
        ScanForm.FLOKI_URL,
        False,
    ),
    # GIAI (AI 8004): GS1-128 with and without symbology identifier, DataMatrix, HRI.
    (f"]C18004{GIAI}", ScanKind.GIAI, GIAI, ScanForm.ELEMENT_STRING, False),
    (f"]d28004{GIAI}", ScanKind.GIAI, GIAI, ScanForm.ELEMENT_STRING, False),
    (f"]Q38004{GIAI}", ScanKind.GIAI, GIAI, ScanForm.ELEMENT_STRING, False),
    (f"8004{GIAI}", ScanKind.GIAI, GIAI, ScanForm.ELEMENT_STRING, True),
    (f"(8004){GIAI}", ScanKind.GIAI, GIAI, ScanForm.ELEMENT_STRING, False),
    (f"]C18004{GIAI}{GS}", ScanKind.GIAI, GIAI, ScanForm.ELEMENT_STRING, False),
    ("]C18004501234ABC-7", ScanKind.GIAI, "501234ABC-7", ScanForm.ELEMENT_STRING, False),
    # GLN (AI 414), with a GLN extension (AI 254) after a separator.
    (f"]C1414{GLN}", ScanKind.GLN, GLN, ScanForm.ELEMENT_STRING, False),
    (f"414{GLN}", ScanKind.GLN, GLN, ScanForm.ELEMENT_STRING, True),
    (f"]C1414{GLN}254BED4", ScanKind.GLN, GLN, ScanForm.ELEMENT_STRING, False),
    # UDI: GTIN (01) + serial (21), separators between variable-length fields.
    (f"]d201{GTIN}21SN1001", ScanKind.UDI, f"(01){GTIN}(21)SN1001", ScanForm.ELEMENT_STRING, False),
    (
        f"]d2{GS}01{GTIN}17280131{GS}21SN1001{GS}10LOT7",
        ScanKind.UDI,
        f"(01){GTIN}(21)SN1001",
        ScanForm.ELEMENT_STRING,
        False,
    ),
    (
        f"01{GTIN}21SN1001{GS}10LOT7",
        ScanKind.UDI,
        f"(01){GTIN}(21)SN1001",
        ScanForm.ELEMENT_STRING,
        False,
    ),
    (f"01{GTIN}21SN1001", ScanKind.UDI, f"(01){GTIN}(21)SN1001", ScanForm.ELEMENT_STRING, True),
    (
        f"(01){GTIN}(21)SN1001",
        ScanKind.UDI,
        f"(01){GTIN}(21)SN1001",
        ScanForm.ELEMENT_STRING,
        False,
    ),
    # Digital Link URIs, on GS1's resolver and on a domain with a path of its own.
    (f"https://id.gs1.org/8004/{GIAI}", ScanKind.GIAI, GIAI, ScanForm.DIGITAL_LINK, False),
    (
        f"https://assets.example.nhs.uk/scan4safety/8004/{GIAI}",
        ScanKind.GIAI,
        GIAI,
        ScanForm.DIGITAL_LINK,
        False,
    ),
    (f"https://id.gs1.org/414/{GLN}", ScanKind.GLN, GLN, ScanForm.DIGITAL_LINK, False),
    (f"https://floki.example/414/{GLN}/254/BED4", ScanKind.GLN, GLN, ScanForm.DIGITAL_LINK, False),
    (
        f"https://id.gs1.org/01/{GTIN}/21/SN1001?17=280131",
        ScanKind.UDI,
        f"(01){GTIN}(21)SN1001",
        ScanForm.DIGITAL_LINK,
        False,
    ),
    (f"]Q3https://id.gs1.org/8004/{GIAI}", ScanKind.GIAI, GIAI, ScanForm.DIGITAL_LINK, False),
    # Plain asset numbers (Code 128 without FNC1, or typed in).
    ("E1001", ScanKind.PLAIN, "E1001", ScanForm.PLAIN, False),
    ("]C0E1001", ScanKind.PLAIN, "E1001", ScanForm.PLAIN, False),
    ("  EQ/2024.17 \r", ScanKind.PLAIN, "EQ/2024.17", ScanForm.PLAIN, False),
    ("100234", ScanKind.PLAIN, "100234", ScanForm.PLAIN, False),
]

# (scan, reason, may_be_plain)
REJECTED = [
    ("", "empty scan", False),
    ("  \r\n", "empty scan", False),
    ("]C1", "empty scan after the symbology identifier", False),
    ("]W9E1001", "unknown symbology identifier ']W9'", False),
    # Check digits.
    (
        "]d20105012345678901" + "21SN1",
        "GTIN 05012345678901 has a wrong check digit: expected 0, got 1",
        False,
    ),
    ("]C14145012345000016", "GLN 5012345000016 has a wrong check digit: expected 5, got 6", False),
    ("4145012345000016", "GLN 5012345000016 has a wrong check digit: expected 5, got 6", True),
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
    # Application Identifiers nobody assigned.
    ("]C12312345", 'unknown GS1 Application Identifier at "2312345"', False),
    (f"]C18004{GIAI}{GS}2399", 'unknown GS1 Application Identifier at "2399"', False),
    # Truncated data.
    ("]C141450123", 'GLN (AI 414): "50123" is truncated or malformed; expected N13', False),
    ("]C18004", 'GIAI (AI 8004): "" is truncated or malformed; expected X..30', False),
    (
        "]d2010501234567",
        'GTIN (AI 01): "0501234567" is truncated or malformed; expected N14',
        False,
    ),
    (
        f"]d201{GTIN}21",
        'serial number (AI 21): "" is truncated or malformed; expected X..20',
        False,
    ),
    (
        "]C11705012",
        'USE BY or EXPIRY (AI 17): "05012" is truncated or malformed; expected N6',
        False,
    ),
    (
        "https://id.gs1.org/414/501234500001",
        'GLN (AI 414): "501234500001" is truncated or malformed; expected N13',
        False,
    ),
    ("https://id.gs1.org/8004", "GIAI (AI 8004) has no value in the Digital Link path", False),
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
        "https://www.example.com/products/pump",
        "URL is neither a Floki label (/q/<code>) nor a GS1 Digital Link: "
        "Expected a primary identifier in the path, got '/products/pump'.",
        False,
    ),
    ("(8004", "malformed human-readable GS1 code '(8004'", False),
    ("E1001\x07", "scan contains control characters; check the scanner's settings", False),
    ("x" * 501, "scan is 501 characters long; at most 500", False),
]


@pytest.mark.parametrize(("scan", "kind", "value", "form", "may_be_plain"), ACCEPTED)
def test_accepted(
    scan: str, kind: ScanKind, value: str, form: ScanForm, may_be_plain: bool
) -> None:
    found = read_scan(scan)
    assert isinstance(found, ScannedCode), found
    assert (found.kind, found.value, found.form, found.may_be_plain) == (
        kind,
        value,
        form,
        may_be_plain,
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


@pytest.mark.parametrize(
    ("body", "digit"),
    [("501234500001", 5), ("0501234567890", 0), ("9501234", 6), ("00000000000000000", 0)],
)
def test_check_digit(body: str, digit: int) -> None:
    assert gs1_check_digit(body) == digit
