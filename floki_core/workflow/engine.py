"""The workflow engine: turns "where" into work a Clinical Engineering team acts on.

Each part listens to domain events (location changes, battery and gateway events) and
answers through the API; all of them are started after the location service.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from floki_core.workflow.alerts import Alerts
from floki_core.workflow.loans import Loans
from floki_core.workflow.ppm import Ppm
from floki_core.workflow.states import EquipmentStates
from floki_core.workflow.utilisation import Utilisation

if TYPE_CHECKING:
    from floki_core.core import Core


class Workflow:
    def __init__(self, core: Core) -> None:
        self.states = EquipmentStates(core)
        self.ppm = Ppm(core)
        self.loans = Loans(core)
        self.alerts = Alerts(core)
        self.utilisation = Utilisation(core)

    async def start(self) -> None:
        for part in (self.states, self.ppm, self.loans, self.alerts, self.utilisation):
            await part.start()

    async def stop(self) -> None:
        for part in (self.utilisation, self.alerts, self.loans, self.ppm, self.states):
            await part.stop()
