"""Utilisation and proof of value: the report as JSON, CSV and PDF."""

from __future__ import annotations

import asyncio
import datetime as dt

from aiohttp import web

from floki_core.api.bodies import ApiError, id_param, json_response, principal
from floki_core.api.keys import CORE
from floki_core.api.routing import ApiRoute, Param, RouteTable
from floki_core.storage.audit import write_audit
from floki_core.workflow.settings import MAX_PERIOD_DAYS
from floki_core.workflow.utilisation import UtilisationReport
from floki_core.workflow.utilisation_report import report_csv, report_pdf

PREFIX = "/api/v1/reports/utilisation"


# Reports cover the appliance's own history: nothing before 1970 or after 2999 exists,
# and the far ends of the calendar overflow once moved to UTC or to the end of the day.
EARLIEST = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
LATEST = dt.datetime(3000, 1, 1, tzinfo=dt.UTC)


def _moment(request: web.Request, name: str, *, end_of_day: bool) -> dt.datetime | None:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return None
    out_of_range = ApiError(
        400,
        f"query parameter {name} is out of range: use dates from "
        f"{EARLIEST:%Y-%m-%d} to {LATEST - dt.timedelta(days=1):%Y-%m-%d}",
    )
    try:
        if len(raw) == 10:
            day = dt.date.fromisoformat(raw)
            moment = dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)
            # A date alone as the end means the whole of that day.
            if end_of_day:
                moment += dt.timedelta(days=1)
        else:
            moment = dt.datetime.fromisoformat(raw)
            moment = (
                moment.replace(tzinfo=dt.UTC)
                if moment.tzinfo is None
                else moment.astimezone(dt.UTC)
            )
    except OverflowError:
        raise out_of_range from None
    except ValueError:
        raise ApiError(
            400, f"query parameter {name} must be a date (YYYY-MM-DD) or an ISO date-time"
        ) from None
    if not EARLIEST <= moment <= LATEST:
        raise out_of_range
    return moment


async def _report(request: web.Request) -> UtilisationReport:
    core = request.app[CORE]
    now = core.clock.now()
    end = _moment(request, "to", end_of_day=True) or now
    end = min(end, now)  # the future has no history yet
    start = _moment(request, "from", end_of_day=False)
    if start is None:
        start = end - dt.timedelta(days=core.workflow.utilisation.settings.default_days)
    if start >= end:
        raise ApiError(400, "the period is empty: from must be before to (and before now)")
    if end - start > dt.timedelta(days=MAX_PERIOD_DAYS):
        raise ApiError(400, f"the period is longer than {MAX_PERIOD_DAYS} days")
    class_id = id_param(request, "class_id")
    department = request.query.get("department")
    if department is not None and len(department) > 200:
        raise ApiError(400, "query parameter department is longer than 200 characters")
    return await core.workflow.utilisation.report(
        start, end, class_id=class_id, department=department
    )


async def _audit_export(request: web.Request, report: UtilisationReport, fmt: str) -> None:
    core = request.app[CORE]
    await core.write(
        write_audit,
        at=core.clock.now(),
        actor=principal(request).label,
        action="export",
        entity="reports",
        after={
            "report": "utilisation",
            "format": fmt,
            "from": report.period_from.isoformat(),
            "to": report.period_to.isoformat(),
            "class_id": report.class_id,
            "department": report.department,
            "groups": len(report.groups),
        },
        detail=f"utilisation report exported as {fmt.upper()}",
    )


def _filename(report: UtilisationReport, ext: str) -> str:
    return f"floki-utilisation-{report.period_from:%Y%m%d}-{report.period_to:%Y%m%d}.{ext}"


async def as_json(request: web.Request) -> web.Response:
    return json_response(await _report(request))


async def as_csv(request: web.Request) -> web.Response:
    report = await _report(request)
    text = report_csv(report)
    await _audit_export(request, report, "csv")
    return web.Response(
        text=text,
        content_type="text/csv",
        charset="utf-8",
        headers={"Content-Disposition": f'attachment; filename="{_filename(report, "csv")}"'},
    )


async def as_pdf(request: web.Request) -> web.Response:
    report = await _report(request)
    body = await asyncio.to_thread(report_pdf, report)
    await _audit_export(request, report, "pdf")
    return web.Response(
        body=body,
        content_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{_filename(report, "pdf")}"'},
    )


def add_routes(app: web.Application, table: RouteTable) -> None:
    query = (
        Param("from", description="start: YYYY-MM-DD or ISO date-time (default: 90 days ago)"),
        Param("to", description="end: YYYY-MM-DD (the whole day) or ISO date-time (default: now)"),
        Param("class_id", "integer", "only this asset class"),
        Param("department", description="only this department"),
    )
    routes = [
        (
            ApiRoute(
                "GET",
                PREFIX,
                "viewer",
                "Utilisation per class and department: time in each state, idle assets, "
                "peak use against fleet size, search effort, PPM compliance before and "
                "after go-live",
                "reports",
                response=UtilisationReport,
                query=query,
            ),
            as_json,
        ),
        (
            ApiRoute(
                "GET",
                PREFIX + ".csv",
                "engineer",
                "The utilisation report as CSV, one row per class and department (audited)",
                "reports",
                query=query,
                produces="text/csv",
            ),
            as_csv,
        ),
        (
            ApiRoute(
                "GET",
                PREFIX + ".pdf",
                "engineer",
                "The utilisation report as a printable PDF with charts (audited)",
                "reports",
                query=query,
                produces="application/pdf",
            ),
            as_pdf,
        ),
    ]
    for spec, handler in routes:
        table.add(app, spec, handler)
