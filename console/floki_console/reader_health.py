"""Plugin sources as Health lists them: each source with its status and, when the source
says how it is doing (``details`` in ``GET /api/v1/plugins``, plugin API 1.2), what it
said — for RFID readers their connection, address, antennas, read rate and last report.

Appliances before plugin API 1.2 send no ``details``; a source may send null. Both show
the source with its status and nothing else. Keys other than the readers' are shown as
``key: value`` so that a source's own news is not lost.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from floki_console.models import Column, RecordTable, parse_time

# A reader whose last report is older than this (or that never reported) is highlighted:
# readers report several times a second while tags are in view, and at least every few
# seconds when the report interval or keepalive runs with no tag in front of them.
STALE_REPORT_SECONDS = 60.0
BAD_STATUSES = ("failed", "backoff", "stopped")
RED = "#b00020"
AMBER = "#b26a00"
READER_KEYS = frozenset(
    {
        "kind",
        "connected",
        "address",
        "antennas",
        "reads_per_s",
        "tags_per_s",
        "reports",
        "last_report",
    }
)

Clock = Callable[[], dt.datetime]


def plugin_source_rows(listing: Any) -> list[dict[str, Any]]:
    """One row per source of every plugin in a ``GET /plugins`` answer."""
    rows: list[dict[str, Any]] = []
    for plugin in (listing or {}).get("items") or []:
        if not isinstance(plugin, dict):
            continue
        for source in plugin.get("sources") or []:
            if isinstance(source, dict):
                rows.append({**source, "plugin": str(plugin.get("name", ""))})
    return rows


def details_of(row: dict[str, Any]) -> dict[str, Any]:
    details = row.get("details")
    return details if isinstance(details, dict) else {}


def source_status(row: dict[str, Any]) -> str:
    text = str(row.get("status", ""))
    if row.get("reason"):
        text += f": {row['reason']}"
    restarts = row.get("restarts") or 0
    if restarts:
        text += f" ({restarts} restart{'s' if restarts != 1 else ''})"
    return text


def source_name(row: dict[str, Any]) -> str:
    kind = details_of(row).get("kind")
    return f"{row.get('name', '')} ({kind})" if kind else str(row.get("name", ""))


def connection(row: dict[str, Any]) -> str:
    connected = details_of(row).get("connected")
    if not isinstance(connected, bool):
        return ""
    return "connected" if connected else "disconnected"


def antennas(row: dict[str, Any]) -> str:
    ports = details_of(row).get("antennas")
    return ", ".join(str(p) for p in ports) if isinstance(ports, list) else ""


def _rate(value: Any, unit: str) -> str | None:
    return f"{float(value):.1f} {unit}" if isinstance(value, int | float) else None


def read_rate(row: dict[str, Any]) -> str:
    details = details_of(row)
    rates = [
        _rate(details.get("reads_per_s"), "reads/s"),
        _rate(details.get("tags_per_s"), "tags/s"),
    ]
    return ", ".join(r for r in rates if r)


def describe_report_age(value: Any, now: dt.datetime) -> str:
    """``"12 s ago"``, ``"5 min ago"``, ``"3 h ago"``, ``"2 d ago"``; ``"never"``."""
    when = parse_time(value)
    if when is None:
        return "never"
    seconds = max(0, int((now - when).total_seconds()))
    if seconds < 60:
        return f"{seconds} s ago"
    if seconds < 3600:
        return f"{seconds // 60} min ago"
    if seconds < 86400:
        return f"{seconds // 3600} h ago"
    return f"{seconds // 86400} d ago"


def says_last_report(row: dict[str, Any]) -> bool:
    return "last_report" in details_of(row)


def report_is_stale(row: dict[str, Any], now: dt.datetime) -> bool:
    if not says_last_report(row):
        return False
    when = parse_time(details_of(row).get("last_report"))
    return when is None or (now - when).total_seconds() > STALE_REPORT_SECONDS


def other_details(row: dict[str, Any]) -> str:
    return "; ".join(
        f"{key}: {value}" for key, value in details_of(row).items() if key not in READER_KEYS
    )


def _last_report_tooltip(row: dict[str, Any]) -> str:
    details = details_of(row)
    if not says_last_report(row):
        return ""
    parts = [f"last report {details.get('last_report') or 'never'}"]
    if isinstance(details.get("reports"), int):
        parts.append(f"{details['reports']:,} reports since the source started")
    return "; ".join(parts)


def plugin_source_table(now: Clock) -> RecordTable[dict[str, Any]]:
    """Every plugin source; ``now`` tells the age of each reader's last report."""

    def last_report(row: dict[str, Any]) -> str:
        if not says_last_report(row):
            return ""
        return describe_report_age(details_of(row).get("last_report"), now())

    return RecordTable(
        [
            Column("Plugin", lambda r: str(r.get("plugin", ""))),
            Column("Source", source_name),
            Column(
                "Status",
                source_status,
                colour=lambda r: RED if str(r.get("status", "")) in BAD_STATUSES else None,
            ),
            Column(
                "Connection",
                connection,
                colour=lambda r: RED if connection(r) == "disconnected" else None,
            ),
            Column("Address", lambda r: str(details_of(r).get("address") or "")),
            Column("Antennas", antennas),
            Column("Read rate", read_rate),
            Column(
                "Last report",
                last_report,
                tooltip=_last_report_tooltip,
                colour=lambda r: AMBER if report_is_stale(r, now()) else None,
            ),
            Column("Other", other_details),
        ],
        key=lambda r: (r.get("plugin"), r.get("name")),
    )
