"""Typed application keys."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    from floki_core.api.routing import RouteTable
    from floki_core.core import Core

CORE: web.AppKey[Core] = web.AppKey("core")
ROUTES: web.AppKey[RouteTable] = web.AppKey("routes")
SOCKETS: web.AppKey[set[web.WebSocketResponse]] = web.AppKey("sockets")
