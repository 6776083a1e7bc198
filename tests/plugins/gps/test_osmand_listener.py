"""The Traccar Client / OsmAnd listener on a loopback port of its own, in a running
appliance: what the phone is answered, and where the asset is then."""

from __future__ import annotations

import datetime as dt
import json
import random
import ssl
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import msgspec
import pytest
import pytest_asyncio
from floki_gps import fix_batches
from floki_gps.osmand_listener import OsmandListener

from floki_core.sdk import AppConfig
from floki_core.security import tls
from floki_core.testing import Floki
from tests.fixtures.processes import free_port
from tests.plugins.gps.conftest import (
    HUB_POINT,
    gps_config,
    located_in,
    source_counters,
    tracked_asset,
)

pytestmark = pytest.mark.floki_entry_points("gps")
LAT, LON = HUB_POINT
SOURCE = "gps-osmand"


@pytest.fixture
def port() -> int:
    return free_port()


@pytest.fixture
def floki_config(port: int) -> AppConfig:
    return gps_config(osmand_port=port, osmand_min_interval_seconds=1.0)


@pytest_asyncio.fixture
async def phone(floki: Floki, port: int) -> AsyncIterator[aiohttp.ClientSession]:
    registration = floki.core.plugins.registries.sources.get(SOURCE)
    assert registration is not None and isinstance(registration.item, OsmandListener)
    await Floki.eventually(registration.item.listening.is_set, "the listener to listen")
    async with aiohttp.ClientSession(base_url=f"http://127.0.0.1:{port}") as session:
        yield session


def stamp(floki: Floki, seconds_ago: float = 0) -> int:
    return int((floki.clock.now() - dt.timedelta(seconds=seconds_ago)).timestamp())


async def send(phone: aiohttp.ClientSession, **params: Any) -> tuple[int, str]:
    async with phone.get("/", params={k: str(v) for k, v in params.items()}) as resp:
        return resp.status, await resp.text()


async def test_a_phones_fix_is_answered_200_and_places_its_asset_in_the_zone(
    floki: Floki, phone: aiohttp.ClientSession
) -> None:
    asset_id, hub = await tracked_asset(floki, "PHONE-1")
    status, _ = await send(phone, id="PHONE-1", lat=LAT, lon=LON, timestamp=stamp(floki, 5),
                           accuracy=8, batt=64)  # fmt: skip
    assert status == 200
    await located_in(floki, asset_id, hub)
    resp = await floki.client.get("/api/v1/gps/devices", headers=await floki.headers("engineer"))
    (device,) = (await resp.json())["items"]
    assert (device["device"], device["protocol"], device["battery_pct"]) == (
        "PHONE-1",
        "osmand",
        64,
    )


async def test_traccar_client_json_is_taken(floki: Floki, phone: aiohttp.ClientSession) -> None:
    asset_id, hub = await tracked_asset(floki, "48241179")
    at = (floki.clock.now() - dt.timedelta(seconds=3)).isoformat().replace("+00:00", "Z")
    body = {
        "location": {
            "timestamp": at,
            "coords": {"latitude": LAT, "longitude": LON, "accuracy": 5, "speed": -1,
                       "heading": -1, "altitude": 30},
            "is_moving": False,
            "battery": {"level": 0.5, "is_charging": True},
        },
        "device_id": "48241179",
    }  # fmt: skip
    async with phone.post("/", json=body) as resp:
        assert resp.status == 200
    await located_in(floki, asset_id, hub)


async def test_a_form_body_is_taken(floki: Floki, phone: aiohttp.ClientSession) -> None:
    asset_id, hub = await tracked_asset(floki, "FORM-1")
    form = {"id": "FORM-1", "lat": str(LAT), "lon": str(LON), "timestamp": str(stamp(floki))}
    async with phone.post("/", data=form) as resp:
        assert resp.status == 200
    await located_in(floki, asset_id, hub)


async def test_an_unregistered_device_is_answered_404_and_listed_as_refused(
    floki: Floki, phone: aiohttp.ClientSession
) -> None:
    status, text = await send(phone, id="STRANGER", lat=LAT, lon=LON)
    assert status == 404
    assert "'STRANGER' is not registered" in text
    resp = await floki.client.get("/api/v1/gps/devices", headers=await floki.headers("engineer"))
    (device,) = (await resp.json())["items"]
    assert (device["device"], device["registered"], device["refused"]) == ("STRANGER", False, 1)
    counted = await source_counters(floki, SOURCE)
    assert counted["rejected"] == {"unregistered_device": 1}


BAD_FIELDS: list[tuple[dict[str, Any], str, str]] = [
    ({"lat": LAT, "lon": LON}, "no_device", "no device id"),
    ({"id": "PHONE-1", "lat": 95, "lon": LON}, "bad_position", "lat: 95 is outside"),
    ({"id": "PHONE-1", "lat": LAT, "lon": LON, "timestamp": "soon"}, "bad_timestamp",
     "timestamp"),
]  # fmt: skip


async def test_a_bad_field_is_answered_400_with_the_reason_and_counted(
    floki: Floki, phone: aiohttp.ClientSession
) -> None:
    await tracked_asset(floki, "PHONE-1")
    for params, _counted_as, says in BAD_FIELDS:
        status, text = await send(phone, **params)
        assert status == 400, params
        assert says in text
    counted = (await source_counters(floki, SOURCE))["rejected"]
    assert counted == {counted_as: 1 for _, counted_as, _ in BAD_FIELDS}


async def test_a_device_posting_too_often_is_answered_429_and_taken_when_it_retries(
    floki: Floki, phone: aiohttp.ClientSession
) -> None:
    asset_id, hub = await tracked_asset(floki, "PHONE-1")
    now = floki.clock.now().timestamp()
    assert (await send(phone, id="PHONE-1", lat=LAT, lon=LON, timestamp=now - 0.5))[0] == 200
    async with phone.get(
        "/", params={"id": "PHONE-1", "lat": str(LAT), "lon": str(LON), "timestamp": str(now)}
    ) as resp:
        assert resp.status == 429
        assert resp.headers["Retry-After"] == "1"
        assert "faster than one fix every 1 s" in await resp.text()
    floki.advance(1.0)  # the phone keeps the fix and sends it again later
    assert (await send(phone, id="PHONE-1", lat=LAT, lon=LON, timestamp=now))[0] == 200
    assert (await source_counters(floki, SOURCE))["rejected"] == {"rate_limited": 1}
    await located_in(floki, asset_id, hub)


async def test_a_buffered_backlog_posted_at_once_is_all_taken(
    floki: Floki, phone: aiohttp.ClientSession
) -> None:
    await tracked_asset(floki, "PHONE-1")
    # Ten fixes the phone kept while it had no signal, 30 s apart, sent back to back.
    for ago in range(300, 0, -30):
        status, _ = await send(phone, id="PHONE-1", lat=LAT, lon=LON, timestamp=stamp(floki, ago))
        assert status == 200
    await floki.eventually(lambda: _accepted(floki) == 10, "the ten buffered fixes to be accepted")


def _accepted(floki: Floki) -> int:
    return floki.core.locations.admission.source(SOURCE).accepted


async def test_a_fix_sent_again_is_answered_200_and_stored_once(
    floki: Floki, phone: aiohttp.ClientSession
) -> None:
    asset_id, hub = await tracked_asset(floki, "PHONE-1")
    fix = {"id": "PHONE-1", "lat": LAT, "lon": LON, "timestamp": stamp(floki, 10)}
    assert (await send(phone, **fix))[0] == 200
    await located_in(floki, asset_id, hub)
    await floki.settle()
    headers = await floki.headers("viewer")
    history = await (await floki.client.get(f"/api/v1/assets/{asset_id}/history",
                                            headers=headers)).json()  # fmt: skip
    # The 200 was lost on the way: the phone sends the same fix again, at once.
    assert (await send(phone, **fix))[0] == 200
    await floki.eventually(
        lambda: floki.core.locations.admission.source(SOURCE).duplicates == 1,
        "the replay to be recognised",
    )
    await floki.settle()
    again = await (await floki.client.get(f"/api/v1/assets/{asset_id}/history",
                                          headers=headers)).json()  # fmt: skip
    assert again == history
    assert _accepted(floki) == 1


NASTY: list[tuple[str, str, dict[str, str], bytes]] = [
    ("POST", "/", {"Content-Type": "text/plain"}, b"id=PHONE-1&lat=1&lon=2"),
    ("POST", "/", {"Content-Type": "application/json"}, b"\xff\xfe{"),
    ("POST", "/", {"Content-Type": "application/json"}, b'{"location": []}'),
    ("POST", "/", {"Content-Type": "application/x-www-form-urlencoded"}, b"\xff=\xfe"),
    ("POST", "/", {"Content-Type": "application/x-www-form-urlencoded"}, b"a=" * 200),
    ("POST", "/", {"Content-Type": "application/json"}, b" " * (70 * 1024)),
    ("GET", "/?id=%ff%fe&lat=1&lon=2", {}, b""),
    ("GET", "/?" + "&".join(f"k{i}=1" for i in range(150)), {}, b""),
    ("PUT", "/", {}, b""),
    ("GET", "/deep/path/?id=PHONE-1&lat=1e999&lon=2", {}, b""),
]


async def test_no_request_is_answered_with_a_server_error(
    floki: Floki, phone: aiohttp.ClientSession
) -> None:
    await tracked_asset(floki, "PHONE-1")
    rng = random.Random(13)
    keys = ["id", "deviceid", "lat", "lon", "location", "timestamp", "speed", "batt", "charge",
            "valid", "accuracy", "bearing"]  # fmt: skip
    values = ["PHONE-1", "", "nan", "-1", "1e400", "91", "true", "2026-13-40T99:99", "1,2,3",
              "%00", "\u00e9", "9" * 30, "0x10"]  # fmt: skip
    requests = list(NASTY)
    for _ in range(60):
        pairs = [(rng.choice(keys), rng.choice(values)) for _ in range(rng.randint(0, 6))]
        requests.append(("GET", "/?" + "&".join(f"{k}={v}" for k, v in pairs), {}, b""))
        body = json.dumps({rng.choice(["location", "device_id"]): rng.choice(values)}).encode()
        requests.append(("POST", "/", {"Content-Type": "application/json"}, body))
    for method, path, headers, body in requests:
        async with phone.request(method, path, headers=headers, data=body) as resp:
            assert resp.status < 500, (method, path, body[:60], resp.status, await resp.text())
    assert _accepted(floki) == 0


# --- TLS --------------------------------------------------------------------------------------


class TestTls:
    @pytest.fixture
    def certificate(self, tmp_path: Path) -> Path:
        # The appliance's per-install certificate, where `floki-core init` puts it.
        cert, _ = tls.generate_self_signed(tmp_path / "data", "floki-test")
        return cert

    @pytest.fixture
    def floki_config(self, port: int, certificate: Path) -> AppConfig:
        return gps_config(osmand_port=port, osmand_tls=True)

    async def test_the_listener_serves_https_with_the_appliances_certificate(
        self, floki: Floki, port: int, certificate: Path
    ) -> None:
        asset_id, hub = await tracked_asset(floki, "PHONE-TLS")
        registration = floki.core.plugins.registries.sources.get(SOURCE)
        assert registration is not None and isinstance(registration.item, OsmandListener)
        await Floki.eventually(registration.item.listening.is_set, "the listener to listen")
        trusted = ssl.create_default_context(cafile=certificate)
        params = {"id": "PHONE-TLS", "lat": str(LAT), "lon": str(LON)}
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"https://localhost:{port}/", params=params, ssl=trusted) as resp,
        ):
            assert resp.status == 200
        await located_in(floki, asset_id, hub)


class TestTlsWithTheServersCertificate(TestTls):
    @pytest.fixture
    def certificate(self, tmp_path: Path) -> Path:
        cert, _ = tls.generate_self_signed(tmp_path / "elsewhere", "floki-test")
        return cert

    @pytest.fixture
    def floki_config(self, port: int, certificate: Path) -> AppConfig:
        # [server] tls_cert / tls_key name a certificate of the trust's own.
        config = gps_config(osmand_port=port, osmand_tls=True)
        key = certificate.parent / "key.pem"
        server = msgspec.structs.replace(config.server, tls_cert=str(certificate), tls_key=str(key))
        return msgspec.structs.replace(config, server=server)


class TestTlsWithoutCertificate:
    @pytest.fixture
    def floki_config(self, port: int) -> AppConfig:
        return gps_config(osmand_port=port, osmand_tls=True)  # and no certificate made

    async def test_the_source_says_which_certificate_it_could_not_load(self, floki: Floki) -> None:
        headers = await floki.headers("viewer")

        async def says() -> bool:
            resp = await floki.client.get("/api/v1/plugins", headers=headers)
            (gps,) = [p for p in (await resp.json())["items"] if p["name"] == "gps"]
            (entry,) = [s for s in gps["sources"] if s["name"] == SOURCE]
            return "no certificate at" in str(entry["reason"]) and "floki-core init" in str(
                entry["reason"]
            )

        await floki.eventually(says, "the listener to say it has no certificate")


class TestCoreBehind:
    @pytest.fixture
    def floki_config(self, port: int) -> AppConfig:
        # No hand-over for ten seconds: what is posted meanwhile waits in the listener.
        return gps_config(osmand_port=port, osmand_min_interval_seconds=0, batch_seconds=10.0)

    async def test_a_full_batch_is_answered_503_and_the_phone_sends_it_again_later(
        self, floki: Floki, phone: aiohttp.ClientSession, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(fix_batches, "PENDING_LIMIT", 2)
        await tracked_asset(floki, "PHONE-1")
        for ago in (90, 60):
            status, _ = await send(
                phone, id="PHONE-1", lat=LAT, lon=LON, timestamp=stamp(floki, ago)
            )
            assert status == 200
        async with phone.get(
            "/",
            params={
                "id": "PHONE-1",
                "lat": str(LAT),
                "lon": str(LON),
                "timestamp": str(stamp(floki, 30)),
            },
        ) as resp:
            assert resp.status == 503
            assert resp.headers["Retry-After"] == "5"
            assert "catching up" in await resp.text()
        assert (await source_counters(floki, SOURCE))["rejected"] == {"busy": 1}
