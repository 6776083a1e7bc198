"""The ``espresense`` scenario: ESPresense rooms publishing through a real Mosquitto.

The bench starts its own broker on a free loopback port, then the appliance with
``[plugin.ble] espresense_host/port`` pointing at it. Every gateway of the hospital layout
is an ESPresense room named like its receiver identifier, with an MQTT connection of its
own (CONNECT with its last will, then its retained "online", as the firmware does); every
tag is an iBeacon whose ESPresense id (``iBeacon:<uuid>-<major>-<minor>``) the register
binds as the asset's ``ibeacon`` identifier. Each room that heard an advert publishes one
QoS 0 report at the advert's time. Publisher processes write pre-encoded PUBLISH packets
to the rooms' sockets and note when each left. At a set rate that is one write per
report, as a gateway does, and the kernel's work for it (a loopback write also does the
receiving side's TCP work) is most of the publishers' CPU, about what a paho-mqtt
``publish()`` costs all told; at ``--rate max`` a write carries many reports.

Figures come from the appliance (``/api/v1/sources``, ``/api/v1/ble/gateways``,
``/metrics``, ``/proc``), the broker's ``$SYS`` counters and the publishers' clocks.
docs/performance.md ("ESPresense over MQTT") says what each one means.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TextIO

import aiohttp
import msgspec
import numpy as np
from sqlalchemy import Table, bindparam, update

from bench.baseline import SMOOTHING, BaselineResult
from bench.mqtt_rooms import (
    PREFIX,
    Broker,
    BrokerCounters,
    Fleet,
    Job,
    publish_packet,
)
from bench.product import (
    FLUSH_SECONDS,
    HOST,
    Appliance,
    BenchError,
    Driver,
    Plan,
    add_profile,
    appliance_env,
    applied,
    issue_token,
    new_data_dir,
    percentile,
    wrong_zone_share,
)
from bench.scenarios import (
    SCENARIOS,
    Layout,
    Scenario,
    ScenarioSpec,
    WireBatch,
    gateway_identifier,
    load_register,
    tag_identifier,
)
from floki_ble.espresense import SOURCE_NAME
from floki_core.config import CONFIG_FILE
from floki_core.storage.database import Database, default_url
from floki_core.storage.models import IdentifierRow

# The hospital's rooms and tags, offered at the BLE issue's rate rather than the layout's.
SPEC = replace(SCENARIOS["hospital"], name="espresense", seconds=10)
TARGET_PER_S = 15_000.0
IBEACON_UUID = "e2c56db5-dffb-48d2-b060-d0f5a71096e0"
RSSI_AT_1M = -59
WARMUP_S = 40.0  # wall seconds before the window: first fixes settle (see the docs)
MAX_PREPARED_PER_S = 40_000.0  # --rate max: messages prepared per wall second
IN_FLIGHT = 10_000  # --rate max: messages published but not yet through admission
POLL_S = 0.05
READY_TIMEOUT_S = 60.0
BASELINE_MESSAGES = 200_000


@dataclass(frozen=True)
class EspresenseOptions:
    spec: ScenarioSpec = SPEC
    rate: float | None = TARGET_PER_S  # messages/s offered; None: as fast as admitted
    seconds: float = 10.0
    warmup_s: float = WARMUP_S
    publishers: int = 2
    in_flight: int = IN_FLIGHT
    profile: bool = False
    profile_top: int = 25
    drain_timeout_s: float = 180.0
    baseline_budget_s: float = 10.0


# --- the messages ------------------------------------------------------------------------


def device_id(tag: int) -> str:
    major, minor = divmod(tag, 0x10000)
    return f"iBeacon:{IBEACON_UUID}-{major}-{minor}"


def register_value(tag: int) -> str:
    """How the register spells ``device_id(tag)``: the source's ``ibeacon`` identity."""
    major, minor = divmod(tag, 0x10000)
    return f"{IBEACON_UUID.upper()}:{major}:{minor}"


@dataclass
class Messages:
    """Every prepared message, split into publisher jobs (each room on one publisher)."""

    jobs: list[Job]
    tags: list[np.ndarray[Any, Any]]  # per job and message: the tag's index
    scenario_at: list[np.ndarray[Any, Any]]  # per job and message: scenario seconds
    sample: list[tuple[str, bytes]]  # (topic, payload), for the baseline
    per_scenario_second: float
    scenario: Scenario


def prepare(
    scenario: Scenario, seconds: int, rate: float | None, workers: int, folder: Path
) -> Messages:
    """``seconds`` scenario seconds of reports. An advert reaches each room that heard it
    at the same moment (its advert time) and each publishes it then. At a ``rate``,
    scenario time is stretched so that the messages the layout really produced leave at
    that many per wall second."""
    spec = scenario.spec
    rooms = [gateway_identifier(g) for g in range(spec.gateways)]
    room_of = {room: g for g, room in enumerate(rooms)}
    tag_of = {tag_identifier(t): t for t in range(spec.tags)}
    heads = [
        f'{{"id":"{device_id(t)}","idType":1,"rssi@1m":{RSSI_AT_1M},"rssi":'
        for t in range(spec.tags)
    ]
    tails = [
        f',"mac":"{tag_identifier(t).replace(":", "").lower()}","interval":1000}}'
        for t in range(spec.tags)
    ]
    middles: dict[int, str] = {}
    decode = msgspec.json.Decoder(WireBatch).decode
    rows: list[list[tuple[float, int, int, bytes]]] = [[] for _ in range(workers)]
    sample: list[tuple[str, bytes]] = []
    count = 0
    for second in scenario.live(0, seconds):
        for batch in second:
            for obs in decode(batch.payload).observations:
                tag, g = tag_of[obs.tag], room_of[obs.receiver]
                at = (dt.datetime.fromisoformat(obs.observed_at) - scenario.anchor).total_seconds()
                middle = middles.get(obs.rssi)
                if middle is None:
                    distance = round(10 ** ((RSSI_AT_1M - obs.rssi) / 35), 2)
                    middle = middles[obs.rssi] = (
                        f'{obs.rssi},"raw":{distance},"distance":{distance}'
                    )
                topic = f"{PREFIX}/devices/{device_id(tag)}/{rooms[g]}"
                payload = (heads[tag] + middle + tails[tag]).encode()
                if len(sample) < BASELINE_MESSAGES:
                    sample.append((topic, payload))
                rows[g % workers].append((at, tag, g // workers, publish_packet(topic, payload)))
                count += 1
    per_second = count / max(seconds, 1)
    speed = rate / per_second if rate and per_second else None
    jobs, tags, ats = [], [], []
    for w, mine in enumerate(rows):
        mine.sort(key=lambda row: row[0])
        when = np.array([r[0] for r in mine], dtype=np.float64)
        path = folder / f"publisher-{w}.npz"
        np.savez(
            path,
            blob=np.frombuffer(b"".join(r[3] for r in mine), dtype=np.uint8),
            ends=np.cumsum([len(r[3]) for r in mine], dtype=np.int64),
            room=np.array([r[2] for r in mine], dtype=np.int32),
            due=when / speed if speed else np.zeros_like(when),
        )
        mine_rooms = [rooms[g] for g in range(w, spec.gateways, workers)]
        jobs.append(Job(w, str(path), mine_rooms, speed is not None, len(mine)))
        tags.append(np.array([r[1] for r in mine], dtype=np.int32))
        ats.append(when)
    return Messages(jobs, tags, ats, sample, per_second, scenario)


class _Report(msgspec.Struct):
    rssi: float


def run_message_baseline(
    messages: Sequence[tuple[str, bytes]],
    devices: dict[str, int],
    rooms: dict[str, int],
    budget_s: float,
    passes: int = 3,
) -> BaselineResult:
    """bench/baseline.py's loop over the same MQTT messages: split the topic, decode the
    JSON, strongest smoothed room per tag. The best of ``passes``."""
    best: BaselineResult | None = None
    decode = msgspec.json.Decoder(_Report).decode
    for _ in range(max(passes, 1)):
        smoothed: dict[int, dict[str, float]] = {}
        zone_of: dict[int, int] = {}
        count = transitions = 0
        start = time.perf_counter()
        deadline = start + budget_s / max(passes, 1)
        while messages and time.perf_counter() < deadline:
            for topic, payload in messages:
                device, room = topic.split("/")[2:4]
                asset = devices.get(device)
                if asset is None or room not in rooms:
                    continue
                rssi = decode(payload).rssi
                per = smoothed.get(asset)
                if per is None:
                    per = smoothed[asset] = {}
                old = per.get(room)
                per[room] = rssi if old is None else old + SMOOTHING * (rssi - old)
                zone = rooms[max(per, key=per.__getitem__)]
                if zone_of.get(asset) != zone:
                    zone_of[asset] = zone
                    transitions += 1
            count += len(messages)
        result = BaselineResult(count, time.perf_counter() - start, transitions)
        if best is None or result.per_s > best.per_s:
            best = result
    assert best is not None
    return best


# --- the appliance -----------------------------------------------------------------------


def subscribe_to(data_dir: Path, port: int) -> None:
    """The appliance's ``[plugin.ble]``: the bench's broker, everything else as shipped."""
    path = data_dir / CONFIG_FILE
    text = path.read_text(encoding="utf-8")
    if "\n[plugin.ble]\n" in text:
        raise BenchError(f"{path}: already has a [plugin.ble] section")
    text += f'\n[plugin.ble]\nespresense_host = "{HOST}"\nespresense_port = {port}\n'
    path.write_text(text, encoding="utf-8")


def bind_ibeacons(db: Database, tags: int) -> None:
    """The register's tags become the rooms' iBeacons (identifier row t + 1 is tag t)."""
    table: Table = IdentifierRow.__table__  # type: ignore[assignment]
    statement = (
        update(table)
        .where(table.c.id == bindparam("row"))
        .values(technology="ibeacon", value=bindparam("spelled"))
    )
    with db.engine.begin() as conn:
        conn.execute(statement, [{"row": t + 1, "spelled": register_value(t)} for t in range(tags)])


@dataclass
class Sample:
    wall: float
    admitted: int  # the source's observations through admission
    applied: int  # ... of which reached a locator


@dataclass
class Snapshot:
    sample: Sample
    metrics: dict[str, float]
    cpu: tuple[float, float]
    broker_cpu: float
    client_cpu: float
    db_bytes: int = 0


@dataclass
class Run:
    opts: EspresenseOptions
    messages: Messages
    appliance: Appliance
    broker: Broker
    driver: Driver
    fleet: Fleet
    samples: list[Sample] = field(default_factory=list)
    counters: BrokerCounters = field(default_factory=BrokerCounters)

    async def source(self) -> dict[str, Any]:
        body = await self.driver.get_json("/api/v1/sources")
        shared = {
            "queue_depth": body["queue_depth"],
            "unlocatable": sum(body.get("unlocatable", {}).values()),
        }
        for item in body["items"]:
            if item["name"] == SOURCE_NAME:
                return {**item, **shared}
        return {**shared, "processed": 0, "received": 0}

    async def rooms(self) -> dict[str, Any]:
        body: dict[str, Any] = await self.driver.get_json("/api/v1/ble/gateways")
        return body

    async def poll(self) -> Sample:
        src = await self.source()
        sample = Sample(time.time(), int(src.get("received", 0)), applied(src))
        self.samples.append(sample)
        return sample

    async def snapshot(self, db: bool = False) -> Snapshot:
        return Snapshot(
            await self.poll(),
            await self.driver.metrics(),
            self.appliance.cpu_seconds(),
            self.broker.cpu_seconds(),
            time.process_time(),
            await asyncio.to_thread(self.appliance.db_bytes) if db else 0,
        )

    async def wait_connected(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while not (await self.rooms())["connected"]:
            if time.monotonic() > deadline:
                raise BenchError(
                    f"the ESPresense source did not connect:\n{self.appliance.log_tail()}"
                )
            await asyncio.sleep(0.1)

    async def publish(self) -> tuple[Snapshot, Snapshot, float, float]:
        """Warm-up, then the measured window; snapshots at the window's two ends."""
        opts, fleet = self.opts, self.fleet
        await asyncio.to_thread(fleet.wait_ready, READY_TIMEOUT_S)
        base = (await self.poll()).admitted
        start = fleet.go()
        t0 = start + opts.warmup_s
        first: Snapshot | None = None
        while True:
            sample = await self.poll()
            if opts.rate is None:
                fleet.allow(sample.admitted - base + opts.in_flight)
            if first is None and sample.wall >= t0:
                first = await self.snapshot(db=True)
                t0 = first.sample.wall
            if (first is not None and sample.wall >= t0 + opts.seconds) or fleet.finished():
                break
            await asyncio.sleep(POLL_S)
        last = await self.snapshot()
        fleet.stop()
        if first is None:
            raise BenchError("the publishers ran out of messages before the window began")
        return first, last, t0, last.sample.wall

    async def drain(self, published: int) -> tuple[float, dict[str, Any], dict[str, Any]]:
        """Until all the source took is through the pipeline (or nothing moves for 2 s)."""
        deadline = time.monotonic() + self.opts.drain_timeout_s
        heard, moved_at = -1, time.monotonic()
        while True:
            src, rooms = await self.source(), await self.rooms()
            now = time.monotonic()
            total = sum(g["messages"] for g in rooms["items"])
            if total != heard:
                heard, moved_at = total, now
            through = src["queue_depth"] == 0 and src["processed"] >= src.get("received", 0)
            settled = total >= published or now - moved_at > 2.0
            if (through and settled and src.get("received", 0) >= total) or now > deadline:
                return time.time(), src, rooms
            await asyncio.sleep(POLL_S)


def latencies(
    events: Sequence[tuple[float, str]],
    tags: np.ndarray[Any, Any],
    times: np.ndarray[Any, Any],
    t0: float,
    lag: Callable[[float], float],
) -> tuple[list[float], int]:
    """From the publish of the advert that moved an asset to the event's arrival.

    A ``location.changed`` carries the time the appliance took the report that decided
    the move (ESPresense reports carry no time of their own). That report is the tag's
    one published closest to that time less the intake lag then (``lag``, measured at
    admission), and not after it: right while the lag is known to within half the
    advert interval, which is seconds.
    """
    sent = ~np.isnan(times)
    tags, times = tags[sent], times[sent]
    order = np.lexsort((times, tags))
    tags, times = tags[order], times[order]
    decode = msgspec.json.Decoder(list[dict[str, Any]]).decode
    found: list[float] = []
    unmatched = 0
    to_wall = time.time() - time.perf_counter()  # events are stamped with perf_counter()
    for arrival, raw in events:
        for event in decode(raw):
            if event.get("type") != "location.changed":
                continue
            taken = dt.datetime.fromisoformat(event["at"]).timestamp()
            if taken < t0:
                continue  # a warm-up move
            tag = int(event["data"]["asset_id"]) - 1
            lo, hi = (int(i) for i in np.searchsorted(tags, [tag, tag + 1]))
            mine = times[lo:hi]
            last = int(np.searchsorted(mine, taken, side="right")) - 1
            if last < 0:
                unmatched += 1
                continue
            target = taken - lag(taken)
            k = min(int(np.searchsorted(mine, target)), last)
            if k > 0 and target - mine[k - 1] < mine[k] - target:
                k -= 1
            found.append(arrival + to_wall - float(mine[k]))
    return found, unmatched


def rate_of(samples: Sequence[Sample], count: str) -> float:
    """Per second, the least-squares slope of a count polled every ``POLL_S``.

    The source hands on up to 5,000 reports at once, so the count climbs in steps; the
    slope over the window's polls reads the rate to well under one step, where the
    difference of its two ends could be off by a step.
    """
    if len(samples) < 2:
        return 0.0
    walls = np.array([s.wall for s in samples])
    counts = np.array([float(getattr(s, count)) for s in samples])
    return float(np.polyfit(walls - walls[0], counts, 1)[0])


def intake_lags(
    samples: Sequence[Sample], times: np.ndarray[Any, Any], base: int
) -> list[tuple[float, float]]:
    """Per poll, (when, how long before then the report going through admission was
    published), taking reports in the order they were published."""
    ordered = np.sort(times[~np.isnan(times)])
    lags = []
    for sample in samples:
        n = sample.admitted - base
        if 0 < n <= len(ordered):
            lags.append((sample.wall, sample.wall - float(ordered[n - 1])))
    return lags


@dataclass
class Outcome:
    """What a run leaves to be measured."""

    first: Snapshot  # the window's start
    last: Snapshot  # its end
    final: Snapshot  # drained
    t0: float
    t1: float
    drained_at: float
    source: dict[str, Any]
    rooms: dict[str, Any]
    broker: dict[str, int]
    times: np.ndarray[Any, Any]  # per message (all publishers): when sent, NaN if never
    publisher_cpu: float
    publisher_late: float


async def drive(run: Run) -> Outcome:
    subscribed, listening = asyncio.Event(), asyncio.Event()
    tasks = [
        asyncio.create_task(run.counters.follow(run.broker.port, subscribed)),
        asyncio.create_task(run.driver.listen(listening)),
    ]
    try:
        await asyncio.wait_for(asyncio.gather(subscribed.wait(), listening.wait()), 30)
        await run.wait_connected()
        run.fleet.start()
        try:
            first, last, t0, t1 = await run.publish()
            sent = await asyncio.to_thread(run.fleet.join)
        finally:
            await asyncio.to_thread(run.fleet.close)
        times = np.concatenate([s[0] for s in sent])
        drained_at, src, rooms = await run.drain(int((~np.isnan(times)).sum()))
        await asyncio.sleep(0.2 + 2 * FLUSH_SECONDS)  # the last moves to the database
        counters = await run.counters.settled()
        final = await run.snapshot(db=True)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    return Outcome(
        first,
        last,
        final,
        t0,
        t1,
        drained_at,
        src,
        rooms,
        counters,
        times,
        sum(s[1] for s in sent),
        max(s[2] for s in sent),
    )


async def figures(run: Run, out: Outcome) -> dict[str, Any]:
    first, last, final, t0, t1 = out.first, out.last, out.final, out.t0, out.t1
    src, rooms, times, counters = out.source, out.rooms, out.times, out.broker
    published = int((~np.isnan(times)).sum())
    opts, spec, messages = run.opts, run.opts.spec, run.messages
    window = max(t1 - t0, 1e-9)
    offered = int(((times >= t0) & (times < t1)).sum()) / window
    window_samples = [s for s in run.samples if t0 <= s.wall <= t1]
    tags = np.concatenate(messages.tags)
    pairs = intake_lags(run.samples, times, run.samples[0].admitted) or [(t0, 0.0)]
    walls, all_lags = [w for w, _ in pairs], [lag for _, lag in pairs]

    def lag_at(at: float) -> float:
        return float(np.interp(at, walls, all_lags))

    samples, unmatched = latencies(run.driver.messages, tags, times, t0, lag_at)
    lags = [lag for wall, lag in zip(walls, all_lags, strict=True) if t0 <= wall <= t1]
    heard = sum(g["messages"] for g in rooms["items"])
    dropped = counters.get("dropped", 0)
    applied_total = applied(src)
    scenario_at = np.concatenate(messages.scenario_at)[~np.isnan(times)]
    last_second = int(scenario_at.max()) if len(scenario_at) else None
    zones = await asyncio.to_thread(run.appliance.current_zones)
    hours = (out.drained_at - t0) / 3600
    p50, p99 = percentile(samples, 50), percentile(samples, 99)
    rss, rss_peak = run.appliance.rss()
    cpu = (last.cpu[0] - first.cpu[0], last.cpu[1] - first.cpu[1])
    admitted = last.sample.admitted - first.sample.admitted
    publisher_cpu = out.publisher_cpu
    moves = final.metrics.get("floki_location_changes_total", 0.0) - first.metrics.get(
        "floki_location_changes_total", 0.0
    )
    return {
        "offered_per_s": round(offered),
        "sightings_per_s": round(rate_of(window_samples, "applied")),
        "latency_p50_ms": None if p50 is None else round(p50 * 1000, 1),
        "latency_p99_ms": None if p99 is None else round(p99 * 1000, 1),
        "rss_bytes_per_asset": round(rss / spec.tags),
        "db_bytes_per_hour": round((final.db_bytes - first.db_bytes) / hours) if hours else 0,
        # Published, not dropped by the broker, and yet not through to a locator.
        "lost": max(published - dropped - applied_total, 0),
        "transitions": round(moves),
        "dropped_by_broker": dropped,
        # Delivered by the broker but never handled: the source's inbox overflowed.
        "dropped_in_appliance": max(published - dropped - heard, 0),
        "published": published,
        "broker_received": counters.get("received", 0),
        "handled": heard,
        "source_rejected": sum(rooms["rejected"].values()),
        "applied": applied_total,
        "admitted_per_s": round(rate_of(window_samples, "admitted")),
        "latency_max_ms": round(max(samples) * 1000, 1) if samples else None,
        "latency_samples": len(samples),
        "latency_unmatched": unmatched,
        "intake_lag_p50_s": round(percentile(lags, 50) or 0.0, 3) if lags else None,
        "intake_lag_p99_s": round(percentile(lags, 99) or 0.0, 3) if lags else None,
        "intake_lag_max_s": round(max(lags), 3) if lags else None,
        # Between one tag's adverts, in wall time (the scenario is played at this pace).
        "advert_interval_s": round(messages.per_scenario_second / offered, 2) if offered else None,
        "rss_bytes": rss,
        "rss_peak_bytes": rss_peak,
        "db_growth_bytes": final.db_bytes - first.db_bytes,
        "wrong_zone_share": wrong_zone_share(
            Plan(messages.scenario, [], [], 0, None), zones, last_second
        ),
        "duplicates": src.get("duplicates", 0),
        "quarantined": sum(src.get("quarantined", {}).values()),
        "unknown_tags": src.get("unknown_tags", 0),
        "events_dropped": round(final.metrics.get("floki_events_dropped_total", 0.0)),
        "seconds": round(window, 2),
        "warmup_seconds": opts.warmup_s,
        "drain_seconds": round(out.drained_at - t1, 2),
        "cpu_event_loop_s": round(cpu[0], 2),
        "cpu_other_threads_s": round(cpu[1], 2),
        "cpu_us_per_message": round((cpu[0] + cpu[1]) / admitted * 1e6, 1) if admitted else None,
        "cpu_broker_s": round(last.broker_cpu - first.broker_cpu, 2),
        "cpu_client_s": round(last.client_cpu - first.client_cpu, 2),
        "cpu_publishers_s": round(publisher_cpu, 2),
        "publisher_per_cpu_s": round(published / publisher_cpu) if publisher_cpu else None,
        "publisher_late_max_ms": round(out.publisher_late * 1000, 1),
        "publishers": len(run.fleet.jobs),
        "exhausted": opts.rate is None and run.fleet.finished(),
    }


def run_espresense(opts: EspresenseOptions, *, profile_out: TextIO | None = None) -> dict[str, Any]:
    """Broker, appliance, publishers; the figures as one flat dict."""
    spec = opts.spec
    tmp = Path(tempfile.mkdtemp(prefix="floki-bench-mqtt-"))
    data_dir = tmp / "var"
    env = appliance_env()
    broker = Broker(tmp / "mosquitto")
    appliance = Appliance(
        data_dir, env, False, profile_path=tmp / "appliance.prof" if opts.profile else None
    )
    try:
        broker.start()
        new_data_dir(data_dir, env, tls=False)
        subscribe_to(data_dir, broker.port)
        db = Database(default_url(data_dir))
        try:
            load_register(db.engine, Layout(spec), spec.tags, dt.datetime.now(dt.UTC))
            bind_ibeacons(db, spec.tags)
        finally:
            db.close()
        api_token = issue_token(data_dir, name="bench")

        generated = time.perf_counter()
        scenario = Scenario(spec, dt.datetime.now(dt.UTC).replace(microsecond=0))
        wall = opts.warmup_s + opts.seconds
        per_second = spec.nominal_per_s  # the layout's messages per scenario second
        speed = None if opts.rate is None else opts.rate / per_second
        span = max(int(wall * (speed or MAX_PREPARED_PER_S / per_second)) + 2, 2)
        messages = prepare(scenario, span, opts.rate, max(opts.publishers, 1), tmp)
        generate_s = time.perf_counter() - generated
        baseline = run_message_baseline(
            messages.sample,
            {device_id(t): t + 1 for t in range(spec.tags)},
            {gateway_identifier(g): zone for g, zone in enumerate(scenario.layout.room_zone)},
            opts.baseline_budget_s,
        )

        appliance.start()
        figures = asyncio.run(_session(opts, messages, appliance, broker, api_token))
        appliance.stop()
        result = _assemble(opts, baseline, figures, generate_s)
        add_profile(result, appliance, opts.profile_top, profile_out)
        return result
    finally:
        appliance.stop()
        broker.stop()
        shutil.rmtree(tmp, ignore_errors=True)


async def _session(
    opts: EspresenseOptions,
    messages: Messages,
    appliance: Appliance,
    broker: Broker,
    api_token: str,
) -> dict[str, Any]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as session:
        driver = Driver(session, appliance.base_url, "", api_token, None)
        fleet = Fleet(messages.jobs, broker.port)
        run = Run(opts, messages, appliance, broker, driver, fleet)
        return await figures(run, await drive(run))


def _assemble(
    opts: EspresenseOptions, baseline: BaselineResult, figures: dict[str, Any], generate_s: float
) -> dict[str, Any]:
    base = baseline.per_s
    sightings = figures["sightings_per_s"]
    return {
        "scenario": opts.spec.name,
        "rate": "max" if opts.rate is None else opts.rate,
        "tags": opts.spec.tags,
        "gateways": opts.spec.gateways,
        "nominal_per_s": round(TARGET_PER_S),
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
        "tls": False,
        "profiled": opts.profile,
        "generate_seconds": round(generate_s, 2),
    }
