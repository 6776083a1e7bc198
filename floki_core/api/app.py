"""``create_app``: the aiohttp application around a started ``Core``."""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web

from floki_core.api import middleware
from floki_core.api.keys import CORE, ROUTES, SOCKETS, TOKENS
from floki_core.api.openapi import build_openapi
from floki_core.api.routes import (
    accounts,
    alerts,
    calibrations,
    events,
    federation,
    floors,
    hub,
    loans,
    locations,
    metrics,
    ppm,
    register,
    register_files,
    states,
    system,
    tags,
    utilisation,
)
from floki_core.api.routing import ApiRoute, RouteTable
from floki_core.api.token_cache import TokenCache
from floki_core.core import Core

log = logging.getLogger(__name__)


def _add_core_routes(
    app: web.Application, table: RouteTable, *, metrics_public: bool = False
) -> None:
    # register_files before register: its fixed paths must win over /assets/{id}.
    for module in (
        system,
        accounts,
        floors,
        register_files,
        locations,
        register,
        events,
        tags,
        calibrations,
        states,
        ppm,
        alerts,
        loans,
        utilisation,
        federation,
        hub,
    ):
        module.add_routes(app, table)
    metrics.add_routes(app, table, public=metrics_public)


def _core_table() -> RouteTable:
    table = RouteTable()
    _add_core_routes(web.Application(), table)
    return table


def core_route_keys() -> set[tuple[str, str]]:
    """(method, path) of every core route: plugins may not take these."""
    return {(r.method, r.path) for r in _core_table().routes}


def core_openapi() -> dict[str, Any]:
    """The OpenAPI document of the core's routes (no plugins), as in docs/api/."""
    return build_openapi(_core_table().routes)


def create_app(core: Core) -> web.Application:
    """Build the application; call after ``core.start()`` so plugin routes are known."""
    limit = max(core.config.server.max_body_bytes, core.config.server.max_upload_bytes)
    app = web.Application(
        middlewares=[middleware.errors, middleware.policy],
        client_max_size=limit,
        # Bodies arrive as sent: api/bodies.py decodes them (and refuses a stream that is
        # not what its Content-Encoding says), and a body left unread after a refusal is
        # drained as raw bytes, never through a decoder outside any handler.
        handler_args={"auto_decompress": False},
    )
    app[CORE] = core
    app[ROUTES] = table = RouteTable()
    app[SOCKETS] = set()
    app[TOKENS] = TokenCache(core.clock)
    # Tokens' last-used stamps still in memory are written when the application stops.
    app.on_cleanup.append(middleware.flush_token_stamps)
    _add_core_routes(app, table, metrics_public=core.config.metrics.public)
    _add_plugin_routes(app, table, core)
    app.on_shutdown.append(events.close_sockets)
    return app


def _add_plugin_routes(app: web.Application, table: RouteTable, core: Core) -> None:
    # Clashes with core routes were refused at registration (PluginHost.register).
    active = set(core.plugins.active())
    for registration in core.plugins.registries.routes:
        if registration.plugin not in active:
            continue
        spec = registration.item
        route = ApiRoute(
            spec.method,
            spec.path,
            spec.policy,
            spec.summary,
            registration.plugin,
            body=spec.body,
            body_type=spec.body_type,
            response=spec.response,
            status=spec.status,
            query=spec.query,
            plugin=registration.plugin,
            produces=spec.produces,
            answers=spec.answers,
            rate_limited=spec.rate_limited,
            path_params=spec.path_params,
            session_role=spec.session_role,
        )
        table.add(app, route, spec.handler)
