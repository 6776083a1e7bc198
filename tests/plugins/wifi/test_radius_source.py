"""The ``wifi-radius`` source without an appliance: which NAS's secret checks a packet,
what each kind of accounting does to the association book and the batch, what is counted,
the settings a department writes, and the listener's port."""

from __future__ import annotations

import asyncio
import collections
import datetime as dt
import logging
import socket
from collections.abc import Sequence
from typing import Any

import msgspec
import pytest
from floki_wifi import radius_source
from floki_wifi.associations import AssociationBook
from floki_wifi.config import WifiSettings
from floki_wifi.privacy import DeviceFilter
from floki_wifi.radius_config import RadiusSettings
from floki_wifi.radius_packets import dictionary
from floki_wifi.radius_source import RadiusSource
from pyrad import packet as radius_packet

from floki_core.clock import ManualClock
from floki_core.config import parse_config, plugin_section
from floki_core.errors import ConfigError
from floki_core.observations import Observation
from tests.plugins.wifi.radius_nas import SECRET, accounting

NOW = dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC)
AP = "00-10-A4-23-19-C0"
AP_SPELT = "00:10:A4:23:19:C0"
PUMP = "00:1B:63:84:45:E6"
BOUND = {PUMP: 7, "02:1B:63:84:45:E6": 8}  # the second a randomised MAC bound explicitly


class Register:
    """The register's answer to "which asset carries this MAC"."""

    def asset_id_for(self, technology: str, tag: str) -> int | None:
        return BOUND.get(tag) if technology == "wifi" else None


class Sink:
    def __init__(self) -> None:
        self.batches: list[Sequence[Observation]] = []
        self.rejected: collections.Counter[str] = collections.Counter()
        self.expected: set[str] = set()  # reasons said to be dropped by design

    async def submit(self, batch: Sequence[Observation]) -> None:
        self.batches.append(batch)

    def reject(self, reason: str, count: int = 1, *, expected: bool = False) -> None:
        self.rejected[reason] += count
        if expected:
            self.expected.add(reason)


def source(clients: list[dict[str, str]] | None = None, **settings: Any) -> RadiusSource:
    radius = msgspec.convert(
        {
            "port": 0,
            "clients": clients or [{"address": "127.0.0.1", "secret": SECRET.decode()}],
            **settings,
        },
        RadiusSettings,
    )
    register: Any = Register()
    return RadiusSource(
        "127.0.0.1", radius, ManualClock(NOW), AssociationBook(), DeviceFilter(register)
    )


def send(radius: RadiusSource, *args: Any, host: str = "127.0.0.1", **kwargs: Any) -> bytes | None:
    return radius.take(accounting(*args, **kwargs).RequestPacket(), host)


async def handed_over(radius: RadiusSource) -> Sink:
    sink = Sink()
    await radius.hand_over(sink)
    return sink


def test_the_most_specific_client_entry_gives_the_secret() -> None:
    radius = source(
        [
            {"address": "10.20.0.0/16", "secret": "the-controllers"},
            {"address": "10.20.5.9", "secret": "the-radius-server", "name": "ClearPass"},
        ]
    )
    assert send(radius, "Start", PUMP, AP, secret=b"the-radius-server", host="10.20.5.9")
    assert send(radius, "Start", PUMP, AP, secret=b"the-controllers", host="10.20.7.1")
    assert send(radius, "Start", PUMP, AP, secret=b"the-controllers", host="10.20.5.9") is None
    # A listener bound to "::" sees an IPv4 NAS as an IPv4-mapped IPv6 address.
    assert send(radius, "Start", PUMP, AP, secret=b"the-controllers", host="::ffff:10.20.7.1")
    names = {c["name"]: c["requests"] for c in radius.details()["clients"]}
    assert names == {"ClearPass": 1, "10.20.0.0/16": 2}


async def test_start_and_interim_are_one_batch_at_the_access_point_with_the_nas_time() -> None:
    radius = source()
    at = NOW - dt.timedelta(seconds=40)
    send(radius, "Start", PUMP, f"{AP}:NHS-Devices", at=at)
    send(radius, "Interim-Update", "001b638445e6", AP, Acct_Delay_Time=4)
    (batch,) = (await handed_over(radius)).batches
    assert [(o.tag, o.receiver, o.observed_at, o.received_at) for o in batch] == [
        (PUMP, AP_SPELT, at, NOW),
        (PUMP, AP_SPELT, NOW - dt.timedelta(seconds=4), NOW),  # no Event-Timestamp
    ]
    assert batch[0].extras == {"ssid": "NHS-Devices"}
    record = radius.book.devices[PUMP]
    assert (record.asset_id, record.access_point, record.feed) == (7, AP_SPELT, "wifi-radius")


async def test_what_cannot_be_used_is_answered_and_counted_by_reason() -> None:
    radius = source()
    assert send(radius, "Start", "3C:22:FB:0A:71:9D", AP)  # a phone
    assert send(radius, "Start", "7A:22:FB:0A:71:9D", AP)  # a phone's random MAC
    assert send(radius, "Start", "07700900123", AP)  # not a MAC at all
    assert send(radius, "Start", PUMP, "wlc-ward5:NHS-Devices")  # no AP MAC
    assert send(radius, "Start", "02:1B:63:84:45:E6", AP)  # random, but bound: kept
    sink = await handed_over(radius)
    assert sink.rejected == {
        "unknown_device": 1,
        "randomised_device": 1,
        "no_device_mac": 1,
        "no_access_point": 1,
    }
    # Other people's devices are the ordinary run of a feed, not a fault (logged at INFO).
    assert sink.expected == {"unknown_device", "randomised_device"}
    assert [o.tag for b in sink.batches for o in b] == ["02:1B:63:84:45:E6"]
    assert radius.devices.counts() == {"unknown_devices": 1, "randomised_devices": 1}
    health = radius.details()  # how much of the network is people, as numbers
    assert (health["unknown_devices"], health["randomised_devices"]) == (1, 1)
    assert "3C:22:FB:0A:71:9D" not in str(radius.details()) + str(radius.book.devices)


async def test_a_stop_and_a_nas_restart_end_associations_and_submit_nothing() -> None:
    radius = source(
        [
            {"address": "127.0.0.1", "secret": SECRET.decode()},
            {"address": "127.0.0.2", "secret": SECRET.decode()},
        ]
    )
    other = "00:1B:63:84:45:E7"
    BOUND[other] = 9
    try:
        send(radius, "Start", PUMP, AP, at=NOW)
        send(radius, "Start", other, AP, at=NOW, host="127.0.0.2")
        await handed_over(radius)
        send(radius, "Stop", PUMP, AP, at=NOW + dt.timedelta(seconds=5))
        assert radius.book.devices[PUMP].access_point is None
        assert radius.book.access_points[AP_SPELT].devices.keys() == {other}
        send(radius, "Accounting-On", None, None, at=NOW + dt.timedelta(seconds=9))
        assert radius.book.devices[other].access_point == AP_SPELT  # another NAS's device
        send(
            radius, "Accounting-Off", None, None, at=NOW + dt.timedelta(seconds=9), host="127.0.0.2"
        )
        record = radius.book.devices[other]
        assert (record.access_point, record.last_on_network_at) == (
            None,
            NOW + dt.timedelta(seconds=9),
        )
        assert not (await handed_over(radius)).batches
    finally:
        del BOUND[other]


async def test_a_restart_relayed_by_a_radius_server_ends_only_that_controllers_devices() -> None:
    # FreeRADIUS replicating: every packet comes from its address; NAS-IP-Address and
    # NAS-Identifier say which controller the record is about.
    radius = source()
    other = "00:1B:63:84:45:E7"
    BOUND[other] = 9
    try:
        send(radius, "Start", PUMP, AP, at=NOW, NAS_IP_Address="10.20.0.11")
        send(radius, "Start", other, AP, at=NOW, NAS_Identifier="wlc-ward6")
        later = NOW + dt.timedelta(seconds=9)
        send(radius, "Accounting-On", None, None, at=later, NAS_IP_Address="10.20.0.11")
        assert radius.book.devices[PUMP].access_point is None
        assert radius.book.devices[other].access_point == AP_SPELT
        send(radius, "Accounting-Off", None, None, at=later, NAS_Identifier="wlc-ward6")
        assert radius.book.devices[other].access_point is None
    finally:
        del BOUND[other]


async def test_a_request_sent_again_after_the_duplicate_window_is_used_again() -> None:
    radius = source(duplicate_seconds=30)
    datagram = accounting("Interim-Update", PUMP, AP, at=NOW).RequestPacket()
    first = radius.take(datagram, "127.0.0.1")
    assert radius.take(datagram, "127.0.0.1") == first
    assert len([o for b in (await handed_over(radius)).batches for o in b]) == 1
    radius.clock.advance(31)  # type: ignore[attr-defined]
    assert radius.take(datagram, "127.0.0.1") == first
    # Handed to the core again, which knows it for a replay (the same observation).
    assert len([o for b in (await handed_over(radius)).batches for o in b]) == 1
    assert radius.details()["answered_again"] == 1


async def test_over_udp_a_strangers_datagram_of_any_size_is_an_unknown_client() -> None:
    radius = source(batch_seconds=0.01)
    sink = Sink()
    running = asyncio.create_task(radius.run(sink))
    try:
        await asyncio.wait_for(radius.listening.wait(), 5)
        assert radius.bound is not None
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as nas:
            nas.bind(("127.0.0.2", 0))
            nas.sendto(bytes(5000), radius.bound)  # over RFC 2865's 4096 octets
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as nas:
            nas.sendto(bytes(5000), radius.bound)
        for _ in range(500):
            if sum(sink.rejected.values()) >= 2:
                break
            await asyncio.sleep(0.01)
        assert sink.rejected == {"unknown_client": 1, "bad_packet": 1}
    finally:
        await radius.stop()
        await asyncio.wait_for(running, 5)
    assert not radius.listening.is_set()


def test_a_status_server_is_answered_and_nothing_else() -> None:

    radius = source()
    ping = radius_packet.AcctPacket(
        code=radius_packet.StatusServer, secret=SECRET, dict=dictionary()
    )
    datagram = ping.RequestPacket()
    answer = radius.take(datagram, "127.0.0.1")
    assert answer is not None and ping.VerifyReply(ping.CreateReply(packet=answer), answer)
    assert radius.details()["statuses"] == {"status_server": 1}
    assert not radius.book.access_points


def _settings(radius: dict[str, Any]) -> WifiSettings:
    config = parse_config({"plugin": {"wifi": {"listen_host": "0.0.0.0", "radius": radius}}})
    return plugin_section(config, "wifi", WifiSettings)


def test_the_settings_a_department_writes() -> None:
    settings = _settings(
        {"clients": [{"address": "10.20.0.0/24", "secret": "s3cret", "name": "WLC 9800"}]}
    )
    assert (settings.radius.port, settings.radius.clients[0].name) == (1813, "WLC 9800")


@pytest.mark.parametrize(
    ("radius", "says"),
    [
        ({"clients": [{"address": "wlc-ward5", "secret": "s"}]},
         "client address 'wlc-ward5' is not an IP address or network"),
        ({"clients": [{"address": "10.20.0.5"}]}, "secret"),
        ({"clients": [{"address": "10.20.0.5", "secret": ""}]}, "secret"),
        ({"clients": [{"address": "10.20.0.5", "secret": "a"},
                      {"address": "10.20.0.5/32", "secret": "b"}]},
         "clients lists 10.20.0.5/32 twice"),
        ({"port": 70000}, "port"),
        ({"clinets": []}, "clinets"),
    ],
)  # fmt: skip
def test_bad_settings_are_refused_at_start_naming_the_key(
    radius: dict[str, Any], says: str
) -> None:
    with pytest.raises(ConfigError) as refused:
        _settings(radius)
    assert "plugin.wifi" in str(refused.value) and says in str(refused.value)


async def test_a_port_another_program_holds_stops_the_run_with_the_reason() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as squatter:
        squatter.bind(("127.0.0.1", 0))
        radius = source(port=squatter.getsockname()[1])
        with pytest.raises(ConnectionError, match=r"cannot listen on 127\.0\.0\.1:\d+: .*in use"):
            await radius.run(Sink())


def test_without_clients_no_listener_is_registered(caplog: pytest.LogCaptureFixture) -> None:
    class Registry:
        added: list[str] = []

        def add(self, name: str, item: object) -> None:
            self.added.append(name)

    class Context:
        log = logging.getLogger("floki.plugin.wifi")

    caplog.set_level(logging.INFO)
    registry: Any = Registry()
    context: Any = Context()
    radius_source.register_sources(registry, context, _settings({}))
    assert registry.added == []
    assert "no [[plugin.wifi.radius.clients]]" in caplog.text
