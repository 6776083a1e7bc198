"""The versioned plugin contract (issue 12, §2; DESIGN.md §5).

The appliance provides ``floki_core.PLUGIN_API``; a plugin declares the range it supports
in ``FLOKI_PLUGIN_API``. One whose range leaves this appliance out is refused at load,
naming both versions, and listed in ``GET /api/v1/plugins`` as failed with that reason
while the appliance and the other plugins run on.
"""

from __future__ import annotations

import importlib.metadata
import logging
import tomllib
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from packaging.requirements import Requirement

import floki_core
from floki_core import cli, hookimpl
from floki_core.initialise import init_data_dir
from floki_core.plugins.contract import hook_versions
from floki_core.testing import Floki
from tests.core.plugin_samples import (  # noqa: F401  (fixtures are found by name)
    Plugins,
    appliance_config,
    health,
    listed_plugins,
    parametrised_config,
    parametrised_plugins,
    with_plugins,
)
from tests.core.plugins_contract.hook_samples import Declares

REPO = Path(__file__).resolve().parents[3]


def test_the_core_provides_plugin_api_1_4() -> None:
    assert floki_core.PLUGIN_API == (1, 4)


@with_plugins(lambda: [("future", Declares(">=2.0,<3")), ("current", Declares(">=1.0,<2"))])
async def test_plugin_for_a_newer_api_is_refused_naming_both_and_the_rest_run(
    floki: Floki, floki_plugins: Plugins
) -> None:
    plugins = dict(floki_plugins)
    resp = await floki.client.get("/api/v1/plugins", headers=await floki.headers("viewer"))
    assert resp.status == 200
    body = await resp.json()
    assert body["plugin_api"] == "1.4"
    listing = {item["name"]: item for item in body["items"]}

    future = listing["future"]
    assert future["status"] == "failed"
    assert future["api"] == ">=2.0,<3"
    assert future["reason"] == (
        "incompatible plugin API: the plugin supports >=2.0,<3 (FLOKI_PLUGIN_API), this "
        f"appliance provides plugin API 1.4 (floki-core {floki_core.__version__}); install a "
        "release of the plugin made for plugin API 1.4"
    )
    assert future["sources"] == []
    assert plugins["future"].called == []  # refused before any of its hooks ran
    assert floki.core.plugins.pm.get_plugin("future") is None

    assert listing["current"]["status"] == "running"
    assert listing["current"]["api"] == ">=1.0,<2"
    assert listing["ble"]["status"] == "running"
    await floki.eventually(lambda: plugins["current"].source.runs == 1, "the compatible source")
    assert plugins["future"].source.runs == 0
    # The appliance serves on.
    assert (await health(floki))[0] == 200
    resp = await floki.client.post(
        "/api/v1/assets", json={"asset_number": "VIP-0001"}, headers=await floki.headers("engineer")
    )
    assert resp.status == 201


@with_plugins(lambda: [("vintage", Declares(">=0.1,<1"))])
async def test_plugin_for_an_older_api_only_is_refused(floki: Floki) -> None:
    vintage = (await listed_plugins(floki))["vintage"]
    assert vintage["status"] == "failed"
    assert "the plugin supports >=0.1,<1 (FLOKI_PLUGIN_API)" in vintage["reason"]
    assert "this appliance provides plugin API 1.4" in vintage["reason"]


def one_plugin(api: object) -> Callable[[], Plugins]:
    return lambda: [("plugin", Declares(api))]


COMPATIBLE = (">=1.0,<2", "~=1.0", ">=1", "==1.4", ">1.1, <1.5", "<2")


@pytest.mark.parametrize(
    "floki_plugins", [one_plugin(api) for api in COMPATIBLE], indirect=True, ids=COMPATIBLE
)
async def test_plugin_whose_range_holds_this_api_loads(
    floki: Floki, floki_plugins: Plugins
) -> None:
    [(_, plugin)] = floki_plugins
    item = (await listed_plugins(floki))["plugin"]
    assert item["status"] == "running", item["reason"]
    assert item["api"] == plugin.FLOKI_PLUGIN_API
    assert plugin.called == ["floki_register_sources", "floki_startup"]


@with_plugins(one_plugin(None))
async def test_plugin_declaring_nothing_is_taken_as_1x_with_a_warning(
    floki: Floki, floki_plugins: Plugins, caplog: pytest.LogCaptureFixture
) -> None:
    item = (await listed_plugins(floki))["plugin"]
    assert item["status"] == "running"
    assert item["api"] is None
    assert item["reason"] is None
    warnings = [
        r.getMessage()
        for r in caplog.get_records("setup")
        if r.levelno == logging.WARNING and "FLOKI_PLUGIN_API" in r.getMessage()
    ]
    assert warnings == [
        "plugin plugin declares no FLOKI_PLUGIN_API; taken as '>=1.0,<2' (written before "
        "the plugin API was versioned). Add FLOKI_PLUGIN_API = '>=1.0,<2' to the plugin's "
        "module."
    ]


UNREADABLE = {
    "words": (
        "version one",
        "'version one' is not an operator (>=, >, <=, <, ==, !=, ~=) and a version "
        "MAJOR or MAJOR.MINOR",
    ),
    "float": (1.0, "must be a string such as '>=1.0,<2', not float"),
    "tuple": ((1, 0), "must be a string such as '>=1.0,<2', not tuple"),
    "empty": ("", "a clause is empty"),
    "bare compatible": ("~=1", "'~=1': ~= needs MAJOR.MINOR"),
}


@pytest.mark.parametrize(
    "floki_plugins",
    [one_plugin(api) for api, _ in UNREADABLE.values()],
    indirect=True,
    ids=list(UNREADABLE),
)
async def test_unreadable_declaration_is_refused_saying_why(
    floki: Floki, floki_plugins: Plugins
) -> None:
    [(_, plugin)] = floki_plugins
    [why] = [w for api, w in UNREADABLE.values() if api == plugin.FLOKI_PLUGIN_API]
    item = (await listed_plugins(floki))["plugin"]
    assert item["status"] == "failed"
    assert item["reason"] == (
        f"FLOKI_PLUGIN_API = {plugin.FLOKI_PLUGIN_API!r} is not a plugin API range ({why}); "
        f"this appliance provides plugin API 1.4 (floki-core {floki_core.__version__})"
    )
    assert plugin.called == []


# --- installed plugins ----------------------------------------------------------------------


class _EntryPoint:
    def __init__(self, name: str, module: object) -> None:
        self.name = name
        self.value = f"{name}_module"
        self.dist = None
        self.group = "floki"
        self._module = module

    def load(self) -> object:
        return self._module


def _future_module(called: list[str]) -> types.ModuleType:
    module = types.ModuleType("floki_future")
    module.FLOKI_PLUGIN_API = ">=2.0"  # type: ignore[attr-defined]

    @hookimpl
    def floki_startup() -> None:
        called.append("floki_startup")

    module.floki_startup = floki_startup  # type: ignore[attr-defined]
    return module


CALLED: list[str] = []


@pytest.fixture
def installed_future(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """An installed plugin module (entry point ``future``) made for plugin API 2."""
    CALLED.clear()
    real = importlib.metadata.entry_points

    def entry_points(**selection: Any) -> Any:
        found = list(real(**selection))
        if selection.get("group") == "floki":
            found.append(_EntryPoint("future", _future_module(CALLED)))
        return found

    monkeypatch.setattr(importlib.metadata, "entry_points", entry_points)
    return CALLED


async def test_installed_plugin_module_for_a_newer_api_is_refused(
    installed_future: list[str], floki: Floki
) -> None:
    future = (await listed_plugins(floki))["future"]
    assert future["status"] == "failed"
    assert future["module"] == "future_module"
    assert "the plugin supports >=2.0 (FLOKI_PLUGIN_API)" in future["reason"]
    assert "this appliance provides plugin API 1.4" in future["reason"]
    assert installed_future == []
    assert (await health(floki))[0] == 200


def test_installed_plugin_for_a_newer_api_adds_no_command(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def floki_register_commands(registry: Any) -> None:
        registry.add("stickers", "print stickers", configure=lambda p: None, run=lambda a, c: 0)

    future = types.SimpleNamespace(
        FLOKI_PLUGIN_API=">=2.0,<3", floki_register_commands=floki_register_commands
    )
    current = types.SimpleNamespace(
        FLOKI_PLUGIN_API=">=1.0,<2",
        floki_register_commands=lambda registry: registry.add(
            "labels2", "print labels", configure=lambda p: None, run=lambda a, c: 0
        ),
    )
    plugins = [_EntryPoint("future", future), _EntryPoint("current", current)]
    monkeypatch.setattr(importlib.metadata, "entry_points", lambda group: plugins)
    init_data_dir(tmp_path, site_name="Ward 7")

    assert cli.main(["--data-dir", str(tmp_path), "labels2"]) == 0
    with pytest.raises(SystemExit) as exit_:
        cli.main(["--data-dir", str(tmp_path), "stickers"])
    assert exit_.value.code == 2
    assert "invalid choice: 'stickers'" in capsys.readouterr().err


# --- the built-in plugins --------------------------------------------------------------------


BUILT_IN = {"ble": "plugins/ble", "qr": "plugins/qr", "notify": "plugins/notify"}


async def test_built_in_plugins_declare_the_range_they_support(floki: Floki) -> None:
    listing = await listed_plugins(floki)
    for name in BUILT_IN:
        assert listing[name]["status"] == "running", (name, listing[name]["reason"])
        assert listing[name]["api"] == ">=1.0,<2", name


@pytest.mark.parametrize("where", list(BUILT_IN.values()))
def test_built_in_plugins_depend_on_a_floki_core_range_holding_this_one(where: str) -> None:
    project = tomllib.loads((REPO / where / "pyproject.toml").read_text())["project"]
    [core] = [
        Requirement(r) for r in project["dependencies"] if Requirement(r).name == "floki-core"
    ]
    assert floki_core.__version__ in core.specifier
    operators = {spec.operator for spec in core.specifier}
    assert {">=", "<"} <= operators, f"{where}: floki-core needs a lower and an upper bound"


# --- hooks carry the version they were added in ---------------------------------------------


def test_every_hook_says_since_which_plugin_api_it_exists() -> None:
    versions = hook_versions()
    assert "floki_register_routes" in versions
    for hook, history in versions.items():
        assert history.added <= floki_core.PLUGIN_API, hook
        for changed, note in history.changed:
            assert history.added <= changed <= floki_core.PLUGIN_API, hook
            assert note, f"{hook}: versionchanged {changed} says nothing"
