"""Recently checked bearer tokens, so a gateway posting every second costs no database
transaction per request.

Entries live ``ttl`` seconds; revoking a token, logging out or changing a user through
the API clears the cache at once. A change made by another process (the CLI) is seen
within ``ttl``.
"""

from __future__ import annotations

from floki_core.clock import Clock
from floki_core.domain import Principal
from floki_core.security.tokens import digest


class TokenCache:
    def __init__(self, clock: Clock, ttl: float = 5.0, limit: int = 10_000) -> None:
        self.clock = clock
        self.ttl = ttl
        self.limit = limit
        self._entries: dict[str, tuple[Principal, float]] = {}
        self.generation = 0  # moved on by every clear()

    def get(self, secret: str) -> Principal | None:
        found = self._entries.get(digest(secret))
        if found is None:
            return None
        principal, checked = found
        if self.clock.monotonic() - checked > self.ttl:
            return None
        return principal

    def put(self, secret: str, principal: Principal, generation: int | None = None) -> None:
        """Remember a checked token; ``generation`` is ``self.generation`` as it was when
        the check began, so a check that raced a revocation is not remembered."""
        if generation is not None and generation != self.generation:
            return
        if len(self._entries) >= self.limit:
            self._entries.clear()  # rare: many distinct tokens at once; rebuilt on demand
        self._entries[digest(secret)] = (principal, self.clock.monotonic())

    def clear(self) -> None:
        self._entries.clear()
        self.generation += 1
