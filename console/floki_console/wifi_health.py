"""The Wi-Fi plugin as Health shows it: its feeds and the access points they report.

A feed is a source of the ``wifi`` plugin in ``GET /api/v1/plugins`` (its status and
``details``) or a ``wifi-…`` source in ``GET /api/v1/sources`` (the Meraki route's
uploads have no source of their own to list). Its counters: messages taken, observations
kept, and what the privacy filter dropped — devices no asset carries and randomised MACs
— as the feed counted them on its sink (``rejected`` in ``/sources``), else the filter's
own counts in its details. Never a device: the appliance sends numbers only.

The access points come from ``GET /api/v1/wifi/access-points`` (engineers and admins):
each with its zone (or "not registered"), the tracked devices on it by asset, and its
last message.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from floki_console.models import Column, RecordTable, parse_time
from floki_console.reader_health import (
    AMBER,
    BAD_STATUSES,
    RED,
    describe_report_age,
    details_of,
    source_status,
)

PLUGIN = "wifi"
PREFIX = "wifi-"
# A feed or access point with no message for this long is highlighted: a controller
# sends association lines all day, and a device that stays put is reported again within
# minutes (rekeying, accounting updates).
QUIET_SECONDS = 900.0
# What each feed calls the messages it took, in its details.
MESSAGE_KEYS = ("lines", "requests", "events", "posts", "datagrams")
TIME_KEYS = ("last_message_at", "last_record_at")
DROPPED = {"unknown_device": "unknown_devices", "randomised_device": "randomised_devices"}

Clock = Callable[[], dt.datetime]


def wifi_feed_rows(plugins: Any, sources: Any) -> list[dict[str, Any]]:
    """One row per Wi-Fi feed: the plugin's sources (``GET /plugins``) joined with their
    counters (``GET /sources``, as ``counters``), then the ``wifi-`` counters of feeds
    that are not sources."""
    counters = {
        str(s.get("name")): s
        for s in (sources or {}).get("items") or []
        if isinstance(s, dict) and str(s.get("name", "")).startswith(PREFIX)
    }
    rows: list[dict[str, Any]] = []
    for plugin in (plugins or {}).get("items") or []:
        if not isinstance(plugin, dict) or plugin.get("name") != PLUGIN:
            continue
        for source in plugin.get("sources") or []:
            if isinstance(source, dict):
                name = str(source.get("name", ""))
                rows.append({**source, "counters": counters.pop(name, None)})
    rows += [{"name": name, "counters": c} for name, c in counters.items()]
    return rows


def _counters(row: dict[str, Any]) -> dict[str, Any] | None:
    found = row.get("counters")
    return found if isinstance(found, dict) else None


def messages(row: dict[str, Any]) -> str:
    details = details_of(row)
    for key in MESSAGE_KEYS:
        if isinstance(details.get(key), int):
            return f"{details[key]:,}"
    counters = _counters(row)
    return f"{counters.get('received', 0):,}" if counters else ""


def kept(row: dict[str, Any]) -> str:
    counters = _counters(row)
    if counters is not None:
        return f"{counters.get('accepted', 0):,}"
    associations = details_of(row).get("associations")
    return f"{associations:,}" if isinstance(associations, int) else ""


def dropped(row: dict[str, Any], reason: str) -> str:
    """What the privacy filter dropped for ``reason`` (``unknown_device`` or
    ``randomised_device``): the feed's sink counter, else the filter's own count."""
    counters = _counters(row)
    rejected = counters.get("rejected") if counters else None
    if isinstance(rejected, dict):
        return f"{int(rejected.get(reason) or 0):,}"
    count = details_of(row).get(DROPPED[reason])
    return f"{count:,}" if isinstance(count, int) else ""


def last_message_at(row: dict[str, Any]) -> Any:
    details = details_of(row)
    for key in TIME_KEYS:
        if details.get(key):
            return details[key]
    counters = _counters(row)
    return counters.get("last_batch_at") if counters else None


def is_quiet(value: Any, now: dt.datetime) -> bool:
    when = parse_time(value)
    return when is None or (now - when).total_seconds() > QUIET_SECONDS


def wifi_feed_table(now: Clock) -> RecordTable[dict[str, Any]]:
    """The Wi-Fi feeds; ``now`` tells the age of each one's last message."""
    return RecordTable(
        [
            Column("Feed", lambda r: str(r.get("name", ""))),
            Column(
                "Status",
                lambda r: source_status(r) if r.get("status") else "",
                colour=lambda r: RED if str(r.get("status", "")) in BAD_STATUSES else None,
            ),
            Column("Messages", messages),
            Column("Kept", kept),
            Column(
                "Unknown devices dropped",
                lambda r: dropped(r, "unknown_device"),
                tooltip=lambda _r: "devices no asset carries: counted, never stored or shown",
            ),
            Column(
                "Randomised MACs dropped",
                lambda r: dropped(r, "randomised_device"),
                tooltip=lambda _r: "phones' private addresses: counted, never stored or shown",
            ),
            Column(
                "Last message",
                lambda r: describe_report_age(last_message_at(r), now()),
                colour=lambda r: AMBER if is_quiet(last_message_at(r), now()) else None,
            ),
        ],
        key=lambda r: r.get("name"),
    )


def access_point_rows(listing: Any) -> list[dict[str, Any]]:
    return [dict(a) for a in (listing or {}).get("items") or [] if isinstance(a, dict)]


def _devices(a: dict[str, Any]) -> list[dict[str, Any]]:
    return [d for d in a.get("devices") or [] if isinstance(d, dict)]


def access_point_table(now: Clock) -> RecordTable[dict[str, Any]]:
    """The access points; ``now`` tells the age of each one's last message."""

    def zone(a: dict[str, Any]) -> str:
        found = a.get("zone")
        if isinstance(found, dict):
            return str(found.get("name", ""))
        return "" if a.get("registered", True) else "not registered"

    def devices(a: dict[str, Any]) -> str:
        found = _devices(a)
        numbers = ", ".join(str(d.get("asset_number", d.get("asset_id", ""))) for d in found)
        return f"{len(found)}: {numbers}" if found else "0"

    def devices_tip(a: dict[str, Any]) -> str:
        return "\n".join(
            f"{d.get('asset_number', '')} {d.get('description', '')} "
            f"({describe_report_age(d.get('since'), now())})"
            for d in _devices(a)
        )

    return RecordTable(
        [
            Column("Access point", lambda a: str(a.get("name") or a.get("key", ""))),
            Column("MAC", lambda a: str(a.get("mac") or "")),
            Column(
                "Zone",
                zone,
                colour=lambda a: None if a.get("registered", True) else RED,
                tooltip=lambda a: (
                    ""
                    if a.get("registered", True)
                    else "a feed names it: register it as a wifi receiver to use its devices"
                ),
            ),
            Column("Devices", devices, sort=lambda a: len(_devices(a)), tooltip=devices_tip),
            Column(
                "Last message",
                lambda a: describe_report_age(a.get("last_message_at"), now()),
                colour=lambda a: AMBER if is_quiet(a.get("last_message_at"), now()) else None,
            ),
            Column("Feed", lambda a: str(a.get("feed") or "")),
        ],
        key=lambda a: a.get("key"),
    )
