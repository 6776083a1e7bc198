"""Typed application keys."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    from floki_core.api.routing import ApiRoute, RouteTable
    from floki_core.api.token_cache import TokenCache
    from floki_core.core import Core
    from floki_core.domain import Principal

CORE: web.AppKey[Core] = web.AppKey("core")
ROUTES: web.AppKey[RouteTable] = web.AppKey("routes")
PRINCIPAL: web.RequestKey[Principal | None] = web.RequestKey("principal")
ROUTE_SPEC: web.RequestKey[ApiRoute] = web.RequestKey("route_spec")
TOKENS: web.AppKey[TokenCache] = web.AppKey("tokens")
SOCKETS: web.AppKey[set[web.WebSocketResponse]] = web.AppKey("sockets")
