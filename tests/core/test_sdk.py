"""The plugin surface (floki_core.sdk): everything it names is there, importing it does
not import the test kit, and its register views answer with plain domain records."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import msgspec

from floki_core import sdk
from floki_core.testing import Floki

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
