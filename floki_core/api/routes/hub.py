"""``/api/v1/hub/...``: the trust-wide view a hub serves (docs/hub.md).

Read by any signed-in user (viewer or above), as the appliance's own locations are. An
appliance without ``[hub]`` answers 404 with the reason."""

from __future__ import annotations

import msgspec
from aiohttp import web

from floki_core.api.bodies import ApiError, int_param, json_response
from floki_core.api.keys import CORE
from floki_core.api.routing import ApiRoute, Param, RouteTable
from floki_core.hub import applier
from floki_core.hub.consumer import HubConsumer, HubStatus

PREFIX = "/api/v1/hub"
MAX_TEXT = 200
DEFAULT_LIMIT = 100
MAX_LIMIT = 500
NOT_A_HUB = "this appliance is not a trust hub (its configuration has no [hub] section)"


class HubAssets(msgspec.Struct, kw_only=True):
    assets: list[applier.HubAsset]


class HubSites(msgspec.Struct, kw_only=True):
    consumer: HubStatus  # the hub's reading of the stream
    sites: list[applier.HubSite]


def _hub(request: web.Request) -> HubConsumer:
    hub = request.app[CORE].hub
    if hub is None:
        raise ApiError(404, NOT_A_HUB)
    return hub


def _site(request: web.Request) -> str | None:
    site = request.query.get("site")
    if site is None:
        return None
    if not applier.SITE_TOKEN.match(site):
        raise ApiError(
            400, f"query parameter site: {site[:80]!r} is not a site id (letters, digits, - or _)"
        )
    return site


async def assets(request: web.Request) -> web.Response:
    hub = _hub(request)
    site = _site(request)
    text = request.query.get("q", "").strip()
    if len(text) > MAX_TEXT:
        raise ApiError(400, f"query parameter q is longer than {MAX_TEXT} characters")
    limit = int_param(request, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
    if site is not None and not await hub.store.read(applier.known_site, site):
        raise ApiError(404, f"no events from site {site!r} have reached this hub")
    found = await hub.store.read(applier.find_assets, site, text or None, limit)
    return json_response(HubAssets(assets=found))


async def sites(request: web.Request) -> web.Response:
    hub = _hub(request)
    found = await hub.store.read(applier.list_sites)
    return json_response(HubSites(consumer=hub.status, sites=found))


def add_routes(app: web.Application, table: RouteTable) -> None:
    table.add(
        app,
        ApiRoute(
            "GET",
            f"{PREFIX}/assets",
            "viewer",
            "Trust-wide: where each site's assets are now, from the sites' events, by site "
            "and by text in the asset number or description (404 on an appliance that is "
            "not a hub)",
            "hub",
            response=HubAssets,
            query=(
                Param("site", description="only this site (its site_id)", max_length=64),
                Param(
                    "q",
                    description="text in the asset number or description",
                    max_length=MAX_TEXT,
                ),
                Param(
                    "limit",
                    "integer",
                    "at most this many assets",
                    minimum=1,
                    maximum=MAX_LIMIT,
                    default=DEFAULT_LIMIT,
                ),
            ),
            answers={404: "not a hub, or no events from that site"},
        ),
        assets,
    )
    table.add(
        app,
        ApiRoute(
            "GET",
            f"{PREFIX}/sites",
            "viewer",
            "Trust-wide: each site's last event, events applied, duplicates skipped, lag and "
            "history kept, with the hub consumer's state (404 on an appliance that is not a hub)",
            "hub",
            response=HubSites,
            answers={404: "this appliance is not a hub"},
        ),
        sites,
    )
