"""The asset register as CSV: import from a CMMS export (e-Quip and the like), export back.

Import is two steps. ``read_register`` decodes, parses and checks every row without
touching the database; ``import_register`` plans the checked rows against the register
(``register_write``), stages them and merges them in one short transaction
(``register_stage``): all of them or, refused, nothing.
"""

from __future__ import annotations

import csv
import datetime as dt
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from floki_core.config import ImportConfig
from floki_core.csv_cells import neutralise_cell
from floki_core.domain import Principal
from floki_core.errors import Invalid
from floki_core.events import DomainEvent
from floki_core.register_rows import (
    COLUMNS,
    DEFAULT_HEADERS,
    HeaderError,
    ParsedRegister,
    RegisterRow,
    RowChecker,
    RowProblem,
    map_headers,
)
from floki_core.register_stage import apply_plan
from floki_core.register_text import csv_records, decode_register, delimiter_of
from floki_core.register_write import (
    ImportPlan,
    ImportReport,
    Progress,
    RegisterSnapshot,
    plan_import,
)
from floki_core.storage.audit import write_audit
from floki_core.storage.database import Database
from floki_core.storage.models import AssetClassRow, AssetRow, ZoneRow

__all__ = [
    "COLUMNS",
    "DEFAULT_HEADERS",
    "EXPORT_HEADERS",
    "ImportReport",
    "ParsedRegister",
    "RegisterRow",
    "RowProblem",
    "export_assets",
    "import_register",
    "neutralise_cell",
    "read_register",
]

EXPORT_HEADERS = (
    "asset_number",
    "description",
    "class",
    "category",
    "make",
    "model",
    "serial",
    "giai",
    "department",
    "home_zone",
    "state",
    "last_ppm",
    "next_ppm_due",
)
LISTED_PROBLEMS = 20


def read_register(
    text_or_path: str | bytes | os.PathLike[str], config: ImportConfig
) -> ParsedRegister:
    """Parse and check a register; ``str`` is CSV text, ``bytes`` raw file content."""
    source, text = _load(text_or_path)
    records = csv_records(text, delimiter_of(text))
    first = next(records, None)
    if first is None:
        raise Invalid(f"{source}: the file is empty")
    header_line, headers = first
    try:
        indexes, warnings = map_headers(source, header_line, headers, config)
    except HeaderError as exc:
        raise Invalid(str(exc)) from None
    columns = {c: headers[i].strip() for c, i in indexes.items()}
    used = set(indexes.values())
    ignored = [h.strip() for i, h in enumerate(headers) if i not in used and h.strip()]
    checker = RowChecker(indexes, columns, config.date_format)
    rows: list[RegisterRow] = []
    problems: list[RowProblem] = []
    first_seen: dict[tuple[str, str], int] = {}
    for line, cells in records:
        row, found = checker.check(line, cells)
        for column, value in (("asset_number", row.asset_number), ("giai", row.giai)):
            if value and (earlier := first_seen.setdefault((column, value), line)) != line:
                what = "asset number" if column == "asset_number" else "GIAI"
                reason = f"{what} {value!r} already appears on line {earlier}"
                found.append(RowProblem(line, columns[column], reason))
        problems.extend(found)
        if not found:
            rows.append(row)
    return ParsedRegister(source, columns, rows, problems, warnings, ignored)


def import_register(
    db: Database,
    parsed: ParsedRegister,
    *,
    actor: Principal,
    now: dt.datetime,
    skip_bad: bool,
    progress: Progress | None = None,
    announce: Callable[[Connection, ImportReport], None] | None = None,
) -> ImportReport:
    """Create or update assets by asset number: every good row, or (without ``skip_bad``)
    nothing at all when any row is bad. ``progress`` gets the rows planned so far;
    ``announce`` is called in the merge's transaction with what it did (to keep the
    import's event for the trust hub with it).

    Planned with no lock held, staged in chunks, merged in one short transaction
    (``register_stage``): other writers wait about a second for a 50,000-row file.
    """
    if parsed.problems and not skip_bad:
        raise Invalid(_problem_message(parsed.source, parsed.problems))

    def replan(current: RegisterSnapshot) -> ImportPlan:
        plan = plan_import(parsed, current)
        _refuse(parsed, plan, skip_bad)
        return plan

    def summary(plan: ImportPlan) -> dict[str, Any]:
        counts = _counts(_report(parsed, plan))
        detail = f"{parsed.source}: " + ", ".join(f"{n} {what}" for what, n in counts.items())
        after = {"source": parsed.source, **counts}
        return {"action": "import", "entity": "assets", "after": after, "detail": detail}

    with db.engine.connect() as conn:
        with db.snapshot_transaction(conn):
            seen = RegisterSnapshot.load(conn)
        plan = plan_import(parsed, seen, progress)
        _refuse(parsed, plan, skip_bad)
        on_merge = (
            (lambda merging, done: announce(merging, _report(parsed, done))) if announce else None
        )
        applied = apply_plan(
            db,
            conn,
            seen,
            plan,
            replan,
            actor=actor,
            now=now,
            summary=summary,
            on_merge=on_merge,
        )
    return _report(parsed, applied)


def imported_event(report: ImportReport, at: dt.datetime) -> DomainEvent:
    """One event for a whole import, so listeners (next-due dates, consoles, the trust
    hub) catch up at once."""
    counts = {
        "created": report.created,
        "updated": report.updated,
        "unchanged": report.unchanged,
        "skipped": report.skipped,
    }
    return DomainEvent(type="register.imported", at=at, entity="assets", data=counts)


def _report(parsed: ParsedRegister, plan: ImportPlan) -> ImportReport:
    return ImportReport(
        created=len(plan.creates),
        updated=len(plan.updates),
        unchanged=plan.unchanged,
        skipped=len({p.line for p in parsed.problems}) + len(plan.problems),
        problems=parsed.problems + plan.problems,
        warnings=parsed.warnings + plan.warnings,
    )


def _counts(report: ImportReport) -> dict[str, int]:
    return {
        "created": report.created,
        "updated": report.updated,
        "unchanged": report.unchanged,
        "skipped": report.skipped,
        "warnings": len(report.warnings),
    }


def _refuse(parsed: ParsedRegister, plan: ImportPlan, skip_bad: bool) -> None:
    if plan.problems and not skip_bad:
        problems = sorted(parsed.problems + plan.problems, key=lambda p: p.line)
        raise Invalid(_problem_message(parsed.source, problems))


def export_assets(session: Session, out: TextIO, *, actor: Principal, now: dt.datetime) -> int:
    """Write every asset as CSV (open ``out`` with ``newline=""``); returns the row count."""
    query = (
        select(AssetRow, AssetClassRow, ZoneRow.name)
        .outerjoin(AssetClassRow, AssetRow.class_id == AssetClassRow.id)
        .outerjoin(ZoneRow, AssetRow.home_zone_id == ZoneRow.id)
        .order_by(AssetRow.asset_number)
    )
    writer = csv.writer(out)
    writer.writerow(EXPORT_HEADERS)
    count = 0
    for asset, cls, zone in session.execute(query):
        cells: list[object] = [
            asset.asset_number,
            asset.description,
            cls.name if cls else "",
            cls.category if cls else "",
            cls.make if cls else "",
            cls.model if cls else "",
            asset.serial,
            asset.giai,
            asset.department,
            zone,
            asset.state,
            asset.last_ppm,
            asset.next_ppm_due,
        ]
        writer.writerow([neutralise_cell(c) for c in cells])
        count += 1
    write_audit(
        session,
        at=now,
        actor=actor.label,
        action="export",
        entity="assets",
        after={"rows": count, "format": "csv"},
        detail=f"{count} assets exported as CSV",
    )
    return count


def _load(source: str | bytes | os.PathLike[str]) -> tuple[str, str]:
    if isinstance(source, str):
        return "<text>", source.removeprefix("\ufeff")
    if isinstance(source, bytes):
        return "<upload>", decode_register("<upload>", source)
    path = Path(source)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise Invalid(f"{path}: cannot read the file: {exc.strerror}") from None
    return path.name, decode_register(path.name, data)


def _problem_message(source: str, problems: list[RowProblem]) -> str:
    listed = "\n".join(str(p) for p in problems[:LISTED_PROBLEMS])
    more = len(problems) - LISTED_PROBLEMS
    tail = f"\n... and {more} more" if more > 0 else ""
    noun = "problem" if len(problems) == 1 else "problems"
    return f"{source}: {len(problems)} {noun}, nothing was imported:\n{listed}{tail}"
