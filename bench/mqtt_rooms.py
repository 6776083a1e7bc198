"""A Mosquitto broker started for a bench run, and ESPresense rooms publishing to it.

Pure socket and process plumbing for the ``espresense`` scenario (bench/espresense.py):
the broker on a free loopback port with its ``$SYS`` counters, and publisher processes
writing pre-encoded MQTT PUBLISH packets for each room.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bench.product import HOST, BenchError

PREFIX = "espresense"
SYS_INTERVAL_S = 1
DISCONNECT = b"\xe0\x00"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# --- the broker --------------------------------------------------------------------------


def find_mosquitto() -> str:
    named = os.environ.get("FLOKI_MOSQUITTO") or shutil.which("mosquitto")
    for candidate in (named, "/usr/sbin/mosquitto"):  # Debian keeps it off a user's PATH
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    raise BenchError("mosquitto not found (apt-get install mosquitto, or set FLOKI_MOSQUITTO)")


class Broker:
    """A throwaway Mosquitto on a free loopback port, publishing ``$SYS`` every second."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.port = 0
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = root / "mosquitto.log"

    def start(self) -> None:
        executable = find_mosquitto()
        self.root.mkdir(parents=True, exist_ok=True)
        config = self.root / "mosquitto.conf"
        for _attempt in range(3):
            # Free when probed, but another process may take the port before the broker.
            port = free_port()
            config.write_text(
                f"listener {port} {HOST}\nallow_anonymous true\npersistence false\n"
                f"sys_interval {SYS_INTERVAL_S}\nlog_dest stderr\n"
                "log_type error\nlog_type warning\nlog_type notice\n"
            )
            with self.log_path.open("wb") as log:
                self.proc = subprocess.Popen(
                    [executable, "-c", str(config)],
                    cwd=self.root,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            deadline = time.monotonic() + 10
            while self.proc.poll() is None and time.monotonic() < deadline:
                with contextlib.suppress(OSError), socket.create_connection((HOST, port), 0.5):
                    self.port = port
                    return
                time.sleep(0.02)
            self.stop()
            if "already in use" not in self.log_path.read_text(errors="replace"):
                break
        raise BenchError(f"mosquitto did not start:\n{self.log_path.read_text(errors='replace')}")

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)

    def cpu_seconds(self) -> float:
        return cpu_seconds(self.proc.pid) if self.proc is not None else 0.0


class BrokerCounters:
    """The broker's ``$SYS/broker/publish/messages/{received,sent,dropped}``, as last told."""

    def __init__(self) -> None:
        self.values: dict[str, int] = {}
        self.updates = 0

    async def follow(self, port: int, subscribed: asyncio.Event) -> None:
        import aiomqtt

        async with aiomqtt.Client(HOST, port, identifier="bench-sys") as client:
            await client.subscribe("$SYS/broker/publish/messages/+")
            subscribed.set()
            async for message in client.messages:
                if isinstance(message.payload, bytes):
                    self.values[message.topic.value.rsplit("/", 1)[-1]] = int(message.payload)
                    self.updates += 1

    async def settled(self) -> dict[str, int]:
        """The counters as of a publication made after this call (traffic has stopped)."""
        await asyncio.sleep(SYS_INTERVAL_S + 0.2)
        seen, deadline = self.updates, time.monotonic() + 5 * SYS_INTERVAL_S
        while self.updates == seen and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.2)
        return dict(self.values)


# --- the publishers ----------------------------------------------------------------------


def _string(data: bytes) -> bytes:
    return len(data).to_bytes(2, "big") + data


def _packet(first_byte: int, body: bytes) -> bytes:
    length, size = bytearray(), len(body)
    while True:
        size, digit = divmod(size, 128)
        length.append(digit | (0x80 if size else 0))
        if not size:
            return bytes([first_byte]) + bytes(length) + body


def publish_packet(topic: str, payload: bytes) -> bytes:
    """MQTT 3.1.1 PUBLISH, QoS 0, not retained: what a room sends for each advert."""
    return _packet(0x30, _string(topic.encode()) + payload)


def connect_room(port: int, room: str) -> socket.socket:
    """A room's session as ESPresense opens it: its last will, then retained "online"."""
    sock = socket.create_connection((HOST, port), timeout=30)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    status = f"{PREFIX}/rooms/{room}/status".encode()
    flags = 0x02 | 0x04 | 0x20  # clean session, a will, retained
    hello = _string(b"MQTT") + bytes([4, flags]) + (0).to_bytes(2, "big")
    hello += _string(f"bench-{room}".encode()) + _string(status) + _string(b"offline")
    sock.sendall(_packet(0x10, hello))
    answer = b""
    while len(answer) < 4:
        chunk = sock.recv(4 - len(answer))
        if not chunk:
            break
        answer += chunk
    if answer != b"\x20\x02\x00\x00":
        raise BenchError(f"the broker refused room {room}: {answer!r}")
    sock.sendall(_packet(0x31, _string(status) + b"online"))
    return sock


@dataclass(frozen=True)
class Job:
    """One publisher's rooms and its messages (an .npz: packets, room, due time)."""

    index: int
    path: str
    rooms: list[str]
    paced: bool
    messages: int


class Fleet:
    """Publisher processes and the few shared numbers that steer them."""

    def __init__(self, jobs: list[Job], port: int) -> None:
        ctx = multiprocessing.get_context("spawn")
        self.jobs = jobs
        self.start_at = ctx.RawValue("d", 0.0)
        self.stopping = ctx.RawValue("b", 0)
        self.ready = ctx.Value("i", 0)
        self.allowed = [ctx.RawValue("q", job.messages if job.paced else 0) for job in jobs]
        self.published = [ctx.RawValue("q", 0) for _ in jobs]
        self.procs = [
            ctx.Process(
                target=publish,
                args=(job, port, self.start_at, self.stopping, self.ready, a, p),
                name=f"espresense-publisher-{job.index}",
                daemon=True,
            )
            for job, a, p in zip(jobs, self.allowed, self.published, strict=True)
        ]
        self.total = sum(job.messages for job in jobs)

    def start(self) -> None:
        for proc in self.procs:
            proc.start()

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while self.ready.value < len(self.procs):
            if any(p.exitcode is not None for p in self.procs) or time.monotonic() > deadline:
                raise BenchError("a publisher failed to connect its rooms (see stderr)")
            time.sleep(0.02)

    def go(self) -> float:
        self.start_at.value = time.time() + 0.05
        return float(self.start_at.value)

    def allow(self, total: int) -> None:
        # Each publisher owns its share of the rooms, and so of the traffic.
        for job, allowed in zip(self.jobs, self.allowed, strict=True):
            allowed.value = min(job.messages, -(-total * job.messages // max(self.total, 1)))

    def finished(self) -> bool:
        return all(p.value >= j.messages for p, j in zip(self.published, self.jobs, strict=True))

    def stop(self) -> None:
        self.stopping.value = 1

    def join(self) -> list[tuple[np.ndarray[Any, Any], float, float]]:
        """Per publisher: each message's publish time (NaN: never sent), CPU, lateness."""
        for proc in self.procs:
            proc.join(60)
            if proc.exitcode != 0:
                raise BenchError(f"{proc.name} exited with {proc.exitcode} (see stderr)")
        found = []
        for job in self.jobs:
            with np.load(job.path + ".out.npz") as out:
                found.append((out["times"], float(out["cpu"]), float(out["late"])))
        return found

    def close(self) -> None:
        self.stop()
        for proc in self.procs:
            if proc.is_alive():
                proc.join(5)
            if proc.is_alive():
                proc.terminate()


def publish(
    job: Job,
    port: int,
    start_at: Any,
    stopping: Any,
    ready: Any,
    allowed: Any,
    published: Any,
) -> None:
    """A publisher process: its rooms' connections, then each message at its due time
    (paced) or as far as ``allowed`` lets it (max); every message's send time saved."""
    with np.load(job.path) as data:
        blob = memoryview(data["blob"].tobytes())
        ends = [0, *data["ends"].tolist()]
        rooms = data["room"].tolist()
        due = data["due"]
    socks = [connect_room(port, room) for room in job.rooms]
    with ready.get_lock():
        ready.value += 1
    while start_at.value == 0 and not stopping.value:
        time.sleep(0.002)
    start = start_at.value
    while time.time() < start:
        time.sleep(0.001)
    cpu = time.process_time()  # what publishing costs, not starting the process
    n, i, late = len(rooms), 0, 0.0
    times = np.full(n, np.nan)
    while i < n and not stopping.value:
        now = time.time()
        if job.paced:
            j = int(np.searchsorted(due, now - start, side="right"))
            if j <= i:
                time.sleep(min(max(start + due[i] - now, 0.0005), 0.005))
                continue
            late = max(late, now - start - float(due[i]))
        else:
            j = min(n, allowed.value)
            if j <= i:
                time.sleep(0.001)
                continue
        parts: dict[int, list[memoryview]] = {}
        for k in range(i, j):
            parts.setdefault(rooms[k], []).append(blob[ends[k] : ends[k + 1]])
        for room, packets in parts.items():
            socks[room].sendall(b"".join(packets))
        times[i:j] = now
        published.value = i = j
    for sock in socks:
        with contextlib.suppress(OSError):
            sock.sendall(DISCONNECT)  # a clean goodbye: no last will
        sock.close()
    np.savez(job.path + ".out.npz", times=times, cpu=time.process_time() - cpu, late=late)
