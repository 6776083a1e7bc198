"""``[workflow]``: the settings of every part of the workflow engine."""

from __future__ import annotations

import msgspec

from floki_core.workflow.alerts import AlertSettings
from floki_core.workflow.loans import LoanSettings
from floki_core.workflow.ppm import PpmSettings
from floki_core.workflow.states import StateSettings
from floki_core.workflow.utilisation import UtilisationSettings


class WorkflowSettings(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    states: StateSettings = msgspec.field(default_factory=StateSettings)
    ppm: PpmSettings = msgspec.field(default_factory=PpmSettings)
    alerts: AlertSettings = msgspec.field(default_factory=AlertSettings)
    loans: LoanSettings = msgspec.field(default_factory=LoanSettings)
    utilisation: UtilisationSettings = msgspec.field(default_factory=UtilisationSettings)
