"""The built-in rule types: geofence exit, missing, par level, low tag battery, gateway
offline, PPM overdue in a clinical area, loan overdue. The contract they fulfil (and a
plugin's rule types too) is in ``floki_core.workflow.rule_facts``, re-exported here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Annotated, Any

import msgspec
from msgspec import Meta

from floki_core.workflow.rule_facts import (
    SEVERITIES,
    AssetFacts,
    Condition,
    Facts,
    GatewayStatus,
    RuleType,
    Severity,
    Whereabouts,
)

__all__ = [
    "BUILTIN_RULE_TYPES",
    "SEVERITIES",
    "AssetFacts",
    "Condition",
    "Facts",
    "GatewayStatus",
    "RuleType",
    "Severity",
    "Whereabouts",
]

ZoneIds = Annotated[list[Annotated[int, Meta(ge=1)]], Meta(max_length=500)]
Words = Annotated[list[Annotated[str, Meta(min_length=1, max_length=64)]], Meta(max_length=100)]


class _Params(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    pass


def _when(at: dt.datetime | None) -> str:
    return at.strftime("%Y-%m-%d %H:%M UTC") if at else "never"


# --- geofence exit -------------------------------------------------------------------


class GeofenceParams(_Params, kw_only=True):
    # Seconds outside the home zone tree before an alert: a trip to the scanner and back
    # is no alert.
    dwell_seconds: Annotated[float, Meta(ge=0, le=7 * 86400)] = 300.0
    # Where a device may go without raising anything: CE workshop, equipment library...
    exempt_zone_ids: ZoneIds = msgspec.field(default_factory=list)
    exempt_states: Words = msgspec.field(
        default_factory=lambda: ["in_maintenance", "on_loan", "condemned"]
    )
    class_ids: ZoneIds = msgspec.field(default_factory=list)  # empty: every class


class GeofenceExit:
    description = "An asset has left its home zone (and the zones within it) without a loan"
    default_severity: Severity = "warning"
    params = GeofenceParams

    def conditions(self, params: GeofenceParams, facts: Facts) -> Iterator[Condition]:
        dwell = dt.timedelta(seconds=params.dwell_seconds)
        for asset in facts.watched(params.class_ids):
            home = asset.home_zone_id
            left = facts.left_home_at.get(asset.id)
            if home is None or left is None or facts.now - left < dwell:
                continue
            if asset.state in params.exempt_states or asset.id in facts.open_loans:
                continue
            where = facts.whereabouts(asset.id)
            if where is None:
                continue
            if any(facts.inside(where.zone_id, z) for z in params.exempt_zone_ids):
                continue
            yield Condition(
                key=f"asset:{asset.id}",
                title=f"{facts.label(asset)} has left {facts.zone_name(home)}; "
                f"now in {facts.zone_name(where.zone_id)}",
                detail={
                    "asset_number": asset.asset_number,
                    "home_zone_id": home,
                    "home_zone": facts.zone_name(home),
                    "zone": facts.zone_name(where.zone_id),
                    "left_at": left.isoformat(),
                },
                asset_id=asset.id,
                zone_id=where.zone_id,
            )


# --- missing -------------------------------------------------------------------------


class MissingParams(_Params, kw_only=True):
    hours: Annotated[float, Meta(gt=0, le=24 * 365)]
    # A device on loan in the community is often out of range of every reader.
    exclude_on_loan: bool = True
    class_ids: ZoneIds = msgspec.field(default_factory=list)


class Missing:
    description = "A tracked asset has not been seen for a number of hours"
    default_severity: Severity = "warning"
    params = MissingParams

    def conditions(self, params: MissingParams, facts: Facts) -> Iterator[Condition]:
        limit = facts.now - dt.timedelta(hours=params.hours)
        for asset in facts.watched(params.class_ids):
            where = facts.whereabouts(asset.id)
            # Never seen is not "missing": it was never tracked.
            if where is None or where.last_seen is None or where.last_seen > limit:
                continue
            if params.exclude_on_loan and asset.id in facts.open_loans:
                continue
            yield Condition(
                key=f"asset:{asset.id}",
                title=f"{facts.label(asset)} not seen since {_when(where.last_seen)}, "
                f"last in {facts.zone_name(where.zone_id)}",
                detail={
                    "asset_number": asset.asset_number,
                    "last_seen": where.last_seen.isoformat(),
                    "last_zone": facts.zone_name(where.zone_id),
                    "hours": params.hours,
                },
                asset_id=asset.id,
                zone_id=where.zone_id,
            )


# --- par level -----------------------------------------------------------------------


class ParLevelParams(_Params, kw_only=True):
    zone_id: Annotated[int, Meta(ge=1)]
    class_id: Annotated[int, Meta(ge=1)]
    minimum: Annotated[int, Meta(ge=1, le=10_000)]


class ParLevel:
    description = "A zone has fewer ready devices of a class than its par level"
    default_severity: Severity = "warning"
    params = ParLevelParams

    def check(self, params: ParLevelParams, facts: Facts) -> str | None:
        if params.zone_id not in facts.index.zones:
            return f"zone {params.zone_id} does not exist"
        if params.class_id not in facts.classes:
            return f"asset class {params.class_id} does not exist"
        return None

    def conditions(self, params: ParLevelParams, facts: Facts) -> Iterator[Condition]:
        ready = sorted(
            asset.asset_number
            for asset in facts.watched([params.class_id])
            if facts.is_ready(asset)
            and (where := facts.whereabouts(asset.id)) is not None
            and facts.inside(where.zone_id, params.zone_id)
        )
        if len(ready) >= params.minimum:
            return
        zone = facts.zone_name(params.zone_id)
        kind = facts.classes.get(params.class_id, f"class {params.class_id}")
        yield Condition(
            key="par",
            title=f"{zone} is short of {kind}: {len(ready)} ready, par level {params.minimum}",
            detail={
                "zone": zone,
                "asset_class": kind,
                "ready": len(ready),
                "minimum": params.minimum,
                "ready_assets": ready,
            },
            zone_id=params.zone_id,
        )


# --- low tag battery -----------------------------------------------------------------


class LowBatteryParams(_Params, kw_only=True):
    bound_only: bool = False  # only tags bound to an asset


class LowBattery:
    description = "A tag reports a battery below the [location.battery] threshold"
    default_severity: Severity = "info"
    params = LowBatteryParams

    def conditions(self, params: LowBatteryParams, facts: Facts) -> Iterator[Condition]:
        for (technology, tag), reading in facts.batteries.items():
            if not reading.low:
                continue
            asset_id = facts.index.asset_for(technology, tag)
            asset = facts.assets.get(asset_id) if asset_id is not None else None
            if params.bound_only and asset is None:
                continue
            reads = ", ".join(
                f"{value}{unit}"
                for value, unit in ((reading.level, "%"), (reading.millivolts, " mV"))
                if value is not None
            )
            what = facts.label(asset) if asset else f"unbound {technology} tag"
            yield Condition(
                key=f"tag:{technology}:{tag}",
                title=f"Tag battery low on {what}: {tag} reads {reads}",
                detail={
                    "technology": technology,
                    "tag": tag,
                    "level": reading.level,
                    "millivolts": reading.millivolts,
                    "low_since": reading.low_since.isoformat() if reading.low_since else None,
                },
                asset_id=asset.id if asset else None,
            )


# --- gateway offline -----------------------------------------------------------------


class GatewayOfflineParams(_Params, kw_only=True):
    # A gateway rebooting is gone for a minute; only a longer silence is an alert.
    after_seconds: Annotated[float, Meta(ge=0, le=7 * 86400)] = 60.0
    gateways: Words = msgspec.field(default_factory=list)  # room names; empty: all


class GatewayOffline:
    description = "A gateway has gone offline or silent (gateway.offline / gateway.silent)"
    default_severity: Severity = "warning"
    params = GatewayOfflineParams

    def conditions(self, params: GatewayOfflineParams, facts: Facts) -> Iterator[Condition]:
        after = dt.timedelta(seconds=params.after_seconds)
        for status in facts.gateways.values():
            if status.online or facts.now - status.since < after:
                continue
            if params.gateways and status.room not in params.gateways:
                continue
            yield Condition(
                key=f"gateway:{status.source}:{status.room}",
                title=f"Gateway {status.room} offline since {_when(status.since)} ({status.cause})",
                detail={
                    "source": status.source,
                    "room": status.room,
                    "since": status.since.isoformat(),
                    "cause": status.cause,
                },
            )


# --- PPM overdue in a clinical area --------------------------------------------------


class PpmClinicalParams(_Params, kw_only=True):
    # A zone is clinical when it or a zone around it has one of these types (the demo
    # site's wards, bays, theatres and emergency department) ...
    zone_types: Words = msgspec.field(
        default_factory=lambda: ["ward", "bay", "theatre", "emergency"]
    )
    # ... unless it is itself one of these: where an overdue device should be going.
    excluded_zone_types: Words = msgspec.field(
        default_factory=lambda: ["dirty_utility", "store", "workshop", "equipment_library"]
    )
    zone_ids: ZoneIds = msgspec.field(default_factory=list)  # more clinical zone trees
    class_ids: ZoneIds = msgspec.field(default_factory=list)


class PpmOverdueInClinicalArea:
    description = "A device past its PPM due date is in a clinical area"
    default_severity: Severity = "critical"
    params = PpmClinicalParams

    def clinical(self, params: PpmClinicalParams, facts: Facts, zone_id: int | None) -> bool:
        if zone_id is None:
            return False
        chain = facts.index.zone_chain(zone_id)
        if chain and chain[-1].type in params.excluded_zone_types:
            return False
        if any(z.type in params.zone_types for z in chain):
            return True
        return any(facts.inside(zone_id, z) for z in params.zone_ids)

    def conditions(self, params: PpmClinicalParams, facts: Facts) -> Iterator[Condition]:
        for asset in facts.watched(params.class_ids):
            due = asset.next_ppm_due
            if due is None or due >= facts.today:
                continue
            where = facts.whereabouts(asset.id)
            if where is None or not self.clinical(params, facts, where.zone_id):
                continue
            yield Condition(
                key=f"asset:{asset.id}",
                title=f"{facts.label(asset)} is overdue PPM (due {due.isoformat()}) and is "
                f"in {facts.zone_name(where.zone_id)}",
                detail={
                    "asset_number": asset.asset_number,
                    "next_ppm_due": due.isoformat(),
                    "zone": facts.zone_name(where.zone_id),
                },
                asset_id=asset.id,
                zone_id=where.zone_id,
            )


# --- loan overdue --------------------------------------------------------------------


class LoanOverdueParams(_Params, kw_only=True):
    grace_hours: Annotated[float, Meta(ge=0, le=24 * 365)] = 0.0


def _due_at(value: Any) -> dt.datetime | None:
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value)
        except ValueError:
            return None
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    if isinstance(value, dt.date):
        # Due back on a day means by the end of it.
        return dt.datetime.combine(value + dt.timedelta(days=1), dt.time(), dt.UTC)
    return None


class LoanOverdue:
    description = "A loaned device is past its due-back time"
    default_severity: Severity = "warning"
    params = LoanOverdueParams

    def conditions(self, params: LoanOverdueParams, facts: Facts) -> Iterator[Condition]:
        grace = dt.timedelta(hours=params.grace_hours)
        for loan in facts.overdue_loans:
            due = _due_at(loan.get("due_back"))
            loan_id = loan.get("id", loan.get("loan_id"))
            if loan_id is None or (due is not None and facts.now - due < grace):
                continue
            asset_id = loan.get("asset_id")
            asset = facts.assets.get(asset_id) if isinstance(asset_id, int) else None
            reference = loan.get("reference") or f"#{loan_id}"
            due_text = str(loan.get("due_back"))
            yield Condition(
                key=f"loan:{loan_id}",
                title=f"Loan {reference} of {facts.label(asset) if asset else 'a device'} "
                f"was due back {due_text}",
                detail={"loan_id": loan_id, "reference": reference, "due_back": due_text},
                asset_id=asset.id if asset else None,
            )


BUILTIN_RULE_TYPES: dict[str, RuleType] = {
    "geofence_exit": GeofenceExit(),
    "missing": Missing(),
    "par_level": ParLevel(),
    "low_battery": LowBattery(),
    "gateway_offline": GatewayOffline(),
    "ppm_overdue_in_clinical_area": PpmOverdueInClinicalArea(),
    "loan_overdue": LoanOverdue(),
}
