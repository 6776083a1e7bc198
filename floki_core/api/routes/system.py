"""Health, the OpenAPI document, plugins and the audit trail."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from floki_core import PLUGIN_API, __version__
from floki_core.api.bodies import Page, json_response, page, page_response
from floki_core.api.keys import CORE, ROUTES
from floki_core.api.openapi import build_openapi
from floki_core.api.routing import PAGING, ApiRoute, Param, RouteTable
from floki_core.domain import AuditEntry
from floki_core.plugins.listing import PluginListing
from floki_core.storage.audit import list_audit

PREFIX = "/api/v1"


async def health(request: web.Request) -> web.Response:
    """Up, and ``degraded`` with the problems while it cannot save (a full disk)."""
    core = request.app[CORE]
    storage = core.storage
    await storage.recheck()
    return json_response(
        {
            "status": "degraded" if storage.degraded else "ok",
            "version": __version__,
            "site": core.config.site.name,
            "problems": storage.problems(),
        }
    )


# The document, built once per application (off the event loop): the routes do not
# change while it serves, and building it takes long enough (100+ ms) to stall the loop.
_OPENAPI: web.AppKey[dict[str, Any]] = web.AppKey("openapi_document", dict)


async def openapi(request: web.Request) -> web.Response:
    cache = request.app[_OPENAPI]
    if "document" not in cache:
        cache["document"] = await asyncio.to_thread(build_openapi, request.app[ROUTES].routes)
    return json_response(cache["document"])


async def plugins(request: web.Request) -> web.Response:
    infos = request.app[CORE].plugins.infos()
    return json_response(
        {"items": [p.as_dict() for p in infos], "plugin_api": "{}.{}".format(*PLUGIN_API)}
    )


async def audit(request: web.Request) -> web.Response:
    limit, offset = page(request)
    q = request.query
    items, total = await request.app[CORE].read(
        list_audit,
        entity=q.get("entity"),
        entity_id=q.get("entity_id"),
        action=q.get("action"),
        limit=limit,
        offset=offset,
    )
    return page_response(items, total, limit, offset)


def add_routes(app: web.Application, table: RouteTable) -> None:
    app[_OPENAPI] = {}
    table.add(
        app,
        ApiRoute(
            "GET",
            f"{PREFIX}/health",
            "public",
            "Is the appliance up, or degraded and why (no token needed)",
            "system",
        ),
        health,
    )
    table.add(
        app,
        ApiRoute(
            "GET", f"{PREFIX}/openapi.json", "viewer", "This API described as OpenAPI 3.1", "system"
        ),
        openapi,
    )
    table.add(
        app,
        ApiRoute(
            "GET",
            f"{PREFIX}/plugins",
            "viewer",
            "Plugins with version, status and, when failed, the reason",
            "system",
            response=PluginListing,
        ),
        plugins,
    )
    table.add(
        app,
        ApiRoute(
            "GET",
            f"{PREFIX}/audit",
            "admin",
            "The audit trail, newest first",
            "system",
            response=Page[AuditEntry],
            query=(Param("entity"), Param("entity_id"), Param("action"), *PAGING),
        ),
        audit,
    )
