"""Routes with their role policy and documentation, declared in one place.

Every route the appliance serves goes through ``RouteTable.add``: the table
registers it with aiohttp, remembers its policy for the auth middleware (a route
missing from the table is refused) and describes it for ``openapi.json``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import msgspec
from aiohttp import web

from floki_core.plugins.registry import POLICIES

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class Param:
    name: str
    type: str = "string"  # JSON-schema type
    description: str = ""
    required: bool = False


@dataclass(frozen=True)
class ApiRoute:
    method: str
    path: str
    policy: str
    summary: str
    tag: str
    body: type[msgspec.Struct] | None = None
    body_type: str | None = None  # a non-JSON request body, e.g. "image/png"
    response: Any = None
    status: int = 200
    query: tuple[Param, ...] = ()
    plugin: str | None = None
    produces: str = "application/json"


@dataclass
class RouteTable:
    routes: list[ApiRoute] = field(default_factory=list)
    by_route: dict[web.AbstractRoute, ApiRoute] = field(default_factory=dict)

    def add(self, app: web.Application, spec: ApiRoute, handler: Handler) -> None:
        if spec.policy not in POLICIES:
            raise ValueError(f"{spec.method} {spec.path}: unknown policy {spec.policy!r}")
        route = app.router.add_route(spec.method, spec.path, handler)
        self.routes.append(spec)
        self.by_route[route] = spec

    def policy_for(self, route: web.AbstractRoute | None) -> ApiRoute | None:
        return self.by_route.get(route) if route is not None else None
