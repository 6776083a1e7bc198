"""Which failures are a full disk: SQLite's SQLITE_FULL, ENOSPC (and EDQUOT) from the
filesystem, PostgreSQL's disk_full (SQLSTATE 53100), however deeply wrapped."""

from __future__ import annotations

import errno
import sqlite3
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.exc import IntegrityError, OperationalError

from floki_core.clock import ManualClock
from floki_core.storage.health import StorageHealth, disk_full_cause


def _wrapped(inner: BaseException) -> BaseException:
    try:
        try:
            raise inner
        except BaseException as exc:
            raise RuntimeError("while saving") from exc
    except RuntimeError as outer:
        return outer


@pytest.mark.parametrize(
    ("exc", "where"),
    [
        (
            OperationalError("INSERT", {}, sqlite3.OperationalError("database or disk is full")),
            "sqlite",
        ),
        (
            OperationalError("INSERT", {}, psycopg.errors.DiskFull("could not extend file")),
            "postgresql",
        ),
        (OSError(errno.ENOSPC, "No space left on device"), "files"),
        (OSError(errno.EDQUOT, "Disk quota exceeded"), "files"),
        (_wrapped(OSError(errno.ENOSPC, "No space left on device")), "files"),
        (OperationalError("INSERT", {}, sqlite3.OperationalError("database is locked")), None),
        (IntegrityError("INSERT", {}, sqlite3.IntegrityError("UNIQUE constraint failed")), None),
        (OSError(errno.EACCES, "Permission denied"), None),
        (ValueError("nothing to do with disks"), None),
    ],
)
def test_a_full_disk_is_recognised_wherever_it_comes_from(
    exc: BaseException, where: str | None
) -> None:
    assert disk_full_cause(exc) == where


async def test_a_full_database_server_is_named_as_such_and_a_write_there_ends_it(
    tmp_path: Path,
) -> None:
    storage = StorageHealth(ManualClock(), tmp_path, None)
    full = OperationalError("INSERT", {}, psycopg.errors.DiskFull("could not extend file"))
    reason = storage.refused_write(full, "writing locations")
    assert reason is not None and "database server's disk is full" in reason
    assert storage.degraded and storage.problems() == [reason]
    await storage.wrote()  # the server's disk cannot be probed: a write is the sign
    assert not storage.degraded and storage.problems() == []
