"""A sweep's reads as a handheld sends them: JSON, or its exported CSV with columns found
by their usual headers or named by a header map. Every EPC is read by the EPC decoder;
a tag read twice counts once (its strongest RSSI, its counts summed, its latest time);
bad input is refused with a reason naming the row and column. Pure: no appliance."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from floki_rfid.stocktake_reads import (
    MAX_READS,
    SweepError,
    parse_columns,
    reads_from_csv,
    sweep_from_json,
)

NOW = dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC)
GIAI_EPC = "341531EDE400000000002711"  # floki-core rfid encode: E10001, GIAI 501234510001
SGTIN_EPC = "3074257BF7194E4000001A85"  # (01)80614141123458(21)6789
RAW_EPC = "E2801160600002A0B0C0D0E0"


def body(**fields: Any) -> bytes:
    return json.dumps({"zone_id": 3, "reads": [], **fields}).encode()


# --- JSON ----------------------------------------------------------------------------------


def test_a_json_sweep_is_read_with_each_tag_once() -> None:
    sweep = sweep_from_json(
        body(
            reads=[
                {"epc": GIAI_EPC, "rssi": -61.5, "seen_at": "2026-01-05T08:50:00Z", "count": 3},
                {"epc": SGTIN_EPC},
                # The same tag again, spelled as people write it: one read.
                {"epc": "0x3415 31ED E400 0000 0000 2711", "rssi": -48.0, "count": 2},
                {"epc": GIAI_EPC.lower(), "rssi": -70.0, "seen_at": "2026-01-05T08:55:00+00:00"},
            ],
            device="TC52-store",
            note="monthly count",
        ),
        NOW,
    )
    assert (sweep.zone_id, sweep.device, sweep.note) == (3, "TC52-store", "monthly count")
    reads = {r.identity.hex: r for r in sweep.reads}
    assert list(reads) == [GIAI_EPC, SGTIN_EPC]
    giai = reads[GIAI_EPC]
    assert (giai.rssi, giai.count) == (-48.0, 6)  # strongest RSSI, counts summed (3 + 2 + 1)
    assert giai.seen_at == dt.datetime(2026, 1, 5, 8, 55, tzinfo=dt.UTC)  # the latest
    assert giai.identity.giai == "501234510001"
    assert reads[SGTIN_EPC].identity.udi == "(01)80614141123458(21)6789"
    assert (reads[SGTIN_EPC].rssi, reads[SGTIN_EPC].count, reads[SGTIN_EPC].seen_at) == (
        None,
        1,
        None,
    )


def test_a_sweep_that_read_nothing_is_a_sweep() -> None:
    assert sweep_from_json(body(), NOW).reads == []


@pytest.mark.parametrize(
    ("raw", "says"),
    [
        (b"", "the body is empty"),
        (b"{", "malformed JSON"),
        (b"[]", "expected a JSON object"),
        (json.dumps({"reads": []}).encode(), "missing required field `zone_id`"),
        (body(zone_id="store"), "`$.zone_id`"),
        (body(reads=[{"epc": GIAI_EPC}, {"epc": "34ZZ"}]), "reads[1].epc: EPC '34ZZ' has 'Z'"),
        (
            body(reads=[{"epc": "3434257BF400000000BC60"}]),
            "reads[0].epc: EPC '3434257BF400000000BC60' has the GIAI-96 header (34) but 22",
        ),
        (body(reads=[{"epc": GIAI_EPC, "rssi": -200}]), "`$.reads[0].rssi`"),
        (body(reads=[{"epc": GIAI_EPC, "count": 0}]), "`$.reads[0].count`"),
        (body(reads=[{"epc": GIAI_EPC, "seen_at": "2026-01-05T08:00:00"}]), "timezone"),
        (
            body(reads=[{"epc": GIAI_EPC, "seen_at": "2026-01-05T10:00:00Z"}]),
            "reads[0].seen_at: 2026-01-05T10:00:00+00:00 is 60 minutes after the appliance's clock",
        ),
        (body(reads=[{"epc": GIAI_EPC, "tid": "x"}]), "unknown field `tid`"),
    ],
)
def test_a_bad_json_sweep_is_refused_naming_what_is_wrong(raw: bytes, says: str) -> None:
    with pytest.raises(SweepError) as refused:
        sweep_from_json(raw, NOW)
    assert says in str(refused.value)


def test_a_json_sweep_of_too_many_reads_is_refused() -> None:
    reads = [{"epc": f"{i:024X}"} for i in range(MAX_READS + 1)]
    with pytest.raises(SweepError, match=f"at most {MAX_READS} reads"):
        sweep_from_json(body(reads=reads), NOW)


# --- CSV -------------------------------------------------------------------------------------


def test_usual_headers_are_found_in_any_case() -> None:
    csv = (
        "tag id,PeakRSSI,Timestamp,ReadCount,Antenna\r\n"
        f"{GIAI_EPC},-55,2026-01-05T08:40:00Z,4,1\r\n"
        f"{SGTIN_EPC},-60.5,2026-01-05 08:41:00,1,1\r\n"
        "\r\n"  # a blank line is no read
        f"{GIAI_EPC.lower()},-52,2026-01-05T08:42:00Z,2,1\r\n"
    )
    reads = {r.identity.hex: r for r in reads_from_csv(csv.encode(), None, NOW)}
    assert list(reads) == [GIAI_EPC, SGTIN_EPC]
    assert (reads[GIAI_EPC].rssi, reads[GIAI_EPC].count) == (-52.0, 6)
    assert reads[GIAI_EPC].seen_at == dt.datetime(2026, 1, 5, 8, 42, tzinfo=dt.UTC)
    # A time without an offset is UTC.
    assert reads[SGTIN_EPC].seen_at == dt.datetime(2026, 1, 5, 8, 41, tzinfo=dt.UTC)


def test_a_header_map_names_the_columns() -> None:
    csv = (
        "\ufeffEPC Code;Signal;When;Reads;Tag ID\n"  # a BOM, semicolons
        f"{GIAI_EPC};-47;2026-01-05T08:30:00Z;9;not-an-epc\n"
    )
    columns = parse_columns("epc=EPC Code,rssi=Signal,seen_at=When,count=Reads")
    (read,) = reads_from_csv(csv.encode(), columns, NOW)
    assert (read.identity.hex, read.rssi, read.count) == (GIAI_EPC, -47.0, 9)
    assert read.seen_at == dt.datetime(2026, 1, 5, 8, 30, tzinfo=dt.UTC)


def test_only_an_epc_column_is_needed() -> None:
    (read,) = reads_from_csv(f"idHex\n{RAW_EPC}\n".encode(), None, NOW)
    assert (read.identity.hex, read.identity.scheme, read.rssi, read.count) == (
        RAW_EPC,
        "raw",
        None,
        1,
    )


@pytest.mark.parametrize(
    ("csv", "columns", "says"),
    [
        (b"", None, "the file is empty"),
        (b"\r\n\r\n", None, "the file is empty"),
        (
            b"Antenna,RSSI\n1,-50\n",
            None,
            "no EPC column (looked for EPC, Tag ID, idHex, TagID; name yours with "
            "columns=epc=<header>); the headers on line 1 are: 'Antenna', 'RSSI'",
        ),
        (
            f"EPC\n{GIAI_EPC}\n".encode(),
            "epc=Tag",
            "columns: epc=Tag names 'Tag', which is not a header of the file; the headers on "
            "line 1 are: 'EPC'",
        ),
        (b"EPC\n", None, "the file has no reads after its header"),
        (
            f"EPC,RSSI\n{GIAI_EPC},-50\n34G1,-50\n".encode(),
            None,
            "line 3, column 'EPC': EPC '34G1' has 'G' at position 3, which is not a hex digit",
        ),
        (
            f"EPC,RSSI\n{GIAI_EPC},-50\n,-50\n".encode(),
            None,
            "line 3, column 'EPC': the EPC is empty",
        ),
        (
            f"EPC,Peak RSSI\n{GIAI_EPC},loud\n".encode(),
            None,
            "line 2, column 'Peak RSSI': 'loud' is not a number",
        ),
        (
            f"EPC,RSSI\n{GIAI_EPC},-500\n".encode(),
            None,
            "line 2, column 'RSSI': -500 dBm is not an RSSI (-150 to 50)",
        ),
        (
            f"EPC,Count\n{GIAI_EPC},0\n".encode(),
            None,
            "line 2, column 'Count': '0' is not a read count (a whole number from 1)",
        ),
        (
            f"EPC,Time\n{GIAI_EPC},yesterday\n".encode(),
            None,
            "line 2, column 'Time': 'yesterday' is not a date and time (ISO 8601, e.g. "
            "2026-01-05T09:30:00Z)",
        ),
        (
            b"EPC,Note\n" + GIAI_EPC.encode() + b",caf\xe9\n",
            None,
            "the file is not UTF-8 text: line 2 has byte 0xe9, which UTF-8 does not allow; "
            "save the file as CSV UTF-8",
        ),
        (f"EPC\n{GIAI_EPC}\n".encode(), "tag=EPC", "columns: unknown field 'tag'"),
        (f"EPC\n{GIAI_EPC}\n".encode(), "epc", "columns: 'epc' is not <field>=<header>"),
    ],
)
def test_a_bad_csv_is_refused_naming_the_line_and_column(
    csv: bytes, columns: str | None, says: str
) -> None:
    with pytest.raises(SweepError) as refused:
        reads_from_csv(csv, None if columns is None else parse_columns(columns), NOW)
    assert says in str(refused.value)


def test_a_csv_of_too_many_reads_is_refused_naming_the_line() -> None:
    rows = "".join(f"{i:024X}\n" for i in range(MAX_READS + 1))
    with pytest.raises(SweepError) as refused:
        reads_from_csv(f"EPC\n{rows}".encode(), None, NOW)
    assert f"line {MAX_READS + 2}: the file has more than {MAX_READS} reads" in str(refused.value)
