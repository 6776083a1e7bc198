"""The stock-take report: what the register expected in the swept zone against what the
sweep read. Pure: the facts are gathered by ``stocktake_sweep``.

- **expected**: the assets whose current location is the swept zone or a zone inside it,
  and those at home there that have no current location at all (never seen, or no
  longer placed); an asset at home there but now placed elsewhere is expected where it
  was placed;
- **found**: expected and read;
- **missing**: expected and not read, with where and when each was last seen;
- **unexpected**: read, but expected elsewhere (or nowhere), with where it was expected
  and last seen;
- **unknown**: EPCs that name no asset in the register.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from floki_rfid.stocktake_reads import SweepRead

__all__ = ["KINDS", "LISTS", "AssetFacts", "compare", "counts_of", "expected_in"]

LISTS: Final = ("found", "missing", "unexpected", "unknown")
# What an unknown EPC is, by its scheme.
KINDS: Final = {
    "giai-96": "giai",
    "giai-202": "giai",
    "sgtin-96": "sgtin",
    "sscc-96": "sscc",
    "raw": "raw",
}


@dataclass(frozen=True)
class AssetFacts:
    """An asset as the report shows it, and where the appliance had it before the sweep."""

    asset_id: int
    asset_number: str
    name: str
    class_name: str | None
    placed: bool  # whether it has a current location (a zone, or off site)
    zone_id: int | None  # the zone of its current location
    zone_name: str | None  # that zone's name, "off site", or None if not placed
    last_seen: dt.datetime | None
    home_zone_id: int | None
    home_zone_name: str | None

    def shown(self) -> dict[str, Any]:
        return {
            "asset_id": self.asset_id,
            "asset_number": self.asset_number,
            "name": self.name,
            "class": self.class_name,
        }


def expected_in(swept: set[int], asset: AssetFacts) -> bool:
    """Whether the register expects the asset in the swept zones (see the module)."""
    if asset.placed:
        return asset.zone_id in swept
    return asset.home_zone_id in swept


def compare(
    swept: set[int],
    expected: Sequence[AssetFacts],
    reads: Sequence[tuple[SweepRead, AssetFacts | None]],
) -> dict[str, list[dict[str, Any]]]:
    """The four lists: assets by asset number, unknown EPCs in the order read."""
    read_assets: dict[int, tuple[SweepRead, AssetFacts]] = {}
    unknown: list[dict[str, Any]] = []
    for read, asset in reads:
        if asset is None:
            unknown.append({"epc": read.identity.hex, "kind": KINDS[read.identity.scheme]})
        elif asset.asset_id not in read_assets:  # two tags of one asset: the first read
            read_assets[asset.asset_id] = (read, asset)
    expected_ids = {a.asset_id for a in expected}
    found: list[dict[str, Any]] = []
    missing: list[dict[str, Any]] = []
    for asset in sorted(expected, key=_number):
        held = read_assets.get(asset.asset_id)
        if held is not None:
            found.append({**asset.shown(), "epc": held[0].identity.hex})
        else:
            missing.append(
                {**asset.shown(), "last_seen_zone": asset.zone_name, "last_seen": asset.last_seen}
            )
    unexpected = [
        {
            **asset.shown(),
            "epc": read.identity.hex,
            "expected_zone": asset.zone_name if asset.placed else asset.home_zone_name,
            "last_seen_zone": asset.zone_name,
            "last_seen": asset.last_seen,
        }
        for read, asset in sorted(read_assets.values(), key=lambda pair: _number(pair[1]))
        if asset.asset_id not in expected_ids
    ]
    return {"found": found, "missing": missing, "unexpected": unexpected, "unknown": unknown}


def counts_of(lists: dict[str, list[dict[str, Any]]]) -> dict[str, int]:
    found, missing = len(lists["found"]), len(lists["missing"])
    return {
        "expected": found + missing,
        "found": found,
        "missing": missing,
        "unexpected": len(lists["unexpected"]),
        "unknown": len(lists["unknown"]),
    }


def _number(asset: AssetFacts) -> tuple[str, int]:
    return asset.asset_number, asset.asset_id
