"""The console benchmark runs and reports both of its figures (a tiny run; numbers are for
``make bench``)."""

from __future__ import annotations

import json
import os
import subprocess
import sys


def test_the_console_benchmark_prints_its_figures() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "floki_console.bench", "--markers", "300", "--seconds", "0.5"],
        capture_output=True,
        text=True,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
        timeout=120,
    )

    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["scenario"] == "console"
    assert result["markers"] == 300
    assert result["first_window_seconds"] > 0
    assert result["map_updates_per_s"] > 0
    assert done.returncode in (0, 1), done.stderr  # 1: a target missed, said in the JSON
