"""The conformance kit's own watchers: a blocked event loop is caught and its frame
named; tasks, threads and descriptors left behind are listed."""

from __future__ import annotations

import asyncio
import os
import threading
import time

from floki_core.conformance.watch import LoopStallDetector, left_behind, resources


def blocking_read_of_a_slow_port() -> None:
    time.sleep(0.3)


async def test_a_callback_that_blocks_the_loop_is_a_stall_naming_its_frame() -> None:
    detector = LoopStallDetector()
    detector.start()
    try:
        await asyncio.sleep(0.05)
        blocking_read_of_a_slow_port()
        await asyncio.sleep(0.05)
    finally:
        detector.stop()
    [stall] = detector.stalls
    assert 0.2 < stall.seconds < 1.0
    assert "blocking_read_of_a_slow_port" in stall.frame
    assert "test_kit_watch.py" in stall.frame
    assert "stalled" in detector.report() and "blocking_read_of_a_slow_port" in detector.report()


async def test_awaiting_and_short_callbacks_are_no_stall() -> None:
    detector = LoopStallDetector()
    detector.start()
    try:
        for _ in range(10):
            time.sleep(0.02)  # short work between awaits is what a loop is for
            await asyncio.sleep(0.02)
        await asyncio.to_thread(time.sleep, 0.3)  # slow work off the loop
    finally:
        detector.stop()
    assert detector.stalls == []


async def test_a_task_a_thread_and_a_file_left_behind_are_named() -> None:
    before = resources()
    release = threading.Event()
    thread = threading.Thread(target=release.wait, name="reader-of-port-7", daemon=True)
    thread.start()
    task = asyncio.create_task(asyncio.Event().wait(), name="espresense-reader")
    read_end, write_end = os.pipe()
    try:
        found = left_behind(before, resources())
        assert any("'espresense-reader'" in p and "still running" in p for p in found), found
        assert any("'reader-of-port-7'" in p for p in found), found
        assert sum("pipe:" in p for p in found) == 2, found
    finally:
        task.cancel()
        release.set()
        thread.join()
        os.close(read_end)
        os.close(write_end)
    await asyncio.sleep(0)
    assert left_behind(before, resources()) == []
