"""The parts of a running appliance a plugin is handed, built from the services that do
the work (their collaborators, never the whole core)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from floki_core.config import AppConfig
from floki_core.events import EventBus
from floki_core.location.register_view import RegisterView
from floki_core.plugins.location_actions import LocationActions
from floki_core.plugins.register_records import RegisterRecords
from floki_core.plugins.sign_ins import SignIns, lockout_policy
from floki_core.plugins.workflow_actions import WorkflowActions

if TYPE_CHECKING:
    from floki_core.clock import Clock
    from floki_core.location.service import LocationService
    from floki_core.storage.store import Store
    from floki_core.workflow.loans import Loans
    from floki_core.workflow.ppm import Ppm
    from floki_core.workflow.states import EquipmentStates

__all__ = ["PluginServices", "plugin_services"]


@dataclass(frozen=True)
class PluginServices:
    """Shared by every plugin's context in one appliance."""

    config: AppConfig
    register: RegisterView
    records: RegisterRecords
    workflow: WorkflowActions
    locations: LocationActions
    sign_ins: SignIns


def plugin_services(
    *,
    config: AppConfig,
    store: Store,
    events: EventBus,
    clock: Clock,
    locations: LocationService,
    states: EquipmentStates,
    loans: Loans,
    ppm: Ppm,
) -> PluginServices:
    """``store``: the database's reader and writer (``Store``); ``locations``: the
    ``LocationService``; ``states``, ``loans``, ``ppm``: the workflow's services."""
    return PluginServices(
        config=config,
        register=RegisterView(lambda: locations.index, store.read),
        records=RegisterRecords(store, events, clock, locations.reindex),
        workflow=WorkflowActions(states, loans, ppm),
        locations=LocationActions(locations, loans, store, clock),
        sign_ins=SignIns(store, clock, lockout_policy(config.security)),
    )
