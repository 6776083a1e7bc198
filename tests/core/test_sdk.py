"""The plugin surface (floki_core.sdk): everything it names is there, importing it does
not import the test kit, its register views answer with plain domain records, and what
a running appliance hands a plugin (records, workflow, sign-ins) holds to the API's
rules."""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path
from typing import Any

import msgspec
import pytest

from floki_core import sdk
from floki_core.ingest import IngestQueue
from floki_core.testing import TEST_PASSWORD, Floki

UUID = "F7826DA6-4FA2-4E98-8024-BC5B71E0893E"


def test_every_name_the_surface_lists_is_there() -> None:
    missing = [name for name in sdk.__all__ if not hasattr(sdk, name)]
    assert missing == []
    assert len(sdk.__all__) == len(set(sdk.__all__))


def test_a_plugin_importing_the_surface_does_not_import_the_test_kit() -> None:
    kit = "{'pytest', 'floki_core.testing'}"
    code = f"import sys, floki_core.sdk; print(sorted({kit} & set(sys.modules)))"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.strip() == "[]"


def test_plugin_settings_refuse_a_misspelt_key() -> None:
    class Settings(sdk.PluginSettings):
        port: int = 5055

    assert msgspec.convert({"port": 1}, Settings).port == 1
    try:
        msgspec.convert({"prot": 1}, Settings)
    except msgspec.ValidationError as exc:
        assert "prot" in str(exc)
    else:
        raise AssertionError("a misspelt key was accepted")


async def _register(floki: Floki) -> dict[str, int]:
    admin = await floki.headers("admin")

    async def post(path: str, body: dict[str, Any]) -> int:
        resp = await floki.client.post(f"/api/v1/{path}", json=body, headers=admin)
        assert resp.status == 201, await resp.text()
        made: int = (await resp.json())["id"]
        return made

    site = await post("sites", {"name": "General"})
    ward = await post("zones", {"site_id": site, "name": "Ward 7", "type": "ward"})
    bay = await post("zones", {"site_id": site, "name": "Bay 1", "type": "bay", "parent_id": ward})
    store = await post("zones", {"site_id": site, "name": "Equipment store", "type": "store"})
    gateway = await post(
        "receivers",
        {"name": "bay 1 gateway", "technology": "ble", "identifier": "AC:23:3F:C0:00:01"}
        | {"zone_id": bay},
    )
    asset = await post("assets", {"asset_number": "E1", "description": "Infusion pump"})
    await post(
        "identifiers", {"asset_id": asset, "technology": "ibeacon", "value": f"{UUID}:100:7"}
    )
    await floki.core.locations.reindex()
    return {"ward": ward, "bay": bay, "store": store, "gateway": gateway, "asset": asset}


async def test_register_views_answer_with_plain_records(floki: Floki) -> None:
    made = await _register(floki)
    view = sdk.RegisterView(lambda: floki.core.locations.index, floki.core.read)

    # Any spelling of the tag finds its asset, as the resolver binds it.
    asset = await view.asset_by_identifier("ibeacon", f"{UUID.lower()}:100:7")
    assert isinstance(asset, sdk.Asset)
    assert (asset.id, asset.asset_number) == (made["asset"], "E1")
    assert asset.description == "Infusion pump"
    assert await view.asset_by_identifier("ibeacon", f"{UUID}:100:8") is None

    receiver = await view.receiver_by_key("ble", "ac:23:3f:c0:00:01")
    assert isinstance(receiver, sdk.Receiver)
    assert (receiver.id, receiver.zone_id) == (made["gateway"], made["bay"])
    assert await view.receiver_by_key("ble", "AC:23:3F:C0:00:99") is None

    tree = view.zone_tree()
    assert [z.name for z in tree] == ["Equipment store", "Ward 7"]
    [ward] = [z for z in tree if z.id == made["ward"]]
    assert [(c.id, c.name, c.children) for c in ward.children] == [(made["bay"], "Bay 1", ())]


# --- what a running appliance hands a plugin ------------------------------------------


class ContextKeeper:
    """A plugin that keeps the context it is started with."""

    def __init__(self) -> None:
        self.context: sdk.PluginContext | None = None

    @sdk.hookimpl
    def floki_startup(self, context: sdk.PluginContext) -> None:
        self.context = context


KEEPER = "context-keeper"


@pytest.fixture
def floki_plugins() -> list[tuple[str, object]]:
    return [(KEEPER, ContextKeeper())]


def _context(floki: Floki) -> sdk.PluginContext:
    context = floki.core.plugins.contexts[KEEPER]
    assert context.services is not None
    return context


STAFF = sdk.Principal(user_id=None, username="ward nurse", role=sdk.Role.STAFF)
ENGINEER = sdk.Principal(user_id=None, username="engineer", role=sdk.Role.ENGINEER)


async def _api_state_change(floki: Floki, asset_id: int, to: str, role: str) -> tuple[int, str]:
    resp = await floki.client.post(
        f"/api/v1/assets/{asset_id}/state",
        json={"state": to, "reason": "checked"},
        headers=await floki.headers(role),
    )
    body = await resp.json()
    return resp.status, str(body.get("error", ""))


@pytest.mark.floki_entry_points()
async def test_workflow_facade_refuses_a_state_move_as_the_api_does(floki: Floki) -> None:
    made = await _register(floki)
    workflow = _context(floki).workflow
    assert workflow.allowed_moves(sdk.AssetState.AVAILABLE)[sdk.AssetState.DIRTY] is sdk.Role.STAFF
    await workflow.change_state(made["asset"], "dirty", actor=STAFF, source="phone")
    resp = await floki.client.get(
        f"/api/v1/assets/{made['asset']}", headers=await floki.headers("viewer")
    )
    assert (await resp.json())["state"] == "dirty"
    [change] = await workflow.state_history(made["asset"], limit=1)
    assert (change.to_state, change.actor, change.source) == ("dirty", "ward nurse", "phone")

    moves = workflow.allowed_moves(sdk.AssetState.DIRTY)
    no_move = next(s for s in sdk.AssetState if s not in moves and s != "dirty")
    engineers_only = next(s for s, role in moves.items() if role is not sdk.Role.STAFF)
    for to, actor, error, status in (
        (no_move, ENGINEER, sdk.Conflict, 409),
        (engineers_only, STAFF, sdk.Forbidden, 403),
    ):
        with pytest.raises(error) as refused:
            await workflow.change_state(
                made["asset"], to.value, actor=actor, source="test", reason="checked"
            )
        role = "engineer" if actor is ENGINEER else "staff"
        assert await _api_state_change(floki, made["asset"], to.value, role) == (
            status,
            str(refused.value),
        )


def _add_tags(register: sdk.RegisterWriting, asset_id: int, values: list[str]) -> list[int]:
    return [
        register.create_identifier(
            asset_id=asset_id, technology="qr", value=value, actor=ENGINEER
        ).id
        for value in values
    ]


@pytest.mark.floki_entry_points()
async def test_register_records_add_audited_and_bound_or_nothing(floki: Floki) -> None:
    made = await _register(floki)
    context = _context(floki)
    assert context.register is not None
    viewer = await floki.headers("viewer")

    # Refused part-way (the same value twice): nothing of it is kept.
    with pytest.raises(sdk.Conflict, match="already exists"):
        await context.records.write(_add_tags, made["asset"], ["QRCODE01", "QRCODE01"])
    resp = await floki.client.get("/api/v1/identifiers?technology=qr", headers=viewer)
    assert (await resp.json())["items"] == []

    [tag] = await context.records.write(_add_tags, made["asset"], ["QRCODE01"])
    # Bound as soon as write returns: a scan of the new code straight after finds it.
    assert context.register.asset_id_for("qr", "qrcode01") == made["asset"]
    resp = await floki.client.get("/api/v1/identifiers?technology=qr", headers=viewer)
    assert [i["id"] for i in (await resp.json())["items"]] == [tag]
    resp = await floki.client.get(
        "/api/v1/audit?entity=identifiers", headers=await floki.headers("admin")
    )
    entries = (await resp.json())["items"]
    assert [(e["actor"], e["action"]) for e in entries if e["entity_id"] == str(tag)] == [
        ("engineer", "create")
    ]

    def read(register: sdk.RegisterReading) -> tuple[str | None, str | None]:
        found = register.find_identifier(["qr"], "qrcode01")
        return (
            None
            if found is None
            else register.identifiers_of([found.asset_id], "qr").get(found.asset_id),
            register.receivers_of([made["bay"]], "ble").get(made["bay"]),
        )

    assert await context.records.read(read) == ("QRCODE01", "AC:23:3F:C0:00:01")


@pytest.mark.floki_entry_points()
async def test_sign_ins_hold_to_the_api_login(floki: Floki) -> None:
    await floki.headers("staff")  # makes the user test-staff
    sign_ins = _context(floki).sign_ins
    refused = await sign_ins.sign_in(
        "test-staff", "wrong", address="127.0.0.1", via="test", hours=1
    )
    assert isinstance(refused, sdk.LoginRefused)
    resp = await floki.client.post(
        "/api/v1/auth/login", json={"username": "test-staff", "password": "wrong"}
    )
    assert (resp.status, (await resp.json())["error"]) == (401, str(refused))

    signed = await sign_ins.sign_in(
        "test-staff", TEST_PASSWORD, address="127.0.0.1", via="test", hours=1
    )
    assert isinstance(signed, sdk.SignedIn) and signed.role is sdk.Role.STAFF
    assert await sign_ins.current_role(signed.user_id, signed.token_id) is sdk.Role.STAFF
    await sign_ins.sign_out(
        user_id=signed.user_id, username="test-staff", token_id=signed.token_id, detail="bye"
    )
    assert await sign_ins.current_role(signed.user_id, signed.token_id) is None


def test_sign_ins_read_the_lockout_limits_as_the_api_does() -> None:
    from floki_core.api.routes.accounts import lockout_policy as api_policy
    from floki_core.config import SecurityConfig
    from floki_core.plugins.sign_ins import lockout_policy

    security = msgspec.convert(
        {"lockout_attempts": 3, "lockout_minutes": 7.5, "username_failures": 9}, SecurityConfig
    )
    assert lockout_policy(security) == api_policy(security)


def test_a_command_has_no_running_appliance_to_hand_out(tmp_path: Path) -> None:
    context = sdk.PluginContext(
        name="cli-only",
        settings=None,
        clock=sdk.SystemClock(),
        events=sdk.EventBus(),
        ingest=IngestQueue(1),
        data_dir=tmp_path,
        log=logging.getLogger("test"),
    )
    with pytest.raises(RuntimeError, match=r"plugin cli-only: .* running appliance only"):
        context.workflow  # noqa: B018
