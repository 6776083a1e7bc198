"""What a plugin is handed: its settings and the parts of the core it may use."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from floki_core.clock import Clock
from floki_core.events import EventBus
from floki_core.ingest import IngestQueue, SourceSink
from floki_core.location.register_view import RegisterView

if TYPE_CHECKING:
    from floki_core.config import AppConfig
    from floki_core.plugins.location_actions import LocationActions
    from floki_core.plugins.register_records import RegisterRecords
    from floki_core.plugins.services import PluginServices
    from floki_core.plugins.sign_ins import SignIns
    from floki_core.plugins.workflow_actions import WorkflowActions


@dataclass
class PluginContext:
    name: str
    settings: Any  # the validated [plugin.<name>] struct, or None if none declared
    clock: Clock
    events: EventBus
    ingest: IngestQueue
    data_dir: Path  # <data-dir>/plugins/<name>, created on first use
    log: logging.Logger
    # The appliance's own data directory (its certificate, its floki.toml): read only.
    appliance_dir: Path | None = None
    # The register, read-only, as plain records (None outside a running appliance, e.g.
    # for a plugin's CLI command).
    register: RegisterView | None = None
    # The plugin's own objects for this run of the appliance, shared between its hooks
    # (a source a route reports on), instead of module-level globals: every appliance,
    # e.g. two in one test process, has its own.
    state: dict[str, Any] = field(default_factory=dict)
    # What a running appliance offers a plugin (None outside one): see the properties.
    services: PluginServices | None = None

    def sink(self, source: str) -> SourceSink:
        return self.ingest.sink(source)

    def plugin_dir(self) -> Path:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        return self.data_dir

    @property
    def config(self) -> AppConfig:
        """The appliance's whole configuration, read-only."""
        return self._running().config

    @property
    def records(self) -> RegisterRecords:
        """Reads of the register, and audited additions to it, in one transaction."""
        return self._running().records

    @property
    def workflow(self) -> WorkflowActions:
        """State changes, loans and work orders, as the API makes them."""
        return self._running().workflow

    @property
    def locations(self) -> LocationActions:
        """Where assets are; a person's word that one is here."""
        return self._running().locations

    @property
    def sign_ins(self) -> SignIns:
        """Password sign-in for a plugin's own pages, held to the API's rules."""
        return self._running().sign_ins

    def _running(self) -> PluginServices:
        if self.services is None:
            raise RuntimeError(
                f"plugin {self.name}: this is offered in a running appliance only, not to a command"
            )
        return self.services
