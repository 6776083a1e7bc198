"""Routes (to be filled in)."""

from __future__ import annotations

from aiohttp import web

from floki_core.api.routing import RouteTable


def add_routes(app: web.Application, table: RouteTable) -> None:
    del app, table
