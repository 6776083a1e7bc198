"""Stock-takes as the console shows them: the list, one report's four tables, and what an
import of a handheld's sweep sends (``/api/v1/rfid/stocktakes…``, the RFID plugin's API).

A stock-take is a sweep of one zone: the assets expected there and read (found), expected
and not read (missing, with where they were last seen), read but expected elsewhere
(unexpected) and EPCs the register does not know (unknown).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from floki_console.models import Column, RecordTable, describe_age

API = "/rfid/stocktakes"
COUNTS = ("expected", "found", "missing", "unexpected", "unknown")
# The sweep's columns the appliance reads, and the headers it understands without a map.
SWEEP_FIELDS = {
    "epc": "EPC, Tag ID, idHex, TagID",
    "rssi": "RSSI, PeakRSSI",
    "seen_at": "Time, Timestamp, LastSeen",
    "count": "Count, ReadCount",
}
EXPORTING_ROLES = ("engineer", "admin")  # the exports and imports are theirs
RED = "#b00020"
AMBER = "#b26a00"


class HeaderMapError(ValueError):
    """A header the map cannot carry; ``str()`` says which and why."""


def may_record(role: str) -> bool:
    """Whether a user of ``role`` may import a sweep and export a report."""
    return role in EXPORTING_ROLES


def columns_param(headers: Mapping[str, str]) -> str | None:
    """The ``columns`` query parameter for a header map (field -> the file's header);
    fields left empty use the headers the appliance understands by itself."""
    pairs: list[str] = []
    for field, header in headers.items():
        header = header.strip()
        if not header:
            continue
        if field not in SWEEP_FIELDS:
            raise HeaderMapError(f"{field} is not a column of a sweep")
        if "," in header or "=" in header:
            raise HeaderMapError(
                f"the {field} header {header!r} has a comma or '=' in it, which the map "
                "cannot carry; rename the column in the file"
            )
        pairs.append(f"{field}={header}")
    return ",".join(pairs) or None


def counts_of(record: Mapping[str, Any]) -> dict[str, int]:
    counts = record.get("counts")
    counts = counts if isinstance(counts, dict) else {}
    return {key: int(counts.get(key) or 0) for key in COUNTS}


def counts_line(record: Mapping[str, Any]) -> str:
    c = counts_of(record)
    return (
        f"{c['expected']} expected: {c['found']} found, {c['missing']} missing; "
        f"{c['unexpected']} unexpected, {c['unknown']} unknown tags"
    )


def report_heading(report: Mapping[str, Any]) -> str:
    """Which sweep this is: zone, when, by whom, with what, and its note."""
    zone = report.get("zone") or f"zone {report.get('zone_id')}"
    parts = [
        f"Stock-take #{report.get('id')} of {zone}",
        f"taken {describe_age(report.get('taken_at'))}",
    ]
    if report.get("by"):
        parts.append(f"by {report['by']}")
    if report.get("device"):
        parts.append(f"with {report['device']}")
    heading = ", ".join(parts)
    if report.get("note"):
        heading += f" \u2014 {report['note']}"
    return heading


def last_seen(row: Mapping[str, Any]) -> str:
    """``"Ward 7, 3 h ago"``; ``"never seen"``."""
    zone, when = row.get("last_seen_zone"), row.get("last_seen")
    if not zone and not when:
        return "never seen"
    age = describe_age(when) if when else ""
    return ", ".join(str(p) for p in (zone, age) if p)


def _asset_columns() -> list[Column[dict[str, Any]]]:
    return [
        Column("Asset", lambda r: str(r.get("asset_number") or "")),
        Column("Name", lambda r: str(r.get("name") or "")),
        Column("Class", lambda r: str(r.get("class") or "")),
    ]


def stocktake_table() -> RecordTable[dict[str, Any]]:
    """The stock-takes, newest first as the appliance lists them."""

    def count(key: str, colour: str | None = None) -> Column[dict[str, Any]]:
        return Column(
            key.capitalize(),
            lambda r: str(counts_of(r)[key]),
            sort=lambda r: counts_of(r)[key],
            colour=(lambda r: colour if counts_of(r)[key] else None) if colour else None,
        )

    return RecordTable(
        [
            Column(
                "Taken",
                lambda r: describe_age(r.get("taken_at")),
                sort=lambda r: str(r.get("taken_at") or ""),
                tooltip=lambda r: str(r.get("taken_at") or ""),
            ),
            Column("Zone", lambda r: str(r.get("zone") or r.get("zone_id") or "")),
            Column("By", lambda r: str(r.get("by") or "")),
            Column("Device", lambda r: str(r.get("device") or "")),
            count("expected"),
            count("found"),
            count("missing", RED),
            count("unexpected", AMBER),
            count("unknown"),
        ],
        key=lambda r: r.get("id"),
    )


def found_table() -> RecordTable[dict[str, Any]]:
    return RecordTable(
        [*_asset_columns(), Column("EPC", lambda r: str(r.get("epc") or ""))],
        key=lambda r: r.get("asset_id"),
    )


def missing_table() -> RecordTable[dict[str, Any]]:
    return RecordTable(
        [
            *_asset_columns(),
            Column("Last seen", last_seen, sort=lambda r: str(r.get("last_seen") or "")),
        ],
        key=lambda r: r.get("asset_id"),
    )


def unexpected_table() -> RecordTable[dict[str, Any]]:
    return RecordTable(
        [
            *_asset_columns(),
            Column("EPC", lambda r: str(r.get("epc") or "")),
            Column("Expected in", lambda r: str(r.get("expected_zone") or "")),
            Column("Last seen elsewhere", last_seen),
        ],
        key=lambda r: r.get("asset_id"),
    )


def unknown_table() -> RecordTable[dict[str, Any]]:
    return RecordTable(
        [
            Column("EPC", lambda r: str(r.get("epc") or "")),
            Column("Kind", lambda r: str(r.get("kind") or "")),
        ],
        key=lambda r: r.get("epc"),
    )


SECTIONS = (
    ("found", "Found", found_table),
    ("missing", "Missing", missing_table),
    ("unexpected", "Unexpected", unexpected_table),
    ("unknown", "Unknown tags", unknown_table),
)
