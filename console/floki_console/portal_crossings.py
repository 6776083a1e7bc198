"""Portal crossings as the console tells them: an asset that passed an RFID portal (a
doorway read in order by an inner and an outer antenna) *entered* or *left* the zone
inside it — "Syringe driver E10001 entered Equipment Library via library-door".

They come live as ``rfid.portal`` events (entity ``asset``, the crossing in ``data``) and,
for the ones before the console connected, from ``GET /api/v1/rfid/portal-events``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from floki_console.models import Column, RecordTable, parse_time

PORTAL_EVENT = "rfid.portal"
FIELDS = ("portal", "direction", "zone_id", "zone", "read_at", "epc")


def _crossing(
    asset_id: Any, fields: Mapping[str, Any], extra: Mapping[str, Any]
) -> dict[str, Any] | None:
    try:
        asset = int(asset_id)
    except (TypeError, ValueError):
        return None
    crossing: dict[str, Any] = {"asset_id": asset, **{f: fields.get(f) for f in FIELDS}}
    for key in ("asset_number", "name", "description"):
        if extra.get(key):
            crossing[key] = extra[key]
    return crossing


def crossing_from_event(event: Mapping[str, Any]) -> dict[str, Any] | None:
    """The crossing an ``rfid.portal`` event tells of; None for any other event."""
    data = event.get("data")
    if event.get("type") != PORTAL_EVENT or not isinstance(data, dict):
        return None
    return _crossing(event.get("entity_id"), data, data)


def crossing_from_item(item: Mapping[str, Any]) -> dict[str, Any] | None:
    """One listed crossing: its fields beside the asset, or in ``data`` as in the event."""
    data = item.get("data")
    fields = data if isinstance(data, dict) else item
    return _crossing(item.get("asset_id", item.get("entity_id")), fields, item)


def asset_label(crossing: Mapping[str, Any]) -> str:
    """``"Syringe driver E10001"``; ``"asset #7"`` when its name is not known."""
    words = [str(crossing.get(k)) for k in ("name", "asset_number") if crossing.get(k)] or [
        f"asset #{crossing.get('asset_id')}"
    ]
    if crossing.get("description") and not crossing.get("name"):
        words.insert(0, str(crossing["description"]))
    return " ".join(words)


def crossing_text(crossing: Mapping[str, Any]) -> str:
    direction = str(crossing.get("direction") or "passed")
    zone = crossing.get("zone") or f"zone {crossing.get('zone_id')}"
    text = f"{asset_label(crossing)} {direction} {zone}"
    return f"{text} via {crossing['portal']}" if crossing.get("portal") else text


def _when(crossing: Mapping[str, Any]) -> str:
    when = parse_time(crossing.get("read_at"))
    return "" if when is None else when.astimezone().strftime("%d %b %H:%M:%S")


def crossing_table() -> RecordTable[dict[str, Any]]:
    return RecordTable(
        [
            Column("When", _when, sort=lambda c: str(c.get("read_at") or "")),
            Column("Crossing", crossing_text, tooltip=lambda c: f"EPC {c.get('epc') or '?'}"),
        ],
        key=lambda c: (c.get("asset_id"), c.get("portal"), c.get("direction"), c.get("read_at")),
    )
