"""The CE workshop desk's scan page: a USB keyboard-wedge scanner types each code and an
Enter; the page checks equipment in (in maintenance), out (available) or books its PPM.

Scanners send GS1's FNC1 separator as ASCII 29, which a browser receives as Ctrl+]; the
page's script puts the character back into the code. Without the script the form still
works, one scan per page load. Each scan is resolved like a phone's label scan; a
location label sets the desk's location, where checked in and out equipment is then
recorded (or ``workshop_location`` sets it for every session).
"""

from __future__ import annotations

from dataclasses import asdict

from aiohttp import web

from floki_core.sdk import FlokiError, Role, WorkOrderCreate
from floki_qr.gs1 import GS
from floki_qr.pages.access import Visit, signed_in
from floki_qr.pages.asset_view import local_zone
from floki_qr.pages.markup import Markup, join, render
from floki_qr.pages.placement import record_at_zone, zone_name
from floki_qr.pages.responses import page, redirect, secured
from floki_qr.pages.sessions import WorkshopEntry
from floki_qr.resolve import Resolved, resolve_code

PATH = "/workshop"
SOURCE = "workshop"  # the state history's source of changes made here
MODES = {
    "check_in": "Check in",
    "check_out": "Check out",
    "book_ppm": "Book PPM",
}
_TO_STATE = {"check_in": "in_maintenance", "check_out": "available"}
_REASON = {
    "check_in": "checked in at the CE workshop",
    "check_out": "checked out of the CE workshop",
}


def shown_code(code: str) -> str:
    """The scan as a person can read it: the GS1 separator as <GS>."""
    return code.replace(GS, "<GS>").strip()


async def _desk(visit: Visit) -> None:
    """The desk location from the settings, for a session that has not scanned one."""
    session = visit.session
    code = visit.settings.workshop_location
    if session.workshop_zone_id is not None or not code:
        return
    found = await resolve_code(visit.context, code)
    if found.kind == "zone" and found.zone_id is not None:
        session.workshop_zone_id, session.workshop_receiver = found.zone_id, found.receiver


def _desk_text(visit: Visit) -> str:
    zone_id = visit.session.workshop_zone_id
    if zone_id is None or zone_id not in visit.context.locations.index.zones:
        return "not set: scan the workshop's location label to record where equipment is"
    return zone_name(visit.context, zone_id)


def _entry_markup(entry: WorkshopEntry, visit: Visit) -> Markup:
    return render(
        "workshop_entry.html",
        result="ok" if entry.ok else "refused",
        at=entry.at.astimezone(local_zone(visit.context)).strftime("%H:%M:%S"),
        action=entry.action,
        code=entry.code,
        asset=entry.asset,
        message=entry.message,
    )


@signed_in(Role.ENGINEER)
async def workshop_page(request: web.Request, visit: Visit) -> web.StreamResponse:
    await _desk(visit)
    session = visit.session
    modes = join(
        render(
            "workshop_mode.html",
            id=f"mode-{value}",
            value=value,
            label=label,
            checked="checked" if value == session.workshop_mode else "",
        )
        for value, label in MODES.items()
    )
    entries = [_entry_markup(e, visit) for e in session.workshop_log]
    body = render(
        "workshop.html",
        csrf=session.csrf,
        modes=modes,
        desk=_desk_text(visit),
        entries=join(entries) if entries else render("workshop_empty.html"),
    )
    return page("Workshop scans", body, session=session, notices=session.take_notices())


async def _act(visit: Visit, mode: str, found: Resolved) -> str:
    """Do what ``mode`` says to the scanned asset; the message for the log."""
    context, actor, session = visit.context, visit.principal, visit.session
    asset_id = found.asset_id
    assert asset_id is not None
    if mode == "book_ppm":
        order = await context.workflow.create_work_order(
            WorkOrderCreate(asset_id=asset_id, kind="ppm", summary="booked at the CE workshop"),
            actor,
        )
        return f"PPM work order {order.id} booked"
    await context.workflow.change_state(
        asset_id, _TO_STATE[mode], actor=actor, source=SOURCE, reason=_REASON[mode]
    )
    done = "checked in: in maintenance" if mode == "check_in" else "checked out: available"
    if session.workshop_zone_id is not None:
        placed = await record_at_zone(
            context,
            asset_id=asset_id,
            zone_id=session.workshop_zone_id,
            actor=actor,
            how=f"{_REASON[mode]} (desk scan)",
            tag=found.tag,
            receiver=session.workshop_receiver,
        )
        done += f", at {placed.zone_name}"
    return done


async def scan(visit: Visit, mode: str, code: str) -> WorkshopEntry:
    context, session = visit.context, visit.session
    now = context.clock.now()
    shown = shown_code(code)[:200]
    action = MODES[mode]
    if not code.strip(" \r\n\t"):
        return WorkshopEntry(now, shown, action, "", False, "empty scan")
    found = await resolve_code(context, code)
    if found.kind == "zone" and found.zone_id is not None:
        session.workshop_zone_id, session.workshop_receiver = found.zone_id, found.receiver
        text = f"desk location set to {found.zone_name}"
        return WorkshopEntry(now, shown, "Location", found.zone_name or "", True, text)
    if found.kind != "asset" or found.asset_id is None:
        return WorkshopEntry(now, shown, action, "", False, found.error or "not recognised")
    asset = f"{found.asset_number} {found.description or ''}".strip()
    try:
        message = await _act(visit, mode, found)
    except FlokiError as exc:
        return WorkshopEntry(now, shown, action, asset, False, str(exc))
    return WorkshopEntry(now, shown, action, asset, True, message)


def _wants_json(request: web.Request) -> bool:
    return "application/json" in request.headers.get("Accept", "")


@signed_in(Role.ENGINEER, back=lambda request: PATH)
async def workshop_scan(request: web.Request, visit: Visit) -> web.StreamResponse:
    await _desk(visit)
    mode = visit.field("mode")
    if mode not in MODES:
        mode = visit.session.workshop_mode
    visit.session.workshop_mode = mode
    # Only line ends are trimmed here: the GS1 separator counts as white space to Python.
    code = visit.form.get("code", "").strip("\r\n")
    entry = await scan(visit, mode, code)
    visit.session.workshop_log.appendleft(entry)
    if not _wants_json(request):
        return redirect(PATH)
    shown = asdict(entry)
    shown["at"] = entry.at.astimezone(local_zone(visit.context)).strftime("%H:%M:%S")
    response = web.json_response(shown, status=200 if entry.ok else 422)
    secured(response)
    return response
