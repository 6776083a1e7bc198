"""Tags heard but bound to no asset, so staff can see them and bind them."""

from __future__ import annotations

import collections
import datetime as dt
from dataclasses import dataclass


@dataclass
class UnknownTag:
    technology: str
    tag: str
    count: int
    first_seen: dt.datetime
    last_seen: dt.datetime
    last_receiver: str | None


class UnknownTags:
    """Bounded: when full, the tag heard longest ago makes room."""

    def __init__(self, limit: int = 10_000) -> None:
        self.limit = limit
        # Ordered by last heard, so the one to evict is always first.
        self._tags: collections.OrderedDict[tuple[str, str], UnknownTag] = collections.OrderedDict()

    def record(self, technology: str, tag: str, at: dt.datetime, receiver: str | None) -> None:
        key = (technology, tag)
        found = self._tags.get(key)
        if found is None:
            if len(self._tags) >= self.limit:
                self._tags.popitem(last=False)
            self._tags[key] = UnknownTag(technology, tag, 1, at, at, receiver)
            return
        found.count += 1
        if at >= found.last_seen:
            found.last_seen, found.last_receiver = at, receiver
            self._tags.move_to_end(key)

    def forget(self, technology: str, tag: str) -> None:
        self._tags.pop((technology, tag), None)

    def listing(self) -> list[UnknownTag]:
        return sorted(self._tags.values(), key=lambda t: t.last_seen, reverse=True)

    def __len__(self) -> int:
        return len(self._tags)
