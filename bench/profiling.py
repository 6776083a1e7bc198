"""``floki-core serve`` under cProfile in every thread: the event loop and its workers.

``python -m cProfile`` sees only the main thread, but the appliance also spends CPU in
the threads ``asyncio.to_thread`` starts for database work (token checks, location
writes), and under the GIL that time is taken from the event loop. Each thread gets its
own profiler; at exit the event loop's profile is written to ``PREFIX.main`` and the
other threads' profiles, merged, to ``PREFIX.threads``.

    python -m bench.profiling PREFIX [floki-core arguments ...]
"""

from __future__ import annotations

import cProfile
import pstats
import sys
import threading
from types import FrameType
from typing import Any

from floki_core.cli import main as floki_core

_profiles: list[cProfile.Profile] = []
_lock = threading.Lock()


def _start_thread_profile(_frame: FrameType, _event: str, _arg: Any) -> None:
    # Called once at each new thread's first event: hand the thread its own profiler.
    sys.setprofile(None)
    profile = cProfile.Profile()
    with _lock:
        _profiles.append(profile)
    profile.enable()


def run(prefix: str, argv: list[str]) -> int:
    threading.setprofile(_start_thread_profile)
    main = cProfile.Profile()
    main.enable()
    try:
        return floki_core(argv)
    finally:
        main.disable()
        main.dump_stats(f"{prefix}.main")
        with _lock:
            threads = list(_profiles)
        if threads:
            pstats.Stats(*threads).dump_stats(f"{prefix}.threads")


if __name__ == "__main__":
    sys.exit(run(sys.argv[1], sys.argv[2:]))
