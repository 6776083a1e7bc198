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

from floki_core.plugins.registry import Answer, Answers, Param, RegistrationError, check_route

__all__ = [
    "PAGING",
    "Answer",
    "ApiRoute",
    "Handler",
    "Param",
    "RouteTable",
    "flag_query",
    "id_query",
]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
MAX_ID = 2**63 - 1

# What ``bodies.page`` accepts.
PAGING = (
    Param("limit", "integer", "page size", minimum=1, maximum=500, default=50),
    Param("offset", "integer", "items to skip", minimum=0, maximum=10**9, default=0),
)


def id_query(name: str, description: str = "") -> Param:
    """An optional record id in the query string, as ``bodies.id_param`` reads it."""
    return Param(name, "integer", description, minimum=1, maximum=MAX_ID)


def flag_query(name: str, description: str = "") -> Param:
    """true or false (also 1/0, yes/no): declared as a boolean."""
    return Param(name, "boolean", description)


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
    # Statuses beyond the success and those every route of this shape may answer
    # (openapi.py says which those are), e.g. {409: "the name is taken"}.
    answers: Answers = field(default_factory=dict, hash=False)
    rate_limited: bool = False  # may answer 429 with Retry-After
    path_params: tuple[Param, ...] = ()
    session_role: str | None = None  # a public page that checks its own session's role


@dataclass
class RouteTable:
    routes: list[ApiRoute] = field(default_factory=list)
    by_route: dict[web.AbstractRoute, ApiRoute] = field(default_factory=dict)

    def add(self, app: web.Application, spec: ApiRoute, handler: Handler) -> None:
        try:
            check_route(spec)
        except RegistrationError as exc:
            raise ValueError(str(exc)) from None
        route = app.router.add_route(spec.method, spec.path, handler)
        self.routes.append(spec)
        self.by_route[route] = spec

    def policy_for(self, route: web.AbstractRoute | None) -> ApiRoute | None:
        return self.by_route.get(route) if route is not None else None
