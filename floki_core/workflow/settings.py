"""``[workflow]``: the settings of every part of the workflow engine.

Settings only: this module imports no service, so the configuration can be read (and
checked) without starting anything, and the services import their settings from here.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta

from floki_core.domain import AssetState, ZoneType
from floki_core.workflow.rule_facts import Severity
from floki_core.workflow.states_table import TRANSITIONS

# --- alert_routing -------------------------------------------------------

Change = Literal["raised", "acknowledged", "resolved"]


NotifierName = Annotated[str, Meta(min_length=1, max_length=100)]


class RouteSettings(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """``[[workflow.alerts.routes]]``: every alert at or above a severity goes to a notifier."""

    notifier: NotifierName
    min_severity: Severity = "info"
    rule_types: list[str] = msgspec.field(default_factory=list)  # empty: every type
    events: list[Change] = msgspec.field(default_factory=lambda: ["raised"])


class DeliverySettings(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """``[workflow.alerts.delivery]``"""

    attempts: Annotated[int, Meta(ge=1, le=20)] = 6
    first_retry_seconds: Annotated[float, Meta(ge=0, le=3600)] = 10.0
    max_retry_seconds: Annotated[float, Meta(ge=0, le=86400)] = 900.0
    timeout_seconds: Annotated[float, Meta(gt=0, le=600)] = 30.0
    queue_size: Annotated[int, Meta(ge=1, le=1_000_000)] = 10_000


# --- alert_rules ---------------------------------------------------------

RuleName = Annotated[str, Meta(min_length=1, max_length=200, pattern=r"^[^\x00]*$")]


RuleTypeName = Annotated[str, Meta(pattern=r"^[a-z][a-z0-9_]{1,63}$")]


class RuleSettings(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """``[[workflow.alerts.rules]]``; also the body of ``POST /api/v1/alert-rules``."""

    name: RuleName
    type: RuleTypeName
    severity: Severity | None = None  # the rule type's default
    params: dict[str, Any] = msgspec.field(default_factory=dict)
    notify: list[NotifierName] = msgspec.field(default_factory=list)
    enabled: bool = True
    # False: a cleared condition leaves the alert open for a person to resolve.
    auto_resolve: bool = True


# --- alerts --------------------------------------------------------------


class AlertSettings(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """``[workflow.alerts]``"""

    sweep_seconds: Annotated[float, Meta(gt=0, le=3600)] = 30.0
    # Events arriving this close together are judged in one evaluation.
    settle_seconds: Annotated[float, Meta(ge=0, le=60)] = 1.0
    # Which changes the notifiers a rule names hear of (routes say their own).
    notify_events: list[Change] = msgspec.field(default_factory=lambda: ["raised"])
    rules: list[RuleSettings] = msgspec.field(default_factory=list)
    routes: list[RouteSettings] = msgspec.field(default_factory=list)
    delivery: DeliverySettings = msgspec.field(default_factory=DeliverySettings)


# --- loans ---------------------------------------------------------------


class LoanSettings(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    # Name, address and phone of the recipient; off by default (the reference suffices).
    personal_fields: bool = False
    # Days after the return when those personal fields are deleted.
    purge_after_days: Annotated[int, msgspec.Meta(ge=0, le=3650)] = 30
    # Show a loaned asset's GPS coordinates rather than "in community, loan L-123".
    precise_location: bool = False
    # Days a loaned asset's raw positions (kept apart, for an audited recall) are kept
    # before they are purged.
    raw_fix_retention_days: Annotated[int, msgspec.Meta(ge=1, le=3650)] = 14
    max_loan_days: Annotated[int, msgspec.Meta(ge=1, le=3650)] = 366
    # How often the overdue sweep and the purge run.
    sweep_minutes: Annotated[float, msgspec.Meta(gt=0, le=1440)] = 15.0


# --- ppm -----------------------------------------------------------------

Days = Annotated[int, msgspec.Meta(ge=0, le=3650)]


def _known_zone(name: str) -> str:
    zoneinfo.ZoneInfo(name)  # raises for an unknown zone: a config error naming the key
    return name


class PpmSettings(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    # The local day decides what is due "today".
    timezone: str = "Europe/London"
    # Tolerance window where neither the class nor the asset sets one: a PPM done this
    # many days before or after its due date counts as on time, and an asset this
    # many days past due still counts as in date.
    tolerance_before_days: Days = 0
    tolerance_after_days: Days = 0
    default_within_days: Annotated[int, msgspec.Meta(ge=0, le=3650)] = 30
    # Not seen for this many days: in the queue's "can't find" section ...
    cant_find_after_days: Annotated[int, msgspec.Meta(ge=1, le=3650)] = 7
    # ... and escalated after this many.
    escalate_after_days: Annotated[int, msgspec.Meta(ge=1, le=3650)] = 28
    # How often (real seconds) the daily work is checked for a new day.
    check_seconds: Annotated[float, msgspec.Meta(gt=0, le=3600)] = 300.0

    def __post_init__(self) -> None:
        try:
            _known_zone(self.timezone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{self.timezone!r} is not a known time zone") from None
        if self.escalate_after_days < self.cant_find_after_days:
            raise ValueError("escalate_after_days is shorter than cant_find_after_days")


# --- states --------------------------------------------------------------


class LocationRule(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A stay of ``dwell_seconds`` in a zone of this type moves an asset that is in one
    of ``from_states`` to ``to_state``: as a suggestion someone confirms, or at once."""

    to_state: AssetState
    from_states: list[AssetState]
    dwell_seconds: Annotated[float, msgspec.Meta(ge=0, le=7 * 86400)] = 300.0
    mode: Literal["suggest", "set"] = "suggest"

    def __post_init__(self) -> None:
        for state in self.from_states:
            if self.to_state not in TRANSITIONS.get(state, {}):
                raise ValueError(
                    f"{state.value} -> {self.to_state.value} is not an allowed state change"
                )


def _default_rules() -> dict[ZoneType, LocationRule]:
    return {
        ZoneType.DIRTY_UTILITY: LocationRule(
            to_state=AssetState.DIRTY,
            from_states=[AssetState.AVAILABLE, AssetState.IN_USE],
            dwell_seconds=300.0,
        ),
        # Only from dirty: arriving in the library is evidence of decontamination,
        # never a reason to release a faulty or quarantined device.
        ZoneType.EQUIPMENT_LIBRARY: LocationRule(
            to_state=AssetState.AVAILABLE, from_states=[AssetState.DIRTY], dwell_seconds=120.0
        ),
        ZoneType.WORKSHOP: LocationRule(
            to_state=AssetState.IN_MAINTENANCE,
            from_states=[AssetState.AVAILABLE, AssetState.IN_USE, AssetState.FAULTY],
            dwell_seconds=300.0,
        ),
    }


class StateSettings(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    # zone type -> rule; an empty table turns location suggestions off
    location_rules: dict[ZoneType, LocationRule] = msgspec.field(default_factory=_default_rules)
    # How often (real seconds) stays are checked against their dwell time.
    check_seconds: Annotated[float, msgspec.Meta(gt=0, le=3600)] = 30.0


# --- utilisation ---------------------------------------------------------

MAX_PERIOD_DAYS = 800


class UtilisationSettings(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    # Assets not moved for this many days are idle.
    idle_days: Annotated[int, msgspec.Meta(ge=1, le=3650)] = 14
    # The period a report covers when none is asked for.
    default_days: Annotated[int, msgspec.Meta(ge=1, le=MAX_PERIOD_DAYS)] = 90
    # The day the appliance went live, for PPM compliance before and after; default the
    # day of the first entry in the audit trail (the install).
    go_live: dt.date | None = None


class WorkflowSettings(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    states: StateSettings = msgspec.field(default_factory=StateSettings)
    ppm: PpmSettings = msgspec.field(default_factory=PpmSettings)
    alerts: AlertSettings = msgspec.field(default_factory=AlertSettings)
    loans: LoanSettings = msgspec.field(default_factory=LoanSettings)
    utilisation: UtilisationSettings = msgspec.field(default_factory=UtilisationSettings)
