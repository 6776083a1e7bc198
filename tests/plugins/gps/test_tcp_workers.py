"""Teltonika trackers held by worker processes (``tcp_workers``): what a worker
acknowledges is already in the core, a killed worker is started again and its trackers
lose nothing they were told was taken, a worker goes when the appliance goes, and
``tcp_workers = 0`` keeps the trackers in the appliance's own process."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import signal
import socket

import pytest
from floki_gps.config import GpsSettings
from floki_gps.tcp_listener import TrackerListener
from floki_gps.tcp_messages import ENCODER, FROM_WORKER, Answer, Open
from floki_gps.teltonika import teltonika_encode_imei

from floki_core.config import AppConfig, plugin_section
from floki_core.errors import ConfigError
from floki_core.sdk import WorkerProcess, open_channel
from floki_core.testing import Floki
from tests.fixtures.gps_trackers import TeltonikaTracker, fix_at, free_port
from tests.plugins.gps.conftest import gps_config, located_in, source_counters
from tests.plugins.gps.test_tcp_trackers import IN_HUB, NOW, TELTONIKA_IMEI, register

pytestmark = pytest.mark.floki_entry_points("gps")

SOURCE = "gps-teltonika"


@pytest.fixture
def port() -> int:
    return free_port()


@pytest.fixture
def floki_config(port: int) -> AppConfig:
    return gps_config(teltonika_port=port, tcp_workers=1)


def listener_of(floki: Floki) -> TrackerListener:
    registration = floki.core.plugins.registries.sources.get(SOURCE)
    assert registration is not None and isinstance(registration.item, TrackerListener)
    return registration.item


async def worker_pid(floki: Floki, other_than: int | None = None) -> int:
    """The pid of the listener's worker once it runs (and is not ``other_than``)."""
    listener = listener_of(floki)

    def running() -> bool:
        pool = listener.worker_pool
        pid = None if pool is None else pool.pids.get(0)
        return pid is not None and pid != other_than

    await floki.eventually(running, "the tracker worker to run")
    assert listener.worker_pool is not None
    pid = listener.worker_pool.pids[0]
    assert pid is not None
    return pid


def received(counters: dict[str, object]) -> int:
    value = counters.get("received", 0)
    assert isinstance(value, int)
    return value


async def test_what_a_worker_acknowledges_is_already_in_the_core(floki: Floki, port: int) -> None:
    await register(floki, TELTONIKA_IMEI)
    await worker_pid(floki)
    async with TeltonikaTracker(TELTONIKA_IMEI, "127.0.0.1", port) as tracker:
        assert await tracker.log_in()
        for n in range(3):
            fixes = [
                fix_at(
                    TELTONIKA_IMEI, "teltonika", NOW + dt.timedelta(seconds=10 * n + i), **IN_HUB
                )
                for i in range(4)
            ]
            assert await tracker.send(fixes) == 4
            # Read at once, no waiting: the acknowledgement came after the hand-over.
            assert received(await source_counters(floki, SOURCE)) == 4 * (n + 1)


async def test_a_killed_worker_is_started_again_and_nothing_acknowledged_is_lost(
    floki: Floki, port: int
) -> None:
    assets, hub = await register(floki, TELTONIKA_IMEI)
    first = await worker_pid(floki)
    acknowledged = 0
    async with TeltonikaTracker(TELTONIKA_IMEI, "127.0.0.1", port) as tracker:
        assert await tracker.log_in()
        acknowledged += await tracker.send(
            [fix_at(TELTONIKA_IMEI, "teltonika", NOW - dt.timedelta(minutes=5), **IN_HUB)]
        )
        os.kill(first, signal.SIGKILL)
        assert await tracker.closed_by_server()
    second = await worker_pid(floki, other_than=first)
    assert second != first
    # The tracker reconnects, as trackers do, and is taken by the new worker.
    async with TeltonikaTracker(TELTONIKA_IMEI, "127.0.0.1", port) as tracker:
        assert await tracker.log_in()
        acknowledged += await tracker.send([fix_at(TELTONIKA_IMEI, "teltonika", NOW, **IN_HUB)])
    assert acknowledged == 2
    assert received(await source_counters(floki, SOURCE)) == acknowledged
    await located_in(floki, assets[TELTONIKA_IMEI], hub)
    listener = listener_of(floki)
    assert listener.worker_pool is not None and listener.worker_pool.restarts == 1
    # Neither the killed worker's connection nor the ended one is counted any more.
    await floki.eventually(lambda: listener.cap.held == 0, "the connections given back")
    # An engineer sees the restart beside the source (GET /api/v1/plugins, console Health).
    resp = await floki.client.get("/api/v1/plugins", headers=await floki.headers("engineer"))
    listing = {p["name"]: p for p in (await resp.json())["items"]}
    [details] = [s["details"] for s in listing["gps"]["sources"] if s["name"] == SOURCE]
    assert details["worker_processes"] == [second]
    assert details["worker_restarts"] == 1
    assert details["connections"] == 0


class TestInTheAppliancesOwnProcess:
    @pytest.fixture
    def floki_config(self, port: int) -> AppConfig:
        return gps_config(teltonika_port=port, tcp_workers=0)

    async def test_no_worker_is_started_and_trackers_are_located(
        self, floki: Floki, port: int
    ) -> None:
        assets, hub = await register(floki, TELTONIKA_IMEI)
        async with TeltonikaTracker(TELTONIKA_IMEI, "127.0.0.1", port) as tracker:
            assert await tracker.log_in()
            assert await tracker.send([fix_at(TELTONIKA_IMEI, "teltonika", NOW, **IN_HUB)]) == 1
        await located_in(floki, assets[TELTONIKA_IMEI], hub)
        assert listener_of(floki).worker_pool is None


@pytest.mark.parametrize("value", ["many", -1, 17, 1.5])
def test_a_bad_worker_count_is_refused_with_the_setting_named(value: object) -> None:
    with pytest.raises(ConfigError, match=r"plugin\.gps.*tcp_workers"):
        plugin_section(gps_config(tcp_workers=value), "gps", GpsSettings)


@pytest.mark.parametrize("value", ["auto", 0, 2])
def test_a_worker_count_is_auto_or_0_to_16(value: object) -> None:
    assert plugin_section(gps_config(tcp_workers=value), "gps", GpsSettings).tcp_workers == value


async def test_a_worker_ends_when_the_appliance_is_gone() -> None:
    """Its channel closing (the appliance stopped or killed) ends the worker, so it never
    holds the port for an appliance that is not there."""
    listening = socket.create_server(("127.0.0.1", 0))
    ours, theirs = socket.socketpair()
    worker = WorkerProcess(
        "test worker",
        "floki_gps.tcp_worker",
        [
            "--protocol=teltonika",
            f"--listen-fd={listening.fileno()}",
            f"--channel-fd={theirs.fileno()}",
            "--idle-timeout=60",
            "--batch-seconds=0.05",
            "--max-connections=10",
        ],
    )
    try:
        await worker.start([listening, theirs])
        theirs.close()
        asked: asyncio.Queue[object] = asyncio.Queue()
        channel = await open_channel(
            ours, lambda frame: asked.put_nowait(FROM_WORKER.decode(frame))
        )
        # A tracker connects: the worker asks before it reads a byte.
        _, writer = await asyncio.open_connection(*listening.getsockname()[:2])
        writer.write(teltonika_encode_imei(TELTONIKA_IMEI))
        message = await asyncio.wait_for(asked.get(), 10)
        assert isinstance(message, Open)
        channel.send(ENCODER.encode(Answer(connection=message.connection, kind="open", yes=True)))
        channel.close()
        assert await asyncio.wait_for(worker.wait(), 10) == 0
        writer.close()
    finally:
        await worker.stop()
        listening.close()
