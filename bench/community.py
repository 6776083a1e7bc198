"""The ``community`` scenario: GPS trackers through the GPS plugin's real listeners.

The appliance runs in its own process with ``[plugin.gps]`` listening on loopback (every
setting at its default but the ports, the connection cap and the OsmAnd rate limit); the
register holds a community hub drawn on the map and an asset per tracker. The bench then

1. decodes the run's Teltonika packets in-process with ``floki_gps.teltonika`` and no
   appliance: the bare decode baseline (``baseline_fixes_per_s``, best of three passes);
2. opens ``--trackers`` Teltonika connections (IMEI handshake, ``01``) and keeps them
   open, with ``--posters`` phones posting to the OsmAnd listener;
3. idle: ``--idle`` more connections log in and stay silent for the rest of the run; the
   appliance's RSS before and after (its tracker worker processes' included) gives
   ``kb_per_connection``;
4. nominal: every tracker and phone sends a fix every 30 s (phased evenly) for
   ``--seconds``; each one's first fix places its asset, and the time from that fix's
   send to its ``location.changed`` on the events WebSocket is the latency;
5. max (``--rate max``): every connection sends its next packet of ``--records``
   records as soon as the last one was acknowledged, for ``--seconds``
   (``teltonika_fixes_per_s``, ``ratio``, and the CPU each side spent per fix);
6. backlog: ``--backlog`` trackers each replay a packet of 255 buffered fixes.

``lost`` counts fixes the listeners acknowledged that never reached the location
pipeline: acknowledged records and accepted posts, less what ``GET /api/v1/sources``
says the GPS sources handed on, once the appliance has drained.
"""

from __future__ import annotations

import asyncio
import collections
import datetime as dt
import json
import resource
import shutil
import struct
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import aiohttp
import uvloop
from floki_gps.crc import crc16_ibm
from floki_gps.fixes import Fix
from floki_gps.teltonika import decode_packet, record_fix, teltonika_encode, teltonika_encode_imei
from sqlalchemy import Table

from bench.product import (
    HOST,
    Appliance,
    BenchError,
    _free_port,
    add_profile,
    appliance_env,
    issue_token,
    new_data_dir,
    percentile,
)
from floki_core.config import CONFIG_FILE
from floki_core.storage.database import Database, default_url
from floki_core.storage.models import AssetRow, IdentifierRow, SiteRow, ZoneRow

FIX_EVERY_S = 30.0
HUB = [[-1.48, 52.91], [-1.46, 52.91], [-1.46, 52.93], [-1.48, 52.93]]  # ~1.3 km square
IN_HUB = (52.92, -1.47)
BACKLOG_RECORDS = 255
TELTONIKA_SOURCE = "gps-teltonika"
OSMAND_SOURCE = "gps-osmand"
DRAIN_TIMEOUT_S = 120.0
CONNECT_BATCH = 200  # connections opened at once


@dataclass(frozen=True)
class CommunityOptions:
    trackers: int = 400  # Teltonika connections held open
    posters: int = 100  # phones posting to the OsmAnd listener
    seconds: float = 10.0  # each phase's length
    rate_max: bool = True  # also run the max phase
    backlog: int = 20  # trackers replaying 255 buffered fixes each
    idle: int = 1000  # silent connections held for the memory figure
    baseline_budget_s: float = 3.0
    # Records in each max-phase packet: a tracker recording a fix every 30 s and sending
    # every 120 s (Teltonika trackers save and send on separate periods, "Min Period" and
    # "Send Period") carries 4; the baseline decodes the same.
    records: int = 4
    profile: bool = False  # the appliance under cProfile; its top functions to stderr
    tcp_workers: int | str = "auto"  # [plugin.gps] tcp_workers


def imei(n: int) -> str:
    return f"35630704{n:07d}"


def phone(n: int) -> str:
    return f"phone-{n:06d}"


def raise_fd_limit(needed: int) -> None:
    """Raise this process's open-file limit (the appliance inherits it) to cover both
    ends of every connection."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft >= needed:
        return
    if hard != resource.RLIM_INFINITY and hard < needed:
        raise BenchError(
            f"{needed} open files are needed and the hard limit is {hard}: "
            "raise it (ulimit -Hn) or ask for fewer connections"
        )
    resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))


def load_register(db: Database, devices: Sequence[str], now: dt.datetime) -> None:
    assets = [
        {
            "id": i + 1,
            "asset_number": f"CB{i:07d}",
            "description": "Community bed",
            "serial": f"S{i:08d}",
            "department": "Community Equipment Service",
            "state": "available",
            "created_at": now,
            "updated_at": now,
        }
        for i in range(len(devices))
    ]
    identifiers = [
        {"id": i + 1, "asset_id": i + 1, "technology": "gps", "value": device}
        for i, device in enumerate(devices)
    ]
    tables: list[tuple[type[Any], list[dict[str, Any]]]] = [
        (SiteRow, [{"id": 1, "name": "Community", "code": "COMM", "timezone": "UTC"}]),
        (
            ZoneRow,
            [{"id": 1, "site_id": 1, "name": "Hub", "type": "community_hub", "geo_polygon": HUB}],
        ),
        (AssetRow, assets),
        (IdentifierRow, identifiers),
    ]
    with db.engine.begin() as conn:
        for model, values in tables:
            table = cast(Table, model.__table__)
            for start in range(0, len(values), 50_000):
                conn.execute(table.insert(), values[start : start + 50_000])


def configure_gps(
    data_dir: Path, ports: dict[str, int], connections: int, workers: int | str
) -> None:
    path = data_dir / CONFIG_FILE
    text = path.read_text(encoding="utf-8")
    text += (
        "\n[plugin.gps]\n"
        f'listen_host = "{HOST}"\n'
        f"teltonika_port = {ports['teltonika']}\n"
        f"osmand_port = {ports['osmand']}\n"
        "gt06_port = 0\n"
        "osmand_min_interval_seconds = 0\n"
        "traccar_forward = false\n"
        f"max_connections = {connections}\n"
        "idle_timeout_seconds = 3600\n"
        f"tcp_workers = {json.dumps(workers)}\n"  # a TOML string or integer
    )
    path.write_text(text, encoding="utf-8")


# --- the packets ---------------------------------------------------------------------------


class Stamps:
    """Distinct device times per tracker (a replayed time would be stored once)."""

    def __init__(self, start: dt.datetime) -> None:
        self.start = start
        self.start_ms = round(start.timestamp() * 1000)
        self.n = 0

    def next(self) -> dt.datetime:
        self.n += 1
        return self.start + dt.timedelta(milliseconds=self.n)

    def next_ms(self) -> int:
        """``next()`` as milliseconds since 1970, without making a datetime."""
        self.n += 1
        return self.start_ms + self.n


def packet(device: str, at: dt.datetime, records: int = 1) -> bytes:
    lat, lon = IN_HUB
    fixes = [
        Fix(
            device=device,
            protocol="teltonika",
            at=at + dt.timedelta(seconds=30 * i),
            lat=lat,
            lon=lon,
            hdop=0.9,
            battery_pct=80.0,
            moving=False,
        )
        for i in range(records)
    ]
    return teltonika_encode(fixes)


def bare_decode_baseline(packets: Sequence[bytes], budget_s: float, passes: int = 3) -> float:
    """Fixes per second decoded in-process (CRC checked, records turned into fixes): the
    best of ``passes`` passes, as the other scenarios' baselines (the slower passes
    measure whatever else the machine was doing)."""
    best = 0.0
    for _ in range(passes):
        done, started = 0, time.perf_counter()
        while True:
            for frame in packets:
                decoded = decode_packet(frame)
                for record in decoded.records:
                    record_fix("356307040000000", record)
                    done += 1
            elapsed = time.perf_counter() - started
            if elapsed >= budget_s / passes:
                best = max(best, done / elapsed)
                break
    return best


# --- the trackers ------------------------------------------------------------------------


class Tracker(asyncio.Protocol):
    """One Teltonika tracker's connection. ``send`` waits for a packet's acknowledgement;
    ``run_flat_out`` answers each acknowledgement with the next packet from the loop's
    read callback, so the bench's own cost per packet stays far below the appliance's."""

    def __init__(self, device: str) -> None:
        self.device = device
        self.transport: asyncio.Transport | None = None
        self._buffer = bytearray()
        self._waiting: collections.deque[asyncio.Future[int]] = collections.deque()
        self._flat_out: FlatOut | None = None
        self._handshaken = False
        self.acked = 0

    async def connect(self, port: int) -> None:
        loop = asyncio.get_running_loop()
        await loop.create_connection(lambda: self, HOST, port)
        assert self.transport is not None
        handshake = loop.create_future()
        self._waiting.append(handshake)
        self.transport.write(teltonika_encode_imei(self.device))
        if await handshake != 1:
            raise BenchError(f"tracker {self.device} refused at the handshake")

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # A stream transport, whichever loop made it (uvloop's derive from no asyncio class).
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        buffer = self._buffer
        buffer += data
        if not self._handshaken and buffer and self._waiting:
            self._handshaken = True  # the handshake's answer is one byte: 01 or 00
            self._waiting.popleft().set_result(buffer[0])
            del buffer[0]
        while buffer:
            if len(buffer) < 4:
                return
            (count,) = _ACK.unpack_from(buffer)
            del buffer[:4]
            self.acked += count
            if self._waiting:
                self._waiting.popleft().set_result(count)
            elif self._flat_out is not None:
                self._flat_out.next(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        while self._waiting:
            future = self._waiting.popleft()
            if not future.done():
                future.set_exception(BenchError(f"tracker {self.device} was disconnected"))
        if self._flat_out is not None:
            self._flat_out.lost(self)

    async def send(self, frame: bytes) -> int:
        if self.transport is None:
            raise BenchError(f"tracker {self.device} is not connected")
        acked: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._waiting.append(acked)
        self.transport.write(frame)
        return await acked

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


_ACK = struct.Struct(">I")
_RECORD_MS = struct.Struct(">Q")
RECORD_MS_AT = 10  # 4 zero bytes, the data length, codec id and record count


class FlatOut:
    """Every tracker sends its next packet as soon as the last one is acknowledged, until
    ``end``; each packet is the tracker's own template with the next time patched in."""

    def __init__(
        self, trackers: Sequence[Tracker], stamps: Sequence[Stamps], end: float, records: int
    ):
        self.end = end
        self.records = records
        pairs = list(zip(trackers, stamps, strict=True))
        self.templates = {id(t): bytearray(packet(t.device, s.start, records)) for t, s in pairs}
        frame = next(iter(self.templates.values()), bytearray(13))
        self.record_size = (len(frame) - 8 - 3 - 4) // records  # less codec, counts, CRC
        self.stamps = {id(t): s for t, s in pairs}
        self.running = len(trackers)
        self.done = asyncio.get_running_loop().create_future()

    def next(self, tracker: Tracker) -> None:
        if time.perf_counter() >= self.end or tracker.transport is None:
            self._finished(tracker)
            return
        frame = self.templates[id(tracker)]
        next_ms = self.stamps[id(tracker)].next_ms
        for i in range(self.records):  # each record a new time, later than the last sent
            _RECORD_MS.pack_into(frame, RECORD_MS_AT + i * self.record_size, next_ms())
        frame[-4:] = crc16_ibm(memoryview(frame)[8:-4]).to_bytes(4, "big")
        tracker.transport.write(frame)

    def lost(self, tracker: Tracker) -> None:
        self._finished(tracker)

    def _finished(self, tracker: Tracker) -> None:
        if tracker._flat_out is self:
            tracker._flat_out = None
            self.running -= 1
            if self.running == 0 and not self.done.done():
                self.done.set_result(None)


async def connect_all(trackers: Sequence[Tracker], port: int) -> None:
    for start in range(0, len(trackers), CONNECT_BATCH):
        await asyncio.gather(*(t.connect(port) for t in trackers[start : start + CONNECT_BATCH]))


@dataclass
class Tally:
    acked: int = 0  # Teltonika records acknowledged
    posted: int = 0  # OsmAnd fixes answered 200
    refused_posts: int = 0


class Session:
    def __init__(
        self, opts: CommunityOptions, appliance: Appliance, token: str, ports: dict[str, int]
    ):
        self.opts = opts
        self.appliance = appliance
        self.ports = ports
        self.headers = {"Authorization": f"Bearer {token}"}
        self.tally = Tally()
        self.first_sent: dict[int, float] = {}  # asset id -> when its first fix left
        self.changed: dict[int, float] = {}  # asset id -> when its first location.changed came

    async def listen(self, session: aiohttp.ClientSession, ready: asyncio.Event) -> None:
        await self.appliance.first_events(
            session, self.headers, "location.changed", self.changed, ready
        )

    async def sources(self, session: aiohttp.ClientSession) -> dict[str, dict[str, Any]]:
        async with session.get(
            self.appliance.base_url + "/api/v1/sources", headers=self.headers
        ) as resp:
            body = await resp.json()
        return {item["name"]: item for item in body["items"]} | {"": body}

    async def post(self, session: aiohttp.ClientSession, device: str, at: dt.datetime) -> None:
        lat, lon = IN_HUB
        url = (
            f"http://{HOST}:{self.ports['osmand']}/?id={device}&lat={lat}&lon={lon}"
            f"&timestamp={at.timestamp():.3f}&accuracy=8&batt=70"
        )
        async with session.post(url) as resp:
            if resp.status == 200:
                self.tally.posted += 1
            else:
                self.tally.refused_posts += 1

    async def nominal(
        self, session: aiohttp.ClientSession, trackers: Sequence[Tracker], stamps: list[Stamps]
    ) -> float:
        """A fix every 30 s from every tracker and phone, evenly phased; fixes/s offered."""
        opts = self.opts
        senders = len(trackers) + opts.posters
        gap = FIX_EVERY_S / max(senders, 1)
        started = time.perf_counter()
        end = started + opts.seconds
        tasks: set[asyncio.Task[None]] = set()
        n = 0
        while (now := time.perf_counter()) < end:
            due = int((now - started) / gap) + 1
            while n < due:
                k = n % senders
                sent_at = time.perf_counter()
                if k < len(trackers):
                    asset = k + 1
                    frame = packet(trackers[k].device, stamps[k].next())
                    task = asyncio.create_task(self._tracker_send(trackers[k], frame))
                else:
                    asset = len(trackers) + (k - len(trackers)) + 1
                    task = asyncio.create_task(
                        self.post(session, phone(k - len(trackers)), dt.datetime.now(dt.UTC))
                    )
                self.first_sent.setdefault(asset, sent_at)
                tasks.add(task)
                task.add_done_callback(tasks.discard)
                n += 1
            await asyncio.sleep(min(gap, 0.01))
        if tasks:
            await asyncio.gather(*tasks)
        return n / (time.perf_counter() - started)

    async def _tracker_send(self, tracker: Tracker, frame: bytes) -> None:
        count = await tracker.send(frame)  # read before adding: other senders add meanwhile
        self.tally.acked += count

    async def max_rate(
        self, session: aiohttp.ClientSession, trackers: Sequence[Tracker], stamps: list[Stamps]
    ) -> tuple[float, float]:
        """Every connection sends its next packet as soon as the last was acknowledged.

        (records acknowledged per second, records through the pipeline per second): the
        second counts the time until the core has taken every record acknowledged (the
        listener acknowledges once a record is queued for the core, which may still be
        working through the queue when the window closes)."""
        end = time.perf_counter() + self.opts.seconds
        flat_out = FlatOut(trackers, stamps, end, self.opts.records)
        before = sum(t.acked for t in trackers)
        started = time.perf_counter()
        for tracker in trackers:
            tracker._flat_out = flat_out
            flat_out.next(tracker)
        await flat_out.done
        elapsed = time.perf_counter() - started
        acked = sum(t.acked for t in trackers) - before
        self.tally.acked += acked
        deadline = time.perf_counter() + DRAIN_TIMEOUT_S
        while time.perf_counter() < deadline:
            found = await self.sources(session)
            if int(found.get(TELTONIKA_SOURCE, {}).get("received", 0)) >= self.tally.acked:
                break
            await asyncio.sleep(0.02)
        through = time.perf_counter() - started
        return acked / elapsed, acked / through

    async def backlog(self, trackers: Sequence[Tracker], stamps: list[Stamps]) -> float:
        """``--backlog`` trackers each replay 255 buffered fixes in one AVL packet."""
        chosen = trackers[: self.opts.backlog]
        old = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=30 * BACKLOG_RECORDS + 600)
        frames = [
            packet(t.device, old + dt.timedelta(milliseconds=i), BACKLOG_RECORDS)
            for i, t in enumerate(chosen)
        ]
        started = time.perf_counter()
        counts = await asyncio.gather(*(t.send(f) for t, f in zip(chosen, frames, strict=True)))
        elapsed = time.perf_counter() - started
        self.tally.acked += sum(counts)
        return sum(counts) / elapsed if elapsed > 0 else 0.0

    async def drain(self, session: aiohttp.ClientSession) -> dict[str, dict[str, Any]]:
        deadline = time.perf_counter() + DRAIN_TIMEOUT_S
        while True:
            found = await self.sources(session)
            handed = _handed_on(found)
            if handed >= self.tally.acked + self.tally.posted and found[""]["queue_depth"] == 0:
                return found
            if time.perf_counter() > deadline:
                return found
            await asyncio.sleep(0.2)


def _handed_on(found: dict[str, dict[str, Any]]) -> int:
    return sum(
        int(found.get(name, {}).get("received", 0)) for name in (TELTONIKA_SOURCE, OSMAND_SOURCE)
    )


async def _run(
    opts: CommunityOptions, appliance: Appliance, token: str, ports: dict[str, int]
) -> dict[str, Any]:
    run = Session(opts, appliance, token, ports)
    trackers = [Tracker(imei(i)) for i in range(opts.trackers)]
    start = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=5)
    stamps = [Stamps(start) for _ in trackers]
    connector = aiohttp.TCPConnector(limit=200)
    async with aiohttp.ClientSession(connector=connector) as session:
        ready = asyncio.Event()
        listener = asyncio.create_task(run.listen(session, ready))
        await asyncio.wait_for(ready.wait(), 30)
        await connect_all(trackers, ports["teltonika"])
        # Idle connections: logged in, then silent for the rest of the run (measured before
        # the load phases, whose freed memory would otherwise hide what they hold).
        before = appliance.rss()[0] + appliance.children_rss()
        idle = [Tracker(imei(opts.trackers + i)) for i in range(opts.idle)]
        await connect_all(idle, ports["teltonika"])
        await asyncio.sleep(2.0)
        after = appliance.rss()[0] + appliance.children_rss()
        idle_kb = round((after - before) / 1024 / max(len(idle), 1), 2)
        offered = await run.nominal(session, trackers, stamps)
        await asyncio.sleep(2.0)  # the last first fixes reach the WebSocket
        latencies = [
            (run.changed[a] - sent) * 1000 for a, sent in run.first_sent.items() if a in run.changed
        ]
        result: dict[str, Any] = {
            "trackers": opts.trackers,
            "posters": opts.posters,
            "nominal_fixes_per_s": round(offered, 1),
            "latency_p50_ms": _round(percentile(latencies, 50)),
            "latency_p99_ms": _round(percentile(latencies, 99)),
            "latency_samples": len(latencies),
            "latency_unmatched": len(run.first_sent) - len(latencies),
        }
        if opts.rate_max:
            cpu_before, client_before = appliance.cpu_seconds(), time.process_time()
            workers_before = appliance.children_cpu_seconds()
            acked_before = run.tally.acked
            acked_rate, through_rate = await run.max_rate(session, trackers, stamps)
            result["teltonika_fixes_per_s"] = round(through_rate, 1)
            result["teltonika_acked_per_s"] = round(acked_rate, 1)
            result["records_per_packet"] = opts.records
            # CPU per fix: what the appliance spends, whatever else shares the machine.
            cpu_after = appliance.cpu_seconds()
            workers_s = appliance.children_cpu_seconds() - workers_before
            loop_s, threads_s = cpu_after[0] - cpu_before[0], cpu_after[1] - cpu_before[1]
            fixes = max(run.tally.acked - acked_before, 1)
            result["cpu_event_loop_us_per_fix"] = round(loop_s / fixes * 1e6, 1)
            result["cpu_other_threads_us_per_fix"] = round(threads_s / fixes * 1e6, 1)
            result["cpu_workers_us_per_fix"] = round(workers_s / fixes * 1e6, 1)
            result["cpu_client_us_per_fix"] = round(
                (time.process_time() - client_before) / fixes * 1e6, 1
            )
        if opts.backlog:
            result["backlog_fixes"] = min(opts.backlog, len(trackers)) * BACKLOG_RECORDS
            result["backlog_fixes_per_s"] = round(await run.backlog(trackers, stamps), 1)
        found = await run.drain(session)
        handed = _handed_on(found)
        result["acked"] = run.tally.acked + run.tally.posted
        result["handed_on"] = handed
        result["lost"] = max(0, run.tally.acked + run.tally.posted - handed)
        result["refused_posts"] = run.tally.refused_posts
        result["idle_connections"] = len(idle)
        result["kb_per_connection"] = idle_kb
        rss, peak = appliance.rss()
        workers_rss = appliance.children_rss()
        result["rss_mb"] = round((rss + workers_rss) / 2**20, 1)
        result["rss_workers_mb"] = round(workers_rss / 2**20, 1)
        result["rss_peak_mb"] = round(peak / 2**20, 1)
        result["rejected"] = {
            name: found.get(name, {}).get("rejected", {})
            for name in (TELTONIKA_SOURCE, OSMAND_SOURCE)
        }
        for tracker in trackers + idle:
            tracker.close()
        listener.cancel()
    return result


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def run_community(opts: CommunityOptions) -> dict[str, Any]:
    connections = opts.trackers + opts.idle
    raise_fd_limit(connections + opts.posters + 1024)  # each end is its own process
    tmp = Path(tempfile.mkdtemp(prefix="floki-bench-community-"))
    data_dir = tmp / "var"
    env = appliance_env()
    appliance = Appliance(
        data_dir, env, False, profile_path=tmp / "appliance.prof" if opts.profile else None
    )
    ports = {"teltonika": _free_port(), "osmand": _free_port()}
    try:
        new_data_dir(data_dir, env, tls=False)
        configure_gps(data_dir, ports, connections + 100, opts.tcp_workers)
        devices = [imei(i) for i in range(connections)] + [phone(i) for i in range(opts.posters)]
        # The phones' assets follow the trackers' (their ids are trackers + n + 1).
        devices = [
            *devices[: opts.trackers],
            *devices[connections:],
            *devices[opts.trackers : connections],
        ]
        db = Database(default_url(data_dir))
        try:
            load_register(db, devices, dt.datetime.now(dt.UTC))
        finally:
            db.close()
        token = issue_token(data_dir, name="bench")
        sample_start = dt.datetime.now(dt.UTC)
        sample = [
            packet(
                imei(i % max(opts.trackers, 1)),
                sample_start + dt.timedelta(seconds=i),
                opts.records,
            )
            for i in range(2000)
        ]
        baseline = bare_decode_baseline(sample, opts.baseline_budget_s)
        appliance.start()
        # The trackers on uvloop, as the appliance's listeners are: the bench's own CPU per
        # fix (cpu_client_us_per_fix) is CPU the machine's other core does not have for
        # anything else, the appliance's threads included.
        result = uvloop.run(_run(opts, appliance, token, ports))
        appliance.stop()
        add_profile(result, appliance)
        result["scenario"] = "community"
        result["tcp_workers"] = opts.tcp_workers
        result["baseline_fixes_per_s"] = round(baseline, 1)
        rate = result.get("teltonika_fixes_per_s")
        result["ratio"] = round(rate / baseline, 3) if rate and baseline else None
        return result
    finally:
        appliance.stop()
        shutil.rmtree(tmp, ignore_errors=True)
