"""Tags themselves, apart from the assets they are bound to: their batteries."""

from __future__ import annotations

import msgspec
from aiohttp import web

from floki_core.api.bodies import ApiError, Page, page, page_response
from floki_core.api.keys import CORE
from floki_core.api.routing import PAGING, ApiRoute, Param, RouteTable, flag_query
from floki_core.location.batteries import TagBattery, asset_labels

PREFIX = "/api/v1/tags"
_TRUE, _FALSE = ("true", "1", "yes"), ("false", "0", "no")


def _bool_query(request: web.Request, name: str) -> bool | None:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return None
    if raw.lower() in _TRUE:
        return True
    if raw.lower() in _FALSE:
        return False
    raise ApiError(400, f"query parameter {name} must be true or false, got {raw!r}")


async def batteries(request: web.Request) -> web.Response:
    core = request.app[CORE]
    limit, offset = page(request)
    low = _bool_query(request, "low")
    technology = request.query.get("technology") or None
    tags = core.locations.batteries
    await tags.refresh()  # include readings still on their way to the database
    readings = tags.listing(low=low, technology=technology)
    shown = readings[offset : offset + limit]
    index = core.locations.index
    bound = [index.asset_for(r.technology, r.tag) for r in shown]
    wanted = {a for a in bound if a is not None}
    assets = await core.read(asset_labels, wanted) if wanted else {}
    items = [
        TagBattery(
            **msgspec.structs.asdict(r),
            asset=assets.get(asset_id) if asset_id is not None else None,
        )
        for r, asset_id in zip(shown, bound, strict=True)
    ]
    return page_response(items, len(readings), limit, offset)


def add_routes(app: web.Application, table: RouteTable) -> None:
    table.add(
        app,
        ApiRoute(
            "GET",
            f"{PREFIX}/batteries",
            "viewer",
            "The latest battery reading of each tag, those needing a battery first, then "
            "lowest first; low=true lists only the tags needing a battery",
            "tags",
            response=Page[TagBattery],
            query=(
                flag_query("low", "true: only tags needing a battery; false: only the others"),
                Param("technology", description="only tags of this technology"),
                *PAGING,
            ),
        ),
        batteries,
    )
