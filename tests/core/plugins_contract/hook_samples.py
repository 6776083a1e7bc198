"""Sample plugins for the plugin contract's tests: call order, wrappers, context, API range.

Each is a plain object whose methods carry ``@hookimpl``, handed to the ``floki``
fixture through ``floki_plugins`` as entry-point plugins are registered.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Generator
from typing import Any

import msgspec
import pluggy
from aiohttp import web

from floki_core import hookimpl
from tests.core.plugin_samples import WaitingSource


class ClaimsGateway:
    """Registers the source name ``ward-7-gateway``; the first plugin called keeps it."""

    def __init__(self) -> None:
        self.source = WaitingSource()

    @hookimpl
    def floki_register_sources(self, registry: Any) -> None:
        registry.add("ward-7-gateway", self.source)


class ClaimsGatewayFirst(ClaimsGateway):
    @hookimpl(tryfirst=True)
    def floki_register_sources(self, registry: Any) -> None:
        registry.add("ward-7-gateway", self.source)


class ClaimsGatewayLast(ClaimsGateway):
    @hookimpl(trylast=True)
    def floki_register_sources(self, registry: Any) -> None:
        registry.add("ward-7-gateway", self.source)


class Starts:
    """Notes its name in ``started`` at startup and answers ``"<name> ready"``."""

    def __init__(self, name: str, started: list[str]) -> None:
        self.name = name
        self.started = started

    @hookimpl
    def floki_startup(self) -> str:
        self.started.append(self.name)
        return f"{self.name} ready"


class StartsAsync(Starts):
    @hookimpl
    async def floki_startup(self) -> str:  # type: ignore[override]
        await asyncio.sleep(0)
        self.started.append(self.name)
        return f"{self.name} ready"


class StartsFirst(Starts):
    @hookimpl(tryfirst=True)
    async def floki_startup(self) -> str:  # type: ignore[override]
        self.started.append(self.name)
        return f"{self.name} ready"


class StartsLast(Starts):
    @hookimpl(trylast=True)
    def floki_startup(self) -> str:
        self.started.append(self.name)
        return f"{self.name} ready"


class StartsLastAsync(Starts):
    @hookimpl(trylast=True)
    async def floki_startup(self) -> str:  # type: ignore[override]
        self.started.append(self.name)
        return f"{self.name} ready"


class RaisesAtStartup(Starts):
    @hookimpl
    def floki_startup(self) -> str:
        raise RuntimeError("ward map missing")


class WrapsStartup:
    """A new-style wrapper: notes who had started before and after, and the result."""

    def __init__(self, started: list[str]) -> None:
        self.started = started
        self.before: list[str] | None = None
        self.after: list[str] | None = None
        self.result: Any = None

    @hookimpl(wrapper=True)
    def floki_startup(self) -> Generator[None, Any, Any]:
        self.before = list(self.started)
        result = yield
        self.after = list(self.started)
        self.result = list(result)
        return result


class OldStyleWrapsStartup(WrapsStartup):
    """An old-style ``hookwrapper``, still supported by pluggy."""

    @hookimpl(hookwrapper=True)
    def floki_startup(self) -> Generator[None, pluggy.Result[Any], None]:
        self.before = list(self.started)
        outcome = yield
        self.after = list(self.started)
        self.result = list(outcome.get_result())


class WrapperRaisesAfter(WrapsStartup):
    @hookimpl(wrapper=True)
    def floki_startup(self) -> Generator[None, Any, Any]:
        yield
        raise RuntimeError("timing table full")


class WrapperHangs:
    """Blocks before its ``yield`` on I/O that never answers."""

    def __init__(self) -> None:
        self.release = threading.Event()

    @hookimpl(wrapper=True)
    def floki_startup(self) -> Generator[None, Any, Any]:
        self.release.wait()
        return (yield)


class WrapperThatIsNotAGenerator:
    @hookimpl(wrapper=True)
    def floki_startup(self) -> None:
        return None


# --- context for every hook ---------------------------------------------------------------


class BoardSettings(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    ward: str = "unassigned"


class WardBoard:
    """Serves its configured ward at ``GET /api/v1/wardboard/ward``: the routes hook
    reads the plugin's settings from its context."""

    @hookimpl
    def floki_register_config(self, registry: Any) -> None:
        registry.section(BoardSettings)

    @hookimpl
    def floki_register_routes(self, registry: Any, context: Any) -> None:
        ward = context.settings.ward

        async def answer(request: web.Request) -> web.Response:
            return web.json_response({"ward": ward, "plugin": context.name})

        registry.add("GET", "/api/v1/wardboard/ward", answer, policy="viewer")


class ContextEverywhere:
    """Notes which plugin's context each hook receives."""

    def __init__(self) -> None:
        self.seen: dict[str, str] = {}

    def _note(self, hook: str, context: Any) -> None:
        self.seen[hook] = context.name

    @hookimpl
    def floki_register_locators(self, registry: Any, context: Any) -> None:
        self._note("floki_register_locators", context)

    @hookimpl
    def floki_register_rule_types(self, registry: Any, context: Any) -> None:
        self._note("floki_register_rule_types", context)

    @hookimpl
    def floki_events(self, events: Any, context: Any) -> None:
        self._note("floki_events", context)


# --- declared plugin API ------------------------------------------------------------------


class Declares:
    """A plugin declaring ``FLOKI_PLUGIN_API`` (unless ``api`` is None); it remembers
    whether any of its hooks ran."""

    def __init__(self, api: object = None) -> None:
        if api is not None:
            self.FLOKI_PLUGIN_API = api
        self.source = WaitingSource()
        self.called: list[str] = []

    @hookimpl
    def floki_register_sources(self, registry: Any) -> None:
        self.called.append("floki_register_sources")
        registry.add(f"reader-{id(self)}", self.source)

    @hookimpl
    def floki_startup(self) -> None:
        self.called.append("floki_startup")


def declares(api: object) -> Callable[[], Declares]:
    return lambda: Declares(api)
