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
    from floki_core.clock import Clock
    from floki_core.events import EventBus
    from floki_core.location.service import LocationService
    from floki_core.plugins.host import PluginHost
    from floki_core.storage.store import Store
    from floki_core.workflow.settings import WorkflowSettings


class Workflow:
    def __init__(
        self,
        *,
        settings: WorkflowSettings,
        site_name: str,
        store: Store,
        clock: Clock,
        events: EventBus,
        locations: LocationService,
        plugins: PluginHost,
    ) -> None:
        """Each part gets the collaborators it uses, and the parts it works with."""
        self.states = EquipmentStates(
            settings=settings.states, events=events, locations=locations, store=store, clock=clock
        )
        self.ppm = Ppm(
            settings=settings.ppm,
            events=events,
            locations=locations,
            states=self.states,
            store=store,
            clock=clock,
        )
        self.loans = Loans(
            settings=settings.loans, events=events, states=self.states, store=store, clock=clock
        )
        self.alerts = Alerts(
            settings=settings.alerts,
            events=events,
            locations=locations,
            loans=self.loans,
            plugins=plugins,
            store=store,
            clock=clock,
        )
        self.utilisation = Utilisation(
            settings=settings.utilisation,
            site_name=site_name,
            locations=locations,
            store=store,
            clock=clock,
        )

    async def start(self) -> None:
        for part in (self.states, self.ppm, self.loans, self.alerts, self.utilisation):
            await part.start()

    async def stop(self) -> None:
        for part in (self.utilisation, self.alerts, self.loans, self.ppm, self.states):
            await part.stop()
