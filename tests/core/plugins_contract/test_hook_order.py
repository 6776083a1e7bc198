"""Hooks go through pluggy, supervised (issue 12, §1; DESIGN.md §5).

``tryfirst``/``trylast`` order the plugins as pluggy documents, wrappers wrap the other
plugins' implementations and see their results, and a plugin that raises or hangs,
wrapper or not, is still failed alone with the reason in ``GET /api/v1/plugins``.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from floki_core.api.app import create_app
from floki_core.clock import ManualClock
from floki_core.core import Core
from floki_core.storage.database import DB_FILE
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
from tests.core.plugins_contract.hook_samples import (
    ClaimsGateway,
    ClaimsGatewayFirst,
    ClaimsGatewayLast,
    OldStyleWrapsStartup,
    RaisesAtStartup,
    Starts,
    StartsAsync,
    StartsFirst,
    StartsLast,
    StartsLastAsync,
    WrapperHangs,
    WrapperRaisesAfter,
    WrapperThatIsNotAGenerator,
    WrapsStartup,
)

# --- call order ---------------------------------------------------------------------------


@with_plugins(lambda: [("early", ClaimsGateway()), ("eager", ClaimsGatewayFirst())])
async def test_tryfirst_plugin_loaded_later_is_called_first_and_keeps_the_name(
    floki: Floki, floki_plugins: Plugins
) -> None:
    plugins = dict(floki_plugins)
    listing = await listed_plugins(floki)
    assert listing["eager"]["status"] == "running"
    assert listing["early"]["status"] == "failed"
    assert "'ward-7-gateway' registered by both 'eager' and 'early'" in listing["early"]["reason"]
    await floki.eventually(lambda: plugins["eager"].source.runs == 1, "the tryfirst source")
    assert plugins["early"].source.runs == 0


@with_plugins(lambda: [("modest", ClaimsGatewayLast()), ("later", ClaimsGateway())])
async def test_trylast_plugin_loaded_first_is_called_last_and_loses_the_name(
    floki: Floki,
) -> None:
    listing = await listed_plugins(floki)
    assert listing["later"]["status"] == "running"
    assert listing["modest"]["status"] == "failed"
    assert "'ward-7-gateway' registered by both 'later' and 'modest'" in listing["modest"]["reason"]


STARTED: list[str] = []


def ordered_startups() -> Plugins:
    STARTED.clear()
    return [
        ("last", StartsLast("last", STARTED)),
        ("plain", Starts("plain", STARTED)),
        ("coroutine", StartsAsync("coroutine", STARTED)),
        ("first", StartsFirst("first", STARTED)),
    ]


def ordered_coroutine_startups() -> Plugins:
    """All coroutine functions: the call is made on the event loop, with no thread."""
    STARTED.clear()
    return [
        ("last", StartsLastAsync("last", STARTED)),
        ("plain", StartsAsync("plain", STARTED)),
        ("coroutine", StartsAsync("coroutine", STARTED)),
        ("first", StartsFirst("first", STARTED)),
    ]


@pytest.mark.parametrize(
    "floki_plugins",
    [ordered_startups, ordered_coroutine_startups],
    indirect=True,
    ids=["mixed", "coroutines"],
)
async def test_startup_runs_tryfirst_then_load_order_then_trylast(floki: Floki) -> None:
    # Unmarked implementations keep the order plugins were loaded in.
    assert STARTED == ["first", "plain", "coroutine", "last"]
    listing = await listed_plugins(floki)
    assert {listing[n]["status"] for n in ("first", "plain", "coroutine", "last")} == {"running"}


# --- wrappers -----------------------------------------------------------------------------


def wrapped(wrapper: type[WrapsStartup]) -> Callable[[], Plugins]:
    def make() -> Plugins:
        STARTED.clear()
        return [
            ("ward", Starts("ward", STARTED)),
            ("timing", wrapper(STARTED)),
            ("theatre", StartsAsync("theatre", STARTED)),
        ]

    return make


@pytest.mark.parametrize(
    "floki_plugins",
    [wrapped(WrapsStartup), wrapped(OldStyleWrapsStartup)],
    indirect=True,
    ids=["wrapper", "hookwrapper"],
)
async def test_wrapper_wraps_the_other_plugins_and_sees_their_results(
    floki: Floki, floki_plugins: Plugins
) -> None:
    timing = dict(floki_plugins)["timing"]
    assert timing.before == []
    assert timing.after == ["ward", "theatre"]
    # The coroutine's result is its value, awaited, not a coroutine object.
    assert timing.result == ["ward ready", "theatre ready"]
    listing = await listed_plugins(floki)
    assert {listing[n]["status"] for n in ("ward", "timing", "theatre")} == {"running"}


def wrapped_with_a_failure() -> Plugins:
    STARTED.clear()
    return [
        ("ward", Starts("ward", STARTED)),
        ("broken", RaisesAtStartup("broken", STARTED)),
        ("timing", WrapsStartup(STARTED)),
        ("theatre", StartsAsync("theatre", STARTED)),
    ]


@with_plugins(wrapped_with_a_failure)
async def test_plugin_raising_inside_a_wrapper_is_failed_alone(
    floki: Floki, floki_plugins: Plugins
) -> None:
    timing = dict(floki_plugins)["timing"]
    assert timing.after == ["ward", "theatre"]
    assert timing.result == ["ward ready", "theatre ready"]
    listing = await listed_plugins(floki)
    assert listing["broken"]["status"] == "failed"
    assert listing["broken"]["reason"] == "floki_startup: RuntimeError: ward map missing"
    assert {listing[n]["status"] for n in ("ward", "timing", "theatre")} == {"running"}


@with_plugins(lambda: [("ward", Starts("ward", STARTED)), ("timing", WrapperRaisesAfter(STARTED))])
async def test_wrapper_raising_after_its_yield_is_failed_and_the_others_run(
    floki: Floki,
) -> None:
    listing = await listed_plugins(floki)
    assert listing["timing"]["status"] == "failed"
    assert listing["timing"]["reason"] == "floki_startup: RuntimeError: timing table full"
    assert listing["ward"]["status"] == "running"
    assert (await health(floki))[0] == 200


@with_plugins(lambda: [("notwrapper", WrapperThatIsNotAGenerator())])
async def test_wrapper_that_is_not_a_generator_fails_to_load(floki: Floki) -> None:
    listing = await listed_plugins(floki)
    assert listing["notwrapper"]["status"] == "failed"
    reason = listing["notwrapper"]["reason"]
    assert reason.startswith("failed to load: PluginValidationError: ")
    assert "not a generator function" in reason
    assert listing["ble"]["status"] == "running"


async def test_hanging_wrapper_is_failed_at_the_timeout_and_the_others_start(
    tmp_path: Path, floki_migrated_database: Path
) -> None:
    started: list[str] = []
    stuck = WrapperHangs()
    # An already migrated database: the five seconds are for the hang, not for the
    # migrations (seconds on a busy machine).
    shutil.copyfile(floki_migrated_database, tmp_path / DB_FILE)
    core = Core(
        tmp_path,
        appliance_config(),
        clock=ManualClock(),
        extra_plugins=[("ward", Starts("ward", started)), ("stuck", stuck)],
    )
    try:
        await asyncio.wait_for(core.start(), 5)
        async with TestClient(TestServer(create_app(core))) as client:
            floki = Floki(core, client, ManualClock())
            listing = await listed_plugins(floki)
            assert listing["stuck"]["status"] == "failed"
            assert listing["stuck"]["reason"] == (
                "floki_startup: HookTimeout: did not return within 0.3 s"
            )
            assert listing["ward"]["status"] == "running"
            assert started == ["ward"]
    finally:
        stuck.release.set()
        await core.stop()
