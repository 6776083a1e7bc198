"""``create_app``: the aiohttp application around a started ``Core``."""

from __future__ import annotations

import logging

from aiohttp import web

from floki_core.api import middleware
from floki_core.api.keys import CORE, ROUTES, SOCKETS
from floki_core.api.routes import accounts, events, floors, register, register_files, system
from floki_core.api.routing import ApiRoute, RouteTable
from floki_core.core import Core

log = logging.getLogger(__name__)


def create_app(core: Core) -> web.Application:
    """Build the application; call after ``core.start()`` so plugin routes are known."""
    limit = max(core.config.server.max_body_bytes, core.config.server.max_upload_bytes)
    app = web.Application(middlewares=[middleware.errors, middleware.policy], client_max_size=limit)
    app[CORE] = core
    app[ROUTES] = table = RouteTable()
    app[SOCKETS] = set()
    for module in (system, accounts, floors, register_files, register, events):
        module.add_routes(app, table)
    _add_plugin_routes(app, table, core)
    app.on_shutdown.append(events.close_sockets)
    return app


def _add_plugin_routes(app: web.Application, table: RouteTable, core: Core) -> None:
    taken = {(r.method, r.path) for r in table.routes}
    for registration in core.plugins.registries.routes:
        spec = registration.item
        if (spec.method, spec.path) in taken:
            core.plugins._fail(
                registration.plugin, f"route {spec.method} {spec.path} clashes with the core's"
            )
            continue
        if registration.plugin not in core.plugins.active():
            continue
        route = ApiRoute(
            spec.method,
            spec.path,
            spec.policy,
            spec.summary,
            registration.plugin,
            body=spec.body,
            plugin=registration.plugin,
        )
        table.add(app, route, spec.handler)
