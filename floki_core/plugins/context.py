"""What a plugin is handed: its settings and the parts of the core it may use."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from floki_core.clock import Clock
from floki_core.events import EventBus
from floki_core.ingest import IngestQueue, SourceSink
from floki_core.location.register_view import RegisterView


@dataclass
class PluginContext:
    name: str
    settings: Any  # the validated [plugin.<name>] struct, or None if none declared
    clock: Clock
    events: EventBus
    ingest: IngestQueue
    data_dir: Path  # <data-dir>/plugins/<name>, created on first use
    log: logging.Logger
    # The register, read-only, as plain records (None outside a running appliance, e.g.
    # for a plugin's CLI command).
    register: RegisterView | None = None
    # The running Core. Not part of the plugin surface (floki_core.sdk): what a plugin
    # may use of it is offered above; this remains for the QR plugin's pages until
    # their workflow calls are offered too.
    core: Any = None
    # The plugin's own objects for this run of the appliance, shared between its hooks
    # (a source a route reports on), instead of module-level globals: every appliance,
    # e.g. two in one test process, has its own.
    state: dict[str, Any] = field(default_factory=dict)

    def sink(self, source: str) -> SourceSink:
        return self.ingest.sink(source)

    def plugin_dir(self) -> Path:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        return self.data_dir
