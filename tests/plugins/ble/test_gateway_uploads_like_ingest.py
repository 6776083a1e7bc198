"""A plugin's gateway route takes an upload as ``POST /api/v1/ingest`` does: the same batch
limit, the same answers and error bodies, the same counters in ``GET /api/v1/sources``
(floki_core/api/uploads.py, shared by both)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from floki_core.config import AppConfig, parse_config
from floki_core.testing import Floki

UUID = "F7826DA6-4FA2-4E98-8024-BC5B71E0893E"
IBEACON = "0201061AFF4C000215" + UUID.replace("-", "") + "0064" + "0007" + "C5"
LIMIT = 2


@pytest.fixture
def floki_config() -> AppConfig:
    return parse_config(
        {
            "discovery": {"enabled": False},
            "server": {"tls": False},
            "ingest": {"max_batch": LIMIT},
        }
    )


def _core_batch(floki: Floki, n: int) -> bytes:
    at = floki.clock.now().isoformat()
    seen = [
        {"technology": "ibeacon", "tag": f"{UUID}:100:{i}", "receiver": "GW-1", "observed_at": at}
        for i in range(n)
    ]
    return json.dumps({"observations": seen}).encode()


def _gateway_batch(n: int) -> bytes:
    return json.dumps(
        [{"type": "Gateway", "mac": "AC233FC00001"}]
        + [
            {"type": "iBeacon", "mac": f"C3A1B2C3D4{i:02X}", "rssi": -60, "rawData": IBEACON}
            for i in range(n)
        ]
    ).encode()


async def _post(floki: Floki, path: str, body: bytes, token: dict[str, str]) -> Any:
    resp = await floki.client.post(
        path, data=body, headers={**token, "Content-Type": "application/json"}
    )
    return resp.status, await resp.json()


async def _counted(floki: Floki, prefix: str) -> dict[str, int]:
    resp = await floki.client.get("/api/v1/sources", headers=await floki.headers("viewer"))
    [source] = [s for s in (await resp.json())["items"] if s["name"].startswith(prefix)]
    rejected: dict[str, int] = source["rejected"]
    return rejected


async def test_a_batch_past_the_limit_is_refused_alike_on_both_routes(floki: Floki) -> None:
    device = floki.auth(await floki.token_for("admin", device=True))
    core = await _post(floki, "/api/v1/ingest", _core_batch(floki, LIMIT + 1), device)
    gateway = await _post(floki, "/api/v1/ble/ingest/json", _gateway_batch(LIMIT + 1), device)
    said = f"{LIMIT + 1} observations; at most {LIMIT} per batch"
    assert core == (413, {"error": said, "status": 413})
    assert gateway == core
    assert (await _counted(floki, "http:"))["batch_too_large"] == LIMIT + 1
    assert (await _counted(floki, "ble-http:"))["batch_too_large"] == LIMIT + 1


async def test_both_routes_answer_202_with_the_same_receipt(floki: Floki) -> None:
    device = floki.auth(await floki.token_for("admin", device=True))
    status, core = await _post(floki, "/api/v1/ingest", _core_batch(floki, LIMIT), device)
    assert status == 202 and core["queued"] == LIMIT
    status, gateway = await _post(floki, "/api/v1/ble/ingest/json", _gateway_batch(LIMIT), device)
    assert status == 202 and gateway["queued"] == LIMIT
    assert set(core) == set(gateway) == {"queued", "queue_depth", "rejected"}
