"""What the phone pages keep per running appliance: their settings and the sessions."""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from floki_core.api.keys import CORE
from floki_core.core import Core
from floki_qr.pages.sessions import SessionStore
from floki_qr.pages.settings import PageSettings


@dataclass
class PageState:
    core: Core
    settings: PageSettings
    sessions: SessionStore


# One per core: route handlers are registered before any appliance exists, and tests
# run several appliances in one process.
_STATES: weakref.WeakKeyDictionary[Core, PageState] = weakref.WeakKeyDictionary()


def _settings(core: Core) -> PageSettings:
    for context in core.plugins.contexts.values():
        pages: Any = getattr(context.settings, "pages", None)
        if isinstance(pages, PageSettings):
            return pages
    return PageSettings()


def page_state(request: web.Request) -> PageState:
    core = request.app[CORE]
    state = _STATES.get(core)
    if state is None:
        settings = _settings(core)
        sessions = SessionStore(
            idle_seconds=settings.session_idle_minutes * 60,
            max_seconds=settings.session_max_hours * 3600,
            limit=settings.max_sessions,
            log_size=settings.workshop_log_size,
        )
        state = _STATES[core] = PageState(core, settings, sessions)
    return state
