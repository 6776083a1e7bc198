"""Shared pieces of the Wi-Fi and RFID benches: the register's rows written in bulk, a
rate taken as the best of a few CPU-timed passes, the capture files read as they grow, the
wait for the core to take what was sent, and the targets met."""

from __future__ import annotations

import asyncio
import glob
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Table
from sqlalchemy.engine import Engine

from bench.product import Appliance

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


DRAIN_TIMEOUT_S = 300.0
IDLE_CHECK_S = 5.0  # nothing more reached the core for this long ...
IDLE_CPU_SHARE = 0.05  # ... while the appliance used less of a core than this: it is lost


async def drained(appliance: Appliance, poll: Callable[[], int], want: int) -> bool:
    """Wait until ``poll`` counts ``want`` (True), or nothing more reaches the core while
    the appliance sits idle (False).

    Idleness is read from the appliance's CPU time, not from the count alone: while a
    backlog is decoded the core's capture file may not grow for seconds."""
    deadline = time.perf_counter() + DRAIN_TIMEOUT_S
    last, cpu, still_since = -1, sum(appliance.cpu_seconds()), time.perf_counter()
    while time.perf_counter() < deadline:
        got = poll()
        if got >= want:
            return True
        now = time.perf_counter()
        if got != last:
            last, still_since, cpu = got, now, sum(appliance.cpu_seconds())
        elif now - still_since > IDLE_CHECK_S:
            used = sum(appliance.cpu_seconds())
            if used - cpu < IDLE_CPU_SHARE * (now - still_since):
                return False
            cpu, still_since = used, now
        await asyncio.sleep(0.02)
    return False


def targets_met(
    result: Mapping[str, Any], targets: Mapping[str, tuple[str, float]]
) -> dict[str, bool | None]:
    """Each target (``">="`` or ``"<="`` a bound) met or missed, None for no figure."""
    met: dict[str, bool | None] = {}
    for key, (op, bound) in targets.items():
        value = result.get(key)
        met[key] = None if value is None else value >= bound if op == ">=" else value <= bound
    return met


def round_1(value: float | None) -> float | None:
    return None if value is None else round(value, 1)
