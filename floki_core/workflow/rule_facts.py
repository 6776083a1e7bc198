"""What rules judge: the facts of one evaluation, the conditions they report, and the
contract a rule type (built in or from a plugin) fulfils.

A rule type is level-triggered: given ``Facts`` (a snapshot of the register, where
everything is, batteries, gateways, loans) it returns every condition that holds now.
The alert engine turns new conditions into alerts, keeps one alert per condition, and
resolves an alert once its condition is no longer returned. Plugins add rule types with
``floki_register_rule_types``; each is an object with ``description``,
``default_severity``, ``params`` (a ``msgspec.Struct`` class) and
``conditions(params, facts)``, and optionally ``check(params, facts) -> str | None``
naming a problem with the parameters (an unknown zone, say).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol

import msgspec

if TYPE_CHECKING:
    from floki_core.location.batteries import BatteryReading
    from floki_core.location.register_index import RegisterIndex
    from floki_core.location.resolver import Track

Severity = Literal["info", "warning", "critical"]
SEVERITIES: tuple[Severity, ...] = ("info", "warning", "critical")

# A condemned device is out of service for good: no rule watches it.
RETIRED_STATES = frozenset({"condemned"})


class Condition(msgspec.Struct, frozen=True, kw_only=True):
    """One thing that is wrong now. ``key`` identifies it within its rule (an asset, a
    tag, a gateway), so the same condition found again is the same alert."""

    key: str
    title: str
    detail: dict[str, Any] = msgspec.field(default_factory=dict)
    asset_id: int | None = None
    zone_id: int | None = None


@dataclass(frozen=True)
class AssetFacts:
    id: int
    asset_number: str
    description: str
    class_id: int | None
    home_zone_id: int | None
    state: str
    next_ppm_due: dt.date | None


@dataclass(frozen=True)
class Whereabouts:
    zone_id: int | None  # None: off site
    since: dt.datetime | None
    last_seen: dt.datetime | None


@dataclass(frozen=True)
class GatewayStatus:
    source: str
    room: str
    online: bool
    since: dt.datetime  # when it went offline (or came back)
    cause: str


@dataclass
class Facts:
    """What rules judge, taken once per evaluation. Read-only for rules."""

    now: dt.datetime
    assets: Mapping[int, AssetFacts]
    classes: Mapping[int, str]
    index: RegisterIndex
    tracks: Mapping[int, Track]
    batteries: Mapping[tuple[str, str], BatteryReading]
    gateways: Mapping[str, GatewayStatus]
    open_loans: frozenset[int]
    overdue_loans: Sequence[Mapping[str, Any]]
    left_home_at: Mapping[int, dt.datetime]  # assets outside their home zone tree, since
    presented_state: Any = None  # floki_core.workflow.ppm.presented_state, once it exists
    _trees: dict[int, set[int]] = field(default_factory=dict, repr=False)

    @property
    def today(self) -> dt.date:
        return self.now.date()

    def whereabouts(self, asset_id: int) -> Whereabouts | None:
        track = self.tracks.get(asset_id)
        if track is None or track.zone is None:
            return None
        return Whereabouts(track.zone_id, track.since, track.last_seen)

    def inside(self, zone_id: int | None, root: int) -> bool:
        """Whether ``zone_id`` is ``root`` or a zone within it (off site never is)."""
        if zone_id is None:
            return False
        tree = self._trees.get(root)
        if tree is None:
            tree = self._trees[root] = self.index.descendants(root)
        return zone_id in tree

    def zone_name(self, zone_id: int | None) -> str:
        if zone_id is None:
            return "off site"
        zone = self.index.zones.get(zone_id)
        return zone.name if zone else f"zone {zone_id}"

    def label(self, asset: AssetFacts) -> str:
        kind = self.classes.get(asset.class_id) if asset.class_id else None
        return f"{asset.asset_number} ({kind or asset.description or 'asset'})"

    def is_ready(self, asset: AssetFacts) -> bool:
        """Ready for a patient: available and within its PPM date. A faulty or
        PPM-overdue device never counts towards a par level."""
        if asset.state != "available":
            return False
        if asset.next_ppm_due is not None and asset.next_ppm_due < self.today:
            return False
        if self.presented_state is not None:
            shown = self.presented_state(asset.state, asset.next_ppm_due, self.today)
            return bool(shown == "available")
        return True

    def watched(self, class_ids: Sequence[int]) -> Iterator[AssetFacts]:
        for asset in self.assets.values():
            if asset.state in RETIRED_STATES:
                continue
            if class_ids and asset.class_id not in class_ids:
                continue
            yield asset


class RuleType(Protocol):
    """What ``floki_register_rule_types`` registers."""

    @property
    def description(self) -> str: ...

    @property
    def default_severity(self) -> Severity: ...

    @property
    def params(self) -> type[msgspec.Struct]: ...

    def conditions(self, params: Any, facts: Facts) -> Iterable[Condition]: ...
