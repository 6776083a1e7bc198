"""``GET /api/v1/federation``: the link to the trust hub, as its figures."""

from __future__ import annotations

from aiohttp import web

from floki_core.api.bodies import json_response
from floki_core.api.keys import CORE
from floki_core.api.routing import ApiRoute, RouteTable
from floki_core.federation.link import LinkStatus

PREFIX = "/api/v1"


async def federation(request: web.Request) -> web.Response:
    link = request.app[CORE].federation
    if link is None:
        return json_response(LinkStatus(enabled=False))
    return json_response(await link.current_status())


def add_routes(app: web.Application, table: RouteTable) -> None:
    table.add(
        app,
        ApiRoute(
            "GET",
            f"{PREFIX}/federation",
            "engineer",
            "The link to the trust hub: connected or not, events waiting, sent, dropped "
            'location moves and the last error ({"enabled": false} without [federation])',
            "system",
            response=LinkStatus,
        ),
        federation,
    )
