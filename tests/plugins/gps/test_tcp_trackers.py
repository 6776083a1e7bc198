"""Teltonika and GT06 trackers against a running appliance: real frames over loopback
locate registered assets by geofence, unregistered trackers are refused and listed, bad
frames are counted by reason and answered as the protocols require."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from floki_gps.teltonika import teltonika_encode

from floki_core.config import AppConfig, parse_config
from floki_core.conformance.appliance import appliance_config, watched_appliance
from floki_core.testing import Floki
from tests.fixtures.gps_trackers import Gt06Tracker, TeltonikaTracker, fix_at, free_port
from tests.plugins.gps.conftest import located_in, source_counters

pytestmark = pytest.mark.floki_entry_points("gps")

NOW = dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC)
API = "/api/v1"
TELTONIKA_IMEI = "356307042441013"
GT06_IMEI = "864717003283581"
STRANGER = "490154203237518"
# The community hub, a square of about 700 m around (0.1218 E, 52.2053 N).
HUB = [[0.117, 52.202], [0.127, 52.202], [0.127, 52.209], [0.117, 52.209]]
IN_HUB = {"lat": 52.2053, "lon": 0.1218}


@pytest.fixture
def ports() -> dict[str, int]:
    return {"teltonika_port": free_port(), "gt06_port": free_port()}


@pytest.fixture
def floki_config(ports: dict[str, int]) -> AppConfig:
    return parse_config(
        {
            "discovery": {"enabled": False},
            "server": {"tls": False},
            "plugin": {
                "gps": {
                    "listen_host": "127.0.0.1",
                    "osmand_port": 0,
                    "batch_seconds": 0.05,
                    **ports,
                }
            },
        }
    )


async def api(floki: Floki, method: str, path: str, body: Any = None) -> Any:
    resp = await floki.client.request(
        method, API + path, json=body, headers=await floki.headers("admin")
    )
    assert resp.status < 300, f"{method} {path}: {resp.status} {await resp.text()}"
    return await resp.json()


async def register(floki: Floki, *imeis: str) -> tuple[dict[str, int], int]:
    """An asset per tracker, and the hub zone drawn on the map; (asset ids, hub id)."""
    site = await api(floki, "POST", "/sites", {"name": "Community services"})
    hub = await api(
        floki, "POST", "/zones", {"site_id": site["id"], "name": "Hub", "geo_polygon": HUB}
    )
    assets = {}
    for number, imei in enumerate(imeis, 1):
        asset = await api(
            floki, "POST", "/assets", {"asset_number": f"HOIST-{number}", "description": "Hoist"}
        )
        await api(
            floki,
            "POST",
            "/identifiers",
            {"asset_id": asset["id"], "technology": "gps", "value": imei},
        )
        assets[imei] = asset["id"]
    await floki.core.locations.reindex()
    return assets, hub["id"]


async def rejected(floki: Floki, source: str) -> dict[str, int]:
    found: dict[str, int] = (await source_counters(floki, source)).get("rejected", {})
    return found


async def tracker_entry(floki: Floki, device: str) -> dict[str, Any]:
    listing = (await api(floki, "GET", "/gps/devices"))["items"]
    return next(entry for entry in listing if entry["device"] == device)


async def test_a_teltonika_tracker_locates_its_asset_in_the_hub(
    floki: Floki, ports: dict[str, int]
) -> None:
    assets, hub = await register(floki, TELTONIKA_IMEI)
    async with TeltonikaTracker(TELTONIKA_IMEI, "127.0.0.1", ports["teltonika_port"]) as tracker:
        assert await tracker.log_in()
        fix = fix_at(
            TELTONIKA_IMEI, "teltonika", NOW - dt.timedelta(seconds=30), battery_pct=64.0, **IN_HUB
        )
        assert await tracker.send([fix]) == 1
        await located_in(floki, assets[TELTONIKA_IMEI], hub)
        entry = await tracker_entry(floki, TELTONIKA_IMEI)
        assert (entry["protocol"], entry["connected"], entry["battery_pct"]) == (
            "teltonika",
            True,
            64.0,
        )
        assert entry["last_fix_at"] == fix.at.isoformat()


async def test_a_gt06_tracker_logs_in_is_answered_and_locates_its_asset(
    floki: Floki, ports: dict[str, int]
) -> None:
    assets, hub = await register(floki, GT06_IMEI)
    async with Gt06Tracker(GT06_IMEI, "127.0.0.1", ports["gt06_port"]) as tracker:
        assert await tracker.log_in()
        await tracker.send(fix_at(GT06_IMEI, "gt06", NOW, **IN_HUB))  # a position: no answer
        await located_in(floki, assets[GT06_IMEI], hub)
        sos = fix_at(GT06_IMEI, "gt06", NOW, alarm="sos", battery_pct=17.0, **IN_HUB)
        answer = await tracker.send(sos)
        assert answer is not None and answer[3] == 0x16  # the alarm, acknowledged
        assert answer[4:6] == tracker.serial.to_bytes(2, "big")  # its serial echoed

        async def battery_seen() -> bool:
            entry = await tracker_entry(floki, GT06_IMEI)
            return bool(entry["battery_pct"] == 16.0)  # voltage level 1 of 6

        await Floki.eventually(battery_seen, "the alarm's battery level")


async def test_unregistered_trackers_are_refused_counted_and_listed(
    floki: Floki, ports: dict[str, int]
) -> None:
    await register(floki, TELTONIKA_IMEI)
    async with TeltonikaTracker(STRANGER, "127.0.0.1", ports["teltonika_port"]) as tracker:
        assert not await tracker.log_in()
        assert await tracker.closed_by_server()
    async with Gt06Tracker(STRANGER, "127.0.0.1", ports["gt06_port"]) as tracker:
        assert not await tracker.log_in()
    assert await rejected(floki, "gps-teltonika") == {"unknown_device": 1}
    assert await rejected(floki, "gps-gt06") == {"unknown_device": 1}
    entry = await tracker_entry(floki, STRANGER)
    assert (entry["registered"], entry["refused"]) == (False, 2)


async def test_a_bad_crc_is_answered_zero_and_counted_and_the_resend_is_taken(
    floki: Floki, ports: dict[str, int]
) -> None:
    assets, hub = await register(floki, TELTONIKA_IMEI)
    async with TeltonikaTracker(TELTONIKA_IMEI, "127.0.0.1", ports["teltonika_port"]) as tracker:
        assert await tracker.log_in()
        packet = teltonika_encode([fix_at(TELTONIKA_IMEI, "teltonika", NOW, **IN_HUB)])
        await tracker.write(packet[:-1] + bytes([packet[-1] ^ 0xFF]))
        assert await tracker.acknowledged() == 0
        await tracker.write(packet)
        assert await tracker.acknowledged() == 1
    await located_in(floki, assets[TELTONIKA_IMEI], hub)
    assert await rejected(floki, "gps-teltonika") == {"bad_crc": 1}


async def test_gt06_data_before_login_is_refused(floki: Floki, ports: dict[str, int]) -> None:
    await register(floki, GT06_IMEI)
    async with Gt06Tracker(GT06_IMEI, "127.0.0.1", ports["gt06_port"]) as tracker:
        await tracker.send(fix_at(GT06_IMEI, "gt06", NOW, **IN_HUB))
        assert await tracker.closed_by_server()
    assert await rejected(floki, "gps-gt06") == {"not_logged_in": 1}


async def test_a_port_of_0_runs_no_listener(tmp_path: Any) -> None:
    config = appliance_config(
        "gps",
        {
            "listen_host": "127.0.0.1",
            "osmand_port": 0,
            "teltonika_port": 0,
            "gt06_port": free_port(),
        },
    )
    async with watched_appliance(tmp_path, config, plugin="gps") as run:
        sources = {s["name"] for s in (await run.plugin_entry())["sources"]}
    assert sources == {"gps-gt06"}


# A depot, a square of about 700 m some 5 km east of the hub.
DEPOT = [[0.190, 52.202], [0.200, 52.202], [0.200, 52.209], [0.190, 52.209]]
IN_DEPOT = {"lat": 52.2053, "lon": 0.1950}


async def test_a_backlog_replayed_after_an_outage_keeps_its_times_and_makes_no_duplicates(
    floki: Floki, ports: dict[str, int]
) -> None:
    """A tracker back from a dead spot sends what it buffered, oldest first, in its own
    times; when its acknowledgement is lost it sends the same packet again. The history
    shows each stay once, at the tracker's times, and the repeat is counted as such."""
    assets, hub = await register(floki, TELTONIKA_IMEI)
    site = (await api(floki, "GET", "/sites"))["items"][0]
    depot = await api(
        floki, "POST", "/zones", {"site_id": site["id"], "name": "Depot", "geo_polygon": DEPOT}
    )
    await floki.core.locations.reindex()
    start = floki.clock.now() - dt.timedelta(minutes=40)
    backlog = [
        fix_at(TELTONIKA_IMEI, "teltonika", start + dt.timedelta(minutes=m), **where)
        for m, where in ((0, IN_HUB), (5, IN_HUB), (20, IN_DEPOT), (25, IN_DEPOT))
    ]
    async with TeltonikaTracker(TELTONIKA_IMEI, "127.0.0.1", ports["teltonika_port"]) as tracker:
        assert await tracker.log_in()
        assert await tracker.send(backlog) == 4
        await located_in(floki, assets[TELTONIKA_IMEI], depot["id"])
        assert await tracker.send(backlog) == 4  # the acknowledgement was lost: again

        async def counted() -> bool:
            return bool((await source_counters(floki, "gps-teltonika")).get("duplicates"))

        await Floki.eventually(counted, "the repeated packet counted as duplicates")
        await floki.core.locations.flush()
        assert (await source_counters(floki, "gps-teltonika"))["duplicates"] == 4
    stays = (await api(floki, "GET", f"/assets/{assets[TELTONIKA_IMEI]}/history"))["items"]
    # Each stay at the tracker's times (the hub from its first fix, the depot once the
    # second fix there confirmed the move), and the packet sent again added none.
    assert [s["zone_id"] for s in stays] == [depot["id"], hub]
    assert dt.datetime.fromisoformat(stays[1]["entered_at"]) == start
    assert dt.datetime.fromisoformat(stays[0]["entered_at"]) == start + dt.timedelta(minutes=25)


async def test_a_record_without_a_fix_says_the_asset_was_heard_and_keeps_its_zone(
    floki: Floki, ports: dict[str, int]
) -> None:
    # Indoors a tracker often has no satellites: it still reports, so its asset is not
    # "missing", and stays where its last position put it.
    assets, hub = await register(floki, TELTONIKA_IMEI)
    asset = assets[TELTONIKA_IMEI]
    placed_at = NOW - dt.timedelta(hours=3)
    heard_at = NOW - dt.timedelta(minutes=1)
    async with TeltonikaTracker(TELTONIKA_IMEI, "127.0.0.1", ports["teltonika_port"]) as tracker:
        assert await tracker.log_in()
        assert await tracker.send([fix_at(TELTONIKA_IMEI, "teltonika", placed_at, **IN_HUB)]) == 1
        await located_in(floki, asset, hub)
        indoors = fix_at(TELTONIKA_IMEI, "teltonika", heard_at, lat=None, lon=None)
        assert await tracker.send([indoors]) == 1

        async def heard() -> bool:
            where = await api(floki, "GET", f"/assets/{asset}/location")
            return bool(dt.datetime.fromisoformat(where["last_seen"]) == heard_at)

        await floki.eventually(heard, "last seen at the record without a fix")
    where = await api(floki, "GET", f"/assets/{asset}/location")
    assert where["zone"]["id"] == hub
