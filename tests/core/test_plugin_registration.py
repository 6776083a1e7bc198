"""Registration through registries, plugin configuration and entry-point loading (issue 2, §2).

Names are unique across plugins, routes carry a role policy and never shadow the core's,
each plugin's ``[plugin.<name>]`` section is validated against what it declares, and a
plugin that fails part-way has everything it registered taken back.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from floki_core import hookimpl
from floki_core.api.app import create_app
from floki_core.clock import ManualClock
from floki_core.core import Core
from floki_core.testing import Floki
from tests.core.plugin_samples import (  # noqa: F401  (fixtures are found by name)
    ConfiguredPlugin,
    PlainWardSettings,
    Plugins,
    RoutePlugin,
    SourcePlugin,
    WaitingSource,
    WardSettings,
    appliance_config,
    health,
    listed_plugins,
    parametrised_config,
    parametrised_plugins,
    with_plugins,
)

REPO = Path(__file__).resolve().parents[2]


def with_config(**sections: Any) -> pytest.MarkDecorator:
    return pytest.mark.parametrize("floki_config", [sections], indirect=True, ids=["config"])


async def openapi_paths(floki: Floki) -> dict[str, Any]:
    resp = await floki.client.get("/api/v1/openapi.json", headers=await floki.headers("viewer"))
    assert resp.status == 200
    paths: dict[str, Any] = (await resp.json())["paths"]
    return paths


class EverythingThenRaise:
    """Registers a source, a route and a notifier, then fails in a later hook."""

    def __init__(self) -> None:
        self.source = WaitingSource()

    async def page(self, request: Any) -> Any:
        raise AssertionError("a failed plugin's route must not be served")

    @hookimpl
    def floki_register_sources(self, registry: Any) -> None:
        registry.add("half-reader", self.source)

    @hookimpl
    def floki_register_routes(self, registry: Any) -> None:
        registry.add("GET", "/api/v1/half/status", self.page, policy="viewer")

    @hookimpl
    def floki_register_notifiers(self, registry: Any) -> None:
        registry.add("half-pager", _Notifier())

    @hookimpl
    def floki_register_rule_types(self, registry: Any) -> None:
        raise RuntimeError("rule table corrupt")


class _Notifier:
    async def send(self, alerts: Any) -> None:
        return None


class ConfigThenRaise:
    """Declares its section, then fails inside ``floki_register_config``."""

    def __init__(self) -> None:
        self.called: list[str] = []

    @hookimpl
    def floki_register_config(self, registry: Any) -> None:
        registry.section(WardSettings)
        raise RuntimeError("settings module half-written")

    @hookimpl
    def floki_register_sources(self, registry: Any) -> None:
        self.called.append("floki_register_sources")
        registry.add("never-reader", WaitingSource())

    @hookimpl
    def floki_startup(self) -> None:
        self.called.append("floki_startup")


class BadRoute:
    """Registers a good route, then one whose policy is missing or invalid."""

    def __init__(self, **policy: Any) -> None:
        self.policy = policy

    async def page(self, request: Any) -> Any:
        raise AssertionError("a failed plugin's route must not be served")

    @hookimpl
    def floki_register_routes(self, registry: Any) -> None:
        registry.add("GET", "/api/v1/badroute/fine", self.page, policy="viewer")
        registry.add("GET", "/api/v1/badroute/open", self.page, **self.policy)


# --- unique names -----------------------------------------------------------------------


@with_plugins(
    lambda: [
        ("first", SourcePlugin("ward-7-gateway", WaitingSource())),
        ("second", SourcePlugin("ward-7-gateway", WaitingSource())),
    ]
)
async def test_second_plugin_claiming_a_source_name_is_failed_naming_both(
    floki: Floki, floki_plugins: Plugins
) -> None:
    plugins = dict(floki_plugins)
    listing = await listed_plugins(floki)
    assert listing["second"]["status"] == "failed"
    reason = listing["second"]["reason"]
    assert "'ward-7-gateway'" in reason
    assert "'first'" in reason and "'second'" in reason
    assert listing["first"]["status"] == "running"
    await floki.eventually(lambda: plugins["first"].source.runs == 1, "the first source")
    assert plugins["second"].source.runs == 0


@with_plugins(
    lambda: [
        ("board", RoutePlugin("board", [("GET", "/api/v1/board", "viewer")])),
        ("copycat", RoutePlugin("copycat", [("GET", "/api/v1/board", "viewer")])),
    ]
)
async def test_two_plugins_claiming_one_route_fail_the_second(floki: Floki) -> None:
    listing = await listed_plugins(floki)
    assert listing["copycat"]["status"] == "failed"
    assert "'GET /api/v1/board'" in listing["copycat"]["reason"]
    assert "'board'" in listing["copycat"]["reason"]
    resp = await floki.client.get("/api/v1/board", headers=await floki.headers("viewer"))
    assert (await resp.json())["plugin"] == "board"


# --- routes -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "floki_plugins",
    [
        lambda: [("badroute", BadRoute(policy="nurse"))],
        lambda: [("badroute", BadRoute(policy=""))],
        lambda: [("badroute", BadRoute(policy=None))],
        lambda: [("badroute", BadRoute())],
    ],
    indirect=True,
    ids=["unknown-role", "empty", "none", "missing"],
)
async def test_route_without_a_valid_policy_fails_its_plugin(floki: Floki) -> None:
    listing = await listed_plugins(floki)
    assert listing["badroute"]["status"] == "failed"
    assert listing["badroute"]["reason"].startswith("floki_register_routes: ")
    assert "policy" in listing["badroute"]["reason"]
    # Its other route is taken back too.
    resp = await floki.client.get("/api/v1/badroute/fine", headers=await floki.headers("admin"))
    assert resp.status == 404
    assert "/api/v1/badroute/fine" not in await openapi_paths(floki)
    assert listing["ble"]["status"] == "running"


@with_plugins(
    lambda: [
        (
            "wardboard",
            RoutePlugin(
                "wardboard",
                [
                    ("GET", "/api/v1/wardboard/summary", "engineer"),
                    ("GET", "/api/v1/wardboard/ping", "public"),
                ],
            ),
        )
    ]
)
@pytest.mark.parametrize(
    ("role", "status"),
    [(None, 401), ("viewer", 403), ("staff", 403), ("engineer", 200), ("admin", 200)],
)
async def test_plugin_route_is_served_with_its_policy_enforced(
    floki: Floki, role: str | None, status: int
) -> None:
    headers = await floki.headers(role) if role else {}
    resp = await floki.client.get("/api/v1/wardboard/summary", headers=headers)
    assert resp.status == status, await resp.text()
    if status == 200:
        assert await resp.json() == {"plugin": "wardboard", "path": "/api/v1/wardboard/summary"}
    resp = await floki.client.get("/api/v1/wardboard/ping")
    assert resp.status == 200


@with_plugins(
    lambda: [
        ("wardboard", RoutePlugin("wardboard", [("GET", "/api/v1/wardboard/summary", "engineer")]))
    ]
)
async def test_plugin_route_is_described_in_openapi_under_its_plugin(floki: Floki) -> None:
    operation = (await openapi_paths(floki))["/api/v1/wardboard/summary"]["get"]
    assert operation["tags"] == ["wardboard"]
    assert operation["x-floki-policy"] == "engineer"
    assert operation["summary"] == "wardboard page"
    assert operation["security"] == [{"bearer": []}]


@with_plugins(lambda: [("clash", RoutePlugin("clash", [("GET", "/api/v1/health", "public")]))])
async def test_plugin_route_clashing_with_a_core_route_fails_the_plugin(floki: Floki) -> None:
    listing = await listed_plugins(floki)
    assert listing["clash"]["status"] == "failed"
    assert "GET /api/v1/health" in listing["clash"]["reason"]
    assert "core" in listing["clash"]["reason"]
    # The core's own answer is what clients still get.
    status, body = await health(floki)
    assert (status, body["status"]) == (200, "ok")
    assert (await openapi_paths(floki))["/api/v1/health"]["get"]["tags"] == ["system"]


class ClashAfterGoodRoute(SourcePlugin):
    """A good route and a source, then a route that clashes with the core's."""

    async def page(self, request: Any) -> Any:
        return web.json_response({"served": True})

    @hookimpl
    def floki_register_routes(self, registry: Any) -> None:
        registry.add("GET", "/api/v1/clash/board", self.page, policy="viewer")
        registry.add("GET", "/api/v1/assets", self.page, policy="viewer")


def clash_after_good_route() -> Plugins:
    return [("clash", ClashAfterGoodRoute("clash-reader", WaitingSource()))]


@with_plugins(clash_after_good_route)
async def test_plugin_failed_for_a_route_clash_has_none_of_its_routes_served(
    floki: Floki,
) -> None:
    listing = await listed_plugins(floki)
    assert listing["clash"]["status"] == "failed"
    assert "GET /api/v1/assets" in listing["clash"]["reason"]
    # "Everything it registered is taken back", including routes listed before the clash.
    resp = await floki.client.get("/api/v1/clash/board", headers=await floki.headers("viewer"))
    assert resp.status == 404
    assert "/api/v1/clash/board" not in await openapi_paths(floki)


@with_plugins(clash_after_good_route)
async def test_plugin_failed_for_a_route_clash_has_no_source_left_running(
    floki: Floki, floki_plugins: Plugins
) -> None:
    source = dict(floki_plugins)["clash"].source
    await asyncio.sleep(0.05)  # give a wrongly started source the chance to run
    listing = await listed_plugins(floki)
    assert listing["clash"]["status"] == "failed"
    assert [s["status"] for s in listing["clash"]["sources"]] in ([], ["stopped"])
    assert source.runs == source.finished  # never ran, or was stopped


# --- plugin configuration ---------------------------------------------------------------


@with_config(plugin={"wardcfg": {"ward": "Ward 7", "poll_seconds": 2.5}})
@with_plugins(lambda: [("wardcfg", ConfiguredPlugin())])
async def test_declared_section_reaches_the_plugin_validated(
    floki: Floki, floki_plugins: Plugins
) -> None:
    plugin = dict(floki_plugins)["wardcfg"]
    assert plugin.settings == WardSettings(ward="Ward 7", poll_seconds=2.5)
    assert (await listed_plugins(floki))["wardcfg"]["status"] == "running"


@with_plugins(lambda: [("wardcfg", ConfiguredPlugin())])
async def test_missing_section_gives_the_declared_defaults(
    floki_plugins: Plugins, floki: Floki
) -> None:
    assert dict(floki_plugins)["wardcfg"].settings == WardSettings()


@pytest.mark.parametrize("schema", [WardSettings, PlainWardSettings], ids=["strict", "plain"])
@pytest.mark.parametrize(
    ("section", "expected"),
    [
        ({"wrd": "Ward 7"}, ["plugin.wardcfg", "wrd"]),
        ({"poll_seconds": "fast"}, ["plugin.wardcfg.poll_seconds", "float", "str"]),
        ({"ward": 7}, ["plugin.wardcfg.ward", "str", "int"]),
    ],
    ids=["unknown-key", "wrong-type-float", "wrong-type-str"],
)
async def test_bad_section_fails_the_plugin_naming_the_key(
    tmp_path: Path, schema: type, section: dict[str, Any], expected: list[str]
) -> None:
    plugin = ConfiguredPlugin(schema)
    other = SourcePlugin("other-reader", WaitingSource())
    clock = ManualClock()
    config = appliance_config(plugin={"wardcfg": section})
    core = Core(
        tmp_path, config, clock=clock, extra_plugins=[("wardcfg", plugin), ("other", other)]
    )
    await core.start()
    try:
        async with TestClient(TestServer(create_app(core))) as client:
            listing = await listed_plugins(Floki(core, client, clock))
    finally:
        await core.stop()
    assert listing["wardcfg"]["status"] == "failed"
    for fragment in expected:
        assert fragment in listing["wardcfg"]["reason"]
    assert not plugin.started
    assert listing["other"]["status"] == "running"


@with_config(plugin={"quiet": {"volume": 3}})
@with_plugins(lambda: [("quiet", SourcePlugin("quiet-reader", WaitingSource()))])
async def test_section_for_a_plugin_without_settings_fails_it(floki: Floki) -> None:
    listing = await listed_plugins(floki)
    assert listing["quiet"]["status"] == "failed"
    assert "[plugin.quiet]" in listing["quiet"]["reason"]
    assert listing["quiet"]["sources"] == []


# --- taking back a failed plugin's registrations ----------------------------------------


@with_plugins(lambda: [("halfcfg", ConfigThenRaise()), ("other", ConfiguredPlugin())])
async def test_failing_register_config_takes_back_what_it_declared(
    floki: Floki, floki_plugins: Plugins
) -> None:
    plugin = dict(floki_plugins)["halfcfg"]
    listing = await listed_plugins(floki)
    assert listing["halfcfg"]["status"] == "failed"
    assert listing["halfcfg"]["reason"] == (
        "floki_register_config: RuntimeError: settings module half-written"
    )
    assert floki.core.plugins.registries.config.get("halfcfg") is None
    assert plugin.called == []  # no later hook ran, so nothing else was registered
    assert floki.core.plugins.registries.sources.get("never-reader") is None
    assert listing["other"]["status"] == "running"


@with_plugins(lambda: [("half", EverythingThenRaise())])
async def test_failing_later_hook_takes_back_sources_routes_and_notifiers(
    floki: Floki, floki_plugins: Plugins
) -> None:
    plugin = dict(floki_plugins)["half"]
    listing = await listed_plugins(floki)
    assert listing["half"]["status"] == "failed"
    assert (
        listing["half"]["reason"] == "floki_register_rule_types: RuntimeError: rule table corrupt"
    )
    assert listing["half"]["sources"] == []
    resp = await floki.client.get("/api/v1/half/status", headers=await floki.headers("admin"))
    assert resp.status == 404
    assert "/api/v1/half/status" not in await openapi_paths(floki)
    registries = floki.core.plugins.registries
    assert registries.notifiers.get("half-pager") is None
    assert registries.sources.get("half-reader") is None
    assert plugin.source.runs == 0


# --- entry points and disabling ---------------------------------------------------------


async def test_ble_plugin_is_loaded_from_its_entry_point(floki: Floki) -> None:
    ble = (await listed_plugins(floki))["ble"]
    assert ble["version"] == "0.1.0"
    assert ble["status"] == "running"
    assert ble["module"] == "floki_ble"
    assert ble["reason"] is None


@with_config(plugins={"disabled": ["ble", "muted"]})
@with_plugins(lambda: [("muted", ConfiguredPlugin())])
async def test_disabled_plugins_are_listed_and_not_loaded(
    floki: Floki, floki_plugins: Plugins
) -> None:
    listing = await listed_plugins(floki)
    assert listing["ble"]["status"] == "disabled"
    assert listing["ble"]["version"] == "0.1.0"
    assert listing["ble"]["reason"] == "disabled in configuration"
    assert listing["muted"]["status"] == "disabled"
    assert floki.core.plugins.pm.get_plugin("ble") is None
    assert floki.core.plugins.registries.config.get("ble") is None
    assert not dict(floki_plugins)["muted"].started


def test_disabled_plugin_is_never_imported(tmp_path: Path) -> None:
    # In a fresh interpreter: the test session itself may have imported floki_ble already.
    code = textwrap.dedent(
        """
        import sys
        from pathlib import Path
        from floki_core.config import parse_config
        from floki_core.core import Core

        config = parse_config({"plugins": {"disabled": ["ble"]}})
        core = Core(Path(sys.argv[1]), config)
        core.plugins.load()
        print(core.plugins.plugins["ble"].status, "floki_ble" in sys.modules)
        core.db.close()
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
        check=True,
    )
    assert out.stdout.split() == ["disabled", "False"]
