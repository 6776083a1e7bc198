"""Stopping closes the database only once work already running in a thread is done: a
task cancelled while it awaited that work does not stop the thread, and a connection
still out when the pool is closed would keep the database's files open."""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
from pathlib import Path

from sqlalchemy import text

from floki_core.storage.database import Database, default_url


def _open_under(directory: Path) -> list[str]:
    found = []
    for fd in os.listdir("/proc/self/fd"):
        with contextlib.suppress(OSError):
            target = os.readlink(f"/proc/self/fd/{fd}")
            if target.startswith(str(directory)):
                found.append(target)
    return found


async def test_close_waits_for_work_still_running_in_a_thread(tmp_path: Path) -> None:
    db = Database(default_url(tmp_path))
    db.migrate()
    started, release = threading.Event(), threading.Event()

    def slow_read() -> None:
        with db.sessions() as session:
            session.execute(text("SELECT 1"))
            started.set()
            release.wait(5)

    task = asyncio.create_task(db.run(slow_read))
    assert await asyncio.to_thread(started.wait, 5)
    task.cancel()  # the appliance stopping: the thread runs on
    closing = asyncio.create_task(db.aclose())
    await asyncio.sleep(0.1)
    assert not closing.done()  # waits for the read still in its thread
    release.set()
    await closing
    with contextlib.suppress(asyncio.CancelledError):
        await task
    assert _open_under(tmp_path) == []
