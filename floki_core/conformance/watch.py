"""What the conformance kit watches while a plugin runs: event-loop stalls, and what is
left behind once the appliance has stopped (tasks, threads, sockets, files).

A stall is time the event loop spends in one callback instead of serving everything else
(every other source, every HTTP request). A watchdog thread notices when the loop has not
come round for a while and samples its thread's stack, so the failure names the frame it
was in. It counts time blocked in a call in full, but of time the thread was ready to
run only what the machine let it run, and nothing spent in the garbage collector or
waiting for events: a loaded machine or a collection does not fail a plugin that is not
at fault.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import sys
import sysconfig
import threading
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

STALL_LIMIT_SECONDS = 0.1
STACK_SHOWN = 12  # innermost frames shown with a stall
_BEAT_SECONDS = 0.01  # how often the loop proves it is free
_SAMPLE_SECONDS = 0.005  # how often the watchdog looks
_STDLIB = sysconfig.get_paths()["stdlib"]


@dataclass(frozen=True)
class Stall:
    """One stretch of time the loop was stuck in a callback."""

    seconds: float
    frame: str  # the innermost frame outside the standard library, or the innermost
    stack: tuple[str, ...]  # innermost last

    def __str__(self) -> str:
        return f"the event loop stalled {self.seconds * 1000:.0f} ms in {self.frame}"


def _where(summary: traceback.FrameSummary) -> str:
    return f"{summary.filename}:{summary.lineno} in {summary.name}"


def _blamed(stack: traceback.StackSummary) -> str:
    """The frame to name: the innermost one that is not the standard library's (the code
    that called ``time.sleep`` or a blocking read), else the innermost."""
    for summary in reversed(stack):
        if not summary.filename.startswith(_STDLIB):
            return _where(summary)
    return _where(stack[-1]) if stack else "an unknown frame"


class LoopStallDetector:
    """Watches the running loop from a thread; ``stalls`` lists each stall over ``limit``.

    Start and stop it on the loop's own thread::

        detector = LoopStallDetector()
        detector.start()
        ...
        detector.stop()
        assert not detector.stalls, detector.report()
    """

    def __init__(self, limit: float = STALL_LIMIT_SECONDS) -> None:
        self.limit = limit
        self.stalls: list[Stall] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread = 0
        self._loop_native_id = 0
        self._cpu_clock: int | None = None
        self._beat = 0.0
        self._beat_handle: asyncio.TimerHandle | None = None
        self._halt = threading.Event()
        self._watchdog: threading.Thread | None = None
        self._collecting_since: float | None = None
        self._collected = 0.0  # seconds spent in the garbage collector, in total

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()
        self._loop_native_id = threading.get_native_id()
        with contextlib.suppress(AttributeError, OSError):
            self._cpu_clock = time.pthread_getcpuclockid(self._loop_thread)
        self._beat = time.monotonic()
        self._heartbeat()
        gc.callbacks.append(self._gc)
        self._halt.clear()
        self._watchdog = threading.Thread(
            target=self._watch, name="floki-conformance-stall-watchdog", daemon=True
        )
        self._watchdog.start()

    def stop(self) -> None:
        self._halt.set()
        if self._watchdog is not None:
            self._watchdog.join()
            self._watchdog = None
        if self._beat_handle is not None:
            self._beat_handle.cancel()
            self._beat_handle = None
        with contextlib.suppress(ValueError):
            gc.callbacks.remove(self._gc)

    def report(self) -> str:
        lines = []
        for stall in self.stalls:
            lines.append(f"{stall} (limit {self.limit * 1000:.0f} ms); stack, innermost last:")
            lines.extend(f"    {line}" for line in stall.stack[-STACK_SHOWN:])
        return "\n".join(lines)

    # --- on the loop -------------------------------------------------------------------

    def _heartbeat(self) -> None:
        self._beat = time.monotonic()
        assert self._loop is not None
        self._beat_handle = self._loop.call_later(_BEAT_SECONDS, self._heartbeat)

    def _gc(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._collecting_since = time.monotonic()
        elif self._collecting_since is not None:
            self._collected += time.monotonic() - self._collecting_since
            self._collecting_since = None

    # --- on the watchdog thread --------------------------------------------------------

    def _cpu(self) -> float | None:
        if self._cpu_clock is None:
            return None
        try:
            return time.clock_gettime(self._cpu_clock)
        except OSError:  # the thread has gone
            return None

    def _watch(self) -> None:
        stuck = 0.0  # counted seconds of the current stall
        stack: traceback.StackSummary | None = None
        woke, cpu, collected = time.monotonic(), self._cpu(), self._collected
        while not self._halt.wait(_SAMPLE_SECONDS):
            now, now_cpu, now_collected = time.monotonic(), self._cpu(), self._collected
            frame = None
            if now - self._beat > _BEAT_SECONDS * 2:
                frame = sys._current_frames().get(self._loop_thread)
            if frame is None or _waiting_for_events(frame):
                # The loop is free (or only late to wake from its wait for events): any
                # stall has ended.
                if stuck > self.limit and stack is not None:
                    self._record(stuck, stack)
                stuck, stack = 0.0, None
            else:
                elapsed = now - woke
                if _runnable(self._loop_native_id):
                    # Running, or ready to run but not given a CPU by a busy machine:
                    # only the time it really ran is the plugin's.
                    ran = (now_cpu - cpu) if now_cpu is not None and cpu is not None else 0.0
                    elapsed = min(elapsed, max(ran, 0.0))
                # else blocked (a sleep, a read, a join): every moment counts.
                in_gc = now_collected - collected
                if self._collecting_since is not None:
                    in_gc += now - max(self._collecting_since, woke)
                stuck += max(elapsed - in_gc, 0.0)
                if stuck > self.limit / 2:
                    stack = _stack(frame)
            woke, cpu, collected = now, now_cpu, now_collected
        if stuck > self.limit and stack is not None:
            self._record(stuck, stack)

    def _record(self, seconds: float, stack: traceback.StackSummary) -> None:
        self.stalls.append(Stall(seconds, _blamed(stack), tuple(_where(s) for s in stack)))


def _stack(frame: FrameType) -> traceback.StackSummary:
    return traceback.extract_stack(frame)


def _waiting_for_events(frame: FrameType) -> bool:
    """Whether the loop's thread is in the selector's wait: idle, not stuck."""
    code = frame.f_code
    return code.co_name in ("select", "poll") and code.co_filename.endswith("selectors.py")


def _runnable(native_id: int) -> bool:
    """Whether the thread is running or waiting for a CPU (Linux state R), as opposed to
    blocked in a call; True where /proc cannot tell."""
    try:
        stat = Path(f"/proc/self/task/{native_id}/stat").read_text()
    except OSError:
        return True
    return stat.rpartition(")")[2].split()[:1] == ["R"]


# --- what is left behind ------------------------------------------------------------------


@dataclass(frozen=True)
class Resources:
    """Tasks, threads and open file descriptors of this process at one moment."""

    tasks: frozenset[asyncio.Task[Any]]
    threads: frozenset[threading.Thread]
    fds: frozenset[tuple[int, str]] = field(default_factory=frozenset)


def open_fds() -> frozenset[tuple[int, str]]:
    """(descriptor, what it is) for every open descriptor; empty where /proc is not."""
    found = set()
    folder = Path("/proc/self/fd")
    with contextlib.suppress(OSError):
        for entry in os.listdir(folder):
            with contextlib.suppress(OSError):
                found.add((int(entry), os.readlink(folder / entry)))
    return frozenset(found)


def resources() -> Resources:
    """A snapshot, taken on the loop's thread."""
    return Resources(
        tasks=frozenset(asyncio.all_tasks()),
        threads=frozenset(threading.enumerate()),
        fds=open_fds(),
    )


def _idle_pool_worker(thread: threading.Thread) -> bool:
    """A thread pool's worker waiting for work: the loop's default executor keeps these
    for the loop's life, whoever used them last."""
    frame = sys._current_frames().get(thread.ident or 0)
    while frame is not None:
        if frame.f_code.co_name == "_worker" and "concurrent" in frame.f_code.co_filename:
            return True
        frame = frame.f_back
    return False


def left_behind(
    before: Resources, after: Resources, *, allowed_fds: frozenset[str] = frozenset()
) -> list[str]:
    """What exists after that did not before, in words; ``allowed_fds`` are descriptor
    targets the test itself holds."""
    current = asyncio.current_task()
    problems = []
    for task in sorted(after.tasks - before.tasks, key=lambda t: t.get_name()):
        if task is current or task.done():
            continue
        coro = task.get_coro()
        where = getattr(coro, "__qualname__", repr(coro))
        problems.append(f"task {task.get_name()!r} ({where}) is still running")
    for thread in sorted(after.threads - before.threads, key=lambda t: t.name):
        if not thread.is_alive() or _idle_pool_worker(thread):
            continue
        frame = sys._current_frames().get(thread.ident or 0)
        at = _where(traceback.extract_stack(frame)[-1]) if frame is not None else "?"
        problems.append(f"thread {thread.name!r} is still running (at {at})")
    for fd, target in sorted(after.fds - before.fds):
        if target in allowed_fds:
            continue
        problems.append(f"file descriptor {fd} ({target}) is still open")
    return problems
