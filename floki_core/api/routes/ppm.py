"""PPM: the queue with last locations (JSON and CSV), schedules, compliance and its
trend, and work orders."""

from __future__ import annotations

from aiohttp import web

from floki_core.api.bodies import (
    ApiError,
    Page,
    id_param,
    int_param,
    json_response,
    page,
    page_response,
    path_id,
    principal,
    read_json,
)
from floki_core.api.keys import CORE
from floki_core.api.routing import PAGING, ApiRoute, Handler, Param, RouteTable, id_query
from floki_core.workflow.ppm_compliance import DIMENSIONS, ComplianceReport, ComplianceTrend
from floki_core.workflow.ppm_queue import PpmQueue
from floki_core.workflow.ppm_schedules import AssetPpm, ScheduleInput, ScheduleList, Target
from floki_core.workflow.work_orders import (
    WorkOrder,
    WorkOrderAssign,
    WorkOrderCancel,
    WorkOrderComplete,
    WorkOrderCreate,
)

PREFIX = "/api/v1"
_CLOSED = {409: "the work order is completed or cancelled already"}
WORK_ORDER_STATUSES = ("open", "completed", "cancelled")


def _within(request: web.Request) -> int:
    default = request.app[CORE].config.workflow.ppm.default_within_days
    return int_param(request, "within_days", default, 0, 3650)


async def queue(request: web.Request) -> web.Response:
    return json_response(await request.app[CORE].workflow.ppm.queue(_within(request)))


async def queue_csv(request: web.Request) -> web.Response:
    core = request.app[CORE]
    text = await core.workflow.ppm.queue_csv(_within(request), principal(request))
    stamp = core.clock.now().strftime("%Y%m%d-%H%M")
    return web.Response(
        text=text,
        content_type="text/csv",
        charset="utf-8",
        headers={"Content-Disposition": f'attachment; filename="floki-ppm-queue-{stamp}.csv"'},
    )


def _dimension(request: web.Request, default: str) -> str:
    by = request.query.get("by", default)
    if by not in DIMENSIONS:
        raise ApiError(400, f"query parameter by must be one of {', '.join(DIMENSIONS)}")
    return by


async def compliance(request: web.Request) -> web.Response:
    by = _dimension(request, "class")
    return json_response(await request.app[CORE].workflow.ppm.compliance(by))


async def trend(request: web.Request) -> web.Response:
    days = int_param(request, "days", 90, 1, 3650)
    by = _dimension(request, "all")
    group = request.query.get("group")
    return json_response(await request.app[CORE].workflow.ppm.trend(days, by, group))


async def schedules(request: web.Request) -> web.Response:
    return json_response(await request.app[CORE].workflow.ppm.schedules())


def _set_schedule(target: Target) -> Handler:
    async def handler(request: web.Request) -> web.Response:
        body = await read_json(request, ScheduleInput)
        ppm = request.app[CORE].workflow.ppm
        return json_response(
            await ppm.set_schedule(target, path_id(request), body, principal(request))
        )

    return handler


async def delete_schedule(request: web.Request) -> web.Response:
    await request.app[CORE].workflow.ppm.delete_schedule(path_id(request), principal(request))
    return web.Response(status=204)


async def asset_ppm(request: web.Request) -> web.Response:
    return json_response(await request.app[CORE].workflow.ppm.asset_ppm(path_id(request)))


async def work_orders(request: web.Request) -> web.Response:
    limit, offset = page(request)
    status = request.query.get("status")
    if status is not None and status not in WORK_ORDER_STATUSES:
        raise ApiError(
            400, f"query parameter status must be one of {', '.join(WORK_ORDER_STATUSES)}"
        )
    items, total = await request.app[CORE].workflow.ppm.work_orders.listing(
        status=status,
        asset_id=id_param(request, "asset_id"),
        assigned_to=id_param(request, "assigned_to"),
        limit=limit,
        offset=offset,
    )
    return page_response(items, total, limit, offset)


async def create_work_order(request: web.Request) -> web.Response:
    body = await read_json(request, WorkOrderCreate)
    orders = request.app[CORE].workflow.ppm.work_orders
    return json_response(await orders.create(body, principal(request)), 201)


async def work_order(request: web.Request) -> web.Response:
    return json_response(await request.app[CORE].workflow.ppm.work_orders.get(path_id(request)))


async def assign(request: web.Request) -> web.Response:
    body = await read_json(request, WorkOrderAssign)
    orders = request.app[CORE].workflow.ppm.work_orders
    return json_response(await orders.assign(path_id(request), body.user_id, principal(request)))


async def complete(request: web.Request) -> web.Response:
    body = await read_json(request, WorkOrderComplete)
    orders = request.app[CORE].workflow.ppm.work_orders
    return json_response(await orders.complete(path_id(request), body, principal(request)))


async def cancel(request: web.Request) -> web.Response:
    body = await read_json(request, WorkOrderCancel) if request.can_read_body else WorkOrderCancel()
    orders = request.app[CORE].workflow.ppm.work_orders
    return json_response(await orders.cancel(path_id(request), body.reason, principal(request)))


def add_routes(app: web.Application, table: RouteTable) -> None:
    within = Param(
        "within_days",
        "integer",
        "due within this many days (default: [workflow.ppm] default_within_days)",
        minimum=0,
        maximum=3650,
    )
    wo = f"{PREFIX}/work-orders"
    routes = [
        (
            ApiRoute(
                "GET",
                f"{PREFIX}/ppm/queue",
                "viewer",
                "Assets overdue or due within N days with their last known location, in round "
                "order (site, building, floor, zone), and those nobody can find, escalated "
                "when unseen too long",
                "ppm",
                response=PpmQueue,
                query=(within,),
            ),
            queue,
        ),
        (
            ApiRoute(
                "GET",
                f"{PREFIX}/ppm/queue.csv",
                "viewer",
                "The PPM queue as CSV (formula-leading cells neutralised); audited",
                "ppm",
                query=(within,),
                produces="text/csv",
            ),
            queue_csv,
        ),
        (
            ApiRoute(
                "GET",
                f"{PREFIX}/ppm/compliance",
                "viewer",
                "Share of scheduled assets in PPM date, by class, department or criticality",
                "ppm",
                response=ComplianceReport,
                query=(
                    Param(
                        "by",
                        description="class (default), department, criticality, all",
                        enum=DIMENSIONS,
                    ),
                ),
            ),
            compliance,
        ),
        (
            ApiRoute(
                "GET",
                f"{PREFIX}/ppm/compliance/trend",
                "viewer",
                "PPM compliance day by day from the daily snapshots",
                "ppm",
                response=ComplianceTrend,
                query=(
                    Param("days", "integer", "how far back (default 90)", minimum=1, maximum=3650),
                    Param(
                        "by",
                        description="all (default), class, department, criticality",
                        enum=DIMENSIONS,
                    ),
                    Param("group", description="only this class, department or criticality"),
                ),
            ),
            trend,
        ),
        (
            ApiRoute(
                "GET",
                f"{PREFIX}/ppm/schedules",
                "viewer",
                "PPM schedule overrides per class and per asset, and the default tolerance",
                "ppm",
                response=ScheduleList,
            ),
            schedules,
        ),
        (
            ApiRoute(
                "PUT",
                f"{PREFIX}/ppm/schedules/classes/{{id}}",
                "engineer",
                "Set an asset class's PPM interval and tolerance window",
                "ppm",
                body=ScheduleInput,
                response=ScheduleList,
            ),
            _set_schedule("classes"),
        ),
        (
            ApiRoute(
                "PUT",
                f"{PREFIX}/ppm/schedules/assets/{{id}}",
                "engineer",
                "Set one asset's own PPM interval and tolerance window (over its class's)",
                "ppm",
                body=ScheduleInput,
                response=ScheduleList,
            ),
            _set_schedule("assets"),
        ),
        (
            ApiRoute(
                "DELETE",
                f"{PREFIX}/ppm/schedules/{{id}}",
                "engineer",
                "Remove a schedule override",
                "ppm",
                status=204,
            ),
            delete_schedule,
        ),
        (
            ApiRoute(
                "GET",
                f"{PREFIX}/assets/{{id}}/ppm",
                "viewer",
                "The asset's effective PPM schedule, due date and standing",
                "ppm",
                response=AssetPpm,
            ),
            asset_ppm,
        ),
        (
            ApiRoute(
                "GET",
                wo,
                "viewer",
                "Work orders, newest first",
                "work-orders",
                response=Page[WorkOrder],
                query=(
                    Param(
                        "status",
                        description="open, completed or cancelled",
                        enum=WORK_ORDER_STATUSES,
                    ),
                    id_query("asset_id", "only work orders for this asset"),
                    id_query("assigned_to", "a user id"),
                    *PAGING,
                ),
            ),
            work_orders,
        ),
        (
            ApiRoute(
                "POST",
                wo,
                "engineer",
                "Raise a work order for an asset (one open PPM work order per asset)",
                "work-orders",
                body=WorkOrderCreate,
                response=WorkOrder,
                status=201,
                answers={409: "the asset is condemned, or a PPM work order is open for it"},
            ),
            create_work_order,
        ),
        (
            ApiRoute(
                "GET", wo + "/{id}", "viewer", "One work order", "work-orders", response=WorkOrder
            ),
            work_order,
        ),
        (
            ApiRoute(
                "POST",
                wo + "/{id}/assign",
                "engineer",
                "Assign an open work order to an engineer (or null to unassign)",
                "work-orders",
                body=WorkOrderAssign,
                response=WorkOrder,
                answers=_CLOSED,
            ),
            assign,
        ),
        (
            ApiRoute(
                "POST",
                wo + "/{id}/complete",
                "engineer",
                "Record the outcome (pass, fail, repaired, beyond_repair): a passed PPM moves "
                "last and next-due dates; the outcome moves the state",
                "work-orders",
                body=WorkOrderComplete,
                response=WorkOrder,
                answers=_CLOSED,
            ),
            complete,
        ),
        (
            ApiRoute(
                "POST",
                wo + "/{id}/cancel",
                "engineer",
                "Cancel an open work order",
                "work-orders",
                body=WorkOrderCancel,
                response=WorkOrder,
                answers=_CLOSED,
            ),
            cancel,
        ),
    ]
    for spec, handler in routes:
        table.add(app, spec, handler)
