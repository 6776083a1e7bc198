"""Guided RSSI calibration: start a reference-tag session, read its proposal, apply it."""

from __future__ import annotations

from aiohttp import web

from floki_core.api.bodies import json_response, path_id, principal, read_json
from floki_core.api.keys import CORE
from floki_core.api.routing import ApiRoute, RouteTable
from floki_core.location.calibration import KEEP_SESSIONS
from floki_core.location.calibration_proposal import (
    MAX_SECONDS,
    MIN_SECONDS,
    CalibrationApply,
    CalibrationList,
    CalibrationStart,
    CalibrationView,
)

PREFIX = "/api/v1/calibrations"
TAG = "calibrations"


async def create(request: web.Request) -> web.Response:
    body = await read_json(request, CalibrationStart)
    calibrations = request.app[CORE].locations.calibrations
    return json_response(await calibrations.create(body, principal(request)), 201)


async def listing(request: web.Request) -> web.Response:
    items = await request.app[CORE].locations.calibrations.listing()
    return json_response(CalibrationList(items=items))


async def one(request: web.Request) -> web.Response:
    return json_response(await request.app[CORE].locations.calibrations.view(path_id(request)))


async def apply(request: web.Request) -> web.Response:
    sid = path_id(request)
    # An empty body applies the whole proposal.
    body = (
        await read_json(request, CalibrationApply) if request.can_read_body else CalibrationApply()
    )
    calibrations = request.app[CORE].locations.calibrations
    return json_response(await calibrations.apply(sid, body.receivers, principal(request)))


async def cancel(request: web.Request) -> web.Response:
    return json_response(await request.app[CORE].locations.calibrations.cancel(path_id(request)))


def add_routes(app: web.Application, table: RouteTable) -> None:
    routes = [
        (
            ApiRoute(
                "POST",
                PREFIX,
                "engineer",
                "Start an RSSI calibration: collect readings of a reference tag placed in a "
                f"zone for {MIN_SECONDS}-{MAX_SECONDS} s; 409 while one runs for that tag",
                TAG,
                body=CalibrationStart,
                response=CalibrationView,
                status=201,
                answers={409: "a calibration is collecting for that tag, or too many are"},
            ),
            create,
        ),
        (
            ApiRoute(
                "GET",
                PREFIX,
                "viewer",
                f"The last {KEEP_SESSIONS} calibrations, newest first (kept in memory)",
                TAG,
                response=CalibrationList,
            ),
            listing,
        ),
        (
            ApiRoute(
                "GET",
                PREFIX + "/{id}",
                "viewer",
                "One calibration: status, time left, readings per receiver and, once "
                "complete, the proposed offsets with a reason for each",
                TAG,
                response=CalibrationView,
            ),
            one,
        ),
        (
            ApiRoute(
                "POST",
                PREFIX + "/{id}/apply",
                "engineer",
                "Write the proposed offsets (all, or only the listed receivers) to the "
                "receivers, audited",
                TAG,
                body=CalibrationApply,
                response=CalibrationView,
                answers={409: "still collecting, already applied or cancelled, or no proposal"},
            ),
            apply,
        ),
        (
            ApiRoute(
                "POST",
                PREFIX + "/{id}/cancel",
                "engineer",
                "Stop collecting, or discard a proposal not yet applied",
                TAG,
                response=CalibrationView,
                answers={409: "already applied or cancelled, or being applied"},
            ),
            cancel,
        ),
    ]
    for spec, handler in routes:
        table.add(app, spec, handler)
