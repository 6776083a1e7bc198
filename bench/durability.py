"""What syncing every commit costs: ``python -m bench.durability [--json]``.

SQLite in WAL mode with ``synchronous=FULL`` syncs the log at every commit, so a commit
survives an OS crash or a power cut; with ``NORMAL`` it survives a crash of the process
and reaches the disk at the next checkpoint. The appliance commits authoritative records
(audit, states, PPM, loans, users, the register, a person's "it's here") with FULL and
the location writer's batches with NORMAL. This measures both kinds of write both ways,
on a throwaway database on the same disk as the data directory would be (``--dir``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from bench.output import print_result
from floki_core.domain import SYSTEM
from floki_core.location import store
from floki_core.location.resolver import LocationChange
from floki_core.storage.database import Database
from floki_core.storage.register import ASSETS, SITES, ZONES
from floki_core.storage.resources import create_record, update_record

NOW = dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC)


def _register(db: Database, assets: int) -> tuple[list[int], list[int]]:
    with db.transaction() as s:
        site = create_record(s, SITES, {"name": "Bench"}, actor=SYSTEM, now=NOW).id
        zones = [
            create_record(s, ZONES, {"site_id": site, "name": f"Z{i}"}, actor=SYSTEM, now=NOW).id
            for i in range(2)
        ]
        ids = [
            create_record(s, ASSETS, {"asset_number": f"B{n}"}, actor=SYSTEM, now=NOW).id
            for n in range(assets)
        ]
    return ids, zones


def _timed(fn: Callable[[int], None], count: int) -> list[float]:
    times = []
    for i in range(count):
        started = time.perf_counter()
        fn(i)
        times.append((time.perf_counter() - started) * 1000)
    return times


def _summary(times: Sequence[float]) -> dict[str, float]:
    ordered = sorted(times)
    return {
        "median_ms": round(statistics.median(ordered), 3),
        "p95_ms": round(ordered[int(len(ordered) * 0.95) - 1], 3),
        "per_second": round(1000 / statistics.mean(ordered), 1),
    }


def measure(directory: Path, edits: int, flushes: int, batch: int) -> dict[str, Any]:
    db = Database(f"sqlite:///{directory / 'bench.db'}")
    db.migrate()
    try:
        assets, zones = _register(db, batch)
        result: dict[str, Any] = {"edits": edits, "flushes": flushes, "batch_assets": batch}
        for durable in (True, False):
            mode = "full" if durable else "normal"

            def edit(i: int, durable: bool = durable) -> None:
                # One audited register edit, as an API state change or PPM done commits.
                with db.transaction(durable=durable) as s:
                    changes = {"serial": f"S{i}-{durable}"}
                    update_record(
                        s, ASSETS, assets[i % len(assets)], changes, actor=SYSTEM, now=NOW
                    )

            def flush(i: int, durable: bool = durable) -> None:
                # One location-writer batch: every asset seen, a tenth of them moved.
                at = NOW + dt.timedelta(seconds=i)
                rows = [
                    {
                        "asset_id": a,
                        "zone_id": zones[(i + a) % 2],
                        "since": at,
                        "last_seen": at,
                        "confidence": 0.9,
                        "method": "rssi",
                        "technology": "ble",
                        "lat": None,
                        "lon": None,
                        "x": None,
                        "y": None,
                        "evidence": [],
                    }
                    for a in assets
                ]
                moves = [
                    LocationChange(
                        asset_id=a,
                        from_zone_id=zones[(i + a + 1) % 2],
                        to_zone_id=zones[(i + a) % 2],
                        at=at,
                        method="rssi",
                        technology="ble",
                        confidence=0.9,
                    )
                    for a in assets[: max(1, len(assets) // 10)]
                ]
                with db.transaction(durable=durable) as s:
                    store.write_locations(s, rows, moves)

            result[f"edit_{mode}"] = _summary(_timed(edit, edits))
            result[f"flush_{mode}"] = _summary(_timed(flush, flushes))
        return result
    finally:
        db.close()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.durability", description=__doc__)
    parser.add_argument("--dir", type=Path, help="where the throwaway database goes")
    parser.add_argument("--edits", type=int, default=300)
    parser.add_argument("--flushes", type=int, default=60)
    parser.add_argument("--batch", type=int, default=2000, help="assets per location batch")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(dir=args.dir) as directory:
        result = measure(Path(directory), args.edits, args.flushes, args.batch)
    print_result(result, as_json=args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
