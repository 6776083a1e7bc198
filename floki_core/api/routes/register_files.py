"""The asset register as CSV over HTTP: import a CMMS export, export for a spreadsheet."""

from __future__ import annotations

import io
from typing import Any

from aiohttp import web
from sqlalchemy import Connection
from sqlalchemy.orm import Session

from floki_core.api.bodies import ApiError, json_response, principal, read_raw
from floki_core.api.keys import CORE
from floki_core.api.routing import ApiRoute, Param, RouteTable
from floki_core.config import ImportConfig
from floki_core.domain import Principal
from floki_core.errors import Invalid
from floki_core.events import DomainEvent
from floki_core.register_csv import (
    ImportReport,
    export_assets,
    import_register,
    imported_event,
    read_register,
)
from floki_core.storage.database import Database
from floki_core.storage.store import KeepForHub

CSV_TYPES = ("text/csv", "application/csv", "text/plain", "application/vnd.ms-excel")


def _export(session: Session, who: Principal, now: Any) -> str:
    out = io.StringIO(newline="")
    export_assets(session, out, actor=who, now=now)
    return out.getvalue()


async def export_csv(request: web.Request) -> web.Response:
    core = request.app[CORE]
    text = await core.write(_export, principal(request), core.clock.now())
    stamp = core.clock.now().strftime("%Y%m%d-%H%M")
    return web.Response(
        text=text,
        content_type="text/csv",
        charset="utf-8",
        headers={"Content-Disposition": f'attachment; filename="floki-assets-{stamp}.csv"'},
    )


def _import(
    db: Database,
    raw: bytes,
    config: ImportConfig,
    skip_bad: bool,
    who: Principal,
    now: Any,
    keep_for_hub: KeepForHub,
    announced: list[DomainEvent],
) -> dict[str, Any]:
    # Not core.write: the import takes the write lock only for its last, short step.
    parsed = read_register(raw, config)

    def announce(conn: Connection, report: ImportReport) -> None:
        event = imported_event(report, now)
        keep_for_hub(conn, [event])  # with the merge, for the trust hub
        announced.append(event)

    report = import_register(db, parsed, actor=who, now=now, skip_bad=skip_bad, announce=announce)
    return {
        "created": report.created,
        "updated": report.updated,
        "unchanged": report.unchanged,
        "skipped": report.skipped,
        "problems": [
            {"line": p.line, "column": p.column, "reason": p.reason} for p in report.problems
        ],
        "warnings": [
            {"line": p.line, "column": p.column, "reason": p.reason} for p in report.warnings
        ],
    }


async def import_csv(request: web.Request) -> web.Response:
    core = request.app[CORE]
    if request.content_type not in CSV_TYPES:
        raise ApiError(415, f"expected Content-Type text/csv, got {request.content_type}")
    skip_bad = request.query.get("skip_bad", "false").lower() in ("1", "true", "yes")
    raw = await read_raw(request, core.config.server.max_upload_bytes)
    announced: list[DomainEvent] = []
    try:
        result = await core.db.run(
            _import,
            core.db,
            raw,
            core.config.import_,
            skip_bad,
            principal(request),
            core.clock.now(),
            core.store.keep_for_hub,
            announced,
        )
    except Invalid as exc:
        raise ApiError(422, str(exc)) from None
    await core.events.publish(announced)
    return json_response(result)


def add_routes(app: web.Application, table: RouteTable) -> None:
    # Registered before /assets/{id} so that these fixed paths win.
    table.add(
        app,
        ApiRoute(
            "GET",
            "/api/v1/assets/export.csv",
            "engineer",
            "The asset register as CSV (audited; formula cells neutralised)",
            "assets",
            produces="text/csv",
        ),
        export_csv,
    )
    table.add(
        app,
        ApiRoute(
            "POST",
            "/api/v1/assets/import",
            "engineer",
            "Import a CMMS asset register CSV: all rows or none, unless "
            "skip_bad=true; re-import updates by asset number",
            "assets",
            body_type="text/csv",
            query=(Param("skip_bad", "boolean", "import the good rows"),),
        ),
        import_csv,
    )
