"""Impinj readers as the appliance runs them: a configured reader's data stream is a
source of the rfid plugin (a wrong password shows as its reason), and the webhook route
takes the events a reader posts (device token, 202 with what was refused, 400 with the
reason for a body that holds no event)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from floki_rfid import readers
from floki_rfid.config import RfidSettings

from floki_core.clock import ManualClock
from floki_core.config import parse_config
from floki_core.sdk import AppConfig
from floki_core.testing import Floki
from tests.plugins.rfid.test_impinj_source import PUMP, ImpinjReaderPeer, impinj_reader, tag_event

__all__ = ["impinj_reader"]  # the fixture, used here too

pytestmark = pytest.mark.floki_entry_points("rfid")
FAST = {"backoff_initial": 0.02, "backoff_max": 0.1, "max_failures": 1000}
PATH = "/api/v1/rfid/impinj"


@pytest.fixture
def impinj() -> list[dict[str, Any]]:
    return []


@pytest.fixture
def floki_config(impinj: list[dict[str, Any]]) -> AppConfig:
    return parse_config(
        {
            "discovery": {"enabled": False},
            "server": {"tls": False},
            "plugins": {"supervision": FAST},
            "plugin": {"rfid": {"impinj": impinj, "impinj_webhook": True}},
        }
    )


async def sources(floki: Floki) -> dict[str, Any]:
    resp = await floki.client.get("/api/v1/sources", headers=await floki.headers("viewer"))
    return {item["name"]: item for item in (await resp.json())["items"]}


async def post(floki: Floki, body: bytes, query: str = "?reader=library-door") -> tuple[int, Any]:
    token = await floki.token_for("engineer", device=True)
    headers = {**floki.auth(token), "Content-Type": "application/json"}
    resp = await floki.client.post(PATH + query, data=body, headers=headers)
    return resp.status, await resp.json()


# --- the data stream ----------------------------------------------------------------------


class TestStream:
    @pytest.fixture
    def impinj(self, impinj_reader: ImpinjReaderPeer) -> list[dict[str, Any]]:
        return [{"name": "store-2", "url": impinj_reader.url, "password": "wrong"}]

    async def test_a_wrong_password_shows_as_the_sources_reason(
        self, floki: Floki, impinj_reader: ImpinjReaderPeer
    ) -> None:
        found: dict[str, Any] = {}

        async def refused() -> bool:
            resp = await floki.client.get("/api/v1/plugins", headers=await floki.headers())
            plugins = {p["name"]: p for p in (await resp.json())["items"]}
            entry = {s["name"]: s for s in plugins["rfid"]["sources"]}["rfid-impinj-store-2"]
            found.update(entry)
            # Seen between attempts: it is retried at once, after its backoff, and again.
            down = entry["status"] in ("backoff", "degraded", "failed")
            return down and "401 Unauthorized" in (entry.get("reason") or "")

        await floki.eventually(refused, "the source to show the refused login")
        assert "refused user root" in found["reason"]


# --- the webhook --------------------------------------------------------------------------


async def test_posted_events_are_folded_queued_and_counted(floki: Floki) -> None:
    body = b"[" + b",".join([tag_event(PUMP, 1), tag_event(PUMP, 1), b"[]"]) + b"]"
    status, receipt = await post(floki, body)
    assert (status, receipt["queued"], receipt["rejected"]) == (202, 1, {"bad_json": 1})
    counted = (await sources(floki))["rfid-impinj-webhook:test"]
    assert counted["rejected"] == {"bad_json": 1}


async def test_ndjson_is_taken_as_well(floki: Floki) -> None:
    status, receipt = await post(floki, tag_event(PUMP, 1) + b"\n" + tag_event(PUMP, 2) + b"\n")
    assert (status, receipt["queued"]) == (202, 2)


@pytest.mark.parametrize(
    ("body", "query", "says"),
    [
        (b"", "?reader=library-door", "the body is empty"),
        (b"<xml/>", "?reader=library-door", "no event in the body"),
        (b"[{", "?reader=library-door", "not a JSON array"),
        (tag_event(PUMP, 1), "", "reader is missing"),
        (tag_event(PUMP, 1), "?reader=Library%20Door", "is not a reader name"),
    ],
)
async def test_a_bad_post_is_answered_400_with_the_reason(
    floki: Floki, body: bytes, query: str, says: str
) -> None:
    status, answer = await post(floki, body, query)
    assert status == 400, answer
    assert says in answer["error"]


async def test_only_a_device_token_may_post(floki: Floki) -> None:
    resp = await floki.client.post(PATH + "?reader=a", data=tag_event(PUMP, 1))
    assert resp.status == 401
    headers = await floki.headers("engineer")
    resp = await floki.client.post(PATH + "?reader=a", data=tag_event(PUMP, 1), headers=headers)
    assert resp.status == 403


async def test_the_route_is_described_in_the_openapi_document(floki: Floki) -> None:
    resp = await floki.client.get("/api/v1/openapi.json", headers=await floki.headers("viewer"))
    assert resp.status == 200
    operation = (await resp.json())["paths"][PATH]["post"]
    (reader,) = [p for p in operation["parameters"] if p["name"] == "reader"]
    assert reader["required"] is True and reader["in"] == "query"
    assert "202" in operation["responses"] and "400" in operation["responses"]


class RecordingRoutes:
    def __init__(self) -> None:
        self.added: list[tuple[str, str, str]] = []

    def add(self, method: str, path: str, handler: Any, *, policy: str, **more: Any) -> None:
        self.added.append((method, path, policy))


@pytest.mark.parametrize(
    ("switched_on", "served"), [(False, []), (True, [("POST", PATH, "device")])]
)
def test_the_route_is_registered_only_when_switched_on(
    switched_on: bool, served: list[tuple[str, str, str]]
) -> None:
    routes = RecordingRoutes()
    settings = RfidSettings(impinj_webhook=switched_on)
    context = SimpleNamespace(settings=settings, clock=ManualClock())
    readers.register_routes(routes, context)  # type: ignore[arg-type]
    assert routes.added == served
