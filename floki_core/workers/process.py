"""A worker process of the appliance: ``python -m <module> <args>`` with the sockets it
is to use passed down by file descriptor, watched, restarted by its owner when it ends,
and ended with the appliance.

A worker learns that the appliance has gone when its channel (``channel.FrameChannel``)
closes, so one that outlives a killed appliance exits on its own instead of holding the
port; the owner keeps the listening socket, so connections that arrive while a worker
restarts wait in the kernel's backlog rather than being refused.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import sys
from collections.abc import Sequence

__all__ = ["WorkerProcess", "default_worker_count"]

log = logging.getLogger("floki.workers")

# A worker asked to stop that is still there after this long is killed.
STOP_GRACE_SECONDS = 3.0


def default_worker_count() -> int:
    """Worker processes for ``auto``: one when the machine has a core to spare for it
    beside the event loop's, none on a single core (there the hand-over only costs)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return 1 if (cores or 1) >= 2 else 0


class WorkerProcess:
    """One worker: ``start`` it with the sockets it inherits, ``wait`` for it to end,
    ``stop`` it. ``name`` is for the log."""

    def __init__(self, name: str, module: str, args: Sequence[str] = ()) -> None:
        self.name = name
        self.module = module
        self.args = list(args)
        self.process: asyncio.subprocess.Process | None = None

    @property
    def pid(self) -> int | None:
        return None if self.process is None else self.process.pid

    async def start(self, inherit: Sequence[socket.socket]) -> None:
        """Start the worker; each socket in ``inherit`` is open in it under the same
        descriptor number (the caller passes the numbers in ``args``)."""
        fds = [s.fileno() for s in inherit]
        for fd in fds:
            os.set_inheritable(fd, True)
        self.process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            self.module,
            *self.args,
            pass_fds=fds,
            stdin=asyncio.subprocess.DEVNULL,
        )
        log.info("started %s (pid %s)", self.name, self.process.pid)

    async def wait(self) -> int:
        """The worker's exit status once it has ended (negative: the signal that ended it)."""
        if self.process is None:
            raise RuntimeError(f"{self.name} was never started")
        return await self.process.wait()

    async def stop(self) -> None:
        """Ask the worker to end (SIGTERM); kill it if it has not within the grace time."""
        process = self.process
        if process is None or process.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), STOP_GRACE_SECONDS)
        except TimeoutError:
            log.warning("%s did not stop within %.0f s: killed", self.name, STOP_GRACE_SECONDS)
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()
