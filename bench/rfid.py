"""The ``rfid`` scenario: fixed LLRP readers through the RFID plugin's real sources.

The appliance runs in its own process with ``[[plugin.rfid.readers]]`` naming
``--readers`` emulated readers on loopback (``bench/rfid_readers.py``: llrpkit's emulator
speaking the real LLRP session; the tag reports are RO_ACCESS_REPORT frames encoded once
up front), each with 4 antennas: a door into its store (``[[plugin.rfid.portals]]``: the
outer antenna 1 in the corridor, the inner antenna 2 in the store) and two shelf antennas
(3 and 4, in the store). ``--tags`` tags are in view, each on one store's shelves, read
at both shelf antennas. Every report
goes the product's way: the plugin's LLRP client reads the frame, ``llrp_frames``
decodes it, the source folds it into its ``ReadWindow`` per (tag, antenna) and hands the
window to the core every ``batch_seconds``. ``[location] capture_sample = 1`` has the
core write every observation it admitted to its capture file, which is how the bench
counts what reached the core: the seen counts of the readers' observations add up to the
raw reports that went into them.

1. baseline: the max phase's frames decoded in a bare loop (``llrp_frames.decode_frame``
   and nothing else) in the bench's process: reports per CPU second, the best of three;
2. warm-up: every reader reports each (tag, antenna) it sees once, and the bench waits
   until the core has all of it (every asset placed once);
3. nominal: each reader reports ``--read-rate`` reads a second, one tag report per
   RO_ACCESS_REPORT as a reader sends every read as it happens, for ``--seconds``;
   meanwhile ``--movers`` tags pass a door one by one (read at its outer antenna, then
   0.4 s later by the reader's clock at the inner one), and the time from the write of
   the inner read to the ``rfid.portal`` event (entered) on the events WebSocket is the
   latency;
4. max (``--rate max``): every reader sends frames of ``--reports-per-frame`` tag
   reports as fast as the appliance reads them, for ``--seconds``; the bench waits until
   the core has every report sent. ``rfid_reports_per_s`` is those reports per CPU
   second the appliance spent (per core: the machine is shared), ``ratio`` that over the
   baseline's.

``lost`` is every report the readers sent (and TCP delivered: no reader was
disconnected) less the seen counts of the observations the core admitted.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import shutil
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import aiohttp
from floki_rfid.llrp_frames import decode_frame

from bench.product import (
    Appliance,
    BenchError,
    add_profile,
    admin_token,
    appliance_env,
    new_data_dir,
    percentile,
)
from bench.rfid_readers import EmulatedReader, reader_name, report_frame
from bench.rfid_site import (
    ANTENNAS,
    CROSSING_S,
    CaptureTail,
    RfidOptions,
    asset_of,
    configure_rfid,
    crossing,
    load_register,
    max_frames,
    shelf_reads,
)
from bench.site_rows import best_rate, drained, round_1, targets_met
from floki_core.storage.database import Database, default_url

__all__ = ["RfidOptions", "run_rfid"]

CONNECT_TIMEOUT_S = 60.0
NOMINAL_TICK_S = 0.02  # each reader writes the reads due every tick
PORTAL_EVENT = "rfid.portal"
# The targets; each is reported met or missed beside the figure.
TARGETS = {
    "rfid_reports_per_s": (">=", 100_000.0),
    "ratio": (">=", 0.25),
    "latency_p99_ms": ("<=", 250.0),
    "lost": ("<=", 0),
}


# --- the bare decode ------------------------------------------------------------------------


def bare_decode_baseline(frames: Sequence[bytes], budget_s: float, passes: int = 3) -> float:
    """Tag reports per CPU second ``llrp_frames.decode_frame`` gets through in a bare loop:
    the best of ``passes`` (the slower ones measure whatever else the machine did)."""
    return best_rate(lambda: sum(len(decode_frame(frame)) for frame in frames), budget_s, passes)


# --- the run --------------------------------------------------------------------------------


class Run:
    def __init__(
        self,
        opts: RfidOptions,
        appliance: Appliance,
        token: str,
        readers: Sequence[EmulatedReader],
        capture: CaptureTail,
    ) -> None:
        self.opts = opts
        self.appliance = appliance
        self.headers = {"Authorization": f"Bearer {token}"}
        self.readers = readers
        self.capture = capture
        self.shelf = [shelf_reads(opts, r) for r in range(opts.readers)]
        self.decided: dict[int, float] = {}  # mover's asset -> when its inner read left
        self.crossed: dict[int, float] = {}  # mover's asset -> when its crossing arrived

    @property
    def sent(self) -> int:
        return sum(r.sent_reports for r in self.readers)

    async def listen(self, session: aiohttp.ClientSession, ready: asyncio.Event) -> None:
        await self.appliance.first_events(session, self.headers, PORTAL_EVENT, self.crossed, ready)

    async def sources(self, session: aiohttp.ClientSession) -> dict[str, Any]:
        async with session.get(
            self.appliance.base_url + "/api/v1/sources", headers=self.headers
        ) as resp:
            body = await resp.json()
        return {i["name"]: i for i in body["items"] if i["name"].startswith("rfid-llrp-")}

    async def connected(self) -> None:
        deadline = time.perf_counter() + CONNECT_TIMEOUT_S
        while not all(r.inventorying for r in self.readers):
            if time.perf_counter() > deadline:
                waiting = sum(not r.inventorying for r in self.readers)
                raise BenchError(
                    f"{waiting} of {len(self.readers)} readers were not inventorying after "
                    f"{CONNECT_TIMEOUT_S:.0f} s:\n{self.appliance.log_tail()}"
                )
            await asyncio.sleep(0.05)

    async def drained(self) -> bool:
        """Wait until the core has every report sent (True), or nothing more reaches it
        while the appliance sits idle (False)."""
        return await drained(self.appliance, self.capture.poll, self.sent)

    def _write(self, reader: int, frames: bytes, reports: int, count: int) -> None:
        if not self.readers[reader].write(frames, reports, count):
            raise BenchError(f"{reader_name(reader)} lost its connection to the appliance")

    async def warm_up(self) -> None:
        for r, reads in enumerate(self.shelf):
            self._write(r, b"".join(report_frame([x]) for x in reads), len(reads), len(reads))
        if not await self.drained():
            raise BenchError(
                f"the core took {self.capture.reports} of the warm-up's {self.sent} reports"
                f":\n{self.appliance.log_tail()}"
            )

    async def nominal(self) -> float:
        """Each reader ``read_rate`` single-report frames a second, round its shelves; the
        movers pass the doors evenly spread over the phase (read at the outer antenna, then
        ``CROSSING_S`` later at the inner one). Returns reports/s offered."""
        opts = self.opts
        singles = [[report_frame([x]) for x in reads] for reads in self.shelf]
        gap = max(opts.seconds - CROSSING_S - 0.5, 0.1) / max(opts.movers, 1)
        inner_due: list[tuple[float, int, int, bytes]] = []  # (when, reader, asset, frame)
        sent_before = self.sent
        position = [0] * opts.readers
        due = [0.0] * opts.readers
        next_mover = 0
        started = time.perf_counter()
        end = started + opts.seconds
        while (now := time.perf_counter()) < end:
            elapsed = now - started
            for r in range(opts.readers):
                target = elapsed * opts.read_rate
                count = int(target - due[r])
                if count <= 0:
                    continue
                due[r] += count
                frames, n = singles[r], len(singles[r])
                at = position[r]
                chunk = [frames[(at + i) % n] for i in range(count)]
                position[r] = (at + count) % n
                self._write(r, b"".join(chunk), count, count)
            while next_mover < opts.movers and elapsed >= next_mover * gap:
                reader, outer, inner = crossing(opts, next_mover, round(time.time() * 1e6))
                self._write(reader, outer, 1, 1)
                when = time.perf_counter() + CROSSING_S
                inner_due.append((when, reader, asset_of(opts.tags + next_mover), inner))
                next_mover += 1
            while inner_due and inner_due[0][0] <= time.perf_counter():
                _when, reader, asset, inner = inner_due.pop(0)
                self._write(reader, inner, 1, 1)
                self.decided[asset] = time.perf_counter()
            await asyncio.sleep(NOMINAL_TICK_S)
        for when, reader, asset, inner in inner_due:  # a crossing begun is finished
            await asyncio.sleep(max(when - time.perf_counter(), 0.0))
            self._write(reader, inner, 1, 1)
            self.decided[asset] = time.perf_counter()
        return (self.sent - sent_before) / (time.perf_counter() - started)

    async def max_rate(self, frames: Sequence[Sequence[bytes]]) -> tuple[int, float]:
        """Every reader sends as fast as the appliance reads; (reports sent, seconds)."""
        size = self.opts.reports_per_frame
        end = time.perf_counter() + self.opts.seconds
        before = self.sent

        async def flat_out(r: int) -> None:
            reader, mine, i = self.readers[r], frames[r], 0
            while time.perf_counter() < end:
                self._write(r, mine[i % len(mine)], size, 1)
                i += 1
                await reader.pace()

        started = time.perf_counter()
        await asyncio.gather(*(flat_out(r) for r in range(self.opts.readers)))
        return self.sent - before, time.perf_counter() - started


async def _run(
    opts: RfidOptions, appliance: Appliance, token: str, readers: Sequence[EmulatedReader]
) -> dict[str, Any]:
    run = Run(opts, appliance, token, readers, CaptureTail(appliance.data_dir / "capture"))
    async with aiohttp.ClientSession() as session:
        ready = asyncio.Event()
        listener = asyncio.create_task(run.listen(session, ready))
        await asyncio.wait_for(ready.wait(), 30)
        await run.connected()
        await run.warm_up()
        cpu_before, sent_before = sum(appliance.cpu_seconds()), run.sent
        offered = await run.nominal()
        nominal_drained = await run.drained()  # if not, lost says how many are missing
        # One report per frame: what a reader reporting every read costs the appliance.
        nominal_cpu = sum(appliance.cpu_seconds()) - cpu_before
        nominal_us = nominal_cpu / max(run.sent - sent_before, 1) * 1e6
        await asyncio.sleep(1.0)  # the last crossings reach the WebSocket
        seen = run.crossed
        latencies = [(seen[a] - sent) * 1000 for a, sent in run.decided.items() if a in seen]
        result: dict[str, Any] = {
            "scenario": "rfid",
            "readers": opts.readers,
            "antennas": opts.readers * ANTENNAS,
            "tags": opts.tags,
            "batch_seconds": opts.batch_seconds,
            "nominal_reports_per_s": round(offered, 1),
            "nominal_drained": nominal_drained,
            "cpu_us_per_nominal_report": round(nominal_us, 2),
            "latency_event": PORTAL_EVENT,
            "latency_p50_ms": round_1(percentile(latencies, 50)),
            "latency_p99_ms": round_1(percentile(latencies, 99)),
            "latency_samples": len(latencies),
            "latency_unmatched": len(run.decided) - len(latencies),
        }
        frames = [max_frames(opts, run.shelf[r]) for r in range(opts.readers)]
        max_before = appliance.cpu_seconds()
        started = time.perf_counter()
        sent, _sending = await run.max_rate(frames)
        drained = await run.drained()
        through = time.perf_counter() - started
        cpu_after = appliance.cpu_seconds()
        loop_s, threads_s = cpu_after[0] - max_before[0], cpu_after[1] - max_before[1]
        per = max(sent, 1)
        result["rfid_reports_per_s"] = round(sent / max(loop_s + threads_s, 1e-9), 1)
        result["rfid_reports_per_s_wall"] = round(sent / through, 1) if drained else None
        result["reports_per_frame"] = opts.reports_per_frame
        result["max_reports"] = sent
        result["cpu_event_loop_us_per_report"] = round(loop_s / per * 1e6, 2)
        result["cpu_other_threads_us_per_report"] = round(threads_s / per * 1e6, 2)
        run.capture.poll()
        found = await run.sources(session)
        result["sent"] = run.sent
        result["aggregated"] = run.capture.reports
        result["observations"] = run.capture.observations
        result["lost"] = max(0, run.sent - run.capture.reports)
        result["rejected"] = {
            name: item.get("rejected", {}) for name, item in found.items() if item.get("rejected")
        }
        for key in ("duplicates", "quarantined", "unknown_tags"):
            values = [item.get(key) or 0 for item in found.values()]
            result[key] = sum(v if isinstance(v, int) else sum(v.values()) for v in values)
        rss, peak = appliance.rss()
        result["rss_mb"] = round(rss / 2**20, 1)
        result["rss_peak_mb"] = round(peak / 2**20, 1)
        listener.cancel()
    return result


async def _with_readers(
    opts: RfidOptions, tmp: Path, env: dict[str, str], appliance: Appliance
) -> dict[str, Any]:
    readers = [EmulatedReader(ANTENNAS) for _ in range(opts.readers)]
    try:
        for reader in readers:
            await reader.start()
        data_dir = appliance.data_dir
        new_data_dir(data_dir, env, tls=False)
        configure_rfid(data_dir, opts, [r.port for r in readers])
        db = Database(default_url(data_dir))
        try:
            now = dt.datetime.now(dt.UTC)
            load_register(db, opts, now)
            token = admin_token(db)
        finally:
            db.close()
        # Started off the loop: the readers answer the appliance's sessions meanwhile.
        await asyncio.to_thread(appliance.start)
        try:
            return await _run(opts, appliance, token, readers)
        finally:
            await asyncio.to_thread(appliance.stop)
    finally:
        for reader in readers:
            await reader.close()


def run_rfid(opts: RfidOptions) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix="floki-bench-rfid-"))
    env = appliance_env()
    appliance = Appliance(
        tmp / "var", env, False, profile_path=tmp / "appliance.prof" if opts.profile else None
    )
    try:
        # The baseline decodes the max phase's frames, before anything else runs.
        sample = [f for r in range(opts.readers) for f in max_frames(opts, shelf_reads(opts, r))]
        baseline = bare_decode_baseline(sample, opts.baseline_budget_s)
        result = asyncio.run(_with_readers(opts, tmp, env, appliance))
        add_profile(result, appliance)
        result["baseline_reports_per_s"] = round(baseline, 1)
        rate = result.get("rfid_reports_per_s")
        result["ratio"] = round(rate / baseline, 3) if rate and baseline else None
        result["targets_met"] = targets_met(result, TARGETS)
        return result
    finally:
        appliance.stop()
        shutil.rmtree(tmp, ignore_errors=True)
