"""One broken plugin never takes the appliance down (issue 2, §2; DESIGN.md §5).

A plugin that raises on setup, one whose source crashes over and over, and ones that hang
are each marked ``failed`` with a reason a user can read in ``GET /api/v1/plugins``,
while the API and the other plugins carry on.
"""

from __future__ import annotations

import asyncio
import logging
import random
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from floki_core.api.app import create_app
from floki_core.clock import ManualClock
from floki_core.config import SupervisionConfig
from floki_core.core import Core
from floki_core.plugins.supervisor import SourceRunner, backoff_delay
from floki_core.storage.database import DB_FILE
from floki_core.testing import Floki
from tests.core.plugin_samples import (  # noqa: F401  (fixtures are found by name)
    AsyncRaisingObserver,
    AwaitingRegistration,
    AwaitingStartup,
    BlockingRegistration,
    BlockingStartup,
    CommandedSource,
    CrashingSource,
    EventRecorder,
    LifecycleRecorder,
    Plugins,
    RaisingObserver,
    RaisingStartup,
    SourcePlugin,
    WaitingSource,
    appliance_config,
    health,
    listed_plugins,
    parametrised_config,
    parametrised_plugins,
    with_plugins,
)


def healthy() -> tuple[str, SourcePlugin]:
    return ("healthy", SourcePlugin("healthy-reader", WaitingSource()))


# --- raising on setup -------------------------------------------------------------------


@with_plugins(lambda: [("broken", RaisingStartup("broken-reader", WaitingSource())), healthy()])
async def test_plugin_raising_in_startup_is_failed_and_the_rest_keep_serving(
    floki: Floki, floki_plugins: Plugins
) -> None:
    plugins = dict(floki_plugins)
    listing = await listed_plugins(floki)

    broken = listing["broken"]
    assert broken["status"] == "failed"
    assert "floki_startup" in broken["reason"]
    assert "RuntimeError: calibration table missing" in broken["reason"]
    assert listing["healthy"]["status"] == "running"
    assert listing["ble"]["status"] == "running"
    status, body = await health(floki)
    assert (status, body["status"]) == (200, "ok")

    # The healthy plugin's source starts; the failed plugin's source never does.
    await floki.eventually(lambda: plugins["healthy"].source.runs == 1, "the healthy source")
    assert plugins["broken"].source.runs == 0
    assert broken["sources"] == []
    assert [s["status"] for s in listing["healthy"]["sources"]] == ["running"]


# --- a source that crashes --------------------------------------------------------------


@with_plugins(
    lambda: [
        ("recorder", EventRecorder()),
        ("crashy", SourcePlugin("crashy-reader", CrashingSource())),
        healthy(),
    ]
)
async def test_source_crashing_every_time_is_restarted_then_left_stopped_as_failed(
    floki: Floki, floki_plugins: Plugins, caplog: pytest.LogCaptureFixture
) -> None:
    plugins = dict(floki_plugins)
    source = plugins["crashy"].source
    await floki.eventually(
        lambda: floki.core.plugins.plugins["crashy"].status == "failed", "crashy to fail"
    )

    listing = await listed_plugins(floki)
    crashy = listing["crashy"]
    [status] = crashy["sources"]
    # max_failures = 3: the first two crashes are restarted, the third stops it.
    assert source.runs == 3
    assert status["restarts"] == 2
    assert status["status"] == "failed"
    assert "failed 3 times in 60 s" in status["reason"]
    assert "RuntimeError: reader unplugged (run 3)" in status["reason"]
    assert crashy["status"] == "failed"
    assert crashy["reason"].startswith("source crashy-reader: ")
    assert "reader unplugged (run 3)" in crashy["reason"]

    failed = [e for e in plugins["recorder"].events if e.type == "plugin.failed"]
    assert [(e.entity, e.entity_id, e.data["source"]) for e in failed] == [
        ("plugins", "crashy", "crashy-reader")
    ]
    assert "reader unplugged (run 3)" in failed[0].data["reason"]

    # Left stopped: several backoff_max periods later it has not been run again.
    await asyncio.sleep(0.2)
    assert source.runs == 3
    assert listing["healthy"]["status"] == "running"
    assert listing["recorder"]["status"] == "running"
    assert (await health(floki))[0] == 200

    # Each crash is logged against the plugin, with the traceback.
    records = caplog.get_records("setup") + caplog.records
    crash_logs = [r for r in records if "crashy" in r.getMessage() and r.exc_info]
    assert len(crash_logs) == 3


@with_plugins(lambda: [("flaky", SourcePlugin("flaky-reader", CrashingSource(crashes=1)))])
async def test_source_crashing_once_is_restarted_and_stays_running(
    floki: Floki, floki_plugins: Plugins
) -> None:
    source = dict(floki_plugins)["flaky"].source
    await floki.eventually(lambda: source.runs == 2, "the restart")
    await asyncio.sleep(0.1)  # past backoff_max: no further restart

    flaky = (await listed_plugins(floki))["flaky"]
    assert flaky["status"] == "running"
    assert flaky["reason"] is None
    [status] = flaky["sources"]
    assert status["status"] == "running"
    assert status["restarts"] == 1
    assert "reader unplugged (run 1)" in status["reason"]  # the last error stays visible
    assert source.runs == 2


@with_plugins(lambda: [("spread", SourcePlugin("spread-reader", CommandedSource()))])
async def test_failures_further_apart_than_the_window_never_add_up(
    floki: Floki, floki_plugins: Plugins
) -> None:
    source: CommandedSource = dict(floki_plugins)["spread"].source
    await floki.eventually(lambda: source.runs == 1, "the first run")
    info = floki.core.plugins.plugins["spread"]

    # Five crashes, each 61 s after the last (window 60 s, max_failures 3): kept running.
    for n in range(1, 6):
        source.crash_now.put_nowait(f"crash {n}")
        await floki.eventually(lambda n=n: source.runs == n + 1, f"restart {n}")  # type: ignore[misc]
        floki.advance(61)
    assert info.status == "running"
    assert info.sources[0].restarts == 5

    # Three within the window: now it is failed.
    for crash in ("burst 1", "burst 2", "burst 3"):
        source.crash_now.put_nowait(crash)
    await floki.eventually(lambda: info.status == "failed", "the plugin to fail")
    assert info.sources[0].restarts == 7
    assert "failed 3 times in 60 s; last error: RuntimeError: burst 3" in (info.reason or "")


def test_backoff_delay_doubles_up_to_the_cap_with_jitter() -> None:
    policy = SupervisionConfig(backoff_initial=1.0, backoff_max=30.0)
    rand = random.Random(2026)
    previous: list[float] = []
    for failures, ceiling in [(1, 1.0), (2, 2.0), (3, 4.0), (4, 8.0), (5, 16.0)]:
        delays = [backoff_delay(failures, policy, rand) for _ in range(200)]
        # "Equal jitter": half the delay fixed, half random.
        assert all(ceiling / 2 <= d <= ceiling for d in delays), (failures, delays)
        assert len(set(delays)) == len(delays)  # jittered, not one fixed value
        assert max(delays) - min(delays) > ceiling / 4  # spread over the random half
        if previous:
            assert min(delays) >= max(previous)  # never shorter than the previous step
        previous = delays
    for failures in (6, 7, 40):
        capped = [backoff_delay(failures, policy, rand) for _ in range(200)]
        assert all(15.0 <= d <= 30.0 for d in capped)  # backoff_max bounds the ceiling


def test_backoff_delay_is_reproducible_with_a_seed_and_differs_between_seeds() -> None:
    policy = SupervisionConfig(backoff_initial=1.0, backoff_max=60.0)
    first = [backoff_delay(n, policy, random.Random(7)) for n in range(1, 6)]
    again = [backoff_delay(n, policy, random.Random(7)) for n in range(1, 6)]
    other = [backoff_delay(n, policy, random.Random(8)) for n in range(1, 6)]
    assert first == again
    assert first != other


async def test_runner_waits_longer_before_each_restart() -> None:
    policy = SupervisionConfig(
        max_failures=5,
        failure_window=60.0,
        backoff_initial=1.0,
        backoff_max=60.0,
        retry_failed_seconds=0,  # the backoff alone; retrying a failed source: test_source_recovery
    )
    waited: list[float] = []

    async def sleep(seconds: float) -> None:
        waited.append(seconds)

    source = CrashingSource()
    runner = SourceRunner(
        plugin="p",
        name="reader",
        source=source,
        sink=None,  # type: ignore[arg-type]  # the source never submits
        policy=policy,
        clock=ManualClock(),
        sleep=sleep,
        rand=random.Random(3),
    )
    runner.start()
    await Floki.eventually(lambda: runner.status.status == "failed", "the runner to fail")
    await runner.stop(1.0)

    assert source.runs == 5
    assert len(waited) == 4
    for delay, ceiling in zip(waited, [1.0, 2.0, 4.0, 8.0], strict=True):
        assert ceiling / 2 <= delay <= ceiling
    assert waited == sorted(waited)
    assert any(d not in (1.0, 2.0, 4.0, 8.0, 0.5) for d in waited)  # jitter applied


# --- hanging plugins --------------------------------------------------------------------

HANGS: dict[str, tuple[Callable[[], Any], str]] = {
    "blocking startup": (
        BlockingStartup,
        "floki_startup: HookTimeout: did not return within 0.3 s",
    ),
    "awaiting startup": (
        AwaitingStartup,
        "floki_startup: HookTimeout: did not finish within 0.3 s",
    ),
    "blocking registration": (
        BlockingRegistration,
        "floki_register_sources: HookTimeout: did not return within 0.3 s",
    ),
    "awaiting registration": (
        AwaitingRegistration,
        "floki_register_sources: HookTimeout: did not finish within 0.3 s",
    ),
}


@pytest.mark.parametrize("hang", list(HANGS))
async def test_hanging_plugin_is_failed_at_the_timeout_and_the_appliance_serves(
    tmp_path: Path, hang: str, floki_migrated_database: Path
) -> None:
    make, reason = HANGS[hang]
    stuck = make()
    ok = SourcePlugin("healthy-reader", WaitingSource())
    clock = ManualClock()
    # An already migrated database, so that the start's time is the hang's, not the
    # migrations' (seconds on a busy machine).
    shutil.copyfile(floki_migrated_database, tmp_path / DB_FILE)
    core = Core(
        tmp_path, appliance_config(), clock=clock, extra_plugins=[("stuck", stuck), ("healthy", ok)]
    )
    started = time.monotonic()
    try:
        await asyncio.wait_for(core.start(), 5)
        # The hang adds only its timeout to the start.
        assert time.monotonic() - started < 4.0
        async with TestClient(TestServer(create_app(core))) as client:
            floki = Floki(core, client, clock)
            listing = await listed_plugins(floki)
            assert listing["stuck"]["status"] == "failed"
            assert listing["stuck"]["reason"] == reason
            assert listing["healthy"]["status"] == "running"
            assert (await health(floki))[0] == 200
            await floki.eventually(lambda: ok.source.runs == 1, "the healthy source")
            resp = await client.post(
                "/api/v1/assets",
                json={"asset_number": "VIP-0001"},
                headers=await floki.headers("engineer"),
            )
            assert resp.status == 201

            if isinstance(stuck, AwaitingStartup):
                assert stuck.cancelled  # cancelled at the deadline, not left pending
            if isinstance(stuck, BlockingRegistration):
                # Released after the deadline, the hook's registration is not taken up.
                stuck.release.set()
                assert await asyncio.to_thread(stuck.returned.wait, 2.0)
                assert core.plugins.registries.sources.get("late-source") is None
                await asyncio.sleep(0.05)
                assert stuck.late_source.runs == 0
                assert (await listed_plugins(floki))["stuck"]["sources"] == []
    finally:
        if isinstance(stuck, BlockingStartup | BlockingRegistration):
            stuck.release.set()
        await core.stop()


# --- event observers --------------------------------------------------------------------


@pytest.mark.parametrize(
    "floki_plugins",
    [
        lambda: [("grumpy", RaisingObserver()), ("listener", EventRecorder())],
        lambda: [("grumpy", AsyncRaisingObserver()), ("listener", EventRecorder())],
    ],
    indirect=True,
    ids=["plain", "coroutine"],
)
async def test_raising_event_observer_stops_neither_the_writer_nor_other_observers(
    floki: Floki, floki_plugins: Plugins, caplog: pytest.LogCaptureFixture
) -> None:
    plugins = dict(floki_plugins)
    headers = await floki.headers("engineer")
    for number in ("VIP-0001", "VIP-0002"):
        resp = await floki.client.post(
            "/api/v1/assets", json={"asset_number": number}, headers=headers
        )
        assert resp.status == 201, await resp.text()

    created = [
        e.data["asset_number"] for e in plugins["listener"].events if e.type == "asset.created"
    ]
    assert created == ["VIP-0001", "VIP-0002"]
    assert plugins["grumpy"].calls >= 2
    resp = await floki.client.get("/api/v1/assets", headers=headers)
    assert (await resp.json())["total"] == 2
    assert (await listed_plugins(floki))["grumpy"]["status"] == "running"
    logged = [r for r in caplog.records if r.levelno >= logging.ERROR and r.exc_info]
    assert any("grumpy" in r.getMessage() for r in logged)


# --- shutdown ---------------------------------------------------------------------------


async def test_shutdown_stops_every_source_before_floki_shutdown(tmp_path: Path) -> None:
    first, second = WaitingSource(), WaitingSource()
    recorder = LifecycleRecorder("ward-7-reader", first)
    core = Core(
        tmp_path,
        appliance_config(),
        clock=ManualClock(),
        extra_plugins=[("ward7", recorder), ("ward8", SourcePlugin("ward-8-reader", second))],
    )
    await core.start()
    await Floki.eventually(lambda: first.runs == 1 and second.runs == 1, "both sources")
    await core.stop()

    assert (first.stop_calls, second.stop_calls) == (1, 1)
    assert (first.finished, second.finished) == (1, 1)  # run() returned
    assert recorder.seen == ["shutdown after source stop"]
    statuses = {s.name: s.status for info in core.plugins.infos() for s in info.sources}
    assert statuses == {"ward-7-reader": "stopped", "ward-8-reader": "stopped"}


class _StuckStop(WaitingSource):
    async def stop(self) -> None:
        self.stop_calls += 1
        await asyncio.Event().wait()


async def test_a_source_whose_stop_hangs_does_not_hold_up_shutdown(tmp_path: Path) -> None:
    source = _StuckStop()
    core = Core(
        tmp_path,
        appliance_config(),
        clock=ManualClock(),
        extra_plugins=[("stuck", SourcePlugin("stuck-reader", source))],
    )
    await core.start()
    await Floki.eventually(lambda: source.runs == 1, "the source to run")
    started = time.monotonic()
    await asyncio.wait_for(core.stop(), 5)
    assert time.monotonic() - started < 2.0
    assert source.stop_calls == 1
    assert source.finished == 1  # its task was cancelled
