"""Whether the appliance can save what it is given: a full disk, wherever a write meets it.

The core owns one ``StorageHealth``; every writer reports to it - the API's requests and
the background writers (current locations, tag batteries, the alert engine, the daily
PPM work, state rules, the loan sweep, calibrations) alike - so health and metrics say
``degraded`` whichever of them met the full disk first, and the log says it once.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import os
import sqlite3
from pathlib import Path

from sqlalchemy.exc import DBAPIError

from floki_core.clock import Clock

log = logging.getLogger(__name__)

DISK_FULL = "disk_full"  # the reason label in /metrics
LOCAL_FULL = (
    "the appliance's disk is full, so nothing can be saved; free space on it (old "
    "backups, exports, logs) and try again"
)
SERVER_FULL = (
    "the database server's disk is full, so nothing can be saved; free space on it and try again"
)
PROBE_BYTES = 256 * 1024


def disk_full_cause(exc: BaseException | None) -> str | None:
    """Where a full disk stopped ``exc`` (or what it wraps): "sqlite", "postgresql" or
    "files"; None if it is some other failure."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
            return "files"
        if isinstance(exc, sqlite3.Error) and (
            getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL
            or "database or disk is full" in str(exc)
        ):
            return "sqlite"
        if getattr(exc, "sqlstate", None) == "53100":  # PostgreSQL's disk_full
            return "postgresql"
        exc = exc.orig if isinstance(exc, DBAPIError) else (exc.__cause__ or exc.__context__)
    return None


def probe_free_space(directory: Path) -> None:
    """Raise OSError (ENOSPC) unless a small file can be written and synced here."""
    probe = directory / ".floki-space-probe"
    try:
        with probe.open("wb") as out:
            out.write(bytes(PROBE_BYTES))
            out.flush()
            os.fsync(out.fileno())
    finally:
        probe.unlink(missing_ok=True)


class StorageHealth:
    """Whether the appliance can save what it is given.

    A write refused for want of space makes it ``degraded``: health and metrics say so,
    API requests answer 503 with the reason, and the log says it once, then at most once
    per ``log_seconds`` with the count refused meanwhile and by which writers. It
    recovers by itself: while degraded, a probe of the disk (run at most every
    ``probe_seconds``, when health or metrics are asked or a write goes through) that
    finds space again. On SQLite a write that goes through proves little (an update can
    reuse the log's pages while anything that grows still fails, and health would
    flap); a PostgreSQL server's disk cannot be probed, so there a write that goes
    through is the sign.
    """

    def __init__(
        self,
        clock: Clock,
        data_dir: Path,
        database_file: Path | None,
        *,
        log_seconds: float = 60.0,
        probe_seconds: float = 5.0,
    ) -> None:
        self.clock = clock
        self.data_dir = data_dir
        self.database_file = database_file  # None: PostgreSQL
        self.log_seconds = log_seconds
        self.probe_seconds = probe_seconds
        self.where: str | None = None  # "sqlite", "postgresql" or "files" while full
        self.refused = 0  # writes refused for a full disk since start
        self._unlogged = 0
        self._writers: list[str] = []  # which writers were refused since the last line
        self._logged_at = 0.0
        self._probed_at = 0.0

    @property
    def degraded(self) -> bool:
        return self.where is not None

    @property
    def reason(self) -> str | None:
        if self.where is None:
            return None
        return SERVER_FULL if self.where == "postgresql" else LOCAL_FULL

    def problems(self) -> list[str]:
        return [] if self.reason is None else [self.reason]

    def refused_write(self, exc: BaseException, what: str) -> str | None:
        """A write (``what``: "writing locations", "POST /api/v1/sites") failed with
        ``exc``. If a full disk stopped it, it is counted and logged at the limited rate,
        and the reason to give is returned; None for any other failure, which the
        caller reports as it always would."""
        where = disk_full_cause(exc)
        if where is None:
            return None
        return self.record_full(where, what)

    def record_full(self, where: str, what: str) -> str:
        now = self.clock.monotonic()
        self.refused += 1
        if self.where is None:
            self.where, self._logged_at, self._probed_at = where, now, now
            self._unlogged, self._writers = 0, []
            log.error(
                "%s; writes are refused until there is space again (first refused: %s)",
                self.reason,
                what,
            )
            return self.reason or LOCAL_FULL
        self._unlogged += 1
        if what not in self._writers:
            self._writers.append(what)
        if now - self._logged_at >= self.log_seconds:
            log.warning(
                "disk still full: %d writes refused in the last %.0f s (%s)",
                self._unlogged,
                now - self._logged_at,
                "; ".join(self._writers),
            )
            self._logged_at, self._unlogged, self._writers = now, 0, []
        return self.reason or LOCAL_FULL

    def record_space(self) -> None:
        if self.where is not None:
            self.where = None
            log.warning("disk space is back: writes are accepted again")

    async def wrote(self) -> None:
        """A write went through: while degraded, a sign that space may be back."""
        if self.where == "postgresql":
            self.record_space()
        elif self.where is not None:
            await self.recheck()

    def probe_directory(self) -> Path | None:
        """Where space is missing: the SQLite database's folder or the data directory;
        None for a PostgreSQL server's disk, which only a write that goes through shows."""
        if self.where == "postgresql":
            return None
        if self.where == "sqlite" and self.database_file is not None:
            return self.database_file.parent
        return self.data_dir

    async def recheck(self) -> None:
        """While degraded, look whether space is back (not more often than
        ``probe_seconds``)."""
        directory = self.probe_directory()
        now = self.clock.monotonic()
        if self.where is None or directory is None or now - self._probed_at < self.probe_seconds:
            return
        self._probed_at = now
        try:
            await asyncio.to_thread(probe_free_space, directory)
        except OSError as exc:
            if exc.errno not in (errno.ENOSPC, errno.EDQUOT):
                log.warning("cannot check the free space in %s: %s", directory, exc)
            return
        self.record_space()
