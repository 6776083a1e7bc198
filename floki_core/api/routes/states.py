"""Equipment states: the transition table, changing a state, its history, and the
suggestions location makes."""

from __future__ import annotations

from typing import Annotated

import msgspec
from aiohttp import web

from floki_core.api.bodies import (
    ApiError,
    Page,
    id_param,
    json_response,
    page,
    page_response,
    path_id,
    principal,
    read_json,
)
from floki_core.api.keys import CORE
from floki_core.api.routing import PAGING, ApiRoute, Param, RouteTable, id_query
from floki_core.schemas import Input, Notes
from floki_core.workflow.states_store import StateChange, StateSuggestion
from floki_core.workflow.states_table import StateTable

PREFIX = "/api/v1"
TAG = "states"
SUGGESTION_STATUSES = ("open", "confirmed", "dismissed", "superseded", "all")


class StateChangeInput(Input, kw_only=True):
    state: Annotated[str, msgspec.Meta(min_length=1, max_length=40)]
    reason: Notes = ""


class SuggestionAnswer(Input, kw_only=True):
    reason: Notes = ""


async def table(request: web.Request) -> web.Response:
    return json_response(request.app[CORE].workflow.states.table())


async def change(request: web.Request) -> web.Response:
    body = await read_json(request, StateChangeInput)
    states = request.app[CORE].workflow.states
    done = await states.change(
        path_id(request), body.state, actor=principal(request), source="api", reason=body.reason
    )
    return json_response(done)


async def history(request: web.Request) -> web.Response:
    limit, offset = page(request)
    core = request.app[CORE]
    items, total = await core.workflow.states.history(path_id(request), limit=limit, offset=offset)
    return page_response(items, total, limit, offset)


async def suggestions(request: web.Request) -> web.Response:
    limit, offset = page(request)
    status = request.query.get("status", "open")
    if status not in SUGGESTION_STATUSES:
        raise ApiError(
            400, f"query parameter status must be one of {', '.join(SUGGESTION_STATUSES)}"
        )
    items, total = await request.app[CORE].workflow.states.suggestions(
        status=None if status == "all" else status,
        asset_id=id_param(request, "asset_id"),
        limit=limit,
        offset=offset,
    )
    return page_response(items, total, limit, offset)


async def _answer(request: web.Request) -> SuggestionAnswer:
    if not request.can_read_body:
        return SuggestionAnswer()
    return await read_json(request, SuggestionAnswer)


async def confirm(request: web.Request) -> web.Response:
    body = await _answer(request)
    states = request.app[CORE].workflow.states
    return json_response(await states.confirm(path_id(request), principal(request), body.reason))


async def dismiss(request: web.Request) -> web.Response:
    body = await _answer(request)
    states = request.app[CORE].workflow.states
    return json_response(await states.dismiss(path_id(request), principal(request), body.reason))


def add_routes(app: web.Application, table_: RouteTable) -> None:
    routes = [
        (
            ApiRoute(
                "GET",
                f"{PREFIX}/states",
                "viewer",
                "The equipment states and every allowed change with the lowest role that may "
                "make it (so pages can offer only the actions a user may take)",
                TAG,
                response=StateTable,
            ),
            table,
        ),
        (
            ApiRoute(
                "POST",
                f"{PREFIX}/assets/{{id}}/state",
                "staff",
                "Change an asset's state: 409 with the reason for a change the table does "
                "not allow, 403 when the change needs a higher role; history and audit kept",
                TAG,
                body=StateChangeInput,
                response=StateChange,
                answers={
                    403: "this change needs a higher role (the reason says which)",
                    409: "the table does not allow this change from the asset's state",
                },
            ),
            change,
        ),
        (
            ApiRoute(
                "GET",
                f"{PREFIX}/assets/{{id}}/states",
                "viewer",
                "The asset's state changes, newest first: who, when, from where and why",
                TAG,
                response=Page[StateChange],
                query=PAGING,
            ),
            history,
        ),
        (
            ApiRoute(
                "GET",
                f"{PREFIX}/states/suggestions",
                "viewer",
                "States suggested by where assets have been (open ones by default)",
                TAG,
                response=Page[StateSuggestion],
                query=(
                    Param(
                        "status",
                        description="open (default), confirmed, dismissed, superseded or all",
                        enum=SUGGESTION_STATUSES,
                    ),
                    id_query("asset_id", "only suggestions for this asset"),
                    *PAGING,
                ),
            ),
            suggestions,
        ),
        (
            ApiRoute(
                "POST",
                f"{PREFIX}/states/suggestions/{{id}}/confirm",
                "staff",
                "Make the suggested change (held to the same table and roles as any change)",
                TAG,
                body=SuggestionAnswer,
                response=StateChange,
                answers={
                    403: "the suggested change needs a higher role",
                    409: "the suggestion was answered already, or the change is not allowed now",
                },
            ),
            confirm,
        ),
        (
            ApiRoute(
                "POST",
                f"{PREFIX}/states/suggestions/{{id}}/dismiss",
                "staff",
                "Turn a suggestion down; it is not raised again for the same stay",
                TAG,
                body=SuggestionAnswer,
                response=StateSuggestion,
                answers={409: "the suggestion was answered already"},
            ),
            dismiss,
        ),
    ]
    for spec, handler in routes:
        table_.add(app, spec, handler)
