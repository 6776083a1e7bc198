"""The test kit itself: ``floki.eventually`` waits for the appliance's own tasks."""

from __future__ import annotations

import asyncio
import importlib.metadata
from pathlib import Path

import pytest

from floki_core.testing import Floki

REPO = Path(__file__).resolve().parents[2]


async def test_eventually_returns_once_an_async_check_holds(floki: Floki) -> None:
    done = asyncio.Event()
    asyncio.get_running_loop().call_later(0.05, done.set)  # work on another task

    async def finished() -> bool:
        return done.is_set()

    await floki.eventually(finished, "the other task", timeout=5)
    assert done.is_set()


async def test_eventually_takes_a_plain_check_too() -> None:
    seen: list[int] = []
    asyncio.get_running_loop().call_later(0.05, seen.append, 1)
    await Floki.eventually(lambda: bool(seen), "the callback", timeout=5)
    assert seen == [1]


async def test_eventually_names_what_it_waited_for_when_it_gives_up(floki: Floki) -> None:
    calls = 0

    async def never() -> bool:
        nonlocal calls
        calls += 1
        return False

    loop = asyncio.get_running_loop()
    started, clock_before = loop.time(), floki.clock.now()
    with pytest.raises(AssertionError) as raised:
        await floki.eventually(never, "the pump to be located", timeout=0.2)
    assert str(raised.value) == "timed out after 0.2 s waiting for the pump to be located"
    assert loop.time() - started >= 0.2  # it waited the whole timeout, in real time
    assert calls > 2  # polled, not checked once
    assert floki.clock.now() == clock_before  # the manual clock was left alone


# --- which installed plugins an appliance loads ----------------------------------------


async def plugin_statuses(floki: Floki) -> dict[str, str]:
    resp = await floki.client.get("/api/v1/plugins", headers=await floki.headers("viewer"))
    assert resp.status == 200, await resp.text()
    return {item["name"]: item["status"] for item in (await resp.json())["items"]}


async def test_an_appliance_loads_every_installed_plugin_unless_a_test_says_otherwise(
    floki: Floki,
) -> None:
    statuses = await plugin_statuses(floki)
    assert {statuses[name] for name in ("ble", "notify", "qr")} == {"running"}


@pytest.mark.floki_entry_points("notify")
async def test_a_test_marked_for_one_plugin_gets_only_that_one(floki: Floki) -> None:
    statuses = await plugin_statuses(floki)
    assert statuses["notify"] == "running"
    assert statuses["ble"] == statuses["qr"] == "disabled"


@pytest.mark.floki_entry_points()
async def test_a_test_marked_for_no_plugin_gets_none(floki: Floki) -> None:
    statuses = await plugin_statuses(floki)
    assert {statuses[name] for name in ("ble", "notify", "qr")} == {"disabled"}


@pytest.mark.floki_entry_points("qr", "uwb")
def test_asking_for_a_plugin_that_is_not_installed_is_a_clear_error(
    request: pytest.FixtureRequest,
) -> None:
    installed = sorted(ep.name for ep in importlib.metadata.entry_points(group="floki"))
    with pytest.raises(pytest.UsageError) as raised:
        request.getfixturevalue("floki_entry_points")
    assert str(raised.value) == (
        f"floki_entry_points names uwb, which is not installed (installed: {', '.join(installed)})"
    )


# --- the product marker -----------------------------------------------------------------


class _CollectedIds:
    """A plugin for a nested run: the ids of the items it would run."""

    def __init__(self) -> None:
        self.ids: list[str] = []

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        self.ids = [item.nodeid for item in session.items]


def collected(*args: str) -> list[str]:
    """Test ids pytest would run with ``args``, from the repository's root, collected by a
    run of its own inside this process: the project and the plugins are imported already,
    where a process of its own would spend seconds importing them again."""
    ids = _CollectedIds()
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(REPO)
        code = pytest.main(["--collect-only", "-q", *LEAN, *args], plugins=[ids])
    assert code == pytest.ExitCode.OK, code
    return ids.ids


LEAN = [
    "-p",
    "no:schemathesis",
    "-p",
    "no:hypothesispytest",
    "-p",
    "no:pytest-qt",
    "-p",
    "no:xdist",
]


@pytest.mark.product  # collects part of the suite
def test_not_product_leaves_the_demo_and_the_commands_run_as_processes_out() -> None:
    quick = collected("-m", "not product", "tests/core/test_demo.py", "tests/core/test_tls.py")
    assert sorted(quick) == [  # the in-process certificate checks stay in the quick loop
        "tests/core/test_tls.py::test_fingerprint_is_sha256_of_the_der_in_colon_hex",
        "tests/core/test_tls.py::test_generated_certificate_is_valid_for_about_ten_years",
        "tests/core/test_tls.py::test_generated_certificate_names_localhost_and_loopback",
        "tests/core/test_tls.py::test_private_key_and_tls_directory_are_owner_only",
    ]
