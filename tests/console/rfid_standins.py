"""A plugin given to the console tests' appliance: sources that say how they are doing
(``details()``, listed in ``GET /api/v1/plugins`` as the RFID readers' are), with whatever
a test has them say — a reader connected or not, a stale last report, keys of its own."""

from __future__ import annotations

import asyncio
from typing import Any

from floki_core.sdk import hookimpl

FLOKI_PLUGIN_API = ">=1.2,<2"  # details() came with 1.2


class ReaderSource:
    """Runs until stopped; ``details()`` is whatever the test sets."""

    def __init__(self, details: dict[str, Any] | None) -> None:
        self.said = details
        self._stopped: asyncio.Event | None = None

    async def run(self, sink: Any) -> None:
        self._stopped = asyncio.Event()
        await self._stopped.wait()

    async def stop(self) -> None:
        if self._stopped is not None:
            self._stopped.set()

    def details(self) -> dict[str, Any] | None:
        return self.said


class ReadersPlugin:
    """Registers each (name, source) given."""

    FLOKI_PLUGIN_API = FLOKI_PLUGIN_API

    def __init__(self, sources: dict[str, Any]) -> None:
        self.sources = sources

    @hookimpl
    def floki_register_sources(self, registry: Any) -> None:
        for name, source in self.sources.items():
            registry.add(name, source)
