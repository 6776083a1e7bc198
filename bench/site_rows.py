"""Shared pieces of the Wi-Fi and RFID benches: the register's rows written in bulk, a
rate taken as the best of a few CPU-timed passes, and the capture files read as they grow."""

from __future__ import annotations

import glob
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Table
from sqlalchemy.engine import Engine

Tables = Sequence[tuple[type[Any], list[dict[str, Any]]]]
CHUNK_ROWS = 50_000  # rows per INSERT: large registers in a few statements, not one huge one


def insert_rows(engine: Engine, tables: Tables) -> None:
    """Every table's rows inserted in one transaction, ``CHUNK_ROWS`` at a time."""
    with engine.begin() as conn:
        for model, values in tables:
            table = cast(Table, model.__table__)
            for start in range(0, len(values), CHUNK_ROWS):
                conn.execute(table.insert(), values[start : start + CHUNK_ROWS])


def best_rate(one_pass: Callable[[], int], budget_s: float, passes: int = 3) -> float:
    """Items per CPU second: ``one_pass`` (which says how many items it did) repeated for
    ``budget_s / passes`` CPU seconds, ``passes`` times, and the best kept (the slower
    passes measure whatever else the machine did)."""
    best = 0.0
    for _ in range(passes):
        done, started = 0, time.process_time()
        while True:
            done += one_pass()
            elapsed = time.process_time() - started
            if elapsed >= budget_s / passes:
                best = max(best, done / elapsed)
                break
    return best


class CaptureLines:
    """The core's capture files (``observations-*.jsonl``) read as they grow: each call
    hands back the whole lines written since the last, keeping a line still being
    written for the next call."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.offsets: dict[str, int] = {}
        self.partial: dict[str, bytes] = {}

    def new_lines(self) -> list[bytes]:
        found: list[bytes] = []
        for name in sorted(glob.glob(str(self.directory / "observations-*.jsonl"))):
            with open(name, "rb") as file:
                file.seek(self.offsets.get(name, 0))
                data = self.partial.pop(name, b"") + file.read()
                self.offsets[name] = file.tell()
            lines = data.split(b"\n")
            if lines[-1]:
                self.partial[name] = lines[-1]
            found.extend(line for line in lines[:-1] if line)
        return found
