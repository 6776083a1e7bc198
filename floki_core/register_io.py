"""Asset register files for the CLI: import with a progress bar, export to a file."""

from __future__ import annotations

import sys
from pathlib import Path

from sqlalchemy import Connection
from tqdm import tqdm

from floki_core.clock import SystemClock
from floki_core.config import ImportConfig
from floki_core.domain import SYSTEM
from floki_core.errors import Invalid
from floki_core.register_csv import (
    ImportReport,
    export_assets,
    import_register,
    imported_event,
    read_register,
)
from floki_core.storage.database import Database
from floki_core.storage.outbox import Outbox

MAX_LISTED = 20


def summary_lines(report: ImportReport) -> list[str]:
    lines = [
        f"created {report.created}, updated {report.updated}, unchanged {report.unchanged}, "
        f"skipped {report.skipped}"
    ]
    for label, items in (("skipped", report.problems), ("warning", report.warnings)):
        lines += [f"{label}: {item}" for item in items[:MAX_LISTED]]
        if len(items) > MAX_LISTED:
            lines.append(f"... and {len(items) - MAX_LISTED} more {label}s")
    return lines


def import_assets_file(
    db: Database,
    path: Path,
    config: ImportConfig,
    *,
    skip_bad: bool,
    keep_for_hub: Outbox | None = None,
) -> ImportReport:
    """``keep_for_hub``: with [federation] on, the import's event is kept for the trust
    hub with the merge, and the appliance's link sends it."""
    if not path.is_file():
        raise Invalid(f"{path}: no such file")
    parsed = read_register(path, config)
    now = SystemClock().now()

    def announce(conn: Connection, report: ImportReport) -> None:
        if keep_for_hub is not None:
            keep_for_hub.append(conn, [imported_event(report, now)])

    with tqdm(
        total=len(parsed.rows),
        unit="row",
        desc="importing",
        file=sys.stderr,
        disable=len(parsed.rows) < 500 or None,  # None: hidden when not a terminal
    ) as bar:
        return import_register(
            db,
            parsed,
            actor=SYSTEM,
            now=now,
            skip_bad=skip_bad,
            progress=lambda done: bar.update(done - bar.n),
            announce=announce,
        )


def export_assets_file(db: Database, target: Path) -> int:
    with db.transaction() as session:
        if str(target) == "-":
            return export_assets(session, sys.stdout, actor=SYSTEM, now=SystemClock().now())
        with target.open("w", newline="", encoding="utf-8") as out:
            return export_assets(session, out, actor=SYSTEM, now=SystemClock().now())
