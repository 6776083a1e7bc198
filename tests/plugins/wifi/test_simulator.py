"""The demo's simulated Wi-Fi (issue 15, §4): a Cisco controller that sends its access
points' association lines as syslog datagrams over UDP, as a real one would — the demo's Wi-Fi
pumps on Ward 5's access point (two of them roaming to other access points now and
then) among phones with randomised MACs and staff devices no asset carries. Driven by
the manual clock; a test socket on loopback stands where the plugin's listener does."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import re
from collections.abc import AsyncIterator
from typing import Any

import pytest
from floki_wifi.simulator import SOURCE_NAME, SPEEDUP, SimulatedNetwork
from floki_wifi.simulator_model import AWAY_S, FIRST_ROAM_S, Scene, build_scene

from floki_core.clock import ManualClock
from floki_core.location.register_index import RegisterIndex
from floki_core.location.register_view import RegisterView
from floki_core.sdk import AppConfig, RegisterSnapshot, parse_config
from floki_core.storage.database import Database, default_url
from floki_core.testing import Floki
from tests.fixtures.demo import DemoRegister, copy_demo_register

START = dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC)
# What the simulated controller sends (AireOS's messages in RFC 5424 framing).
LINE = re.compile(
    r"<134>1 (?P<at>\S+) SFGH-WLC-01 apf - - - \*\w+: [A-Z][a-z]{2} \d\d [\d:.]+: (?:"
    r"%APF-3-AUTHENTICATION_TRAP: \S+ Client Authenticated: MACAddress:(?P<mac>[0-9a-f:]{17}) "
    r"Base Radio MAC:(?P<ap>[0-9a-f:]{17}) Slot:1 User Name:unknown Ip Address:unknown "
    r"SSID:SFGH-Clinical"
    r"|%APF-6-USER_NAME_DELETED: \S+ Username entry \(unknown\) is deleted for mobile "
    r"(?P<gone>[0-9a-f:]{17}))"
)


@pytest.fixture(scope="module")
def snapshot(
    tmp_path_factory: pytest.TempPathFactory, demo_register: DemoRegister
) -> RegisterSnapshot:
    data_dir = copy_demo_register(demo_register, tmp_path_factory.mktemp("wifi") / "data")
    db = Database(default_url(data_dir))

    async def read(fn: Any) -> Any:
        with db.sessions() as session:
            return fn(session)

    try:
        return asyncio.run(RegisterView(RegisterIndex, read).snapshot())
    finally:
        db.close()


class Collector(asyncio.DatagramProtocol):
    """Where the syslog listener would be: keeps every line, read as it arrives."""

    def __init__(self) -> None:
        self.lines: list[dict[str, Any]] = []
        self.port = 0

    def datagram_received(self, data: bytes, addr: Any) -> None:
        match = LINE.fullmatch(data.decode("ascii"))
        assert match is not None, data
        line = match.groupdict()
        # mac: the device; ap: where it joined, or None when it left the network.
        self.lines.append({"at": line["at"], "mac": line["mac"] or line["gone"], "ap": line["ap"]})

    def take(self) -> list[dict[str, Any]]:
        lines, self.lines = self.lines, []
        return lines


@pytest.fixture
async def collector() -> AsyncIterator[Collector]:
    loop = asyncio.get_running_loop()
    transport, protocol = await loop.create_datagram_endpoint(
        Collector, local_addr=("127.0.0.1", 0)
    )
    protocol.port = transport.get_extra_info("sockname")[1]
    yield protocol
    transport.close()


async def received(collector: Collector) -> list[dict[str, Any]]:
    """The lines sent since the last call: read until none has come for a while."""
    seen = -1
    while seen != len(collector.lines):
        seen = len(collector.lines)
        await asyncio.sleep(0.05)
    return collector.take()


def network(
    snapshot: RegisterSnapshot, collector: Collector, clock: ManualClock
) -> SimulatedNetwork:
    port = collector.port

    async def load() -> RegisterSnapshot:
        return snapshot

    return SimulatedNetwork(
        lambda: ("127.0.0.1", port), clock, load, logging.getLogger("test.wifi.simulator")
    )


def ward_5_ap(snapshot: RegisterSnapshot) -> str:
    """The radio MAC of the demo's Wi-Fi AP Ward 5, as the controller writes it."""
    (mac,) = [r.identifier for r in snapshot.receivers if r.name == "Wi-Fi AP Ward 5"]
    return mac.lower()


def scene_of(source: SimulatedNetwork) -> Scene:
    assert source.scene is not None
    return source.scene


async def test_the_access_points_report_the_pumps_among_phones_nobody_tracks(
    snapshot: RegisterSnapshot, collector: Collector, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    clock = ManualClock(START)
    source = network(snapshot, collector, clock)
    await source.catch_up()  # the simulation starts
    clock.advance(2.0)  # twenty simulated seconds: every pump has joined
    await source.catch_up()
    lines = await received(collector)

    scene = scene_of(source)
    pumps = {p.mac.lower(): p for p in scene.pumps}
    assert len(pumps) == 6
    joined = {
        line["mac"]: line["ap"] for line in lines if line["ap"] is not None and line["mac"] in pumps
    }
    # Every pump on Ward 5's access point, named by its radio's MAC.
    assert joined == {mac: ward_5_ap(snapshot) for mac in pumps}
    # Times are the real times the lines stand for, in UTC.
    for line in lines:
        at = dt.datetime.fromisoformat(line["at"])
        assert START <= at <= clock.now()
    # Most of the traffic is phones (randomised MACs) and devices no asset carries.
    others = [line["mac"] for line in lines if line["mac"] not in pumps]
    assert len(others) > len(joined)
    assert any(mac[1] in "26ae" for mac in others)
    assert any(mac[1] not in "26ae" for mac in others)
    # ... joining access points and leaving the network.
    assert {line["ap"] is None for line in lines} == {True, False}
    assert source.tracked_sent == len(lines) - len(others)
    assert source.untracked_sent == len(others)
    assert source.sent == len(lines)
    # The simulator says how much it sent, never which devices.
    said = repr(source.details()) + caplog.text
    assert not [mac for mac in others if mac in said.lower()]
    assert source.details()["pumps"] == 6
    assert source.details()["untracked_lines"] == len(others)


async def test_a_roaming_pump_leaves_ward_5_for_another_access_point_and_comes_back(
    snapshot: RegisterSnapshot, collector: Collector
) -> None:
    clock = ManualClock(START)
    source = network(snapshot, collector, clock)
    await source.catch_up()
    roamer = next(p for p in scene_of(source).pumps if p.away is not None)
    assert roamer.away is not None and roamer.away.name == "Wi-Fi AP ED Majors"
    away = roamer.away.mac.lower()
    mac = roamer.mac.lower()

    clock.advance((FIRST_ROAM_S + 1) / SPEEDUP)
    await source.catch_up()
    about = [line for line in await received(collector) if line["mac"] == mac]
    assert about[0]["ap"] == ward_5_ap(snapshot)
    assert about[-1]["ap"] == away  # roamed: it joins the access point it went to

    clock.advance(AWAY_S / SPEEDUP)
    await source.catch_up()
    about = [line for line in await received(collector) if line["mac"] == mac]
    assert about[-1]["ap"] == ward_5_ap(snapshot)


async def test_a_long_pause_skips_ahead_instead_of_flooding_the_listener(
    snapshot: RegisterSnapshot, collector: Collector
) -> None:
    clock = ManualClock(START)
    source = network(snapshot, collector, clock)
    await source.catch_up()
    await received(collector)
    clock.advance(3600.0)  # a suspended laptop: ten simulated hours
    await source.catch_up()
    lines = await received(collector)
    assert lines
    oldest = min(dt.datetime.fromisoformat(line["at"]) for line in lines)
    assert oldest >= clock.now() - dt.timedelta(seconds=120)


async def test_nothing_to_simulate_without_wifi_pumps(
    snapshot: RegisterSnapshot, collector: Collector, caplog: pytest.LogCaptureFixture
) -> None:
    bare = RegisterSnapshot(
        floors=snapshot.floors,
        zones=snapshot.zones,
        receivers=snapshot.receivers,
        assets=snapshot.assets,
        identifiers=[i for i in snapshot.identifiers if i.technology != "wifi"],
    )
    with pytest.raises(ValueError, match="no asset has a wifi identifier"):
        build_scene(bare, 7)
    clock = ManualClock(START)

    async def load() -> RegisterSnapshot:
        return bare

    source = SimulatedNetwork(
        lambda: ("127.0.0.1", collector.port),
        clock,
        load,
        logging.getLogger("test.wifi.simulator"),
    )
    assert await source.catch_up() == 0
    assert "simulated Wi-Fi idle: no asset has a wifi identifier" in caplog.text
    assert await received(collector) == []


@pytest.fixture
def floki_config() -> AppConfig:
    """simulate = true but no listen_host: no syslog listener to send to."""
    return parse_config(
        {
            "discovery": {"enabled": False},
            "server": {"tls": False},
            "plugin": {"wifi": {"simulate": True}},
        }
    )


async def test_without_a_listener_nothing_is_simulated_and_the_log_says_why(
    floki: Floki, caplog: pytest.LogCaptureFixture
) -> None:
    assert floki.core.plugins.registries.sources.get(SOURCE_NAME) is None
    said = " ".join(r.getMessage() for r in caplog.get_records("setup"))
    assert "simulate = true needs listen_host" in said
