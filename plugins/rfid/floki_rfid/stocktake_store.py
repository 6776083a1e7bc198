"""Where stock-takes are kept: an SQLite file of the plugin's own
(``<data-dir>/plugins/rfid/stocktakes.sqlite``), so a report outlives a restart without
a table in the appliance's database (the plugin API gives a plugin its own directory,
not the core's schema).

One row per stock-take: the zone and time it is listed by, and its whole report as
JSON. A stock-take is added with its audit entry (``add``): the row is inserted in a
transaction that commits only once the audit entry is written, so neither is kept
without the other. Every call runs off the event loop; additions one at a time.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, Final

import msgspec

__all__ = ["FILE", "StocktakeStore"]

FILE: Final = "stocktakes.sqlite"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS stocktakes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    zone_id INTEGER NOT NULL,
    taken_at TEXT NOT NULL,
    summary BLOB NOT NULL,
    report BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS stocktakes_zone ON stocktakes (zone_id, id);
"""
_encoder = msgspec.json.Encoder()


class StocktakeStore:
    def __init__(self, folder: Path) -> None:
        self.path = folder / FILE
        self._adding = asyncio.Lock()
        self._ready = False

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")  # a stock-take said saved is on disk
        if not self._ready:
            conn.executescript(_SCHEMA)
            self._ready = True
        return conn

    async def add(
        self,
        build: Callable[[int], tuple[dict[str, Any], dict[str, Any]]],
        audit: Callable[[int], Awaitable[None]],
    ) -> dict[str, Any]:
        """Keep a new stock-take: ``build(id)`` gives its list entry and report, and
        ``audit(id)`` writes its audit entry; kept only if both succeed. The report."""
        async with self._adding:
            conn, stocktake_id = await asyncio.to_thread(self._begin)
            try:
                summary, report = build(stocktake_id)
                await asyncio.to_thread(self._insert, conn, stocktake_id, summary, report)
                await audit(stocktake_id)
                await asyncio.to_thread(conn.execute, "COMMIT")
            except BaseException:
                await asyncio.to_thread(_rollback, conn)
                raise
            finally:
                await asyncio.to_thread(conn.close)
        return report

    def _begin(self) -> tuple[sqlite3.Connection, int]:
        conn = self._connect()
        try:
            conn.execute("BEGIN IMMEDIATE")
            # AUTOINCREMENT: an id is never used twice, even after a refused addition.
            row = conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'stocktakes'")
            found = row.fetchone()
            return conn, (found[0] if found else 0) + 1
        except BaseException:
            conn.close()
            raise

    @staticmethod
    def _insert(
        conn: sqlite3.Connection,
        stocktake_id: int,
        summary: dict[str, Any],
        report: dict[str, Any],
    ) -> None:
        conn.execute(
            "INSERT INTO stocktakes (id, zone_id, taken_at, summary, report) "
            "VALUES (?, ?, ?, ?, ?)",
            (
                stocktake_id,
                summary["zone_id"],
                summary["taken_at"],
                _encoder.encode(summary),
                _encoder.encode(report),
            ),
        )

    async def report(self, stocktake_id: int) -> dict[str, Any] | None:
        """The report of one stock-take, or None."""
        return await asyncio.to_thread(self._report, stocktake_id)

    def _report(self, stocktake_id: int) -> dict[str, Any] | None:
        if not self.path.exists():
            return None
        conn = self._connect()
        try:
            row = conn.execute(
                "SELECT report FROM stocktakes WHERE id = ?", (stocktake_id,)
            ).fetchone()
        finally:
            conn.close()
        if row is None:
            return None
        found: dict[str, Any] = msgspec.json.decode(row[0])
        return found

    async def listing(
        self, zone_id: int | None, limit: int, offset: int
    ) -> tuple[list[dict[str, Any]], int]:
        """List entries, newest first (by when each was taken), and how many in all."""
        return await asyncio.to_thread(self._listing, zone_id, limit, offset)

    def _listing(
        self, zone_id: int | None, limit: int, offset: int
    ) -> tuple[list[dict[str, Any]], int]:
        if not self.path.exists():
            return [], 0
        where, args = ("WHERE zone_id = ?", (zone_id,)) if zone_id is not None else ("", ())
        conn = self._connect()
        try:
            total = conn.execute(f"SELECT count(*) FROM stocktakes {where}", args).fetchone()[0]
            rows = conn.execute(
                f"SELECT summary FROM stocktakes {where} "
                "ORDER BY taken_at DESC, id DESC LIMIT ? OFFSET ?",
                (*args, limit, offset),
            ).fetchall()
        finally:
            conn.close()
        return [msgspec.json.decode(r[0]) for r in rows], int(total)


def _rollback(conn: sqlite3.Connection) -> None:
    if conn.in_transaction:
        conn.execute("ROLLBACK")
