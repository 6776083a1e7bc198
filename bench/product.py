"""The real product path: a running appliance in its own process, fed over HTTP.

A fresh data directory is initialised like any install, the scenario's register is
written into it, ``floki-core serve`` is started on a free loopback port, and tokens are
made with ``floki-core token create``. Gateway batches are then POSTed to
``/api/v1/ingest`` over several keep-alive connections while a WebSocket client listens
on ``/api/v1/events``; every figure is read back from the appliance (``/api/v1/sources``,
``/metrics``, ``/proc``, the database file), never inferred from what was sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import io
import math
import os
import pstats
import re
import secrets
import shutil
import signal
import socket
import sqlite3
import ssl
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import aiohttp
import msgspec
import numpy as np

from bench.baseline import BaselineResult, run_baseline
from bench.scenarios import GatewayBatch, Layout, Scenario, ScenarioSpec, load_register
from floki_core.config import CONFIG_FILE, LocationConfig
from floki_core.domain import SYSTEM, TokenKind
from floki_core.initialise import PASSWORD_ENV, init_data_dir
from floki_core.security.tls import CERT_FILE
from floki_core.storage import accounts
from floki_core.storage.database import DB_FILE, Database, default_url

HOST = "127.0.0.1"  # the benchmark never talks to anything but loopback
GATEWAY_TOKEN_NAME = "bench gateways"
SOURCE = f"http:{GATEWAY_TOKEN_NAME}"
START_TIMEOUT_S = 90.0
STOP_TIMEOUT_S = 30.0
REQUEST_TIMEOUT_S = 60.0
DRAIN_POLL_S = 0.05
MAX_RETRY_WAIT_S = 1.0
FLUSH_SECONDS = LocationConfig().flush_seconds
TRUTH_WINDOW_S = 20
REFUSALS = frozenset({400, 413, 422})
MAX_MODE_RETRY_WAIT_S = 0.05  # keep the queue full: the point is the appliance's ceiling


class BenchError(RuntimeError):
    """The benchmark could not run (as opposed to: the appliance was slow)."""


@dataclass(frozen=True)
class ProductOptions:
    spec: ScenarioSpec
    rate: float | None  # observations/s offered; None: as fast as the appliance accepts
    seconds: float
    connections: int = 8
    tls: bool = False
    profile: bool = False
    profile_top: int = 25
    drain_timeout_s: float = 180.0
    speed_cap: float = 5.0  # at max rate, scenario seconds prepared per wall second
    backlog_seconds_per_post: int = 0  # storm: 0 = each gateway posts its backlog whole
    baseline_budget_s: float = 10.0


# --- the appliance process ------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def admin_token(db: Database, *, name: str = "bench", device: bool = False) -> str:
    """A token for the first admin, as ``floki-core token create --user admin`` makes one
    (``device``: a gateway's, ingest only), made in this process: a second Python starting
    and importing the core costs more than the whole token on a busy machine."""
    kind = TokenKind.DEVICE if device else TokenKind.API
    with db.transaction() as session:
        user = accounts.get_user(session, "admin")
        _, secret = accounts.issue_token(
            session,
            user_id=user.id,
            name=name,
            kind=kind,
            now=dt.datetime.now(dt.UTC),
            expires_at=None,
            actor=SYSTEM,
        )
    return secret


def issue_token(data_dir: Path, *, name: str, device: bool = False) -> str:
    """``admin_token`` on the data directory's database."""
    db = Database(default_url(data_dir))
    try:
        return admin_token(db, name=name, device=device)
    finally:
        db.close()


def add_profile(
    result: dict[str, Any], appliance: Appliance, top: int = 25, out: TextIO | None = None
) -> None:
    """With ``--profile``: the appliance's top functions per thread kind into ``result``
    (``profile_<kind>_top``, ten each) and the report to ``out`` (stderr)."""
    if appliance.profile_path is None:
        return
    text, rows = profile_report(appliance.profile_path, top)
    for kind, found in rows.items():
        result[f"profile_{kind}_top"] = found[:10]
    print(text, file=out or sys.stderr)


def appliance_env() -> dict[str, str]:
    """The environment for the appliance and its commands: a throwaway admin password."""
    return {
        **os.environ,
        PASSWORD_ENV: "bench-" + secrets.token_urlsafe(18),
        "PYTHONUNBUFFERED": "1",
    }


def new_data_dir(data_dir: Path, env: dict[str, str], *, tls: bool) -> None:
    """``init`` as on a fresh install (it reads the password from the environment)."""
    saved = os.environ.get(PASSWORD_ENV)
    os.environ[PASSWORD_ENV] = env[PASSWORD_ENV]
    try:
        init_data_dir(data_dir, "Bench General Hospital")
    finally:
        if saved is None:
            os.environ.pop(PASSWORD_ENV, None)
        else:
            os.environ[PASSWORD_ENV] = saved
    configure(data_dir, tls=tls)


def configure(data_dir: Path, *, tls: bool) -> None:
    """No LAN announcement during a benchmark; plain HTTP unless TLS is asked for."""
    path = data_dir / CONFIG_FILE
    text = path.read_text(encoding="utf-8")
    edits = {"\n[discovery]\n": "\n[discovery]\nenabled = false\n"}
    if not tls:
        edits["\n[server]\n"] = "\n[server]\ntls = false\n"
    for old, new in edits.items():
        if text.count(old) != 1:
            raise BenchError(f"{path}: expected one {old.strip()} section")
        text = text.replace(old, new)
    path.write_text(text, encoding="utf-8")


@dataclass
class Appliance:
    """``floki-core serve`` as a child process (with ``profile_path``: every thread profiled)."""

    data_dir: Path
    env: dict[str, str]
    tls: bool
    profile_path: Path | None = None
    port: int = 0
    proc: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"{'https' if self.tls else 'http'}://{HOST}:{self.port}"

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def start(self) -> None:
        self.port = _free_port()
        cmd = [sys.executable]
        env = self.env
        if self.profile_path is not None:
            cmd += ["-m", "bench.profiling", str(self.profile_path)]
            # The profiling launcher lives next to this module, wherever bench is run from.
            root = str(Path(__file__).resolve().parents[1])
            env = {
                **env,
                "PYTHONPATH": os.pathsep.join(filter(None, [root, env.get("PYTHONPATH")])),
            }
        else:
            cmd += ["-m", "floki_core.cli"]
        cmd += ["--data-dir", str(self.data_dir), "serve", "--host", HOST, "--port", str(self.port)]
        out_path = self.data_dir / "serve.out"
        # Files, not pipes: a chatty appliance must never block on a full pipe.
        with out_path.open("wb") as out, (self.data_dir / "serve.log").open("wb") as err:
            self.proc = subprocess.Popen(cmd, stdout=out, stderr=err, env=env)
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if b"serving at" in out_path.read_bytes():
                return
            if self.proc.poll() is not None:
                raise BenchError(f"the appliance exited at start:\n{self.log_tail()}")
            time.sleep(0.05)
        raise BenchError(f"the appliance did not start in {START_TIMEOUT_S:.0f} s")

    def log_tail(self, lines: int = 20) -> str:
        path = self.data_dir / "serve.log"
        text = path.read_text(errors="replace") if path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        """SIGTERM (a clean stop flushes and writes the profile), SIGKILL if it hangs."""
        proc = self.proc
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(STOP_TIMEOUT_S)

    def rss(self) -> tuple[int, int]:
        """(current, peak) resident set size in bytes."""
        found = {}
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                found[key] = int(value.split()[0]) * 1024
        return found["VmRSS"], found["VmHWM"]

    def children(self) -> list[int]:
        """The appliance's child processes now (a plugin's worker processes)."""
        pids: list[int] = []
        for task in Path(f"/proc/{self.pid}/task").iterdir():
            try:
                pids += [int(p) for p in (task / "children").read_text().split()]
            except OSError:
                continue
        return pids

    def children_rss(self) -> int:
        """Resident set size, in bytes, of the appliance's child processes together."""
        total = 0
        for pid in self.children():
            try:
                status = Path(f"/proc/{pid}/status").read_text()
            except OSError:
                continue  # ended meanwhile
            for line in status.splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
        return total

    def children_cpu_seconds(self) -> float:
        """CPU time so far of the appliance's child processes now (every thread)."""
        tick = os.sysconf("SC_CLK_TCK")
        used = 0.0
        for pid in self.children():
            try:
                stat = Path(f"/proc/{pid}/stat").read_text()
            except OSError:
                continue
            fields = stat[stat.rindex(")") + 2 :].split()
            used += (int(fields[11]) + int(fields[12])) / tick
        return used

    def cpu_seconds(self) -> tuple[float, float]:
        """CPU time so far of (the event-loop thread, every other thread)."""
        tick = os.sysconf("SC_CLK_TCK")
        main = other = 0.0
        for task in Path(f"/proc/{self.pid}/task").iterdir():
            try:
                stat = (task / "stat").read_text()
            except OSError:
                continue  # a worker thread that just ended
            fields = stat[stat.rindex(")") + 2 :].split()
            used = (int(fields[11]) + int(fields[12])) / tick
            if int(task.name) == self.pid:
                main += used
            else:
                other += used
        return main, other

    async def first_events(
        self,
        session: aiohttp.ClientSession,
        headers: dict[str, str],
        event_type: str,
        into: dict[int, float],
        ready: asyncio.Event,
    ) -> None:
        """Listen on the events WebSocket (``ready`` once connected) and put in ``into``,
        per entity id, when its first event of ``event_type`` arrived (perf_counter)."""
        url = self.base_url.replace("http", "ws", 1) + "/api/v1/events"
        async with session.ws_connect(url, headers=headers, max_msg_size=64 * 2**20) as ws:
            ready.set()
            async for msg in ws:
                if msg.type != aiohttp.WSMsgType.TEXT:
                    break
                arrived = time.perf_counter()
                for event in msgspec.json.decode(msg.data):
                    if event.get("type") == event_type:
                        into.setdefault(int(event["entity_id"]), arrived)

    def current_zones(self) -> dict[int, int | None]:
        """asset id -> zone id, as the appliance has written them."""
        path = self.data_dir / DB_FILE
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
            return dict(conn.execute("SELECT asset_id, zone_id FROM asset_locations"))

    def db_bytes(self) -> int:
        """Size of the database file after folding the WAL into it.

        Without the checkpoint the WAL's high-water mark (megabytes) would drown the
        growth of a short run.
        """
        path = self.data_dir / DB_FILE
        with contextlib.closing(sqlite3.connect(path, timeout=30)) as conn:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
        return path.stat().st_size


def profile_report(prefix: Path, top: int) -> tuple[str, dict[str, list[dict[str, Any]]]]:
    """The profiles' top functions by own time, as text and as rows, per thread kind."""
    text = io.StringIO()
    rows: dict[str, list[dict[str, Any]]] = {}
    for kind, title in (("main", "event-loop thread"), ("threads", "worker threads")):
        path = prefix.with_name(f"{prefix.name}.{kind}")
        if not path.exists():
            continue
        print(f"===== appliance profile: {title} =====", file=text)
        stats = pstats.Stats(str(path), stream=text)
        stats.sort_stats("tottime").print_stats(top)
        stats.sort_stats("cumulative").print_stats(top)
        raw: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
        ranked = sorted(raw.items(), key=lambda item: item[1][2], reverse=True)[:top]
        rows[kind] = [
            {
                "function": f"{_short(filename)}:{line}({name})",
                "calls": calls,
                "tottime_s": round(tottime, 3),
                "cumtime_s": round(cumtime, 3),
            }
            for (filename, line, name), (_cc, calls, tottime, cumtime, _callers) in ranked
        ]
    return text.getvalue(), rows


def _short(filename: str) -> str:
    # Paths relative to the package roots, so the report reads the same on any machine.
    for pattern in (r"site-packages/(.*)$", r"lib/python3\.\d+/(.*)$"):
        match = re.search(pattern, filename)
        if match:
            return match.group(1)
    root = str(Path(__file__).resolve().parents[1]) + os.sep
    return filename.removeprefix(root)


# --- the plan: which batches, when --------------------------------------------------


@dataclass
class Plan:
    scenario: Scenario
    warmup: list[GatewayBatch]
    run: list[tuple[float | None, GatewayBatch]]  # (due seconds after the start, batch)
    must_send: int  # the first this many of ``run`` (a storm's backlog) are never cut short
    speed: float | None  # scenario seconds per wall second; None: as fast as accepted

    @property
    def run_observations(self) -> int:
        return sum(b.count for _, b in self.run)

    def payloads(self) -> list[bytes]:
        return [b.payload for b in self.warmup] + [b.payload for _, b in self.run]


def make_plan(opts: ProductOptions) -> Plan:
    spec = opts.spec
    speed = None if opts.rate is None else opts.rate / spec.nominal_per_s
    fast = speed is None or speed > 1.0
    span = math.ceil(opts.seconds * (opts.speed_cap if speed is None else speed))
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    # Faster than real time, the scenario's clock would run ahead of the appliance's and
    # be quarantined as "future"; anchoring it in the past keeps every sighting plausible.
    anchor = now - dt.timedelta(seconds=spec.outage_s + (span if fast else 0))
    scenario = Scenario(spec, anchor)
    warmup = [b for second in scenario.live(-spec.warmup_s, 0) for b in second]
    run: list[tuple[float | None, GatewayBatch]] = []
    backlog_count = 0
    if spec.outage_s:
        # Every gateway flushes its backlog the moment the network is back.
        backlog = scenario.backlog(0, spec.outage_s, opts.backlog_seconds_per_post)
        run += [(None, b) for b in backlog]
        backlog_count = len(backlog)
    live_from = spec.outage_s
    for second in scenario.live(live_from, live_from + span):
        for batch in second:
            due = None
            if speed is not None:
                due = (batch.first_second - live_from + scenario.phase[batch.rank]) / speed
            run.append((due, batch))
    return Plan(scenario, warmup, run, backlog_count, speed)


# --- the load -------------------------------------------------------------------------


@dataclass
class Counters:
    offered: int = 0  # observations handed to a connection during the run
    acked: int = 0  # observations answered 202, warm-up included
    acked_run: int = 0
    rejected_503: int = 0  # 503 answers (each retried)
    unsent: int = 0  # observations given up on when the run's deadline passed
    refused: int = 0  # observations in batches answered 400/413/422 (the gateway drops them)
    refused_posts: int = 0
    refusal: str = ""  # the first refusal's answer, to say why
    posts: int = 0
    last_second: int | None = None  # the latest scenario second the appliance acknowledged
    post_times: dict[tuple[int, int], float] = field(default_factory=dict)


class Driver:
    """Gateways (HTTP posts), a console (WebSocket) and an operator (sources, metrics)."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        base: str,
        gateway_token: str,
        api_token: str,
        ssl_context: ssl.SSLContext | None,
    ) -> None:
        self.session = session
        self.base = base
        self.ssl: ssl.SSLContext | bool = ssl_context if ssl_context is not None else False
        self.ingest_headers = {
            "Authorization": f"Bearer {gateway_token}",
            "Content-Type": "application/json",
        }
        self.api_headers = {"Authorization": f"Bearer {api_token}"}
        self.counters = Counters()
        self.messages: list[tuple[float, str]] = []  # (arrival, raw event batch)

    async def listen(self, connected: asyncio.Event) -> None:
        url = self.base.replace("http", "ws", 1) + "/api/v1/events"
        async with self.session.ws_connect(
            url, headers=self.api_headers, ssl=self.ssl, max_msg_size=64 * 2**20
        ) as ws:
            connected.set()
            async for msg in ws:
                if msg.type == aiohttp.WSMsgType.TEXT:
                    # Stamped on arrival, decoded later: the listener must not lag.
                    self.messages.append((time.perf_counter(), msg.data))
                elif msg.type in (aiohttp.WSMsgType.ERROR, aiohttp.WSMsgType.CLOSED):
                    break

    async def get_json(self, path: str) -> Any:
        async with self.session.get(
            self.base + path, headers=self.api_headers, ssl=self.ssl
        ) as resp:
            if resp.status != 200:
                raise BenchError(f"GET {path}: {resp.status} {await resp.text()}")
            return msgspec.json.decode(await resp.read())

    async def metrics(self) -> dict[str, float]:
        async with self.session.get(
            self.base + "/metrics", headers=self.api_headers, ssl=self.ssl
        ) as resp:
            text = await resp.text()
        found: dict[str, float] = {}
        for line in text.splitlines():
            if line and not line.startswith("#"):
                name, _, value = line.rpartition(" ")
                found[name] = found.get(name, 0.0) + float(value)
        return found

    async def source(self) -> dict[str, Any]:
        body = await self.get_json("/api/v1/sources")
        # Sightings of a technology without a locator are counted for all sources together.
        shared = {
            "queue_depth": body["queue_depth"],
            "unlocatable": sum(body.get("unlocatable", {}).values()),
        }
        for item in body["items"]:
            if item["name"] == SOURCE:
                return {**item, **shared}
        return {**shared, "processed": 0, "received": 0}

    async def post(self, batch: GatewayBatch, deadline: float, retry_cap: float, run: bool) -> None:
        url = self.base + "/api/v1/ingest"
        counters = self.counters
        while True:
            started = time.perf_counter()
            async with self.session.post(
                url, data=batch.payload, headers=self.ingest_headers, ssl=self.ssl
            ) as resp:
                await resp.read()
                counters.posts += 1
                if resp.status == 202:
                    counters.acked += batch.count
                    if run:
                        counters.acked_run += batch.count
                        if counters.last_second is None or batch.last_second > (
                            counters.last_second
                        ):
                            counters.last_second = batch.last_second
                    for second in range(batch.first_second, batch.last_second + 1):
                        counters.post_times[(second, batch.rank)] = started
                    return
                if resp.status in REFUSALS:
                    # The appliance's verdict on the data: counted and reported, not fatal.
                    counters.refused += batch.count
                    counters.refused_posts += 1
                    if not counters.refusal:
                        counters.refusal = f"{resp.status} {await resp.text()}"[:300]
                    return
                if resp.status != 503:
                    raise BenchError(f"ingest answered {resp.status}: {await resp.text()}")
                counters.rejected_503 += 1
                wait = min(float(resp.headers.get("Retry-After", "1")), retry_cap)
            if time.perf_counter() + wait > deadline:
                counters.unsent += batch.count
                return
            await asyncio.sleep(wait)

    async def send(
        self,
        batches: Sequence[tuple[float | None, GatewayBatch]],
        *,
        connections: int,
        stop_after: float | None,
        must_send: int = 0,
        deadline: float,
        retry_cap: float,
        run: bool,
    ) -> tuple[float, float]:
        """Post batches at their due times (None: at once); returns (start, last handed)."""
        queue: asyncio.Queue[GatewayBatch | None] = asyncio.Queue(connections * 2)
        failures: list[BaseException] = []

        async def worker() -> None:
            while (batch := await queue.get()) is not None:
                if failures:
                    continue  # keep taking batches so the producer never blocks on a dead pool
                try:
                    await self.post(batch, deadline, retry_cap, run)
                except (aiohttp.ClientError, TimeoutError, BenchError) as exc:
                    failures.append(exc)

        workers = [asyncio.create_task(worker()) for _ in range(connections)]
        start = last = time.perf_counter()
        try:
            for n, (due, batch) in enumerate(batches):
                now = time.perf_counter()
                if failures:
                    break
                if stop_after is not None and n >= must_send and now - start >= stop_after:
                    break
                if due is not None and start + due > now:
                    await asyncio.sleep(start + due - now)
                await queue.put(batch)
                last = time.perf_counter()
                if run:
                    self.counters.offered += batch.count
            for _ in workers:
                await queue.put(None)
            await asyncio.wait_for(
                asyncio.gather(*workers), max(deadline - time.perf_counter(), 1.0)
            )
        finally:
            for task in workers:
                task.cancel()
        if failures:
            raise BenchError(f"posting a batch failed: {failures[0]!r}")
        return start, last

    async def drain(self, timeout: float) -> tuple[float, dict[str, Any]]:
        """Wait until the appliance has processed everything it acknowledged."""
        deadline = time.perf_counter() + timeout
        while True:
            src = await self.source()
            now = time.perf_counter()
            done = src["processed"] >= self.counters.acked and src["queue_depth"] == 0
            if done or now > deadline:
                return now, src
            await asyncio.sleep(DRAIN_POLL_S)


def applied(src: dict[str, Any]) -> int:
    """Observations that reached a locator (admitted, tag and receiver known)."""
    if "accepted" not in src:
        return 0
    rejected = src["rejected"]
    return int(
        src["accepted"]
        - src["unknown_tags"]
        - rejected.get("unknown_receiver", 0)
        - rejected.get("no_locator", 0)
        - src.get("unlocatable", 0)
    )


def wrong_zone_share(plan: Plan, zones: dict[int, int | None], second: int | None) -> float | None:
    """Share of assets placed in a room they were not in at any time in the last 20 s.

    A move shows only after the locator's and the resolver's dwell (10 s + 5 s by default)
    plus the walk, so a room the tag left within that window still counts as right.
    """
    truth = plan.scenario.truth
    if second is None or second not in truth:
        return None
    room_zone = np.asarray(plan.scenario.layout.room_zone)
    recent = [room_zone[truth[s]] for s in range(second - TRUTH_WINDOW_S, second + 1) if s in truth]
    allowed = np.stack(recent)  # (seconds, tags)
    placed = np.array([zones.get(i + 1) or -1 for i in range(allowed.shape[1])])
    right = (allowed == placed[None, :]).any(axis=0)
    return round(float(1.0 - right.mean()), 4)


def percentile(values: Sequence[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    rank = max(math.ceil(q / 100 * len(ordered)) - 1, 0)
    return ordered[rank]


def latencies(driver: Driver, plan: Plan) -> tuple[list[float], int]:
    """Seconds from the POST that carried the sighting to the event's arrival."""
    found: list[float] = []
    unmatched = 0
    decode = msgspec.json.Decoder(list[dict[str, Any]]).decode
    post_times = driver.counters.post_times
    for arrival, raw in driver.messages:
        for event in decode(raw):
            if event.get("type") != "location.changed":
                continue
            key = plan.scenario.key_of(dt.datetime.fromisoformat(event["at"]))
            if key[0] < 0:
                continue  # a warm-up move (warm-up seconds are the negative ones)
            posted = post_times.get(key)
            if posted is None or posted > arrival:
                unmatched += 1
                continue
            found.append(arrival - posted)
    return found, unmatched


# --- one run --------------------------------------------------------------------------


async def _drive(
    opts: ProductOptions,
    plan: Plan,
    appliance: Appliance,
    tokens: tuple[str, str],
    ssl_context: ssl.SSLContext | None,
) -> dict[str, Any]:
    timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_S)
    connector = aiohttp.TCPConnector(limit=opts.connections + 4)
    async with aiohttp.ClientSession(timeout=timeout, connector=connector) as session:
        driver = Driver(session, appliance.base_url, tokens[0], tokens[1], ssl_context)
        connected = asyncio.Event()
        listener = asyncio.create_task(driver.listen(connected))
        try:
            await asyncio.wait_for(connected.wait(), 30)
            result = await _measure(opts, plan, appliance, driver)
        finally:
            listener.cancel()
            with contextlib.suppress(asyncio.CancelledError, aiohttp.ClientError):
                await listener
    return result


async def _measure(
    opts: ProductOptions, plan: Plan, appliance: Appliance, driver: Driver
) -> dict[str, Any]:
    spec = opts.spec
    budget = opts.seconds + opts.drain_timeout_s
    # Warm-up: first fixes and smoothing state, posted as fast as accepted, not measured.
    await driver.send(
        [(None, b) for b in plan.warmup],
        connections=opts.connections,
        stop_after=None,
        deadline=time.perf_counter() + budget,
        retry_cap=MAX_MODE_RETRY_WAIT_S,
        run=False,
    )
    _, before = await driver.drain(opts.drain_timeout_s)
    metrics_before = await driver.metrics()
    db_before = await asyncio.to_thread(appliance.db_bytes)
    rss_ready, _ = appliance.rss()
    cpu_before = appliance.cpu_seconds()
    events_before = len(driver.messages)

    deadline = time.perf_counter() + budget
    client_cpu = time.process_time()
    start, last_handed = await driver.send(
        plan.run,
        connections=opts.connections,
        # At a set rate the plan already spans the run; at max it is cut off in time.
        stop_after=opts.seconds if plan.speed is None else None,
        must_send=plan.must_send,
        deadline=deadline,
        retry_cap=MAX_RETRY_WAIT_S if plan.speed is not None else MAX_MODE_RETRY_WAIT_S,
        run=True,
    )
    sent_at = time.perf_counter()
    client_cpu = time.process_time() - client_cpu
    drained_at, after = await driver.drain(max(deadline - time.perf_counter(), 1.0))
    # The last events are on their way to the WebSocket, the last moves to the database.
    await asyncio.sleep(0.2 + 2 * FLUSH_SECONDS)
    cpu_after = appliance.cpu_seconds()
    rss, rss_peak = appliance.rss()
    metrics_after = await driver.metrics()
    db_after = await asyncio.to_thread(appliance.db_bytes)
    zones = await asyncio.to_thread(appliance.current_zones)

    elapsed = drained_at - start
    send_window = max(last_handed - start, sent_at - start, 1e-9)
    applied_run = applied(after) - applied(before)
    moves = metrics_after.get("floki_location_changes_total", 0.0) - metrics_before.get(
        "floki_location_changes_total", 0.0
    )
    samples, unmatched = latencies(driver, plan)
    p50, p99 = percentile(samples, 50), percentile(samples, 99)
    counters = driver.counters
    hours = elapsed / 3600
    exhausted = plan.speed is None and counters.offered >= plan.run_observations
    return {
        "offered_per_s": round(counters.offered / send_window),
        "accepted_per_s": round(counters.acked_run / send_window),
        "sightings_per_s": round(applied_run / elapsed) if elapsed > 0 else 0,
        "latency_p50_ms": None if p50 is None else round(p50 * 1000, 1),
        "latency_p99_ms": None if p99 is None else round(p99 * 1000, 1),
        "latency_max_ms": round(max(samples) * 1000, 1) if samples else None,
        "latency_samples": len(samples),
        "latency_unmatched": unmatched,
        "rss_bytes_per_asset": round(rss / spec.tags),
        "rss_bytes": rss,
        "rss_peak_bytes": rss_peak,
        "rss_growth_bytes_per_asset": round((rss - rss_ready) / spec.tags),
        "db_bytes_per_hour": round((db_after - db_before) / hours) if hours > 0 else 0,
        "db_growth_bytes": db_after - db_before,
        "lost": max(counters.acked - int(after.get("processed", 0)), 0),
        "transitions": round(moves),
        "rejected_503": counters.rejected_503,
        "unsent": counters.unsent,
        "refused": counters.refused,
        "refused_posts": counters.refused_posts,
        "refusal": counters.refusal or None,
        "wrong_zone_share": wrong_zone_share(plan, zones, driver.counters.last_second),
        "duplicates": after.get("duplicates", 0) - before.get("duplicates", 0),
        "quarantined": sum(after.get("quarantined", {}).values())
        - sum(before.get("quarantined", {}).values()),
        "unknown_tags": after.get("unknown_tags", 0) - before.get("unknown_tags", 0),
        "events_dropped": round(metrics_after.get("floki_events_dropped_total", 0.0)),
        "event_batches": len(driver.messages) - events_before,
        "applied": applied_run,
        "backlog_observations": sum(b.count for _, b in plan.run[: plan.must_send]),
        "seconds": round(elapsed, 2),
        "send_seconds": round(send_window, 2),
        "drain_seconds": round(drained_at - sent_at, 2),
        "cpu_event_loop_s": round(cpu_after[0] - cpu_before[0], 2),
        "cpu_other_threads_s": round(cpu_after[1] - cpu_before[1], 2),
        "cpu_client_s": round(client_cpu, 2),
        "posts": counters.posts,
        "exhausted": exhausted,
    }


def load_hospital(data_dir: Path, spec: ScenarioSpec, assets: int) -> tuple[str, str]:
    """The scenario's layout and ``assets`` tagged assets written into the appliance's
    database; (the gateways' device token, an API token)."""
    db = Database(default_url(data_dir))
    try:
        load_register(db.engine, Layout(spec), assets, dt.datetime.now(dt.UTC))
    finally:
        db.close()
    return (
        issue_token(data_dir, name=GATEWAY_TOKEN_NAME, device=True),
        issue_token(data_dir, name="bench"),
    )


def run_product(opts: ProductOptions, *, profile_out: TextIO | None = None) -> dict[str, Any]:
    """Set up, baseline, drive, measure, tear down; the figures as one flat dict."""
    spec = opts.spec
    tmp = Path(tempfile.mkdtemp(prefix="floki-bench-"))
    data_dir = tmp / "var"
    env = appliance_env()
    appliance = Appliance(
        data_dir, env, opts.tls, profile_path=tmp / "appliance.prof" if opts.profile else None
    )
    try:
        new_data_dir(data_dir, env, tls=opts.tls)
        gateway_token, api_token = load_hospital(data_dir, spec, spec.tags)

        generated = time.perf_counter()
        plan = make_plan(opts)
        generate_s = time.perf_counter() - generated
        baseline = run_baseline(
            plan.payloads(),
            plan.scenario.tag_to_asset(),
            plan.scenario.gateway_to_zone(),
            opts.baseline_budget_s,
        )

        appliance.start()
        ssl_context = None
        if opts.tls:
            ssl_context = ssl.create_default_context(cafile=str(data_dir / CERT_FILE))
        figures = asyncio.run(
            _drive(opts, plan, appliance, (gateway_token, api_token), ssl_context)
        )
        appliance.stop()
        result = _assemble(opts, plan, baseline, figures, generate_s)
        add_profile(result, appliance, opts.profile_top, profile_out)
        return result
    finally:
        appliance.stop()
        if not os.environ.get("FLOKI_BENCH_KEEP"):
            shutil.rmtree(tmp, ignore_errors=True)


def _assemble(
    opts: ProductOptions,
    plan: Plan,
    baseline: BaselineResult,
    figures: dict[str, Any],
    generate_s: float,
) -> dict[str, Any]:
    spec = opts.spec
    base = baseline.per_s
    sightings = figures["sightings_per_s"]
    return {
        "scenario": spec.name,
        "rate": "max" if opts.rate is None else opts.rate,
        "tags": spec.tags,
        "gateways": spec.gateways,
        "nominal_per_s": round(spec.nominal_per_s),
        "offered_per_s": figures.pop("offered_per_s"),
        "sightings_per_s": sightings,
        "baseline_per_s": round(base),
        "ratio": round(sightings / base, 4) if base else None,
        "latency_p50_ms": figures.pop("latency_p50_ms"),
        "latency_p99_ms": figures.pop("latency_p99_ms"),
        "rss_bytes_per_asset": figures.pop("rss_bytes_per_asset"),
        "db_bytes_per_hour": figures.pop("db_bytes_per_hour"),
        "lost": figures.pop("lost"),
        "transitions": figures.pop("transitions"),
        **figures,
        "baseline_observations": baseline.observations,
        "connections": opts.connections,
        "tls": opts.tls,
        "profiled": opts.profile,
        "generate_seconds": round(generate_s, 2),
    }
