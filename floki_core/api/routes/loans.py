"""Community loans: check-out, return, listings and each asset's loan history."""

from __future__ import annotations

from typing import Any, get_args

import msgspec
from aiohttp import web

from floki_core.api.bodies import (
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
from floki_core.domain import Principal, Role
from floki_core.storage import resources
from floki_core.storage.audit import write_audit
from floki_core.storage.loan_positions import PositionRecall, Recalls
from floki_core.storage.register import ASSETS
from floki_core.workflow.loan_records import (
    Loan,
    LoanCreate,
    LoanReturn,
    LoanStatus,
    PositionRecallRequest,
)

PREFIX = "/api/v1"
STATUSES: tuple[str, ...] = get_args(LoanStatus)


def _sees_personal(who: Principal) -> bool:
    return who.role is not None and who.role.at_least(Role.ENGINEER)


async def _shown(request: web.Request, loans: list[Loan]) -> list[dict[str, Any]]:
    """Loans as the caller may see them: personal fields for engineers and admins only,
    and each such disclosure audited."""
    items = [msgspec.to_builtins(loan) for loan in loans]
    who = principal(request)
    with_data = [loan.id for loan in loans if loan.has_personal_data]
    if not with_data or not _sees_personal(who):
        return items
    core = request.app[CORE]
    found = await core.workflow.loans.personal_data(with_data)
    for item in items:
        data = found.get(item["id"])
        if data is not None:
            item["personal"] = msgspec.to_builtins(data)
    if found:
        await core.write(
            write_audit,
            at=core.clock.now(),
            actor=who.label,
            action="read_personal",
            entity="loans",
            entity_id=with_data[0] if len(with_data) == 1 else None,
            after={"loan_ids": sorted(found)},
            detail=f"personal fields of {len(found)} loan(s) shown",
        )
    return items


def _status(request: web.Request) -> LoanStatus | None:
    raw = request.query.get("status")
    if raw is None or raw == "":
        return None
    if raw not in STATUSES:
        raise ApiError(400, f"query parameter status must be one of {', '.join(STATUSES)}")
    return raw  # type: ignore[return-value]


async def create(request: web.Request) -> web.Response:
    body = await read_json(request, LoanCreate)
    loan = await request.app[CORE].workflow.loans.create(body, principal(request))
    shown = await _shown(request, [loan])
    return json_response(shown[0], 201)


async def listing(request: web.Request) -> web.Response:
    limit, offset = page(request)
    loans, total = await request.app[CORE].workflow.loans.listing(
        status=_status(request), limit=limit, offset=offset
    )
    return page_response(await _shown(request, loans), total, limit, offset)


async def one(request: web.Request) -> web.Response:
    loan = await request.app[CORE].workflow.loans.get(path_id(request))
    return json_response((await _shown(request, [loan]))[0])


async def return_(request: web.Request) -> web.Response:
    body = await read_json(request, LoanReturn)
    loan, refused = await request.app[CORE].workflow.loans.return_loan(
        path_id(request), body, principal(request)
    )
    shown = (await _shown(request, [loan]))[0]
    shown["state_change_refused"] = refused
    return json_response(shown)


async def recall_position(request: web.Request) -> web.Response:
    body = await read_json(request, PositionRecallRequest)
    recall = await request.app[CORE].workflow.loans.recall_position(
        path_id(request), body.reason.strip(), principal(request)
    )
    return json_response(msgspec.to_builtins(recall))


async def recalls(request: web.Request) -> web.Response:
    found = await request.app[CORE].workflow.loans.recalls(path_id(request))
    return json_response(msgspec.to_builtins(Recalls(items=found)))


async def asset_loans(request: web.Request) -> web.Response:
    core = request.app[CORE]
    asset_id = path_id(request)
    await core.read(resources.get_record, ASSETS, asset_id)
    limit, offset = page(request)
    loans, total = await core.workflow.loans.listing(
        asset_id=asset_id, status=_status(request), limit=limit, offset=offset
    )
    return page_response(await _shown(request, loans), total, limit, offset)


def add_routes(app: web.Application, table: RouteTable) -> None:
    status = Param(
        "status",
        description="open (not yet returned, overdue included), overdue or returned",
        enum=STATUSES,
    )
    routes = [
        (
            ApiRoute(
                "POST",
                f"{PREFIX}/loans",
                "staff",
                "Loan an asset to a community destination by the trust's reference (audited; "
                "409 when the asset may not go out; personal fields only where enabled)",
                "loans",
                body=LoanCreate,
                response=Loan,
                status=201,
                answers={
                    404: "no such asset",
                    409: "the asset is on loan already or may not go out (its state)",
                },
            ),
            create,
        ),
        (
            ApiRoute(
                "GET",
                f"{PREFIX}/loans",
                "viewer",
                "Loans, newest first (open and overdue by due date); personal fields only "
                "to engineers and admins",
                "loans",
                response=Page[Loan],
                query=(status, *PAGING),
            ),
            listing,
        ),
        (
            ApiRoute("GET", f"{PREFIX}/loans/{{id}}", "viewer", "One loan", "loans", response=Loan),
            one,
        ),
        (
            ApiRoute(
                "POST",
                f"{PREFIX}/loans/{{id}}/return",
                "staff",
                "Record the asset's return; it becomes dirty (for decontamination) unless "
                "another state is given",
                "loans",
                body=LoanReturn,
                response=Loan,
                answers={409: "the loan was returned already"},
            ),
            return_,
        ),
        (
            ApiRoute(
                "POST",
                f"{PREFIX}/loans/{{id}}/recall-position",
                "engineer",
                "Show the last precise position kept for an open loan's asset (e.g. an "
                "overdue item to collect), with a reason: recorded in the loan's recalls "
                "and the audit trail",
                "loans",
                body=PositionRecallRequest,
                response=PositionRecall,
                answers={
                    404: "no such loan, or no position kept for it (none given, or purged)",
                    409: "the loan was returned: its positions are not shown",
                },
            ),
            recall_position,
        ),
        (
            ApiRoute(
                "GET",
                f"{PREFIX}/loans/{{id}}/recalls",
                "engineer",
                "Who was shown the loan's precise position, when and why (never the position)",
                "loans",
                response=Recalls,
            ),
            recalls,
        ),
        (
            ApiRoute(
                "GET",
                f"{PREFIX}/assets/{{id}}/loans",
                "viewer",
                "The asset's loan history, newest first",
                "loans",
                response=Page[Loan],
                query=(status, *PAGING),
            ),
            asset_loans,
        ),
    ]
    for spec, handler in routes:
        table.add(app, spec, handler)
