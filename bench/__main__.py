"""Runs every benchmark scenario and prints one JSON line per scenario.

The resolver benchmark (sightings per second through ingest and fusion) joins
when the resolver exists; until then this measures the API's register search.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
import time
from pathlib import Path

from floki_core.clock import SystemClock
from floki_core.demo import load_demo
from floki_core.storage.assets import search_assets
from floki_core.storage.database import Database


def bench_search(rounds: int = 200) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(f"sqlite:///{tmp}/bench.db")
        db.migrate()
        with db.transaction() as session:
            load_demo(session, Path(tmp), now=SystemClock().now())
        start = time.perf_counter()
        with db.sessions() as session:
            for _ in range(rounds):
                search_assets(session, q="infusion pump", limit=50)
        elapsed = time.perf_counter() - start
        db.close()
    return {
        "bench": "asset_search",
        "rounds": rounds,
        "per_query_ms": round(elapsed / rounds * 1000, 3),
    }


def main() -> None:
    print(json.dumps(asyncio.run(asyncio.to_thread(bench_search))))


if __name__ == "__main__":
    main()
