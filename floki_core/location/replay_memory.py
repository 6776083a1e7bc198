"""The replay keys admission remembers, in about 16 bytes each.

Gateways deliver at least once, so a batch may come again minutes later; admission keeps
the 64-bit replay key (``admission.replay_key``) of every sighting it took over the
replay window and counts a sighting whose key it holds as a duplicate. At the rates the
appliance takes (tens of thousands of sightings a second) the window holds millions of
keys: in a Python ``set`` each costs ~70 bytes with its int object, and a list to expire
them by ~8 more.

So the newest keys are held in a set (quick to test and add to, one at a time), and the
older ones in one sorted ``int64`` NumPy array with the number of the merge that brought
each beside it (12 bytes a key), tested a whole batch at a time with one binary search.
When the set has gathered ``bucket_keys`` keys or has been open an eighth of the window
it is merged into the array (each key inserted where it sorts, in one pass); a merge is forgotten
whole once its newest key has passed the window. So a key is remembered for the window
and at most an eighth more; past ``max_remembered`` keys the oldest merges go first.
"""

from __future__ import annotations

import collections
import datetime as dt
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

__all__ = ["ReplayMemory"]

MIN_BUCKET_KEYS = 65_536
BUCKET_PARTS = 16  # the set is merged when it holds this part of max_remembered
SPAN_PARTS = 8  # ... or once it spans this part of the window


class ReplayMemory:
    def __init__(self, window: dt.timedelta, max_remembered: int) -> None:
        self.window = window
        self.max_remembered = max_remembered
        self.bucket_keys = max(MIN_BUCKET_KEYS, max_remembered // BUCKET_PARTS)
        self.open: set[int] = set()
        self._open_since: dt.datetime | None = None  # when the set's first key came
        self._open_newest: dt.datetime | None = None
        self._keys: npt.NDArray[np.int64] = np.empty(0, dtype=np.int64)  # sorted
        # Beside each key, the number of the merge that brought it; and per merge still
        # held, oldest first: (its number, the newest arrival in it, its keys).
        self._merge_of: npt.NDArray[np.int32] = np.empty(0, dtype=np.int32)
        self._merges: collections.deque[tuple[int, dt.datetime, int]] = collections.deque()
        self._merge_number = 0

    @property
    def remembered(self) -> int:
        return len(self.open) + len(self._keys)

    def expire(self, now: dt.datetime) -> None:
        """Before a batch arriving ``now``: merge a set open an eighth of the window, and
        forget what came before the window (a key's time is the newest in its merge, so
        it is remembered for the window and at most an eighth more)."""
        if self._open_since is not None and now - self._open_since >= self.window / SPAN_PARTS:
            self._merge()
        cutoff = now - self.window
        if self._open_newest is not None and self._open_newest < cutoff:
            self.open = set()
            self._open_since = self._open_newest = None
        if self._merges and self._merges[0][1] < cutoff:
            self._trim(cutoff)

    def known(self, keys: Sequence[int]) -> npt.NDArray[np.bool_] | None:
        """For each key, whether the array holds it; None when none of them is there."""
        if not len(self._keys) or not keys:
            return None
        wanted = np.fromiter(keys, dtype=np.int64, count=len(keys))
        # Searched for in order: each search starts near where the last ended.
        order = np.argsort(wanted, kind="stable")
        wanted = wanted[order]
        at = np.searchsorted(self._keys, wanted)
        at[at == len(self._keys)] = 0  # past the end: compared with any key, not found
        found_sorted: npt.NDArray[np.bool_] = self._keys[at] == wanted
        if not found_sorted.any():
            return None  # none is a replay: the caller takes the quicker path
        found = np.empty_like(found_sorted)
        found[order] = found_sorted
        return found

    def added(self, count: int, now: dt.datetime) -> None:
        """``count`` keys were added to ``open`` at ``now``: merge the set into the array
        when it is full, then keep within the cap."""
        if count:
            if self._open_since is None:
                self._open_since = now
            self._open_newest = now
        if len(self.open) >= self.bucket_keys:
            self._merge()

    def _merge(self) -> None:
        if not self.open or self._open_newest is None:
            return
        self._merge_number += 1
        fresh = np.fromiter(self.open, dtype=np.int64, count=len(self.open))
        fresh.sort()
        # Each new key goes in where it sorts: one pass copying the array, no sort of it.
        at = np.searchsorted(self._keys, fresh)
        self._keys = np.insert(self._keys, at, fresh)
        self._merge_of = np.insert(self._merge_of, at, np.int32(self._merge_number))
        self._merges.append((self._merge_number, self._open_newest, len(fresh)))
        self.open = set()
        self._open_since = self._open_newest = None
        if len(self._keys) > self.max_remembered:
            self._trim(None)

    def _trim(self, cutoff: dt.datetime | None) -> None:
        """Drop the merges whose newest key came before ``cutoff``, then the oldest while
        more than ``max_remembered`` keys are held."""
        merges = self._merges
        held = len(self._keys)
        last = 0
        while merges and (
            (cutoff is not None and merges[0][1] < cutoff) or held > self.max_remembered
        ):
            last, _, count = merges.popleft()
            held -= count
        if last:
            keep = self._merge_of > last
            self._keys, self._merge_of = self._keys[keep], self._merge_of[keep]
