"""What the phone pages keep per running appliance: its plugin context, their settings
and the sessions. Built when the routes are registered, which happens once for each
appliance (tests run several in one process), and handed to every page handler."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web

from floki_core.sdk import PluginContext
from floki_qr.pages.sessions import SessionStore
from floki_qr.pages.settings import PageSettings

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
# A page as registered: given the appliance's page state, the aiohttp handler.
PageRoute = Callable[["PageState"], Handler]


@dataclass
class PageState:
    context: PluginContext
    settings: PageSettings
    sessions: SessionStore


def page_state(context: PluginContext) -> PageState:
    pages = getattr(context.settings, "pages", None)
    settings = pages if isinstance(pages, PageSettings) else PageSettings()
    sessions = SessionStore(
        idle_seconds=settings.session_idle_minutes * 60,
        max_seconds=settings.session_max_hours * 3600,
        limit=settings.max_sessions,
        log_size=settings.workshop_log_size,
    )
    return PageState(context, settings, sessions)


def open_page(
    handler: Callable[[web.Request, PageState], Awaitable[web.StreamResponse]],
) -> PageRoute:
    """A page anyone may open (the login page): the handler gets the page state."""

    def bind(state: PageState) -> Handler:
        @functools.wraps(handler)
        async def serve(request: web.Request) -> web.StreamResponse:
            return await handler(request, state)

        return serve

    return bind
