"""Alert rules: the configuration file and the API, validation, role policy, and rule
types added by plugins (issue §3)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec
import pytest

from floki_core import hookimpl
from floki_core.clock import ManualClock
from floki_core.config import AppConfig
from floki_core.core import Core
from floki_core.domain import SYSTEM
from floki_core.errors import ConfigError
from floki_core.plugins.registry import RuleTypeRegistry
from floki_core.testing import Floki
from floki_core.workflow.rules import Condition, Facts
from floki_core.workflow.settings import RuleSettings
from tests.core.location.register_builder import API, get_json
from tests.core.workflow.test_alerts import (
    alerts_config,
    evaluate,
    listed,
    patch_asset,
    put_at,
    ward_world,
)

RULES = f"{API}/alert-rules"
CONFIGURED = {"name": "Missing a day", "type": "missing", "params": {"hours": 24}}


@pytest.fixture
def floki_config() -> AppConfig:
    return alerts_config(CONFIGURED)


async def call(floki: Floki, method: str, path: str, role: str = "admin", **body: Any) -> Any:
    kwargs: dict[str, Any] = {"json": body} if method in ("POST", "PATCH") else {}
    resp = await floki.client.request(method, path, headers=await floki.headers(role), **kwargs)
    return resp.status, (await resp.json() if resp.status != 204 else None)


# --- the API ---------------------------------------------------------------------------


async def test_rules_are_created_changed_and_deleted_by_admins_and_audited(floki: Floki) -> None:
    status, rule = await call(
        floki,
        "POST",
        RULES,
        name="Gateways down",
        type="gateway_offline",
        params={"after_seconds": 300},
        notify=[],
    )
    assert status == 201, rule
    assert rule["source"] == "api" and rule["severity"] == "warning" and rule["enabled"]
    # Params come back whole, defaults filled in: what the rule really does.
    assert rule["params"] == {"after_seconds": 300.0, "gateways": []}

    status, listing = await call(floki, "GET", RULES, "viewer")
    assert status == 200
    assert [r["name"] for r in listing["items"]] == ["Missing a day", "Gateways down"]
    assert [r["source"] for r in listing["items"]] == ["config", "api"]

    status, changed = await call(
        floki, "PATCH", f"{RULES}/{rule['id']}", severity="critical", params={"gateways": ["gw"]}
    )
    assert status == 200, changed
    assert changed["severity"] == "critical"
    assert changed["params"] == {"after_seconds": 60.0, "gateways": ["gw"]}

    status, deleted = await call(floki, "DELETE", f"{RULES}/{rule['id']}")
    assert status == 200 and deleted["name"] == "Gateways down"
    status, _ = await call(floki, "GET", f"{RULES}/{rule['id']}", "viewer")
    assert status == 404

    audit = await get_json(floki, "/audit", "admin", entity="alert_rules", entity_id=rule["id"])
    actions = [(e["action"], e["actor"]) for e in reversed(audit["items"])]
    assert actions == [("create", "test-admin"), ("update", "test-admin"), ("delete", "test-admin")]
    assert audit["items"][1]["before"]["severity"] == "warning"
    assert audit["items"][1]["after"]["severity"] == "critical"


@pytest.mark.parametrize("role", ["viewer", "staff", "engineer"])
async def test_only_admins_change_rules(floki: Floki, role: str) -> None:
    status, listing = await call(floki, "GET", RULES, role)
    assert status == 200
    rule_id = listing["items"][0]["id"]
    for method, path in (("POST", RULES), ("PATCH", f"{RULES}/{rule_id}")):
        status, body = await call(floki, method, path, role, name="x", type="missing")
        assert status == 403, (method, body)
        assert "admin" in body["error"]
    status, _ = await call(floki, "DELETE", f"{RULES}/{rule_id}", role)
    assert status == 403


@pytest.mark.parametrize(
    ("rule", "status", "reason"),
    [
        ({"name": "x", "type": "teleport"}, 422, "unknown rule type 'teleport'; known types: "),
        ({"name": "x", "type": "missing"}, 422, "missing required field `hours`"),
        ({"name": "x", "type": "missing", "params": {"hours": -1}}, 422, "hours"),
        ({"name": "x", "type": "missing", "params": {"hours": 1, "days": 2}}, 422, "days"),
        ({"name": "x", "type": "geofence_exit", "params": {"dwell_seconds": "soon"}}, 422, "dwell"),
        (
            {
                "name": "x",
                "type": "par_level",
                "params": {"zone_id": 999, "class_id": 1, "minimum": 2},
            },
            422,
            "zone 999 does not exist",
        ),
        (
            {"name": "x", "type": "missing", "params": {"hours": 1}, "notify": ["pager"]},
            422,
            "pager",
        ),
        ({"name": "x", "type": "missing", "severity": "urgent"}, 422, "severity"),
        ({"name": "", "type": "missing", "params": {"hours": 1}}, 422, "name"),
        ({"name": "x", "type": "missing", "params": {"hours": 1}, "colour": "red"}, 422, "colour"),
        ({"name": "Missing a day", "type": "missing", "params": {"hours": 2}}, 409, "already"),
    ],
)
async def test_bad_rules_are_refused_with_the_reason(
    floki: Floki, rule: dict[str, Any], status: int, reason: str
) -> None:
    got, body = await call(floki, "POST", RULES, **rule)
    assert got == status, body
    assert reason in body["error"]
    assert len((await get_json(floki, "/alert-rules"))["items"]) == 1


async def test_a_rule_from_the_configuration_file_is_changed_there_not_through_the_api(
    floki: Floki,
) -> None:
    [rule] = (await get_json(floki, "/alert-rules"))["items"]
    assert (rule["name"], rule["source"]) == ("Missing a day", "config")
    status, body = await call(floki, "PATCH", f"{RULES}/{rule['id']}", enabled=False)
    assert status == 409 and "configuration file" in body["error"]
    status, body = await call(floki, "DELETE", f"{RULES}/{rule['id']}")
    assert status == 409
    status, body = await call(floki, "PATCH", f"{RULES}/{rule['id']}")
    assert status == 422


async def test_switching_a_rule_off_or_deleting_it_resolves_its_alerts(floki: Floki) -> None:
    reg = await ward_world(floki)
    _, rule = await call(floki, "POST", RULES, name="Away", type="geofence_exit")
    await put_at(floki, reg, "PUMP-001", "qr-2d")
    floki.clock.advance(3600)
    await evaluate(floki)
    [alert] = await listed(floki, status="open")

    status, _ = await call(floki, "PATCH", f"{RULES}/{rule['id']}", enabled=False)
    assert status == 200
    [closed] = await listed(floki)
    assert (closed["status"], closed["resolution"]) == ("resolved", "rule switched off")
    await evaluate(floki)
    assert await listed(floki, status="open") == []

    await call(floki, "PATCH", f"{RULES}/{rule['id']}", enabled=True)
    await evaluate(floki)
    [again] = await listed(floki, status="open")
    assert again["id"] != alert["id"]
    await call(floki, "DELETE", f"{RULES}/{rule['id']}")
    assert await listed(floki, status="open") == []
    # The alert outlives its rule and still says which rule it was.
    gone = next(a for a in await listed(floki) if a["id"] == again["id"])
    assert (gone["rule_id"], gone["rule_name"], gone["resolution"]) == (
        None,
        "Away",
        "rule deleted",
    )


async def test_rule_types_are_listed_with_their_params(floki: Floki) -> None:
    types = {t["name"]: t for t in (await get_json(floki, "/alert-rule-types"))["items"]}
    assert {
        "geofence_exit",
        "missing",
        "par_level",
        "low_battery",
        "gateway_offline",
        "ppm_overdue_in_clinical_area",
        "loan_overdue",
    } <= set(types)
    par = types["par_level"]
    assert par["plugin"] is None and par["default_severity"] == "warning"
    assert "minimum" in str(par["params"])


# --- the configuration file across restarts -------------------------------------------


@pytest.fixture
def data_dir(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path / "data"


async def started(data_dir: Path, *rules: dict[str, Any]) -> Core:
    core = Core(data_dir, alerts_config(*rules), clock=ManualClock())
    await core.start()
    return core


async def test_the_file_owns_the_rules_it_names_at_every_start(data_dir: Path) -> None:
    core = await started(
        data_dir,
        {"name": "Missing", "type": "missing", "params": {"hours": 24}},
        {"name": "Batteries", "type": "low_battery"},
    )
    try:
        by_name = {r.name: r for r in core.workflow.alerts.rules()}
        missing_id = by_name["Missing"].id
        await core.workflow.alerts.create_rule(
            RuleSettings(name="Gateways", type="gateway_offline"), SYSTEM
        )
    finally:
        await core.stop()

    core = await started(
        data_dir,
        {"name": "Missing", "type": "missing", "params": {"hours": 48}, "severity": "critical"},
        {"name": "Gateways", "type": "gateway_offline", "params": {"after_seconds": 600}},
    )
    try:
        rules = {r.name: r for r in core.workflow.alerts.rules()}
        assert set(rules) == {"Missing", "Gateways"}  # Batteries left the file: deleted
        assert rules["Missing"].id == missing_id  # same rule, its alerts keep pointing at it
        assert (rules["Missing"].params["hours"], rules["Missing"].severity) == (48.0, "critical")
        # A rule made through the API that the file now names is the file's.
        assert rules["Gateways"].source == "config"
        assert rules["Gateways"].params["after_seconds"] == 600.0
    finally:
        await core.stop()


@pytest.mark.parametrize(
    ("rule", "reason"),
    [
        ({"name": "R", "type": "teleport"}, "unknown rule type 'teleport'"),
        ({"name": "R", "type": "missing"}, "missing required field `hours`"),
        ({"name": "R", "type": "missing", "params": {"hours": 1}, "notify": ["pager"]}, "pager"),
    ],
)
async def test_a_bad_rule_in_the_file_stops_the_start_naming_it(
    data_dir: Path, rule: dict[str, Any], reason: str
) -> None:
    core = Core(data_dir, alerts_config(rule), clock=ManualClock())
    with pytest.raises(ConfigError) as refused:
        await core.start()
    await core.stop()
    assert "[[workflow.alerts.rules]] #1 ('R')" in str(refused.value)
    assert reason in str(refused.value)


async def test_two_rules_of_one_name_in_the_file_are_refused(data_dir: Path) -> None:
    core = Core(data_dir, alerts_config(CONFIGURED, CONFIGURED), clock=ManualClock())
    with pytest.raises(ConfigError, match=r"#2 .*same name"):
        await core.start()
    await core.stop()


# --- a rule type from a plugin ---------------------------------------------------------


class StateWatchParams(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    state: str


class StateWatch:
    """Every asset in a given state (e.g. a trust wants to hear of each faulty one)."""

    description = "An asset is in a given state"
    default_severity = "info"
    params = StateWatchParams

    def conditions(self, params: StateWatchParams, facts: Facts) -> Iterator[Condition]:
        for asset in facts.assets.values():
            if asset.state == params.state:
                yield Condition(
                    key=f"asset:{asset.id}",
                    title=f"{facts.label(asset)} is {params.state}",
                    asset_id=asset.id,
                )


class StateWatchPlugin:
    @hookimpl
    def floki_register_rule_types(self, registry: RuleTypeRegistry) -> None:
        registry.add("state_watch", StateWatch())


@pytest.mark.parametrize(
    "floki_config",
    [alerts_config({"name": "Faulty kit", "type": "state_watch", "params": {"state": "faulty"}})],
)
@pytest.mark.parametrize("floki_plugins", [[("trust-rules", StateWatchPlugin())]])
async def test_a_rule_type_from_a_plugin_is_built_from_the_configuration(floki: Floki) -> None:
    reg = await ward_world(floki)
    [rule] = (await get_json(floki, "/alert-rules"))["items"]
    assert (rule["type"], rule["severity"], rule["problem"]) == ("state_watch", "info", None)
    types = {t["name"]: t for t in (await get_json(floki, "/alert-rule-types"))["items"]}
    assert types["state_watch"]["plugin"] == "trust-rules"

    await patch_asset(floki, reg, "SCAN-001", state="faulty")
    await evaluate(floki)
    [alert] = await listed(floki, status="open")
    assert alert["title"] == "SCAN-001 (Bladder scanner) is faulty"
    await patch_asset(floki, reg, "SCAN-001", state="in_maintenance")
    await evaluate(floki)
    assert await listed(floki, status="open") == []

    status, body = await call(
        floki, "POST", RULES, name="Bad", type="state_watch", params={"colour": "red"}
    )
    assert status == 422 and "colour" in body["error"]


class ClashingPlugin:
    @hookimpl
    def floki_register_rule_types(self, registry: RuleTypeRegistry) -> None:
        registry.add("missing", StateWatch())


class ShapelessPlugin:
    @hookimpl
    def floki_register_rule_types(self, registry: RuleTypeRegistry) -> None:
        registry.add("shapeless", object())


@pytest.mark.parametrize(
    ("floki_plugins", "reason"),
    [
        ([("clash", ClashingPlugin())], "rule type 'missing' is built in"),
        ([("clash", ShapelessPlugin())], "has no conditions() method"),
    ],
)
async def test_a_rule_type_that_cannot_work_fails_its_plugin_only(
    floki: Floki, reason: str
) -> None:
    plugins = {p["name"]: p for p in (await get_json(floki, "/plugins"))["items"]}
    assert plugins["clash"]["status"] == "failed"
    assert reason in plugins["clash"]["reason"]
    assert (await get_json(floki, "/alert-rules"))["items"][0]["problem"] is None


async def test_evaluation_keeps_alerts_of_a_rule_it_cannot_judge(floki: Floki) -> None:
    """A par level whose zone was deleted shows the problem; it resolves nothing."""
    reg = await ward_world(floki)
    status, zone = await call(
        floki, "POST", f"{API}/zones", site_id=reg.site, name="Ward 8", type="ward"
    )
    assert status == 201
    await floki.core.locations.reindex()
    _, rule = await call(
        floki,
        "POST",
        RULES,
        name="Ward 8 pumps",
        type="par_level",
        params={"zone_id": zone["id"], "class_id": reg.classes["Infusion pump"], "minimum": 1},
    )
    await evaluate(floki)
    [short] = await listed(floki, status="open")
    status, _ = await call(floki, "DELETE", f"{API}/zones/{zone['id']}")
    assert status == 204
    await floki.core.locations.reindex()
    await evaluate(floki)
    assert [a["id"] for a in await listed(floki, status="open")] == [short["id"]]
    shown = await get_json(floki, f"/alert-rules/{rule['id']}")
    assert shown["problem"] == f"zone {zone['id']} does not exist"
    assert dt.datetime.fromisoformat(shown["updated_at"]) == floki.clock.now()
