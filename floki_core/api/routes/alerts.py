"""Alerts and the rules that raise them."""

from __future__ import annotations

from typing import Any

import msgspec
from aiohttp import web
from msgspec import UNSET, UnsetType

from floki_core.api.bodies import (
    MAX_ID,
    ApiError,
    Page,
    int_param,
    json_response,
    page,
    page_response,
    path_id,
    principal,
    read_json,
)
from floki_core.api.keys import CORE
from floki_core.api.routing import PAGING, ApiRoute, Param, RouteTable
from floki_core.schemas import Input, Notes
from floki_core.storage import models_alerts as store
from floki_core.storage.models_alerts import Alert, AlertDelivery, AlertRule
from floki_core.workflow.rules import SEVERITIES, Severity
from floki_core.workflow.settings import NotifierName, RuleName, RuleSettings, RuleTypeName

PREFIX = "/api/v1"
STATUS_FILTERS = {
    "open": store.OPEN_STATUSES,
    "raised": ("raised",),
    "acknowledged": ("acknowledged",),
    "resolved": ("resolved",),
}


class AlertNote(Input, kw_only=True):
    note: Notes = ""


class AlertRuleCreate(RuleSettings, forbid_unknown_fields=True, kw_only=True):
    """A new rule: name, type, severity (default: the type's), params, notify, ..."""


class AlertRuleUpdate(Input, kw_only=True):
    name: RuleName | UnsetType = UNSET
    type: RuleTypeName | UnsetType = UNSET
    severity: Severity | UnsetType = UNSET
    params: dict[str, Any] | UnsetType = UNSET
    notify: list[NotifierName] | UnsetType = UNSET
    enabled: bool | UnsetType = UNSET
    auto_resolve: bool | UnsetType = UNSET


class AlertDetail(Alert, frozen=True, kw_only=True):
    deliveries: list[AlertDelivery] = msgspec.field(default_factory=list)


class RuleTypeInfo(msgspec.Struct, kw_only=True):
    name: str
    description: str
    default_severity: str
    plugin: str | None  # None: built in
    params: dict[str, Any]  # JSON Schema of the params


class RuleTypeList(msgspec.Struct, kw_only=True):
    items: list[RuleTypeInfo]


def _choices(request: web.Request, name: str, allowed: Any) -> list[str]:
    raw = request.query.get(name, "")
    chosen = [v.strip() for v in raw.split(",") if v.strip()]
    wrong = [v for v in chosen if v not in allowed]
    if wrong:
        raise ApiError(
            400, f"query parameter {name}: {wrong[0]!r} is not one of {', '.join(allowed)}"
        )
    return chosen


def _choices_pattern(allowed: Any) -> str:
    """What ``_choices`` accepts: allowed words, comma-separated, blanks ignored."""
    word = "(" + "|".join(allowed) + ")?"
    return rf"^\s*{word}\s*(,\s*{word}\s*)*$"


async def list_alerts(request: web.Request) -> web.Response:
    core = request.app[CORE]
    statuses = [s for c in _choices(request, "status", STATUS_FILTERS) for s in STATUS_FILTERS[c]]
    severities = _choices(request, "severity", SEVERITIES)
    rule_id = int_param(request, "rule_id", 0, 0, 2**63 - 1) or None
    asset_id = int_param(request, "asset_id", 0, 0, 2**63 - 1) or None
    limit, offset = page(request)
    items, total = await core.read(
        store.list_alerts,
        statuses=statuses,
        severities=severities,
        rule_id=rule_id,
        asset_id=asset_id,
        limit=limit,
        offset=offset,
    )
    return page_response(items, total, limit, offset)


async def get_alert(request: web.Request) -> web.Response:
    alert, deliveries = await request.app[CORE].read(store.get_alert, path_id(request))
    return json_response(AlertDetail(**msgspec.structs.asdict(alert), deliveries=deliveries))


async def _note(request: web.Request) -> str:
    if not request.body_exists:
        return ""
    return (await read_json(request, AlertNote)).note


async def acknowledge(request: web.Request) -> web.Response:
    alerts = request.app[CORE].workflow.alerts
    note = await _note(request)
    return json_response(await alerts.acknowledge(path_id(request), principal(request), note))


async def resolve(request: web.Request) -> web.Response:
    alerts = request.app[CORE].workflow.alerts
    note = await _note(request)
    return json_response(await alerts.resolve(path_id(request), principal(request), note))


async def list_rules(request: web.Request) -> web.Response:
    rules = request.app[CORE].workflow.alerts.rules()
    return page_response(rules, len(rules), len(rules), 0)


async def get_rule(request: web.Request) -> web.Response:
    return json_response(request.app[CORE].workflow.alerts.rule(path_id(request)))


async def create_rule(request: web.Request) -> web.Response:
    body = await read_json(request, AlertRuleCreate)
    rule = await request.app[CORE].workflow.alerts.create_rule(body, principal(request))
    return json_response(rule, 201)


async def update_rule(request: web.Request) -> web.Response:
    body = await read_json(request, AlertRuleUpdate)
    changes = body.given()
    if not changes:
        raise ApiError(422, "no fields to change")
    alerts = request.app[CORE].workflow.alerts
    return json_response(await alerts.update_rule(path_id(request), changes, principal(request)))


async def delete_rule(request: web.Request) -> web.Response:
    alerts = request.app[CORE].workflow.alerts
    return json_response(await alerts.delete_rule(path_id(request), principal(request)))


async def rule_types(request: web.Request) -> web.Response:
    found = request.app[CORE].workflow.alerts.book.rule_types()
    items = [
        RuleTypeInfo(
            name=name,
            description=str(rule_type.description),
            default_severity=str(rule_type.default_severity),
            plugin=plugin,
            params=msgspec.json.schema(rule_type.params),
        )
        for name, (rule_type, plugin) in sorted(found.items())
    ]
    return json_response(RuleTypeList(items=items))


def add_routes(app: web.Application, table: RouteTable) -> None:
    a, r = "alerts", "alert rules"
    listing = (
        Param(
            "status",
            description="open, raised, acknowledged or resolved (comma-separated)",
            pattern=_choices_pattern(STATUS_FILTERS),
        ),
        Param(
            "severity",
            description="info, warning or critical (comma-separated)",
            pattern=_choices_pattern(SEVERITIES),
        ),
        Param("rule_id", "integer", "only alerts of this rule", minimum=0, maximum=MAX_ID),
        Param("asset_id", "integer", "only alerts about this asset", minimum=0, maximum=MAX_ID),
        *PAGING,
    )
    routes: list[tuple[ApiRoute, Any]] = [
        (
            ApiRoute(
                "GET",
                f"{PREFIX}/alerts",
                "viewer",
                "Alerts, newest first; status=open lists raised and acknowledged ones",
                a,
                response=Page[Alert],
                query=listing,
            ),
            list_alerts,
        ),
        (
            ApiRoute(
                "GET",
                f"{PREFIX}/alerts/{{id}}",
                "viewer",
                "One alert with the outcome of its deliveries to notifiers",
                a,
                response=AlertDetail,
            ),
            get_alert,
        ),
        (
            ApiRoute(
                "POST",
                f"{PREFIX}/alerts/{{id}}/ack",
                "staff",
                "Acknowledge an open alert (audited with who); the body's note is optional",
                a,
                body=AlertNote,
                response=Alert,
                answers={409: "the alert is already acknowledged or resolved"},
            ),
            acknowledge,
        ),
        (
            ApiRoute(
                "POST",
                f"{PREFIX}/alerts/{{id}}/resolve",
                "staff",
                "Resolve an open alert by hand (audited with who). While its condition "
                "holds, no new alert is raised for it",
                a,
                body=AlertNote,
                response=Alert,
                answers={409: "the alert is already resolved"},
            ),
            resolve,
        ),
        (
            ApiRoute(
                "GET",
                f"{PREFIX}/alert-rules",
                "viewer",
                "Alert rules, each with its source (config or api) and any problem",
                r,
                response=Page[AlertRule],
            ),
            list_rules,
        ),
        (
            ApiRoute(
                "POST",
                f"{PREFIX}/alert-rules",
                "admin",
                "Create an alert rule; params are checked against its rule type",
                r,
                body=AlertRuleCreate,
                response=AlertRule,
                status=201,
                answers={409: "a rule of that name exists"},
            ),
            create_rule,
        ),
        (
            ApiRoute(
                "GET",
                f"{PREFIX}/alert-rules/{{id}}",
                "viewer",
                "One alert rule",
                r,
                response=AlertRule,
            ),
            get_rule,
        ),
        (
            ApiRoute(
                "PATCH",
                f"{PREFIX}/alert-rules/{{id}}",
                "admin",
                "Change an alert rule made through the API; switching it off resolves its "
                "open alerts",
                r,
                body=AlertRuleUpdate,
                response=AlertRule,
                answers={409: "the name is taken, or the rule comes from the configuration"},
            ),
            update_rule,
        ),
        (
            ApiRoute(
                "DELETE",
                f"{PREFIX}/alert-rules/{{id}}",
                "admin",
                "Delete an alert rule made through the API; its open alerts are resolved",
                r,
                response=AlertRule,
                answers={409: "the rule comes from the configuration file"},
            ),
            delete_rule,
        ),
        (
            ApiRoute(
                "GET",
                f"{PREFIX}/alert-rule-types",
                "viewer",
                "Rule types (built in and from plugins) with the JSON Schema of their params",
                r,
                response=RuleTypeList,
            ),
            rule_types,
        ),
    ]
    for spec, handler in routes:
        table.add(app, spec, handler)
