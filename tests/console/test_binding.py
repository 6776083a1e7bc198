"""The console survives hours of Qt calls whichever PySide6 is installed (6.12.0 on
Python 3.11 takes a reference to None away on every void call)."""

from __future__ import annotations

import subprocess
import sys

SCRIPT = """
from PySide6.QtCore import QObject
from floki_console.binding import guard_qt_binding
guard_qt_binding()
probe = QObject()
for _ in range(200_000):
    probe.setObjectName("map marker")
print("still running")
"""


def test_many_qt_calls_do_not_abort_the_console() -> None:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=120
    )

    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "still running"
