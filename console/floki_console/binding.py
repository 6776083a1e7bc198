"""A guard against a PySide6 defect that would crash the console after a few minutes.

PySide6 6.12.0 returns ``None`` from every void method without taking a reference to it.
From CPython 3.12 ``None`` is immortal (PEP 683) and that is harmless; on CPython 3.11 each
call takes one reference away, and after some thousands of calls (a few seconds of a live
map) Python aborts with "deallocating None". Where the defect is present, ``None`` is made
immortal here as CPython 3.12 does. The lasting fix is PySide6 6.11, or Python 3.12+.
"""

from __future__ import annotations

import ctypes
import logging
import sys

log = logging.getLogger(__name__)

_PROBE_CALLS = 64
_IMMORTAL = 1 << 40


def loses_none_references() -> bool:
    """Whether void calls into Qt take references to ``None`` away."""
    if sys.version_info >= (3, 12) or sys.implementation.name != "cpython":
        return False
    from PySide6.QtCore import QObject

    probe = QObject()
    before = sys.getrefcount(None)
    for _ in range(_PROBE_CALLS):
        probe.setObjectName("probe")
    return sys.getrefcount(None) <= before - _PROBE_CALLS // 2


def guard_qt_binding() -> bool:
    """Make ``None`` immortal if this PySide6 leaks it; True if it had to."""
    if not loses_none_references():
        return False
    import PySide6

    # ob_refcnt is the first field of every CPython object; id() is its address.
    refcount = ctypes.c_ssize_t.from_address(id(None))
    if refcount.value < _IMMORTAL:
        refcount.value += _IMMORTAL
    log.warning(
        "PySide6 %s loses references to None on Python %d.%d; worked around. "
        "Install PySide6 6.11 or use Python 3.12 or later.",
        PySide6.__version__,
        *sys.version_info[:2],
    )
    return True
