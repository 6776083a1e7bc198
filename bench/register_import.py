"""A big asset register import, and how long it keeps other writers waiting:
``python -m bench.register_import [--rows 50000] [--json]``.

Imports a generated CMMS-style register (every row a new asset, then the same file
changed in every row) into a throwaway SQLite database, and reports for each: reading
and checking the file, the whole import, and the longest time the write lock was held
(what a state change or a login made meanwhile would wait for).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import Connection

from bench.output import print_result
from floki_core.config import ImportConfig
from floki_core.domain import SYSTEM
from floki_core.register_csv import import_register, read_register
from floki_core.storage.database import Database

HEADER = (
    "Asset No,Description,Make,Model,Serial No,Dept,Location,Last PPM,Next PPM Due,Category,GIAI"
)


def register_text(rows: int, description: str) -> str:
    lines = [
        f"BIG-{n:06d},{description} {n},BD,Model {n % 37},SN{n},Ward {n % 3},,"
        f"2025-01-01,2026-01-01,Infusion Pump,5012345{n:08d}"
        for n in range(1, rows + 1)
    ]
    return "\r\n".join([HEADER, *lines]) + "\r\n"


class LockClock:
    """Wraps ``Database.locked_transaction`` to time how long each one holds the lock."""

    def __init__(self, db: Database) -> None:
        self.held: list[float] = []
        locked = db.locked_transaction

        @contextlib.contextmanager
        def timed(conn: Connection, *tables: str) -> Iterator[Connection]:
            started = time.perf_counter()
            try:
                with locked(conn, *tables) as inside:
                    yield inside
            finally:
                self.held.append(time.perf_counter() - started)

        db.locked_transaction = timed  # type: ignore[method-assign]


def measure(directory: Path, rows: int) -> dict[str, Any]:
    db = Database(f"sqlite:///{directory / 'bench.db'}")
    db.migrate()
    clock = LockClock(db)
    result: dict[str, Any] = {"rows": rows}
    try:
        for name, description in (("create", "Pump"), ("update", "Volumetric pump")):
            clock.held.clear()
            started = time.perf_counter()
            parsed = read_register(register_text(rows, description), ImportConfig())
            read = time.perf_counter() - started
            report = import_register(
                db, parsed, actor=SYSTEM, now=dt.datetime.now(dt.UTC), skip_bad=False
            )
            result[name] = {
                "read_s": round(read, 2),
                "total_s": round(time.perf_counter() - started, 2),
                "lock_held_s": round(max(clock.held), 2),
                "created": report.created,
                "updated": report.updated,
            }
    finally:
        db.close()
    return result


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.register_import", description=__doc__)
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--dir", type=Path, help="where the throwaway database goes")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(dir=args.dir) as directory:
        result = measure(Path(directory), args.rows)
    print_result(result, as_json=args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
