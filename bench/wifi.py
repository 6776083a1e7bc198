"""The ``wifi`` scenario: a wireless controller's syslog through the Wi-Fi plugin's real
listener, 95 % of it about phones no asset carries.

The appliance runs in its own process with ``[plugin.wifi] listen_host`` on loopback and
its syslog listener on free UDP and TCP ports; the register has ``--access-points``
access points (receivers of technology ``wifi``) and ``--pumps`` pumps bound by their Wi-Fi
MAC (``bench/wifi_site.py``). ``[location] capture_sample = 1`` has the core write every
observation it admitted, which is how the bench counts what reached the core.

1. baseline: the max phase's lines read whole in a bare loop in the bench's process
   (``syslog_records.read_line``: the header, the dialect's expression, the MAC spelt;
   no filter, no core): lines per CPU second, the best of three;
2. nominal: ``--rate`` lines a second (50,000) as UDP datagrams, one line each, as a
   controller sends them, for ``--seconds``; ``nominal_lost`` is the pumps' lines that
   did not reach the core (a datagram the kernel dropped is lost: UDP has no flow control);
3. max: ``--connections`` TCP streams (RFC 6587, a line a message) written as fast as
   the appliance reads them, for ``--seconds``; the bench waits until the core has every
   pump's line. ``syslog_lines_per_s`` is the lines per CPU second the appliance spent
   (per core: the machine is shared), ``syslog_lines_per_s_wall`` the lines over the
   time until the core had them all, ``ratio`` the CPU figure over the baseline's, and
   ``lost`` the pumps' lines sent less the observations the core admitted.

Every phone's line must be counted (``unknown_counted`` against ``unknown_sent``): none
may reach the core.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import shutil
import socket
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import aiohttp
from floki_wifi.syslog_config import SyslogSettings
from floki_wifi.syslog_dialects import dialects_for
from floki_wifi.syslog_records import read_line

from bench.product import (
    HOST,
    Appliance,
    BenchError,
    add_profile,
    admin_token,
    appliance_env,
    new_data_dir,
    percentile,
)
from bench.site_rows import best_rate, drained, round_1, targets_met
from bench.wifi_site import (
    SOURCE,
    CaptureTail,
    Traffic,
    WifiOptions,
    configure_wifi,
    load_register,
)
from floki_core.storage.database import Database, default_url

__all__ = ["WifiOptions", "run_wifi"]

LISTEN_TIMEOUT_S = 30.0
NOMINAL_TICK_S = 0.005
MOVE_EVENT = "location.changed"
TARGETS = {
    "syslog_lines_per_s": (">=", 50_000.0),
    "ratio": (">=", 0.25),
    "lost": ("<=", 0),
    "nominal_lost": ("<=", 0),
}
LATENCY_SETTLE_S = 1.0  # the last moves reach the WebSocket


def bare_parse_baseline(lines: Sequence[bytes], budget_s: float, passes: int = 3) -> float:
    """Lines per CPU second ``read_line`` gets through in a bare loop: the best of
    ``passes`` (the slower ones measure whatever else the machine did)."""
    dialects = dialects_for(SyslogSettings())
    now = dt.datetime.now(dt.UTC)

    def one_pass() -> int:
        for raw in lines:
            read_line(raw, dialects, now, dt.UTC)
        return len(lines)

    return best_rate(one_pass, budget_s, passes)


def udp_receive_errors() -> int:
    """The kernel's count of datagrams dropped for a full receive buffer (all sockets:
    the run's are the only busy ones on loopback)."""
    lines = Path("/proc/net/snmp").read_text().splitlines()
    udp = [line.split() for line in lines if line.startswith("Udp:")]
    if len(udp) < 2 or "RcvbufErrors" not in udp[0]:
        return 0
    return int(udp[1][udp[0].index("RcvbufErrors")])


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


class Run:
    def __init__(
        self,
        opts: WifiOptions,
        appliance: Appliance,
        token: str,
        traffic: Traffic,
        ports: tuple[int, int],
    ) -> None:
        self.opts = opts
        self.appliance = appliance
        self.headers = {"Authorization": f"Bearer {token}"}
        self.traffic = traffic
        self.udp_port, self.tcp_port = ports
        self.capture = CaptureTail(appliance.data_dir / "capture")
        self.moved: dict[int, float] = {}  # pump line number -> when its move arrived

    async def source(self, session: aiohttp.ClientSession) -> dict[str, Any]:
        async with session.get(
            self.appliance.base_url + "/api/v1/sources", headers=self.headers
        ) as resp:
            body = await resp.json()
        for item in body["items"]:
            if item["name"] == SOURCE:
                found: dict[str, Any] = item
                return found
        return {}

    async def listen(self, session: aiohttp.ClientSession, ready: asyncio.Event) -> None:
        """The events WebSocket: when each pump line's move arrived (``location.changed``
        repeats the time of the observation that moved the asset: the line's)."""
        url = self.appliance.base_url.replace("http", "ws", 1) + "/api/v1/events"
        async with session.ws_connect(url, headers=self.headers, max_msg_size=64 * 2**20) as ws:
            ready.set()
            async for msg in ws:
                if msg.type != aiohttp.WSMsgType.TEXT:
                    break
                arrived = time.perf_counter()
                for event in json.loads(msg.data):
                    if event.get("type") == MOVE_EVENT:
                        at = dt.datetime.fromisoformat(event["at"])
                        self.moved.setdefault(self.traffic.line_number(at), arrived)

    async def listening(self) -> None:
        deadline = time.perf_counter() + LISTEN_TIMEOUT_S
        while True:
            try:
                _, writer = await asyncio.open_connection(HOST, self.tcp_port)
            except OSError:
                if time.perf_counter() > deadline:
                    raise BenchError(
                        f"the syslog listener did not open TCP {self.tcp_port}:\n"
                        f"{self.appliance.log_tail()}"
                    ) from None
                await asyncio.sleep(0.05)
                continue
            writer.close()
            await writer.wait_closed()
            return

    async def drained(self, want: int) -> bool:
        """Wait until the core has ``want`` observations from the listener (True), or
        nothing more reaches it while the appliance sits idle (False)."""
        return await drained(self.appliance, self.capture.poll, want)

    async def nominal(self) -> float:
        """``rate`` datagrams a second, a line each; returns the rate offered."""
        opts, traffic = self.opts, self.traffic
        sent_before = traffic.sent
        target = (HOST, self.udp_port)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 * 2**20)
            sendto = sock.sendto
            started = time.perf_counter()
            end = started + opts.seconds
            due = 0.0
            while (now := time.perf_counter()) < end:
                count = int((now - started) * opts.rate - due)
                if count > 0:
                    due += count
                    for raw in traffic.block(count):
                        sendto(raw, target)
                await asyncio.sleep(NOMINAL_TICK_S)
        return (traffic.sent - sent_before) / (time.perf_counter() - started)

    async def max_rate(self) -> float:
        """Every connection writes blocks of lines as fast as the appliance reads them;
        returns the seconds spent sending."""
        end = time.perf_counter() + self.opts.seconds
        traffic = self.traffic

        async def flat_out() -> None:
            _, writer = await asyncio.open_connection(HOST, self.tcp_port)
            try:
                while time.perf_counter() < end:
                    writer.write(b"\n".join(traffic.block()) + b"\n")
                    await writer.drain()
            finally:
                writer.close()
                await writer.wait_closed()

        started = time.perf_counter()
        await asyncio.gather(*(flat_out() for _ in range(max(self.opts.connections, 1))))
        return time.perf_counter() - started


def _unknown(entry: dict[str, Any]) -> int:
    rejected = entry.get("rejected") or {}
    return int(rejected.get("unknown_device", 0))


async def _run(opts: WifiOptions, appliance: Appliance, token: str, run: Run) -> dict[str, Any]:
    traffic = run.traffic
    result: dict[str, Any] = {
        "scenario": "wifi",
        "pumps": opts.pumps,
        "phones": opts.phones,
        "access_points": opts.access_points,
        "known_share": opts.known_share,
    }
    async with aiohttp.ClientSession() as session:
        await run.listening()
        ready = asyncio.Event()
        listener = asyncio.create_task(run.listen(session, ready))
        await asyncio.wait_for(ready.wait(), 30)
        traffic.sent_at = {}
        # Nominal: UDP at the controller's rate.
        drops_before, nominal_cpu_before = udp_receive_errors(), sum(appliance.cpu_seconds())
        nominal_started = time.perf_counter()
        offered = await run.nominal()
        # The appliance's CPU while the lines arrived: the share of a core 50,000 a
        # second cost (on a machine shared with the sender and others).
        nominal_cpu = sum(appliance.cpu_seconds()) - nominal_cpu_before
        nominal_wall = time.perf_counter() - nominal_started
        nominal_drained = await run.drained(traffic.known_sent)
        await asyncio.sleep(LATENCY_SETTLE_S)
        sent_at, traffic.sent_at = traffic.sent_at, None
        delays = [(run.moved[n] - t) * 1000 for n, t in sent_at.items() if n in run.moved]
        listener.cancel()
        result["latency_event"] = MOVE_EVENT
        result["latency_p50_ms"] = round_1(percentile(delays, 50))
        result["latency_p99_ms"] = round_1(percentile(delays, 99))
        result["latency_samples"] = len(delays)
        result["nominal_lines_per_s"] = round(offered, 1)
        result["nominal_cpu_share"] = round(nominal_cpu / nominal_wall, 3)
        result["cpu_us_per_nominal_line"] = round(nominal_cpu / max(traffic.sent, 1) * 1e6, 3)
        result["udp_receive_buffer_drops"] = udp_receive_errors() - drops_before
        result["nominal_lines"] = traffic.sent
        result["nominal_drained"] = nominal_drained
        result["nominal_lost"] = max(0, traffic.known_sent - run.capture.observations)
        captured_before = run.capture.observations
        known_before = traffic.known_sent
        unknown_before = traffic.unknown_sent
        counted_before = _unknown(await run.source(session))
        # Max: TCP flat out.
        cpu_before = appliance.cpu_seconds()
        started = time.perf_counter()
        sending = await run.max_rate()
        sent_known = traffic.known_sent - known_before
        drained = await run.drained(captured_before + sent_known)
        through = time.perf_counter() - started
        cpu_after = appliance.cpu_seconds()
        loop_s, threads_s = cpu_after[0] - cpu_before[0], cpu_after[1] - cpu_before[1]
        lines = traffic.sent - known_before - unknown_before
        per = max(lines, 1)
        result["max_lines"] = lines
        result["max_sending_s"] = round(sending, 2)
        result["syslog_lines_per_s"] = round(lines / max(loop_s + threads_s, 1e-9), 1)
        result["syslog_lines_per_s_wall"] = round(lines / through, 1) if drained else None
        result["cpu_event_loop_us_per_line"] = round(loop_s / per * 1e6, 3)
        result["cpu_other_threads_us_per_line"] = round(threads_s / per * 1e6, 3)
        result["known_sent"] = sent_known
        result["known_observed"] = run.capture.observations - captured_before
        result["lost"] = max(0, sent_known - result["known_observed"])
        await asyncio.sleep(0.5)  # the last batch's counts reach GET /api/v1/sources
        entry = await run.source(session)
        result["unknown_sent"] = traffic.unknown_sent - unknown_before
        result["unknown_counted"] = _unknown(entry) - counted_before
        result["rejected"] = entry.get("rejected") or {}
        rss, peak = appliance.rss()
        result["rss_mb"] = round(rss / 2**20, 1)
        result["rss_peak_mb"] = round(peak / 2**20, 1)
    return result


def run_wifi(opts: WifiOptions) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix="floki-bench-wifi-"))
    env = appliance_env()
    appliance = Appliance(
        tmp / "var", env, False, profile_path=tmp / "appliance.prof" if opts.profile else None
    )
    try:
        now = dt.datetime.now(dt.UTC)
        # The pumps' lines are dated from two minutes ago, a microsecond apart.
        traffic = Traffic(opts, now.replace(microsecond=0) - dt.timedelta(seconds=120))
        baseline = bare_parse_baseline(traffic.sample(20_000), opts.baseline_budget_s)
        data_dir = appliance.data_dir
        new_data_dir(data_dir, env, tls=False)
        ports = (_free_port(), _free_port())
        configure_wifi(data_dir, *ports)
        db = Database(default_url(data_dir))
        try:
            load_register(db, opts, now)
            token = admin_token(db)
        finally:
            db.close()
        appliance.start()
        try:
            run = Run(opts, appliance, token, traffic, ports)
            result = asyncio.run(_run(opts, appliance, token, run))
        finally:
            appliance.stop()
        add_profile(result, appliance)
        result["baseline_lines_per_s"] = round(baseline, 1)
        rate = result.get("syslog_lines_per_s")
        result["ratio"] = round(rate / baseline, 3) if rate and baseline else None
        result["targets_met"] = targets_met(result, TARGETS)
        return result
    finally:
        appliance.stop()
        shutil.rmtree(tmp, ignore_errors=True)
