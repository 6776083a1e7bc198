"""``POST /api/v1/ingest`` (issue 3, §1 and §6): gateways deliver batches with device tokens;
bad batches are refused with a reason and counted; a saturated appliance answers 503 with
Retry-After instead of growing its memory, and loses nothing it accepted.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections.abc import Sequence
from typing import Any

import pytest

from floki_core.config import AppConfig, parse_config
from floki_core.observations import Observation
from floki_core.testing import Floki
from tests.core.location.register_builder import (
    API,
    Register,
    location,
    metric,
    metrics_text,
    source_stats,
)

QUEUE_BATCHES = 2
MAX_BATCH = 50
SOURCE = "http:test"  # "http:" and the name of the token the gateway uses


@pytest.fixture
def floki_config() -> AppConfig:
    return parse_config(
        {
            "discovery": {"enabled": False},
            "server": {"tls": False},
            "ingest": {"queue_batches": QUEUE_BATCHES, "max_batch": MAX_BATCH},
        }
    )


def stamp(at: dt.datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


def sighting(reg: Register, at: dt.datetime, rssi: float = -55.0, **over: Any) -> dict[str, Any]:
    return {
        "technology": "ble",
        "tag": reg.tags["PUMP-001"]["ble"],
        "receiver": reg.identifier("gw-7a"),
        "rssi": rssi,
        "observed_at": stamp(at),
        **over,
    }


async def post_batch(
    floki: Floki, token: str, body: Any, *, raw: bytes | None = None
) -> tuple[int, dict[str, Any], dict[str, str]]:
    data = raw if raw is not None else json.dumps(body).encode()
    resp = await floki.client.post(
        f"{API}/ingest",
        data=data,
        headers={**floki.auth(token), "Content-Type": "application/json"},
    )
    return resp.status, await resp.json(), dict(resp.headers)


async def test_a_gateway_batch_locates_the_asset(floki: Floki, reg: Register) -> None:
    device = await floki.token_for("admin", device=True)
    floki.clock.advance(5)
    now = floki.clock.now()
    batch = [
        sighting(reg, now - dt.timedelta(seconds=2), -56.0),
        sighting(reg, now - dt.timedelta(seconds=1), -54.0),
        sighting(reg, now, -81.0, receiver=reg.identifier("gw-7b")),
        {**sighting(reg, now), "extras": {"battery": 87, "temperature": 21.5, "seq": 3}},
    ]
    status, body, _ = await post_batch(floki, device, {"observations": batch})
    assert status == 202
    assert body["queued"] == 4
    assert 0 <= body["queue_depth"] <= QUEUE_BATCHES
    await floki.settle()

    answer = await location(floki, reg, "PUMP-001")
    assert answer["located"] is True
    assert answer["zone"]["name"] == "Room 7A"
    assert dt.datetime.fromisoformat(answer["last_seen"]) == now
    stats = await source_stats(floki, SOURCE)
    assert (stats["received"], stats["accepted"], stats["processed"]) == (4, 4, 4)
    assert stats["rejected"] == {}


async def test_who_may_post_batches(floki: Floki, reg: Register) -> None:
    batch = {"observations": [sighting(reg, floki.clock.now())]}
    viewer = await floki.token_for("viewer")
    status, body, _ = await post_batch(floki, viewer, batch)
    assert status == 403, body
    engineer = await floki.token_for("engineer")
    assert (await post_batch(floki, engineer, batch))[0] == 403
    admin = await floki.token_for("admin")  # the "device" policy lets admins test by hand
    assert (await post_batch(floki, admin, batch))[0] == 202
    resp = await floki.client.post(f"{API}/ingest", json=batch)
    assert resp.status == 401
    await floki.settle()
    # A device token reaches nothing but ingest.
    device = await floki.token_for("admin", device=True)
    resp = await floki.client.get(f"{API}/assets", headers=floki.auth(device))
    assert resp.status == 403


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"observed_at": "2026-01-05T09:00:00"}, "observed_at"),  # no time zone
        ({"received_at": "2026-01-05T09:00:00"}, "received_at"),
        ({"colour": "red"}, "colour"),  # unknown field
        ({"rssi": "strong"}, "rssi"),
        ({"rssi": -500}, "rssi"),
        ({"technology": "BLE!"}, "technology"),
    ],
)
async def test_invalid_observations_are_refused_naming_the_field(
    floki: Floki, reg: Register, change: dict[str, Any], field: str
) -> None:
    device = await floki.token_for("admin", device=True)
    good = sighting(reg, floki.clock.now())
    status, body, _ = await post_batch(floki, device, {"observations": [good, {**good, **change}]})
    assert status == 422
    assert field in body["error"]
    assert "observations[1]" in body["error"]
    stats = await source_stats(floki, SOURCE)
    assert stats["rejected"] == {"invalid": 1}
    assert (stats["received"], stats["accepted"]) == (0, 0)  # all of the batch or none


async def test_malformed_and_oversized_batches(floki: Floki, reg: Register) -> None:
    device = await floki.token_for("admin", device=True)
    for raw in (b'{"observations": [', b"not json", b""):
        status, body, _ = await post_batch(floki, device, None, raw=raw)
        assert status == 400, (raw, body)
    status, body, _ = await post_batch(floki, device, {"observations": "none"})
    assert status == 422
    status, body, _ = await post_batch(floki, device, {"sightings": []})
    assert status == 422

    at = floki.clock.now()
    too_many = [sighting(reg, at, rssi=-50.0 - n * 0.1) for n in range(MAX_BATCH + 1)]
    status, body, _ = await post_batch(floki, device, {"observations": too_many})
    assert status == 413
    assert str(MAX_BATCH) in body["error"]
    status, _, _ = await post_batch(floki, device, {"observations": too_many[:MAX_BATCH]})
    assert status == 202
    await floki.settle()

    stats = await source_stats(floki, SOURCE)
    assert stats["rejected"] == {
        "malformed": 3,
        "invalid": 2,
        "batch_too_large": MAX_BATCH + 1,
    }
    assert stats["received"] == stats["processed"] == MAX_BATCH
    text = await metrics_text(floki)
    sample = f'floki_observations_rejected_total{{source="{SOURCE}",reason="malformed"}}'
    assert metric(text, sample) == 3


# --- backpressure ----------------------------------------------------------------


class Gate:
    """A batch handler that holds the consumer until opened, as a slow database would."""

    def __init__(self) -> None:
        self.open = asyncio.Event()
        self.entered = asyncio.Event()

    async def __call__(self, items: Sequence[tuple[str, Sequence[Observation]]]) -> None:
        self.entered.set()
        await self.open.wait()


async def test_overload_is_refused_with_retry_after_and_counted(
    floki: Floki, reg: Register
) -> None:
    device = await floki.token_for("admin", device=True)
    gate = Gate()
    floki.core.ingest.add_handler(gate)
    floki.clock.advance(60)
    start = floki.clock.now()
    serial = iter(range(10_000))

    def batch(size: int) -> dict[str, Any]:
        # Distinct readings, so no replay detection can blur the counts.
        return {
            "observations": [
                sighting(reg, start - dt.timedelta(milliseconds=next(serial))) for _ in range(size)
            ]
        }

    # The first batch is taken by the consumer, which then stalls.
    status, body, _ = await post_batch(floki, device, batch(3))
    assert status == 202
    await asyncio.wait_for(gate.entered.wait(), 5)
    accepted = [3]
    refused: list[int] = []

    # Ten times what the queue holds, offered at once by several gateways.
    sizes = [1 + n % 7 for n in range(10 * QUEUE_BATCHES)]
    results = await asyncio.gather(*(post_batch(floki, device, batch(size)) for size in sizes))
    for size, (status, body, headers) in zip(sizes, results, strict=True):
        if status == 202:
            accepted.append(size)
            assert body["queued"] == size
            assert body["queue_depth"] <= QUEUE_BATCHES
        else:
            assert status == 503, body
            assert headers["Retry-After"] == "1"
            assert "retry" in body["error"]
            refused.append(size)
    assert len(accepted) == 1 + QUEUE_BATCHES  # the stalled batch and a full queue
    assert floki.core.ingest.depth == QUEUE_BATCHES

    sources = await (
        await floki.client.get(f"{API}/sources", headers=await floki.headers("viewer"))
    ).json()
    assert (sources["queue_depth"], sources["queue_capacity"]) == (QUEUE_BATCHES, QUEUE_BATCHES)
    stats = next(s for s in sources["items"] if s["name"] == SOURCE)
    assert stats["rejected"] == {"queue_full": sum(refused)}

    # Released: everything accepted is applied, and nothing else.
    gate.open.set()
    await floki.settle()
    stats = await source_stats(floki, SOURCE)
    assert stats["processed"] == stats["received"] == stats["accepted"] == sum(accepted)
    assert stats["duplicates"] == 0 and stats["quarantined"] == {}
    assert stats["rejected"] == {"queue_full": sum(refused)}
    assert sum(accepted) + sum(refused) == 3 + sum(sizes)
    assert floki.core.ingest.depth == 0
    assert (await location(floki, reg, "PUMP-001"))["located"] is True

    # The gateway retries what was refused and it goes through now (the gate stays open).
    status, body, _ = await post_batch(floki, device, batch(refused[0]))
    assert status == 202
    await floki.settle()
    stats = await source_stats(floki, SOURCE)
    assert stats["processed"] == sum(accepted) + refused[0]


async def test_a_source_plugin_waits_instead_of_losing_batches(floki: Floki, reg: Register) -> None:
    gate = Gate()
    floki.core.ingest.add_handler(gate)
    sink = floki.core.ingest.sink("ble-scanner")
    at = floki.clock.now()
    batches = [
        [
            Observation(
                technology="ble",
                tag=reg.tags["PUMP-002"]["ble"],
                receiver=reg.identifier("gw-7b"),
                rssi=-60.0 - n,
                observed_at=at,
            )
        ]
        for n in range(10 * QUEUE_BATCHES)
    ]
    producer = asyncio.create_task(_submit_all(sink, batches))
    await asyncio.wait_for(gate.entered.wait(), 5)
    await floki.eventually(
        lambda: floki.core.ingest.depth == QUEUE_BATCHES, "the ingest queue to fill"
    )
    assert not producer.done()  # it waits for room rather than dropping

    gate.open.set()
    await asyncio.wait_for(producer, 5)
    await floki.settle()
    counters = floki.core.ingest.counters["ble-scanner"]
    assert counters.received == counters.processed == len(batches)
    stats = await source_stats(floki, "ble-scanner")
    assert stats["rejected"] == {}
    assert stats["accepted"] == len(batches)


async def _submit_all(sink: Any, batches: list[list[Observation]]) -> None:
    for batch in batches:
        await sink.submit(batch)


async def test_a_whole_backlog_in_one_large_request_is_read_to_the_end(
    floki: Floki, reg: Register
) -> None:
    """A gateway back from an outage posts a minute of sightings at once (over a megabyte);
    the body arrives in many pieces and must be read whole, not cut at the first one."""
    floki.core.config.ingest.max_batch = 10_000  # this module's config keeps batches small
    device = await floki.token_for("admin", device=True)
    floki.clock.advance(120)
    now = floki.clock.now()
    batch = [
        sighting(reg, now - dt.timedelta(milliseconds=10 * i), -60.0 - (i % 7)) for i in range(8000)
    ]
    raw = json.dumps({"observations": batch}).encode()
    assert len(raw) > 1_000_000
    status, body, _ = await post_batch(floki, device, None, raw=raw)
    assert status == 202, body
    assert body["queued"] == 8000
    await floki.settle()
    stats = await source_stats(floki, SOURCE)
    assert stats["received"] == 8000 and stats["processed"] == 8000


async def test_unregistered_receivers_and_technologies_are_named_in_sources(
    floki: Floki, reg: Register
) -> None:
    """A gateway not yet registered, or a technology no plugin locates, is shown by name
    so staff can fix the register instead of wondering why nothing moves."""
    device = await floki.token_for("admin", device=True)
    floki.clock.advance(5)
    now = floki.clock.now()
    batch = [
        sighting(reg, now, receiver="DE:AD:BE:EF:00:01"),
        sighting(reg, now, receiver="DE:AD:BE:EF:00:01", rssi=-60.0),
        {**sighting(reg, now), "technology": "uwb"},
    ]
    status, _, _ = await post_batch(floki, device, {"observations": batch})
    assert status == 202
    await floki.settle()
    resp = await floki.client.get(f"{API}/sources", headers=await floki.headers("viewer"))
    body = await resp.json()
    assert body["unknown_receivers"] == {"DE:AD:BE:EF:00:01": 2}
    stats = await source_stats(floki, SOURCE)
    assert stats["rejected"] == {"unknown_receiver": 2}
    # The uwb tag is bound to no asset, so it is an unknown tag, not an unlocatable one.
    assert stats["unknown_tags"] == 1
    assert body["unlocatable"] == {}
