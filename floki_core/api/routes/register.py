"""CRUD for the register: sites, buildings, floors, zones, receivers, classes, assets, ids."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import msgspec
from aiohttp import web
from sqlalchemy import ColumnElement

from floki_core import schemas
from floki_core.api.bodies import (
    MAX_ID,
    ApiError,
    Page,
    json_response,
    page,
    page_response,
    path_id,
    principal,
    read_json,
)
from floki_core.api.keys import CORE
from floki_core.api.routing import PAGING, ApiRoute, Param, RouteTable
from floki_core.storage import register as reg
from floki_core.storage import resources
from floki_core.storage.assets import AssetView, PresentedAsset, search_assets
from floki_core.storage.resources import Resource
from floki_core.workflow.ppm_rules import STATE_NAMES

PREFIX = "/api/v1"
STATE_FILTER = Param(
    "state",
    description="only assets shown in this state (ppm_overdue: available but PPM overdue)",
    enum=STATE_NAMES,
)


@dataclass(frozen=True)
class Exposed:
    resource: Resource
    create: type[schemas.Input]
    update: type[schemas.Input] | None
    write_policy: str
    generic_delete: bool = True  # False where a module of its own deletes (floor plans)


EXPOSED = (
    Exposed(reg.SITES, schemas.SiteCreate, schemas.SiteUpdate, "admin"),
    Exposed(reg.BUILDINGS, schemas.BuildingCreate, schemas.BuildingUpdate, "admin"),
    Exposed(reg.FLOORS, schemas.FloorCreate, schemas.FloorUpdate, "admin", generic_delete=False),
    Exposed(reg.ZONES, schemas.ZoneCreate, schemas.ZoneUpdate, "admin"),
    Exposed(reg.RECEIVERS, schemas.ReceiverCreate, schemas.ReceiverUpdate, "admin"),
    Exposed(reg.ASSET_CLASSES, schemas.AssetClassCreate, schemas.AssetClassUpdate, "engineer"),
    Exposed(reg.ASSETS, schemas.AssetCreate, schemas.AssetUpdate, "engineer"),
    Exposed(reg.IDENTIFIERS, schemas.IdentifierCreate, None, "engineer"),
)


def _filters(request: web.Request, resource: Resource) -> dict[str, Any]:
    filters: dict[str, Any] = {}
    for name in resource.filters:
        raw = request.query.get(name)
        if raw is None:
            continue
        column = resource.row.__table__.columns[name]
        if column.type.python_type is int:
            try:
                filters[name] = int(raw)
            except ValueError:
                raise ApiError(400, f"query parameter {name} must be an integer") from None
            if not 0 <= filters[name] <= MAX_ID:
                raise ApiError(400, f"query parameter {name} is out of range")
        else:
            filters[name] = raw
    return filters


def _shown(request: web.Request, resource: Resource, record: Any) -> Any:
    """Assets as users see them: the presented state, never ``available`` when overdue."""
    if resource is not reg.ASSETS:
        return record
    presented = request.app[CORE].workflow.ppm.present(record)
    return PresentedAsset(**{**msgspec.structs.asdict(record), "state": presented["state"]})


def state_filter(request: web.Request, state: str | None) -> ColumnElement[bool] | None:
    """SQL for ``?state=`` on the presented state: ``available`` leaves PPM-overdue out."""
    if state is None:
        return None
    if state not in STATE_NAMES:
        raise ApiError(400, f"query parameter state must be one of {', '.join(STATE_NAMES)}")
    return request.app[CORE].workflow.ppm.state_condition(state)


def filter_params(resource: Resource) -> tuple[Param, ...]:
    """The listing's filters as ``_filters`` reads them: id columns as integers."""
    found = []
    for name in resource.filters:
        if resource is reg.ASSETS and name == "state":
            found.append(STATE_FILTER)
            continue
        column = resource.row.__table__.columns[name]
        about = f"only {resource.name} with this {name}"
        if column.type.python_type is int:
            found.append(Param(name, "integer", about, minimum=0, maximum=MAX_ID))
        else:
            found.append(Param(name, description=about))
    return tuple(found)


def add_crud(app: web.Application, table: RouteTable, exposed: Exposed) -> None:
    resource = exposed.resource
    shown_type = PresentedAsset if resource is reg.ASSETS else resource.record
    base = f"{PREFIX}/{resource.name}"
    tag = resource.name
    clash = {409: f"clashes with another {resource.label} (a unique field is taken)"}

    async def list_(request: web.Request) -> web.Response:
        limit, offset = page(request)
        items, total = await request.app[CORE].read(
            resources.list_records,
            resource,
            filters=_filters(request, resource),
            limit=limit,
            offset=offset,
        )
        return page_response(items, total, limit, offset)

    async def create(request: web.Request) -> web.Response:
        body = await read_json(request, exposed.create)
        record = await request.app[CORE].create(resource, body.given(), principal(request))
        return json_response(_shown(request, resource, record), 201)

    async def get(request: web.Request) -> web.Response:
        core = request.app[CORE]
        record = await core.read(resources.get_record, resource, path_id(request))
        return json_response(_shown(request, resource, record))

    async def delete(request: web.Request) -> web.Response:
        await request.app[CORE].delete(resource, path_id(request), principal(request))
        return web.Response(status=204)

    if resource is not reg.ASSETS:  # assets have a search listing of their own
        table.add(
            app,
            ApiRoute(
                "GET",
                base,
                "viewer",
                f"List {resource.name}",
                tag,
                response=Page[resource.record],  # type: ignore[name-defined]
                query=filter_params(resource) + PAGING,
            ),
            list_,
        )
    table.add(
        app,
        ApiRoute(
            "POST",
            base,
            exposed.write_policy,
            f"Create a {resource.label}",
            tag,
            body=exposed.create,
            response=shown_type,
            status=201,
            answers=clash,
        ),
        create,
    )
    table.add(
        app,
        ApiRoute(
            "GET", base + "/{id}", "viewer", f"One {resource.label}", tag, response=shown_type
        ),
        get,
    )
    if exposed.update is not None:
        update_schema = exposed.update

        async def update(request: web.Request) -> web.Response:
            body = await read_json(request, update_schema)
            changes = body.given()
            if not changes:
                raise ApiError(422, "no fields to change")
            core = request.app[CORE]
            if resource is reg.ASSETS and "state" in changes:
                # A state change is held to the transition table and kept in its history.
                states = core.workflow.states
                record = await states.edit_asset(path_id(request), changes, principal(request))
            else:
                record = await core.update(resource, path_id(request), changes, principal(request))
            return json_response(_shown(request, resource, record))

        table.add(
            app,
            ApiRoute(
                "PATCH",
                base + "/{id}",
                exposed.write_policy,
                f"Change a {resource.label}",
                tag,
                body=update_schema,
                response=shown_type,
                answers=clash,
            ),
            update,
        )
    if not exposed.generic_delete:
        return
    table.add(
        app,
        ApiRoute(
            "DELETE",
            base + "/{id}",
            exposed.write_policy,
            f"Delete a {resource.label}",
            tag,
            status=204,
            answers={409: "other records still refer to it"},
        ),
        delete,
    )


async def search(request: web.Request) -> web.Response:
    limit, offset = page(request)
    q = request.query.get("q", "")
    if len(q) > 200:
        raise ApiError(400, "query parameter q is longer than 200 characters")
    core = request.app[CORE]
    filters = _filters(request, reg.ASSETS)
    where = state_filter(request, filters.pop("state", None))
    items, total = await core.read(
        search_assets, q=q, filters=filters, where=where, limit=limit, offset=offset
    )
    located = [
        msgspec.structs.replace(
            item, location=core.locations.summary(item.id), **core.workflow.ppm.present(item)
        )
        for item in items
    ]
    return page_response(located, total, limit, offset)


def add_routes(app: web.Application, table: RouteTable) -> None:
    table.add(
        app,
        ApiRoute(
            "GET",
            f"{PREFIX}/assets",
            "viewer",
            "Search assets: every word of q must match the asset number, description, "
            "serial, department, or the class name, category, make or model",
            "assets",
            response=Page[AssetView],
            query=(
                Param("q", description="words to search for, e.g. bladder scanner", max_length=200),
                *filter_params(reg.ASSETS),
                *PAGING,
            ),
        ),
        search,
    )
    for exposed in EXPOSED:
        add_crud(app, table, exposed)
