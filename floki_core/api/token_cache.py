"""Recently checked bearer tokens, so a gateway posting every second costs no database
transaction per request; and when each token was last used, written off the request path.

Entries live ``ttl`` seconds; revoking a token, logging out or changing a user through
the API clears the cache at once. A change made by another process (the CLI) is seen
within ``ttl``. Whoever holds on to a token beyond one request (an events WebSocket)
subscribes to ``on_clear`` to check it again when the cache is cleared.

Checking a token only reads the database. Its last-used stamp is kept here, one per
token (the latest), and written for all tokens in one batch ``stamp_seconds`` after the
first unwritten use, and when the application stops. A write that fails (the database
busy with a long import, a full disk) keeps the stamps for the next batch: bookkeeping
never holds up or fails a request.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import Awaitable, Callable

from floki_core.clock import Clock
from floki_core.domain import Principal
from floki_core.security.tokens import digest

log = logging.getLogger(__name__)

StampWriter = Callable[[dict[int, dt.datetime]], Awaitable[object]]


class TokenCache:
    def __init__(
        self,
        clock: Clock,
        ttl: float = 5.0,
        limit: int = 10_000,
        stamp_seconds: float = 30.0,
    ) -> None:
        self.clock = clock
        self.ttl = ttl
        self.limit = limit
        self.stamp_seconds = stamp_seconds
        self._entries: dict[str, tuple[Principal, float]] = {}
        self.generation = 0  # moved on by every clear()
        self._stamps: dict[int, dt.datetime] = {}  # token id -> last use not yet written
        self._writing: asyncio.Task[None] | None = None
        self._cleared: list[Callable[[], None]] = []

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
        """Forget every checked token: one may have been revoked or its user changed."""
        self._entries.clear()
        self.generation += 1
        for listener in list(self._cleared):
            listener()

    def on_clear(self, listener: Callable[[], None]) -> Callable[[], None]:
        """Call ``listener`` (quick, not async) after every ``clear``; returns a function
        that stops the calls."""
        self._cleared.append(listener)

        def stop() -> None:
            if listener in self._cleared:
                self._cleared.remove(listener)

        return stop

    # --- last-used stamps -------------------------------------------------------

    def note_use(self, token_id: int, at: dt.datetime, write: StampWriter) -> None:
        """Remember that a token was used at ``at``; ``write`` saves a batch of stamps
        and is called in the background within ``stamp_seconds``."""
        self._keep(token_id, at)
        if self._writing is None or self._writing.done():
            self._writing = asyncio.create_task(self._write_later(write), name="token-stamps")

    def _keep(self, token_id: int, at: dt.datetime) -> None:
        known = self._stamps.get(token_id)
        if known is not None and known >= at:
            return
        if known is None and len(self._stamps) >= self.limit:
            return  # many distinct tokens at once: a stamp is bookkeeping, not a record
        self._stamps[token_id] = at

    @property
    def pending_stamps(self) -> int:
        return len(self._stamps)

    async def _write_later(self, write: StampWriter) -> None:
        await asyncio.sleep(self.stamp_seconds)
        await self.write_stamps(write)

    async def write_stamps(self, write: StampWriter) -> None:
        """Write every stamp kept so far; on failure keep them for the next batch."""
        stamps, self._stamps = self._stamps, {}
        if not stamps:
            return
        try:
            await write(stamps)
        except Exception as exc:
            for token_id, at in stamps.items():
                self._keep(token_id, at)
            log.warning(
                "could not record when %d tokens were last used (kept for the next try): %s",
                len(stamps),
                exc,
            )

    async def close(self, write: StampWriter) -> None:
        """On stop: the batch waiting for its time is written now."""
        if self._writing is not None and not self._writing.done():
            self._writing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._writing
        self._writing = None
        await self.write_stamps(write)
