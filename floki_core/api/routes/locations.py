"""Where things are: ingest, current location, history, zone contents, sources, metrics."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from aiohttp import web
from sqlalchemy.orm import Session

from floki_core.api.bodies import (
    id_param,
    json_response,
    page,
    page_response,
    path_id,
)
from floki_core.api.keys import CORE
from floki_core.api.routes.register import STATE_FILTER, state_filter
from floki_core.api.routing import PAGING, ApiRoute, Param, RouteTable, id_query
from floki_core.api.uploads import (
    Decoded,
    UploadReceipt,
    UploadRefused,
    accept_upload,
    upload_source,
)
from floki_core.location import store
from floki_core.location.admission import SourceStats
from floki_core.observations import Observation
from floki_core.storage import resources
from floki_core.storage.register import ASSETS, ZONES

PREFIX = "/api/v1"


class IngestBatch(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    observations: Annotated[list[Observation], msgspec.Meta(max_length=100_000)]


def _decode_batch(raw: bytes) -> Decoded:
    try:
        batch = msgspec.json.decode(raw, type=IngestBatch).observations
    except msgspec.ValidationError as exc:
        raise UploadRefused(422, f"invalid batch: {exc}", "invalid") from None
    except msgspec.DecodeError as exc:
        raise UploadRefused(400, f"malformed JSON: {exc}", "malformed") from None
    return Decoded(batch)


async def ingest(request: web.Request) -> web.Response:
    return await accept_upload(request, upload_source(request, "http"), _decode_batch)


async def _asset_exists(request: web.Request, asset_id: int) -> None:
    await request.app[CORE].read(resources.get_record, ASSETS, asset_id)


async def location(request: web.Request) -> web.Response:
    asset_id = path_id(request)
    await _asset_exists(request, asset_id)
    answer = request.app[CORE].locations.where_is(asset_id)
    if answer is None:
        return json_response({"asset_id": asset_id, "located": False})
    return json_response({"located": True, **answer})


async def history(request: web.Request) -> web.Response:
    core = request.app[CORE]
    asset_id = path_id(request)
    await _asset_exists(request, asset_id)
    await core.locations.flush()  # include moves still on their way to the database
    limit, offset = page(request)
    stays, total = await core.read(store.history, asset_id, limit=limit, offset=offset)
    zones = core.locations.index.zones
    items = [
        {**msgspec.to_builtins(s), "zone": zones[s.zone_id].name if s.zone_id in zones else None}
        for s in stays
    ]
    return page_response(items, total, limit, offset)


async def zone_assets(request: web.Request) -> web.Response:
    core = request.app[CORE]
    zone_id = path_id(request)
    await core.read(resources.get_record, ZONES, zone_id)
    await core.locations.flush()
    limit, offset = page(request)
    nested = request.query.get("descendants", "true").lower() not in ("0", "false", "no")
    zone_ids = sorted(core.locations.index.descendants(zone_id)) if nested else [zone_id]

    class_id = id_param(request, "class_id")
    ppm = core.workflow.ppm
    condition = state_filter(request, request.query.get("state"))

    def query(session: Session) -> tuple[list[dict[str, Any]], int]:
        return store.assets_in_zones(
            session, zone_ids, class_id=class_id, state=condition, limit=limit, offset=offset
        )

    items, total = await core.read(query)
    stale_after = core.config.location.resolver.stale_after_seconds
    now = core.clock.now()
    zones = core.locations.index.zones
    for item in items:
        item["zone"] = zones[item["zone_id"]].name if item["zone_id"] in zones else None
        item["stale"] = (now - item["last_seen"]).total_seconds() > stale_after
        item["recorded_state"] = item["state"]
        item["state"] = ppm.presented(
            item["state"], item["next_ppm_due"], asset_id=item["id"], class_id=item["class_id"]
        )
        item["available"] = item["state"] == "available"
    return page_response(items, total, limit, offset)


async def sources(request: web.Request) -> web.Response:
    core = request.app[CORE]
    queue = core.ingest.counters
    admitted = core.locations.admission.stats
    # A source that has only refused input so far (sink.reject) is listed too.
    names = sorted({*admitted, *(n for n, c in queue.items() if c.rejected)})
    items = []
    for name in names:
        held = admitted.get(name) or SourceStats()
        stats = held.as_dict()
        counters = queue.get(name)
        if counters is not None and counters.rejected:
            stats["rejected"] = dict(held.rejected + counters.rejected)
        items.append({"name": name, **stats, "processed": counters.processed if counters else 0})
    return json_response(
        {
            "items": items,
            "queue_depth": core.ingest.depth,
            "queue_capacity": core.ingest.capacity,
            # Sightings of a technology no locator handles (install or enable its plugin).
            "unlocatable": dict(core.locations.unlocatable),
            # Receiver identifiers heard but not registered (register them to use them).
            "unknown_receivers": dict(core.locations.unknown_receivers.most_common(100)),
        }
    )


async def unknown_tags(request: web.Request) -> web.Response:
    limit, offset = page(request)
    tags = request.app[CORE].locations.unknown.listing()
    items = [vars(t) for t in tags[offset : offset + limit]]
    return page_response(items, len(tags), limit, offset)


def add_routes(app: web.Application, table: RouteTable) -> None:
    routes = [
        (
            ApiRoute(
                "POST",
                f"{PREFIX}/ingest",
                "device",
                "A batch of observations from a gateway (device token); 202: queued, not "
                "yet applied or stored; 503 + Retry-After when the appliance is saturated",
                "ingest",
                body=IngestBatch,
                response=UploadReceipt,
                status=202,
            ),
            ingest,
        ),
        (
            ApiRoute(
                "GET",
                f"{PREFIX}/sources",
                "viewer",
                "Per-source counters: received, accepted, duplicates, quarantined, rejected",
                "ingest",
            ),
            sources,
        ),
        (
            ApiRoute(
                "GET",
                f"{PREFIX}/unknown-tags",
                "viewer",
                "Tags heard but bound to no asset, newest first",
                "ingest",
                query=PAGING,
            ),
            unknown_tags,
        ),
        (
            ApiRoute(
                "GET",
                f"{PREFIX}/assets/{{id}}/location",
                "viewer",
                "Where the asset is: zone and path, confidence, method, since, last seen, "
                "stale flag and the evidence behind it",
                "locations",
            ),
            location,
        ),
        (
            ApiRoute(
                "GET",
                f"{PREFIX}/assets/{{id}}/history",
                "viewer",
                "The asset's stays in zones, newest first",
                "locations",
                query=PAGING,
            ),
            history,
        ),
        (
            ApiRoute(
                "GET",
                f"{PREFIX}/zones/{{id}}/assets",
                "viewer",
                "Assets now in the zone (and, by default, the zones inside it)",
                "locations",
                query=(
                    Param(
                        "descendants",
                        "boolean",
                        "include the zones inside it (default true; 0, false or no: not)",
                    ),
                    id_query("class_id", "only assets of this class"),
                    STATE_FILTER,
                    *PAGING,
                ),
            ),
            zone_assets,
        ),
    ]
    for spec, handler in routes:
        table.add(app, spec, handler)
