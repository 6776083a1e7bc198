"""The asset page: what it is, its state, where Floki thinks it is and how fresh that is,
when its PPM is due, and the actions the signed-in role may take from its state."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from floki_core.sdk import (
    PPM_OVERDUE,
    Asset,
    AssetClass,
    AssetState,
    Loan,
    NotFound,
    PluginContext,
    RegisterReading,
    Role,
    StateChange,
    state_labels,
)
from floki_qr.pages.access import Visit
from floki_qr.pages.markup import Markup, join, render
from floki_qr.pages.placement import nearby_zones
from floki_qr.pages.responses import page
from floki_qr.pages.sessions import Notice

STATE_LABELS: dict[str, str] = state_labels()
METHOD_LABELS = {
    "fixed_point": "label scan",
    "rssi": "Bluetooth tag",
    "geofence": "GPS",
    "association": "Wi-Fi",
}
# What the phone's one-tap buttons move to, and how they read.
STATE_BUTTONS = (
    ("dirty", "It's dirty", "Marked as awaiting decontamination."),
    ("available", "It's clean and ready", "Marked as clean and ready."),
)
LOAN_DESTINATIONS = (
    ("home", "Patient's home"),
    ("hospice", "Hospice"),
    ("community_hub", "Community hub"),
    ("virtual_ward", "Virtual ward"),
    ("other", "Other"),
)
RETURN_STATES = (
    ("dirty", "Needs decontamination"),
    ("available", "Clean and ready"),
    ("faulty", "Faulty"),
)
DEFAULT_LOAN_DAYS = 14
PATH_SEPARATOR = " \u203a "  # a single right-pointing angle quotation mark


@dataclass(frozen=True)
class AssetFacts:
    asset: Asset
    asset_class: AssetClass | None
    state: str  # as presented: "ppm_overdue" where an available asset is overdue
    ppm_overdue: bool
    where: dict[str, Any] | None
    loan: Loan | None
    history: Sequence[StateChange]


def _asset_and_class(register: RegisterReading, asset_id: int) -> tuple[Asset, AssetClass | None]:
    asset = register.asset(asset_id)
    if asset is None:
        raise NotFound(f"asset {asset_id} not found")
    kind = register.asset_class(asset.class_id) if asset.class_id is not None else None
    return asset, kind


async def asset_facts(context: PluginContext, asset_id: int) -> AssetFacts:
    asset, asset_class = await context.records.read(_asset_and_class, asset_id)
    workflow = context.workflow
    presented = workflow.presented(asset)
    return AssetFacts(
        asset=asset,
        asset_class=asset_class,
        state=presented.state,
        ppm_overdue=presented.ppm_overdue,
        where=context.locations.where_is(asset_id),
        loan=workflow.open_loan(asset_id),
        history=await workflow.state_history(asset_id, limit=3),
    )


def local_zone(context: PluginContext) -> zoneinfo.ZoneInfo:
    return context.workflow.timezone


def ago(seconds: float) -> str:
    if seconds < 90:
        return "just now"
    minutes = seconds / 60
    if minutes < 90:
        return f"{minutes:.0f} min ago"
    hours = minutes / 60
    if hours < 36:
        return f"{hours:.0f} h ago"
    return f"{hours / 24:.0f} days ago"


def where_markup(where: dict[str, Any] | None) -> Markup:
    if where is None:
        return render("where_unknown.html")
    path = [str(p.get("name")) for p in where.get("path", []) if p.get("name")]
    place = where.get("label") or PATH_SEPARATOR.join(path) or "off site"
    confidence = float(where.get("confidence") or 0)
    sure = "high" if confidence >= 0.8 else "medium" if confidence >= 0.5 else "low"
    method = str(where.get("method") or "")
    age = ago(float(where.get("age_seconds") or 0))
    return render(
        "where.html",
        place=place,
        method=METHOD_LABELS.get(method, method or "unknown"),
        method_code=method,
        sure=sure,
        age=age,
        stale=render("where_stale.html", age=age) if where.get("stale") else Markup(""),
    )


def _history_markup(context: PluginContext, history: Sequence[StateChange]) -> Markup:
    if not history:
        return Markup("")
    zone = local_zone(context)
    items = join(
        render(
            "history_item.html",
            state=STATE_LABELS.get(change.to_state, change.to_state),
            actor=change.actor,
            at=change.at.astimezone(zone).strftime("%H:%M, %d %b"),
            reason=f" — {change.reason}" if change.reason else "",
        )
        for change in history
    )
    return render("history.html", items=items)


def _moves(context: PluginContext, facts: AssetFacts, role: Role) -> set[str]:
    current = AssetState(facts.asset.state)
    moves = context.workflow.allowed_moves(current)
    return {s.value for s, needs in moves.items() if role.at_least(needs)}


def _action_forms(visit: Visit, facts: AssetFacts, armed: bool) -> Markup:
    session = visit.session
    if not visit.may(Role.STAFF):
        return render("viewer_only.html", role=session.role.value)
    asset_id = facts.asset.id
    action = f"/phone/assets/{asset_id}"
    moves = _moves(visit.context, facts, session.role)
    where = facts.where or {}
    zone = where.get("zone")
    anchors = [zone.get("id") if isinstance(zone, dict) else None, facts.asset.home_zone_id]
    zones = nearby_zones(visit.context.locations.index, anchors, visit.settings.nearby_zones)
    choices = join(
        render("zone_choice.html", id=f"zone-{z.id}", value=z.id, name=z.name) for z in zones
    )
    window = visit.settings.move_window_seconds
    parts = [
        render(
            "here.html",
            action=action,
            csrf=session.csrf,
            choices=choices,
            armed=render("armed.html", window=_window_text(window)) if armed else Markup(""),
        )
    ]
    buttons = [
        render("state_button.html", action=action, csrf=session.csrf, to=to, label=label)
        for to, label, _ in STATE_BUTTONS
        if to in moves
    ]
    if buttons:
        parts.append(render("state_buttons.html", buttons=join(buttons)))
    if "faulty" in moves:
        parts.append(render("faulty.html", action=action, csrf=session.csrf))
    if facts.loan is None and "on_loan" in moves:
        due = visit.context.clock.now().astimezone(local_zone(visit.context)).date()
        options = join(
            render("option.html", value=value, label=label) for value, label in LOAN_DESTINATIONS
        )
        parts.append(
            render(
                "loan_out.html",
                action=action,
                csrf=session.csrf,
                destinations=options,
                due=(due + dt.timedelta(days=DEFAULT_LOAN_DAYS)).isoformat(),
                today=due.isoformat(),
            )
        )
    if facts.loan is not None:
        options = join(
            render("option.html", value=value, label=label) for value, label in RETURN_STATES
        )
        parts.append(
            render(
                "loan_return.html",
                action=action,
                csrf=session.csrf,
                reference=facts.loan.reference,
                states=options,
            )
        )
    if visit.may(Role.ENGINEER):
        parts.append(render("ppm_done.html", action=action, csrf=session.csrf))
    return join(parts)


def _window_text(seconds: float) -> str:
    if seconds >= 120:
        return f"{seconds / 60:g} minutes"
    return f"{seconds:g} seconds"


def asset_page(
    visit: Visit,
    facts: AssetFacts,
    *,
    notices: Sequence[Notice] = (),
    armed: bool = False,
    status: int = 200,
) -> web.Response:
    asset = facts.asset
    kind = facts.asset_class
    kind_text = " ".join(p for p in (kind.make, kind.model) if p) if kind else ""
    if kind is not None:
        kind_text = f"{kind.name} ({kind_text})" if kind_text else kind.name
    due = asset.next_ppm_due
    if due is None:
        ppm = "no PPM date recorded"
    else:
        ppm = due.strftime("%d %b %Y") + (" — overdue" if facts.ppm_overdue else "")
    loan_row = Markup("")
    if facts.loan is not None:
        loan_row = render(
            "loan_row.html",
            reference=facts.loan.reference,
            due=facts.loan.due_back.strftime("%d %b %Y"),
        )
    body = render(
        "asset.html",
        asset_number=asset.asset_number,
        description=asset.description or "(no description)",
        kind=kind_text or "Asset",
        serial=asset.serial or "—",
        state=STATE_LABELS.get(facts.state, facts.state),
        state_code=facts.state,
        attention="attention" if facts.state != "available" else "",
        where=where_markup(facts.where),
        ppm=ppm,
        ppm_class="attention" if facts.ppm_overdue or facts.state == PPM_OVERDUE else "",
        loan_row=loan_row,
        history=_history_markup(visit.context, facts.history),
        actions=_action_forms(visit, facts, armed),
    )
    return page(
        f"{asset.asset_number} {asset.description}".strip(),
        body,
        session=visit.session,
        notices=notices,
        status=status,
    )
