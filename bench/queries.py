"""The query benchmark: "where is asset X" and "assets in zone" on a big register.

100,000 tagged assets, each with a current location, and 10,000,000 rows of history are
written straight into SQLite (executemany in chunks; the history indexes are built
after the rows, as any bulk load does). Then a real appliance serves them and one
client asks, one request at a time over a keep-alive connection, so each figure is a
request's latency through HTTP, authentication, the route and the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import shutil
import sqlite3
import ssl
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import aiohttp
import numpy as np
from sqlalchemy import Table

from bench.product import (
    Appliance,
    BenchError,
    add_profile,
    appliance_env,
    issue_token,
    new_data_dir,
    percentile,
)
from bench.scenarios import Layout, ScenarioSpec, load_register
from floki_core.security.tls import CERT_FILE
from floki_core.storage.database import DB_FILE, Database, default_url
from floki_core.storage.models import TransitionRow

CHUNK_ASSETS = 10_000  # assets whose history is generated and inserted together
HISTORY_DAYS = 365
PHASE_BUDGET_S = 120.0  # each query kind stops after this long, whatever --requests says
WARMUP_REQUESTS = 50


@dataclass(frozen=True)
class QueryOptions:
    assets: int = 100_000
    history: int = 10_000_000
    requests: int = 2000
    tls: bool = False
    profile: bool = False
    seed: int = 1


def query_layout(assets: int) -> ScenarioSpec:
    """10 floors of 10 x 10 rooms in wards of 25: ~100 assets a room, 2,500 a ward."""
    return ScenarioSpec(
        "queries",
        tags=assets,
        floors=10,
        grid=(10, 10),
        rooms_per_ward=25,
        mean_dwell_s=0.0,
        min_dwell_s=0.0,
    )


def _sqlite_time(micros: np.ndarray[Any, np.dtype[np.int64]]) -> list[str]:
    # SQLAlchemy's SQLite DATETIME text form: "YYYY-MM-DD HH:MM:SS.ffffff".
    text = np.datetime_as_string(micros.astype("datetime64[us]"), unit="us")
    return cast(list[str], np.char.replace(text, "T", " ").tolist())


def load_history(db_path: Path, layout: Layout, assets: int, rows: int, seed: int) -> int:
    """Current locations and ``rows`` stays of history (about rows / assets per asset)."""
    rng = np.random.default_rng(seed)
    per_asset = max(rows // assets, 1)
    rooms = np.asarray(layout.room_zone, dtype=np.int64)
    now_us = int(time.time() * 1_000_000)
    start_us = now_us - HISTORY_DAYS * 86_400 * 1_000_000
    mean_gap = (now_us - start_us) / (per_asset + 1)
    table = cast(Table, TransitionRow.__table__)
    indexes = list(table.indexes)
    written = 0
    with contextlib.closing(sqlite3.connect(db_path)) as conn:
        conn.execute("PRAGMA synchronous=OFF")
        conn.execute("PRAGMA cache_size=-262144")
        # Indexes built once over sorted data are far cheaper than maintained per row.
        for index in indexes:
            conn.execute(f"DROP INDEX {index.name}")
        for first in range(0, assets, CHUNK_ASSETS):
            count = min(CHUNK_ASSETS, assets - first)
            ids = np.arange(first + 1, first + count + 1, dtype=np.int64)
            gaps = rng.exponential(mean_gap, (count, per_asset)).astype(np.int64) + 1
            entered = start_us + np.cumsum(gaps, axis=1)
            entered = np.minimum(entered, now_us - 1_000_000)
            zones = rooms[rng.integers(0, len(rooms), (count, per_asset))]
            entered_s = np.asarray(_sqlite_time(entered.ravel())).reshape(count, per_asset)
            left: list[list[str | None]] = [[*row[1:].tolist(), None] for row in entered_s]
            seen_s = _sqlite_time(now_us - rng.integers(0, 600_000_000, count))
            flat_ids = np.repeat(ids, per_asset).tolist()
            conn.executemany(
                "INSERT INTO location_transitions"
                " (asset_id, zone_id, entered_at, left_at, method, confidence)"
                " VALUES (?, ?, ?, ?, 'rssi', 0.8)",
                zip(
                    flat_ids,
                    zones.ravel().tolist(),
                    entered_s.ravel().tolist(),
                    [v for row in left for v in row],
                    strict=True,
                ),
            )
            conn.executemany(
                "INSERT INTO asset_locations (asset_id, zone_id, since, last_seen, confidence,"
                " method, technology, evidence) VALUES (?, ?, ?, ?, 0.8, 'rssi', 'ble', '[]')",
                zip(
                    ids.tolist(),
                    zones[:, -1].tolist(),
                    entered_s[:, -1].tolist(),
                    seen_s,
                    strict=True,
                ),
            )
            conn.commit()
            written += count * per_asset
        for index in indexes:
            columns = ", ".join(c.name for c in index.columns)
            conn.execute(f"CREATE INDEX {index.name} ON {table.name} ({columns})")
        conn.commit()
        conn.execute("ANALYZE")
        conn.commit()
    return written


async def _timed(
    session: aiohttp.ClientSession,
    urls: Callable[[int], str],
    count: int,
    headers: dict[str, str],
    tls: ssl.SSLContext | bool,
    check: Callable[[Any], bool],
) -> tuple[list[float], int]:
    """Latencies (seconds) of ``count`` sequential GETs; and how many failed ``check``."""
    samples: list[float] = []
    odd = 0
    deadline = time.perf_counter() + PHASE_BUDGET_S
    for i in range(-WARMUP_REQUESTS, count):
        started = time.perf_counter()
        async with session.get(urls(i), headers=headers, ssl=tls) as resp:
            body = await resp.json()
            if resp.status != 200:
                raise BenchError(f"GET {urls(i)}: {resp.status} {body}")
        took = time.perf_counter() - started
        if i >= 0:
            samples.append(took)
            odd += 0 if check(body) else 1
        if time.perf_counter() > deadline:
            break
    return samples, odd


def _ms(samples: list[float], q: float) -> float | None:
    value = percentile(samples, q)
    return None if value is None else round(value * 1000, 2)


async def _measure(
    base: str, token: str, opts: QueryOptions, layout: Layout, ssl_context: ssl.SSLContext | None
) -> dict[str, Any]:
    rng = np.random.default_rng(opts.seed + 1)
    assets = rng.integers(1, opts.assets + 1, opts.requests + WARMUP_REQUESTS).tolist()
    wards = rng.choice(layout.ward_zone, opts.requests + WARMUP_REQUESTS).tolist()
    floors = rng.choice(layout.floor_zone, opts.requests + WARMUP_REQUESTS).tolist()
    headers = {"Authorization": f"Bearer {token}"}
    tls: ssl.SSLContext | bool = ssl_context if ssl_context is not None else False
    w = WARMUP_REQUESTS
    connector = aiohttp.TCPConnector(limit=1)
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        where, not_located = await _timed(
            session,
            lambda i: f"{base}/api/v1/assets/{assets[i + w]}/location",
            opts.requests,
            headers,
            tls,
            lambda body: bool(body.get("located")),
        )
        ward, empty_wards = await _timed(
            session,
            lambda i: f"{base}/api/v1/zones/{wards[i + w]}/assets",
            opts.requests,
            headers,
            tls,
            lambda body: body.get("total", 0) > 0,
        )
        floor, _ = await _timed(
            session,
            lambda i: f"{base}/api/v1/zones/{floors[i + w]}/assets",
            opts.requests,
            headers,
            tls,
            lambda body: body.get("total", 0) > 0,
        )
        history, _ = await _timed(
            session,
            lambda i: f"{base}/api/v1/assets/{assets[i + w]}/history",
            opts.requests,
            headers,
            tls,
            lambda body: body.get("total", 0) > 0,
        )
    return {
        "where_is_p50_ms": _ms(where, 50),
        "where_is_p99_ms": _ms(where, 99),
        "zone_assets_p50_ms": _ms(ward, 50),
        "zone_assets_p99_ms": _ms(ward, 99),
        "floor_zone_assets_p50_ms": _ms(floor, 50),
        "floor_zone_assets_p99_ms": _ms(floor, 99),
        "history_p50_ms": _ms(history, 50),
        "history_p99_ms": _ms(history, 99),
        "requests": {
            "where_is": len(where),
            "zone_assets": len(ward),
            "floor_zone_assets": len(floor),
            "history": len(history),
        },
        "not_located": not_located,
        "empty_zones": empty_wards,
    }


def run_queries(opts: QueryOptions) -> dict[str, Any]:
    spec = query_layout(opts.assets)
    layout = Layout(spec)
    tmp = Path(tempfile.mkdtemp(prefix="floki-bench-queries-"))
    data_dir = tmp / "var"
    env = appliance_env()
    appliance = Appliance(
        data_dir, env, opts.tls, profile_path=tmp / "appliance.prof" if opts.profile else None
    )
    try:
        new_data_dir(data_dir, env, tls=opts.tls)
        started = time.perf_counter()
        db = Database(default_url(data_dir))
        try:
            load_register(db.engine, layout, opts.assets, dt.datetime.now(dt.UTC))
        finally:
            db.close()
        register_s = time.perf_counter() - started
        started = time.perf_counter()
        rows = load_history(data_dir / DB_FILE, layout, opts.assets, opts.history, opts.seed)
        history_s = time.perf_counter() - started
        token = issue_token(data_dir, name="bench")
        started = time.perf_counter()
        appliance.start()
        startup_s = time.perf_counter() - started
        ssl_context = None
        if opts.tls:
            ssl_context = ssl.create_default_context(cafile=str(data_dir / CERT_FILE))
        figures = asyncio.run(_measure(appliance.base_url, token, opts, layout, ssl_context))
        rss, _ = appliance.rss()
        appliance.stop()
        result: dict[str, Any] = {
            "bench": "queries",
            "assets": opts.assets,
            "history_rows": rows,
            **figures,
            "rss_bytes_per_asset": round(rss / opts.assets),
            "db_bytes": (data_dir / DB_FILE).stat().st_size,
            "register_load_seconds": round(register_s, 1),
            "history_load_seconds": round(history_s, 1),
            "appliance_start_seconds": round(startup_s, 1),
            "tls": opts.tls,
        }
        add_profile(result, appliance)
        return result
    finally:
        appliance.stop()
        shutil.rmtree(tmp, ignore_errors=True)
