"""The stock-take API (``/api/v1/rfid/stocktakes``; docs/rfid-stocktake.md).

- ``POST`` (engineer): a sweep of one zone, JSON or a handheld's CSV; 201 with the report
  and its ``Location``; 400 naming the row and column of bad input, nothing kept;
- ``GET`` (viewer): the stock-takes, newest first, by zone;
- ``GET /{id}`` (viewer): one report; ``/{id}.csv`` and ``/{id}.pdf`` (engineer): the
  report as a file, each export audited.

A stock-take is kept (``stocktake_store``) together with its audit entry, then its reads
are handed to the location pipeline (``stocktake_sweep.place_reads``).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import importlib
from collections.abc import Awaitable, Callable
from typing import Any, Final

import msgspec
from aiohttp import web

from floki_core.sdk import (
    MAX_ID,
    ApiError,
    Param,
    PluginContext,
    Principal,
    RegisterWriting,
    RouteRegistry,
    json_response,
    principal_of,
    read_raw,
)
from floki_rfid.stocktake_reads import (
    Sweep,
    SweepBody,
    SweepError,
    parse_columns,
    reads_from_csv,
    sweep_from_json,
)
from floki_rfid.stocktake_report import compare, counts_of
from floki_rfid.stocktake_store import StocktakeStore
from floki_rfid.stocktake_sweep import Gathered, ensure_receiver, gather, place_reads

__all__ = ["PATH", "register_routes"]

PATH: Final = "/api/v1/rfid/stocktakes"
ENTITY: Final = "rfid_stocktakes"  # in the audit trail
MAX_BODY: Final = 4 * 1024 * 1024  # a 10,000-read sweep as JSON is about 1 MB
_STATE_KEY: Final = "stocktakes"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


# --- what the routes answer (the OpenAPI document's schemas) --------------------------------


class StocktakeCounts(msgspec.Struct):
    expected: int
    found: int
    missing: int
    unexpected: int
    unknown: int


class FoundAsset(msgspec.Struct, rename={"class_": "class"}):
    asset_id: int
    asset_number: str
    name: str
    class_: str | None
    epc: str


class MissingAsset(msgspec.Struct, rename={"class_": "class"}):
    asset_id: int
    asset_number: str
    name: str
    class_: str | None
    last_seen_zone: str | None
    last_seen: dt.datetime | None


class UnexpectedAsset(msgspec.Struct, rename={"class_": "class"}):
    asset_id: int
    asset_number: str
    name: str
    class_: str | None
    epc: str
    expected_zone: str | None
    last_seen_zone: str | None
    last_seen: dt.datetime | None


class UnknownTag(msgspec.Struct):
    epc: str
    kind: str  # giai, sgtin, sscc or raw


class StocktakeReport(msgspec.Struct):
    id: int
    zone_id: int
    zone: str
    taken_at: dt.datetime
    by: str
    device: str
    note: str
    counts: StocktakeCounts
    found: list[FoundAsset]
    missing: list[MissingAsset]
    unexpected: list[UnexpectedAsset]
    unknown: list[UnknownTag]


class StocktakeEntry(msgspec.Struct):
    id: int
    zone_id: int
    zone: str
    taken_at: dt.datetime
    by: str
    device: str
    counts: StocktakeCounts


class StocktakeList(msgspec.Struct):
    items: list[StocktakeEntry]
    total: int
    limit: int
    offset: int


# --- handlers -------------------------------------------------------------------------------

EXPORTS = "floki_rfid.stocktake_exports"


def stocktakes(context: PluginContext) -> StocktakeStore:
    """This appliance's stock-takes (the plugin's own file in its data directory)."""
    store = context.state.get(_STATE_KEY)
    if not isinstance(store, StocktakeStore):
        store = context.state[_STATE_KEY] = StocktakeStore(context.plugin_dir())
    return store


def _whole(text: str, name: str, lo: int, hi: int) -> int:
    try:
        value = int(text)
    except ValueError:
        value = lo - 1
    if not lo <= value <= hi:
        raise ApiError(400, f"{name} must be a whole number from {lo} to {hi}, got {text[:40]!r}")
    return value


async def _sweep(request: web.Request, now: dt.datetime) -> Sweep:
    """The sweep posted, as JSON or CSV; ``SweepError`` or ``ApiError`` if refused."""
    media = request.content_type
    if media == "application/json":
        return sweep_from_json(await read_raw(request, MAX_BODY), now)
    if media != "text/csv":
        raise ApiError(
            415, f"expected Content-Type application/json or text/csv, got {media or 'none'}"
        )
    query = request.query
    raw_zone = query.get("zone_id", "")
    if not raw_zone:
        raise ApiError(400, f"zone_id is missing: post a CSV sweep to {PATH}?zone_id=<zone>")
    try:
        zone_id = int(raw_zone)
    except ValueError:
        zone_id = 0
    if not 1 <= zone_id <= MAX_ID:
        raise ApiError(400, f"zone_id must be a zone's id (a whole number), got {raw_zone[:40]!r}")
    columns = parse_columns(query.get("columns", ""))
    reads = reads_from_csv(await read_raw(request, MAX_BODY), columns, now)
    device, note = query.get("device", "").strip(), query.get("note", "").strip()
    if len(device) > 100 or len(note) > 2000:
        raise ApiError(400, "device is at most 100 characters and note at most 2000")
    return Sweep(zone_id=zone_id, reads=reads, device=device, note=note)


def _taken_at(sweep: Sweep, now: dt.datetime) -> dt.datetime:
    """When the sweep was taken: its last read's time, else now (to the second)."""
    times = [r.seen_at for r in sweep.reads if r.seen_at is not None]
    taken = min(max(times), now) if times else now
    return taken.astimezone(dt.UTC).replace(microsecond=0)


def _report(
    stocktake_id: int,
    sweep: Sweep,
    gathered: Gathered,
    taken_at: dt.datetime,
    who: Principal,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The list entry and the report of a new stock-take, as JSON would carry them."""
    lists = compare(gathered.swept, gathered.expected, gathered.reads)
    summary = {
        "id": stocktake_id,
        "zone_id": gathered.zone.id,
        "zone": gathered.zone.name,
        "taken_at": taken_at,
        "by": who.label,
        "device": sweep.device,
        "counts": counts_of(lists),
    }
    report = {**summary, "note": sweep.note, **lists}
    plain: tuple[dict[str, Any], dict[str, Any]] = msgspec.json.decode(
        msgspec.json.encode([summary, report])
    )
    return plain


def _audit(
    writing: RegisterWriting,
    who: Principal,
    action: str,
    stocktake_id: int,
    after: dict[str, Any],
    detail: str,
) -> None:
    writing.audit(
        actor=who, action=action, entity=ENTITY, entity_id=stocktake_id, after=after, detail=detail
    )


async def record_sweep(
    context: PluginContext,
    sweep: Sweep,
    who: Principal,
    taken_at: dt.datetime,
    *,
    gathered: Gathered | None = None,
) -> dict[str, Any]:
    """Record ``sweep``: its report compared against the register, kept with its audit
    entry (by ``who``), and its reads placed in the swept zone; the report. Raises
    ``SweepError`` (from ``gather``) for a sweep the register cannot take."""
    if gathered is None:
        gathered = await gather(context, sweep)
    zone = gathered.zone
    receiver = await ensure_receiver(context, zone, who)
    made: dict[str, Any] = {}

    def build(stocktake_id: int) -> tuple[dict[str, Any], dict[str, Any]]:
        summary, report = _report(stocktake_id, sweep, gathered, taken_at, who)
        made.update(summary)
        return summary, report

    async def audit(stocktake_id: int) -> None:
        counts = made["counts"]
        detail = f"stock-take {stocktake_id} of {zone.name}: " + ", ".join(
            f"{n} {what}" for what, n in counts.items()
        )
        after = {"zone_id": zone.id, "device": sweep.device, **counts}
        await context.records.write(_audit, who, "create", stocktake_id, after, detail)

    report = await stocktakes(context).add(build, audit)
    await place_reads(
        context, sweep.reads, receiver=receiver, stocktake_id=int(report["id"]), taken_at=taken_at
    )
    return report


def _recording(context: PluginContext) -> Handler:
    async def record(request: web.Request) -> web.Response:
        now = context.clock.now()
        try:
            sweep = await _sweep(request, now)
            gathered = await gather(context, sweep)
        except SweepError as exc:
            raise ApiError(400, str(exc)) from None
        report = await record_sweep(
            context, sweep, principal_of(request), _taken_at(sweep, now), gathered=gathered
        )
        response = json_response(report, status=201)
        response.headers["Location"] = f"{PATH}/{report['id']}"
        return response

    return record


def _listing(context: PluginContext) -> Handler:
    async def listing(request: web.Request) -> web.Response:
        query = request.query
        zone = query.get("zone_id", "")
        zone_id = _whole(zone, "zone_id", 1, MAX_ID) if zone else None
        limit = _whole(query.get("limit", "") or "50", "limit", 1, 500)
        offset = _whole(query.get("offset", "") or "0", "offset", 0, MAX_ID)
        items, total = await stocktakes(context).listing(zone_id, limit, offset)
        return json_response({"items": items, "total": total, "limit": limit, "offset": offset})

    return listing


async def _found(context: PluginContext, request: web.Request) -> dict[str, Any]:
    text = request.match_info["id"]
    report = None
    if text.isdigit() and 1 <= int(text) <= MAX_ID:
        report = await stocktakes(context).report(int(text))
    if report is None:
        raise ApiError(404, f"stock-take {text[:40]} not found")
    return report


def _reading(context: PluginContext) -> Handler:
    async def reading(request: web.Request) -> web.Response:
        return json_response(await _found(context, request))

    return reading


def _exporting(context: PluginContext, kind: str) -> Handler:
    async def export(request: web.Request) -> web.Response:
        # The exports (reportlab, ~8 MB) load with the first one, not at start; in a thread,
        # since loading them takes longer than the event loop may stand still.
        exports = await asyncio.to_thread(importlib.import_module, EXPORTS)
        filename, report_csv, report_pdf = exports.filename, exports.report_csv, exports.report_pdf
        report = await _found(context, request)
        who = principal_of(request)
        if kind == "csv":
            body = report_csv(report).encode("utf-8")
            media = "text/csv"
        else:  # seconds for a large sweep: off the event loop
            body = await asyncio.to_thread(report_pdf, report)
            media = "application/pdf"
        detail = f"stock-take {report['id']} of {report['zone']} exported as {kind.upper()}"
        after = {"format": kind, **report["counts"]}
        await context.records.write(_audit, who, "export", int(report["id"]), after, detail)
        return web.Response(
            body=body,
            content_type=media,
            charset="utf-8" if kind == "csv" else None,
            headers={"Content-Disposition": f'attachment; filename="{filename(report, kind)}"'},
        )

    return export


# --- registration ---------------------------------------------------------------------------

_ID = Param("id", type="integer", description="the stock-take's id", minimum=1, maximum=MAX_ID)


def register_routes(registry: RouteRegistry, context: PluginContext) -> None:
    """The stock-take routes (the files' before the report's: ``{id}`` would take them)."""
    for kind, media in (("csv", "text/csv"), ("pdf", "application/pdf")):
        registry.add(
            "GET",
            f"{PATH}/{{id}}.{kind}",
            _exporting(context, kind),
            policy="engineer",
            summary=f"A stock-take report as {kind.upper()} (engineer and up; the export is "
            "audited)",
            path_params=(_ID,),
            produces=media,
            answers={404: "no stock-take has this id"},
        )
    registry.add(
        "POST",
        PATH,
        _recording(context),
        policy="engineer",
        summary="Record a handheld sweep of a zone (JSON, or the handheld's CSV export with "
        "zone_id and an optional header map in the query); answers the stock-take report: "
        "expected, found, missing, unexpected and unknown tags. Every tag read is placed in "
        "the zone (engineer and up)",
        body=SweepBody,
        body_type="application/json, text/csv",
        response=StocktakeReport,
        status=201,
        query=(
            Param(
                "zone_id",
                type="integer",
                description="CSV: the swept zone",
                minimum=1,
                maximum=MAX_ID,
            ),
            Param(
                "columns",
                description="CSV: header map field=header,... (fields: epc, rssi, seen_at, "
                "count); unmapped fields are found by their usual headers",
                max_length=1000,
            ),
            Param("device", description="CSV: the handheld's name", max_length=100),
            Param("note", description="CSV: a note kept with the stock-take", max_length=2000),
        ),
        answers={
            400: "the sweep cannot be read: the reason names the row (reads[i] or line n) "
            "and field or column; nothing is kept",
            413: "the body is over 4 MiB",
            415: "neither JSON nor CSV",
        },
    )
    registry.add(
        "GET",
        PATH,
        _listing(context),
        policy="viewer",
        summary="Stock-takes, newest first, with their counts",
        response=StocktakeList,
        query=(
            Param(
                "zone_id", type="integer", description="only this zone's", minimum=1, maximum=MAX_ID
            ),
            Param("limit", type="integer", minimum=1, maximum=500, default=50),
            Param("offset", type="integer", minimum=0, maximum=MAX_ID, default=0),
        ),
    )
    registry.add(
        "GET",
        f"{PATH}/{{id}}",
        _reading(context),
        policy="viewer",
        summary="A stock-take report: expected, found, missing, unexpected, unknown",
        response=StocktakeReport,
        path_params=(_ID,),
        answers={404: "no stock-take has this id"},
    )
