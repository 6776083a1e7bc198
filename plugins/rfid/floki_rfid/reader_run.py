"""How a fixed reader's source runs: its reading and its window's ticking side by side
until the reading ends or the source is stopped, then whatever was received handed to the
core, however it ended; the reading's error, if any, raised for the supervisor."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any


async def run_reading(
    reading: Coroutine[Any, Any, None],
    ticking: Coroutine[Any, Any, None],
    stopping: asyncio.Event,
    hand_over: Callable[[], Awaitable[None]],
    goodbye: Callable[[asyncio.Future[None]], Awaitable[None]] | None = None,
) -> None:
    """Run ``reading`` and ``ticking`` until ``reading`` ends or ``stopping`` is set.
    ``goodbye(reading)``, if given, runs after both are cancelled and before they are
    awaited: a reader that is asked to stop is given its moment to answer there."""
    read = asyncio.ensure_future(reading)
    tick = asyncio.ensure_future(ticking)
    stop = asyncio.ensure_future(stopping.wait())
    try:
        await asyncio.wait({read, stop}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (read, tick, stop):
            task.cancel()
        if goodbye is not None:
            await goodbye(read)
        await asyncio.gather(read, tick, stop, return_exceptions=True)
        # Whatever was received reaches the core, however the session ended.
        await hand_over()
    if not read.cancelled() and read.exception() is not None:
        raise read.exception()  # type: ignore[misc]
