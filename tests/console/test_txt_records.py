"""What the console makes of a ``_floki._tcp`` announcement's TXT record: a table of
records read as announced, and one of records that are malformed, oversized or hostile
and must still yield a usable, clearly marked entry (never an exception)."""

from __future__ import annotations

from typing import Any

import pytest

from floki_console.discovery import MAX_TXT_BYTES, parse_announcement, split_txt

FP = ":".join(f"{b:02X}" for b in range(0x10, 0x30))


def txt(*strings: bytes) -> bytes:
    return b"".join(bytes([len(s)]) + s for s in strings)


GOOD = txt(
    b"version=1.4.0",
    "site=St Olaf's \u2014 North".encode(),
    b"fp=" + FP.encode(),
    b"api=/api/v1",
    b"tls=1",
)

ACCEPTED: list[tuple[str, bytes, dict[str, Any]]] = [
    (
        "as floki-core announces it",
        GOOD,
        {"site": "St Olaf's \u2014 North", "version": "1.4.0", "fingerprint": FP, "tls": True},
    ),
    (
        "fingerprint lower case without colons",
        txt(b"fp=" + FP.replace(":", "").lower().encode()),
        {"fingerprint": FP},
    ),
    (
        "plain HTTP on another path",
        txt(b"api=/floki/api", b"tls=0"),
        {"api_path": "/floki/api", "tls": False},
    ),
    ("keys in any case, first one wins", txt(b"SITE=Ward 7", b"site=Ward 8"), {"site": "Ward 7"}),
    ("no TXT record at all", b"", {"site": "", "fingerprint": None, "api_path": "/api/v1"}),
    ("empty strings are skipped", txt(b"", b"site=Ward 7"), {"site": "Ward 7"}),
]

REJECTED: list[tuple[str, bytes, dict[str, Any], str]] = [
    (
        "a length byte running past the end",
        GOOD + b"\x40site=truncated",
        {"site": "St Olaf's \u2014 North", "fingerprint": FP},
        "malformed",
    ),
    (
        "a record far larger than any appliance sends",
        txt(*([b"site=" + b"x" * 250] * 20)),
        {"site": "", "fingerprint": None},
        "too large",
    ),
    ("a fingerprint that is not SHA-256", txt(b"fp=AB:CD"), {"fingerprint": None}, "fingerprint"),
    (
        "a fingerprint of hex-looking junk",
        txt(b"fp=" + b"Z" * 64),
        {"fingerprint": None},
        "fingerprint",
    ),
    (
        "control and bidi characters in the site name",
        txt("site=Ward\x007\u202e evil\x1b[31m".encode()),
        {"site": "Ward 7 evil [31m"},
        "",
    ),
    ("invalid UTF-8", txt(b"site=Ward \xff\xfe 7"), {"site": "Ward \ufffd\ufffd 7"}, ""),
    (
        "a non-ASCII key",
        txt("s\u00efte=x".encode(), b"site=Ward 7"),
        {"site": "Ward 7"},
        "malformed",
    ),
    (
        "an API path that is a URL",
        txt(b"api=https://evil.example/"),
        {"api_path": "/api/v1"},
        "API path",
    ),
    (
        "a version with spaces and markup",
        txt(b"version=<b>1.0</b> beta"),
        {"version": "<b>1.0</b> beta"},
        "version",
    ),
    ("a very long site name", txt(b"site=" + b"W" * 200), {"site": "W" * 79 + "\u2026"}, ""),
]


@pytest.mark.parametrize(("label", "raw", "expected"), ACCEPTED, ids=[a[0] for a in ACCEPTED])
def test_accepted_records(label: str, raw: bytes, expected: dict[str, Any]) -> None:
    found = parse_announcement("Ward 7 theatres", "127.0.0.1", 8443, raw)

    assert {k: getattr(found, k) for k in expected} == expected
    assert found.problems == ()


@pytest.mark.parametrize(
    ("label", "raw", "expected", "problem"), REJECTED, ids=[r[0] for r in REJECTED]
)
def test_rejected_records_still_list_the_appliance(
    label: str, raw: bytes, expected: dict[str, Any], problem: str
) -> None:
    found = parse_announcement("Ward 7 theatres", "127.0.0.1", 8443, raw)

    assert {k: getattr(found, k) for k in expected} == expected
    assert (found.host, found.port) == ("127.0.0.1", 8443)
    if problem:
        assert any(problem in p for p in found.problems), found.problems


def test_the_size_limit_is_about_one_packet() -> None:
    assert 1000 <= MAX_TXT_BYTES <= 1500


def test_split_txt_never_reads_past_the_end() -> None:
    entries, well_formed = split_txt(b"\x20site=Ward 7")

    assert entries == {}
    assert not well_formed


def test_an_instance_name_of_control_characters_falls_back_to_the_host() -> None:
    found = parse_announcement("\x00\x01", "192.0.2.7", 8443, GOOD)

    assert found.name == "192.0.2.7"
    assert str(found.address) == "192.0.2.7:8443"
