"""The ``estate`` scenario: memory that grows with the estate, not with traffic.

1. ``rss_base_bytes``: ``floki-core serve`` on a fresh appliance (empty register), once it
   serves and has settled;
2. the hospital's layout (400 rooms on 10 floors, a gateway in each) and ``--assets``
   tagged assets (100,000) are loaded; the appliance starts again (``rss_register_bytes``,
   nothing tracked yet);
3. the first ``--tracked-first`` tags (10,000) are each heard once by their room's gateway
   through ``POST /api/v1/ingest`` (batches of 5,000): once the appliance has taken them,
   ``rss_first_bytes``; then every other tag the same way: ``rss_all_bytes``.

``rss_marginal_bytes_per_asset`` is the slope between the two: (all - first) / (assets -
first), what one more tracked asset costs once the process, its libraries and the
register are there. ``tracked`` is how many assets the appliance then has a location for.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import shutil
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import aiohttp
import msgspec

from bench.product import (
    REQUEST_TIMEOUT_S,
    Appliance,
    BenchError,
    Driver,
    appliance_env,
    load_hospital,
    new_data_dir,
)
from bench.scenarios import (
    SCENARIOS,
    GatewayBatch,
    gateway_identifier,
    tag_identifier,
)

POST_OBSERVATIONS = 5_000
SETTLE_S = 3.0  # after a phase is drained: the last moves written, buffers let go
DRAIN_TIMEOUT_S = 300.0


@dataclass(frozen=True)
class EstateOptions:
    assets: int = 100_000
    tracked_first: int = 10_000


def _batches(first: int, last: int, gateways: int, now: dt.datetime) -> list[GatewayBatch]:
    """One sighting of each tag ``first .. last - 1`` by its room's gateway."""
    stamp = now.isoformat()
    out: list[GatewayBatch] = []
    for start in range(first, last, POST_OBSERVATIONS):
        tags = range(start, min(start + POST_OBSERVATIONS, last))
        body = {
            "observations": [
                {
                    "technology": "ble",
                    "tag": tag_identifier(i),
                    "receiver": gateway_identifier(i % gateways),
                    "rssi": -58,
                    "observed_at": stamp,
                }
                for i in tags
            ]
        }
        out.append(GatewayBatch(0, 0, 0, 0, len(tags), msgspec.json.encode(body)))
    return out


def _tracked(appliance: Appliance) -> int:
    return sum(1 for zone in appliance.current_zones().values() if zone is not None)


async def _hear(
    appliance: Appliance, token: str, api: str, batches: list[GatewayBatch], tracked: int
) -> None:
    """Post ``batches``; return once the appliance has written a location for ``tracked``
    assets (its locations are written every few seconds, in the background)."""
    timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_S)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        driver = Driver(session, appliance.base_url, token, api, None)
        deadline = time.perf_counter() + DRAIN_TIMEOUT_S
        for batch in batches:
            await driver.post(batch, deadline, 1.0, run=True)
        _, source = await driver.drain(DRAIN_TIMEOUT_S)
        if source.get("processed", 0) < driver.counters.acked:
            raise BenchError("the appliance did not take the sightings in time")
    deadline = time.perf_counter() + DRAIN_TIMEOUT_S
    while await asyncio.to_thread(_tracked, appliance) < tracked:
        if time.perf_counter() > deadline:
            raise BenchError(f"the appliance did not locate {tracked} assets in time")
        await asyncio.sleep(0.5)
    await asyncio.sleep(SETTLE_S)


def run_estate(opts: EstateOptions) -> dict[str, Any]:
    if not 0 < opts.tracked_first < opts.assets:
        raise BenchError("--tracked-first must be at least 1 and fewer than --assets")
    spec = replace(SCENARIOS["hospital"], name="estate", tags=opts.assets)
    tmp = Path(tempfile.mkdtemp(prefix="floki-bench-estate-"))
    data_dir = tmp / "var"
    env = appliance_env()
    appliance = Appliance(data_dir, env, False)
    try:
        new_data_dir(data_dir, env, tls=False)
        appliance.start()
        time.sleep(SETTLE_S)
        base, _ = appliance.rss()
        appliance.stop()

        token, api = load_hospital(data_dir, spec, opts.assets)
        appliance.start()
        time.sleep(SETTLE_S)
        register, _ = appliance.rss()
        now = dt.datetime.now(dt.UTC)
        heard = _batches(0, opts.tracked_first, spec.gateways, now)
        asyncio.run(_hear(appliance, token, api, heard, opts.tracked_first))
        first, _ = appliance.rss()
        rest = _batches(opts.tracked_first, opts.assets, spec.gateways, now)
        asyncio.run(_hear(appliance, token, api, rest, opts.assets))
        every, peak = appliance.rss()
        tracked = _tracked(appliance)
        appliance.stop()
        return {
            "scenario": "estate",
            "assets": opts.assets,
            "tracked_first": opts.tracked_first,
            "tracked": tracked,
            "rss_base_bytes": base,
            "rss_register_bytes": register,
            "rss_first_bytes": first,
            "rss_all_bytes": every,
            "rss_peak_bytes": peak,
            "rss_marginal_bytes_per_asset": round(
                (every - first) / (opts.assets - opts.tracked_first)
            ),
            "rss_register_bytes_per_asset": round((register - base) / opts.assets),
        }
    finally:
        appliance.stop()
        shutil.rmtree(tmp, ignore_errors=True)
