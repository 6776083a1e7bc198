"""The parts of a running appliance a plugin is handed, built from the services that do
the work (their collaborators, never the whole core)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from floki_core.config import AppConfig
from floki_core.events import EventBus
from floki_core.location.register_view import RegisterView
from floki_core.plugins.location_actions import LocationActions
from floki_core.plugins.register_records import RegisterRecords
from floki_core.plugins.sign_ins import SignIns, lockout_policy
from floki_core.plugins.workflow_actions import WorkflowActions

__all__ = ["PluginServices", "plugin_services", "plugin_services_of"]


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
    store: Any,
    events: EventBus,
    clock: Any,
    locations: Any,
    states: Any,
    loans: Any,
    ppm: Any,
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


class _CoreStore:
    """A Core without its own ``store``: its read, write and storage health."""

    def __init__(self, core: Any) -> None:
        self.read = core.read
        self.write = core.write
        self.refused_write = core.storage.refused_write


def plugin_services_of(core: Any) -> PluginServices:
    """The services of a running ``Core``."""
    store = getattr(core, "store", None)
    return plugin_services(
        config=core.config,
        store=store if store is not None else _CoreStore(core),
        events=core.events,
        clock=core.clock,
        locations=core.locations,
        states=core.workflow.states,
        loans=core.workflow.loans,
        ppm=core.workflow.ppm,
    )
