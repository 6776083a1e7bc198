"""Pages a label opens: an asset's page, or a location's page, which completes the two-scan
move when an asset's label was scanned just before on the same phone.

A phone camera opens a label's URL in the phone's browser, which sends its cookies with
it: the asset label scanned first arms the session, and the location label scanned next
(the same browser, within ``move_window_seconds``) records the asset there. A camera or
app that opens links in a browser of its own (not the one signed in) shows the login
page instead, and the move is not made.
"""

from __future__ import annotations

from aiohttp import web

from floki_core.sdk import NotFound, Role
from floki_qr.pages.access import HOME_PATH, Visit, signed_in
from floki_qr.pages.actions import path_asset_id
from floki_qr.pages.asset_view import PATH_SEPARATOR, STATE_LABELS, asset_facts, asset_page
from floki_qr.pages.markup import Markup, join, render
from floki_qr.pages.placement import record_at_zone
from floki_qr.pages.responses import message_page, page
from floki_qr.pages.sessions import Notice, PendingScan
from floki_qr.resolve import Resolved, resolve_code

_ZONE_LIST_LIMIT = 20


def _label_text(request: web.Request) -> str:
    # The URL as the phone opened it, query included: a GS1 Digital Link's query may hide
    # a second key, which the reader refuses (a Floki label matches on its path alone).
    return str(request.url)


@signed_in(Role.VIEWER)
async def label_page(request: web.Request, visit: Visit) -> web.StreamResponse:
    return await _open(visit, await resolve_code(visit.context, _label_text(request)))


@signed_in(Role.VIEWER)
async def find_page(request: web.Request, visit: Visit) -> web.StreamResponse:
    # Untrimmed: the GS1 separator counts as white space to Python; the scan reader trims.
    code = request.query.get("code", "")
    if not code.strip():
        return home_body(visit)
    return await _open(visit, await resolve_code(visit.context, code))


@signed_in(Role.VIEWER)
async def asset_by_id(request: web.Request, visit: Visit) -> web.StreamResponse:
    facts = await asset_facts(visit.context, path_asset_id(request))
    return asset_page(visit, facts, notices=visit.session.take_notices())


@signed_in(Role.VIEWER)
async def home(request: web.Request, visit: Visit) -> web.StreamResponse:
    return home_body(visit)


def home_body(visit: Visit) -> web.Response:
    workshop = render("home_workshop.html") if visit.may(Role.ENGINEER) else Markup("")
    body = render("home.html", workshop=workshop)
    return page("Start", body, session=visit.session, notices=visit.session.take_notices())


async def _open(visit: Visit, resolved: Resolved) -> web.Response:
    if resolved.kind == "asset" and resolved.asset_id is not None:
        armed = visit.may(Role.STAFF)
        if armed:
            visit.session.pending = PendingScan(
                asset_id=resolved.asset_id,
                asset_number=resolved.asset_number or "",
                tag=resolved.tag,
                at=visit.context.clock.monotonic(),
            )
        facts = await asset_facts(visit.context, resolved.asset_id)
        return asset_page(visit, facts, notices=visit.session.take_notices(), armed=armed)
    if resolved.kind == "zone" and resolved.zone_id is not None:
        return await _location(visit, resolved.zone_id, resolved.receiver)
    unreadable = resolved.read_as == "unreadable"
    return message_page(
        "Label not recognised",
        f"{resolved.error or 'this code names nothing in the register'}. If the label is "
        "one of this department's, tell Clinical Engineering so they can check or reprint it.",
        status=400 if unreadable else 404,
        session=visit.session,
        link=(HOME_PATH, "Back to the start"),
    )


async def _location(visit: Visit, zone_id: int, receiver: str | None) -> web.Response:
    context = visit.context
    index = context.locations.index
    if zone_id not in index.zones:  # a zone made a moment ago: the index catches up
        await context.locations.reindex()
        index = context.locations.index
    zone = index.zones.get(zone_id)
    if zone is None:
        raise NotFound(f"zone {zone_id} not found")
    notices = visit.session.take_notices()
    moved = Markup("")
    pending = None
    if visit.may(Role.STAFF):
        pending = visit.session.take_pending(
            context.clock.monotonic(), visit.settings.move_window_seconds
        )
    if pending is not None:
        placed = await record_at_zone(
            context,
            asset_id=pending.asset_id,
            zone_id=zone_id,
            actor=visit.principal,
            how="label scan: the asset's, then this location's",
            tag=pending.tag,
            receiver=receiver,
        )
        notices.append(Notice(placed.outcome(pending.asset_number)))
        moved = render(
            "moved.html", href=f"/phone/assets/{pending.asset_id}", number=pending.asset_number
        )
    path = PATH_SEPARATOR.join(str(p["name"]) for p in index.path(zone_id) if p.get("name"))
    items, total = await _assets_here(visit, zone_id)
    body = render(
        "location.html",
        name=zone.name,
        path=path,
        moved=moved,
        hint=Markup("") if pending is not None else render("location_hint.html"),
        count=_count_text(total),
        items=join(items) if items else render("location_empty.html"),
        more=render("location_more.html", more=total - len(items))
        if total > len(items)
        else Markup(""),
    )
    return page(zone.name, body, session=visit.session, notices=notices)


def _count_text(total: int) -> str:
    return "1 asset" if total == 1 else f"{total} assets"


async def _assets_here(visit: Visit, zone_id: int) -> tuple[list[Markup], int]:
    context = visit.context
    zone_ids = sorted(context.locations.index.descendants(zone_id))
    rows, total = await context.locations.assets_in_zones(zone_ids, limit=_ZONE_LIST_LIMIT)
    workflow = context.workflow
    items = []
    for row in rows:
        shown = workflow.presented_state(
            row["state"], row["next_ppm_due"], asset_id=row["id"], class_id=row["class_id"]
        )
        items.append(
            render(
                "location_item.html",
                href=f"/phone/assets/{row['id']}",
                number=row["asset_number"],
                description=row["description"] or "",
                state=STATE_LABELS.get(shown, shown),
            )
        )
    return items, total
