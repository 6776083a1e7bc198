"""What a tap on the asset page does: each action is a state change, a loan, a work order
or a location confirmation through the core, and so in the audit trail with its user.

A done action answers with a redirect to the asset page and a notice (so reloading the
page never repeats it); a refused one shows the asset page again with the reason and
the matching 4xx status.
"""

from __future__ import annotations

import msgspec
from aiohttp import web

from floki_core.sdk import (
    FlokiError,
    Invalid,
    LoanCreate,
    LoanReturn,
    NotFound,
    NotSaved,
    Role,
    WorkOrderComplete,
    WorkOrderCreate,
)
from floki_qr.pages.access import Visit, error_status, signed_in
from floki_qr.pages.asset_view import STATE_BUTTONS, STATE_LABELS, asset_facts, asset_page
from floki_qr.pages.placement import parse_position, record_at_zone, zone_at_position
from floki_qr.pages.responses import redirect
from floki_qr.pages.sessions import Notice

SOURCE = "phone"  # the state history's source of changes made here
_NOTE_LIMIT = 500
_DONE = {to: text for to, _, text in STATE_BUTTONS}


def asset_path(asset_id: int) -> str:
    return f"/phone/assets/{asset_id}"


def path_asset_id(request: web.Request) -> int:
    raw = request.match_info.get("id", "")
    if not raw.isdigit() or len(raw) > 18:
        raise NotFound(f"there is no asset {raw!r}")
    return int(raw)


def _back(request: web.Request) -> str:
    raw = request.match_info.get("id", "")
    return asset_path(int(raw)) if raw.isdigit() and len(raw) <= 18 else "/phone"


async def _done(visit: Visit, asset_id: int, text: str) -> web.Response:
    visit.session.notices.append(Notice(text))
    return redirect(asset_path(asset_id))


async def _refused(
    visit: Visit, asset_id: int, exc: FlokiError | msgspec.ValidationError
) -> web.Response:
    facts = await asset_facts(visit.context, asset_id)
    reason = str(exc)
    if isinstance(exc, msgspec.ValidationError):
        reason = f"please check the form: {exc}"
    if isinstance(exc, NotSaved):  # taken in, but waiting for room on the disk
        notice = Notice(f"Not saved: {reason}", error=True)
        response = asset_page(visit, facts, notices=[notice], status=503)
        response.headers["Retry-After"] = "60"
        return response
    notice = Notice(f"Not done: {reason}", error=True)
    return asset_page(visit, facts, notices=[notice], status=error_status(exc))


@signed_in(Role.STAFF, back=_back)
async def change_state(request: web.Request, visit: Visit) -> web.StreamResponse:
    asset_id = path_asset_id(request)
    to = visit.field("to")
    note = visit.field("note")
    try:
        if to not in (*_DONE, "faulty"):
            raise Invalid(f"the phone page cannot set the state {to!r}")
        if to == "faulty" and not note:
            raise Invalid("say briefly what is wrong, so the engineers know what to look at")
        if len(note) > _NOTE_LIMIT:
            raise Invalid(f"the note is longer than {_NOTE_LIMIT} characters")
        await visit.context.workflow.change_state(
            asset_id, to, actor=visit.principal, source=SOURCE, reason=note
        )
    except FlokiError as exc:
        return await _refused(visit, asset_id, exc)
    text = _DONE.get(to) or f"Marked as {STATE_LABELS['faulty'].lower()}: {note}"
    return await _done(visit, asset_id, text)


def _zone_field(visit: Visit) -> int:
    raw = visit.field("zone_id")
    if not raw.isdigit() or int(raw) not in visit.context.locations.index.zones:
        raise Invalid("pick one of the zones in the list")
    return int(raw)


@signed_in(Role.STAFF, back=_back)
async def confirm_zone(request: web.Request, visit: Visit) -> web.StreamResponse:
    asset_id = path_asset_id(request)
    try:
        facts = await asset_facts(visit.context, asset_id)
        placed = await record_at_zone(
            visit.context,
            asset_id=asset_id,
            zone_id=_zone_field(visit),
            actor=visit.principal,
            how="zone picked on the phone page",
        )
    except FlokiError as exc:
        return await _refused(visit, asset_id, exc)
    return await _done(visit, asset_id, placed.outcome(facts.asset.asset_number))


@signed_in(Role.STAFF, back=_back)
async def confirm_position(request: web.Request, visit: Visit) -> web.StreamResponse:
    asset_id = path_asset_id(request)
    try:
        facts = await asset_facts(visit.context, asset_id)
        lat, lon, accuracy = parse_position(
            visit.field("lat"), visit.field("lon"), visit.field("accuracy")
        )
        zone_id = zone_at_position(
            visit.context, asset_id, lat, lon, accuracy, visit.settings.max_position_accuracy_m
        )
        placed = await record_at_zone(
            visit.context,
            asset_id=asset_id,
            zone_id=zone_id,
            actor=visit.principal,
            how=f"phone position, within {accuracy:.0f} m",
        )
    except FlokiError as exc:
        return await _refused(visit, asset_id, exc)
    outcome = placed.outcome(facts.asset.asset_number, capital=False)
    return await _done(visit, asset_id, f"From your phone's position: {outcome}")


@signed_in(Role.STAFF, back=_back)
async def loan_out(request: web.Request, visit: Visit) -> web.StreamResponse:
    asset_id = path_asset_id(request)
    try:
        body = msgspec.convert(
            {
                "asset_id": asset_id,
                "reference": visit.field("reference"),
                "destination_type": visit.field("destination_type"),
                "due_back": visit.field("due_back"),
            },
            LoanCreate,
        )
        loan = await visit.context.workflow.lend(body, visit.principal)
    except (FlokiError, msgspec.ValidationError) as exc:
        return await _refused(visit, asset_id, exc)
    due = loan.due_back.strftime("%d %b %Y")
    return await _done(visit, asset_id, f"Loaned out under {loan.reference}, due back {due}.")


@signed_in(Role.STAFF, back=_back)
async def loan_returned(request: web.Request, visit: Visit) -> web.StreamResponse:
    asset_id = path_asset_id(request)
    workflow = visit.context.workflow
    try:
        loan = workflow.open_loan(asset_id)
        if loan is None:
            raise Invalid("this asset is not on loan")
        body = msgspec.convert({"state": visit.field("state") or "dirty"}, LoanReturn)
        returned, refused = await workflow.return_loan(loan.id, body, visit.principal)
    except (FlokiError, msgspec.ValidationError) as exc:
        return await _refused(visit, asset_id, exc)
    text = f"Return of loan {returned.reference} recorded."
    if refused:
        text += f" Its state was not changed: {refused}"
    return await _done(visit, asset_id, text)


@signed_in(Role.ENGINEER, back=_back)
async def ppm_done(request: web.Request, visit: Visit) -> web.StreamResponse:
    asset_id = path_asset_id(request)
    workflow = visit.context.workflow
    try:
        await asset_facts(visit.context, asset_id)
        body = msgspec.convert(
            {
                "outcome": visit.field("outcome") or "pass",
                "notes": visit.field("notes"),
                "next_due": visit.field("next_due") or None,
            },
            WorkOrderComplete,
        )
        if body.outcome not in ("pass", "fail"):
            raise Invalid("the outcome is passed or failed")
        if body.outcome == "fail" and not body.notes.strip():
            # Checked before a work order is raised, so a refusal leaves nothing behind.
            raise Invalid("say what failed")
        orders = await workflow.open_work_orders(asset_id, limit=50)
        order = next((o for o in orders if o.kind == "ppm"), None)
        raised = order is None
        if order is None:
            order = await workflow.create_work_order(
                WorkOrderCreate(asset_id=asset_id, kind="ppm", summary="PPM recorded on a phone"),
                visit.principal,
            )
        try:
            done = await workflow.complete_work_order(order.id, body, visit.principal)
        except FlokiError as exc:
            if raised:  # the work order existed only to record this PPM
                await workflow.cancel_work_order(order.id, f"not recorded: {exc}", visit.principal)
            raise
    except (FlokiError, msgspec.ValidationError) as exc:
        return await _refused(visit, asset_id, exc)
    text = f"PPM recorded: {'passed' if done.outcome == 'pass' else 'failed'}."
    if done.next_due is not None:
        text += f" Next due {done.next_due.strftime('%d %b %Y')}."
    return await _done(visit, asset_id, text)
