"""The installed plugins: the ``floki`` entry points of every distribution on the path.

Scanning every installed distribution's metadata takes tens of milliseconds, so the scan
is made once for each ``sys.path`` (and each ``importlib.metadata.entry_points``, which
tests replace): a plugin put on the path is seen at once, and a process that starts
appliances over and over (the test suite) does not pay for the scan each time.
"""

from __future__ import annotations

import importlib.metadata
import sys

ENTRY_POINT_GROUP = "floki"

_FOUND: dict[tuple[object, tuple[str, ...]], tuple[importlib.metadata.EntryPoint, ...]] = {}
_KEPT = 16  # sys.path spellings remembered at most


def plugin_entry_points() -> tuple[importlib.metadata.EntryPoint, ...]:
    """The ``floki`` entry points on the current path, sorted by plugin name (a name
    installed twice keeps the order the path found them in)."""
    key = (importlib.metadata.entry_points, tuple(sys.path))
    found = _FOUND.get(key)
    if found is None:
        if len(_FOUND) >= _KEPT:
            _FOUND.clear()
        points = importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)
        found = _FOUND[key] = tuple(sorted(points, key=lambda ep: ep.name))
    return found
