"""Writing a planned register import: staged in chunks, merged in one short transaction.

A register import is all or nothing: without ``skip_bad`` a user expects the whole file
applied or none of it. SQLite has one writer at a time, so one transaction doing the
whole import row by row locks every other writer out (state changes, logins, the
location writer) for as long as it takes - minutes for a big file, far beyond the
busy timeout after which they give up.

So the import's rows - new assets, changed ones and their audit entries - are first
written, in chunks of ``CHUNK`` rows, to TEMPORARY staging tables on the import's own
connection. Those tables live in the connection's temporary database, not in the
register, so staging takes no lock that anyone else waits for, and a failure or a crash
leaves nothing behind. Then one transaction takes the write lock, checks that the
register is still what the import was planned against, copies the staged rows into the
register with a handful of set-based statements and chains the audit entries onto the
trail (``register_audit``): for 50,000 rows the lock is held about a second. Savepoints
could not do this: they nest inside the one transaction, whose lock is held to its end.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import msgspec
from sqlalchemy import (
    Boolean,
    Column,
    Connection,
    Integer,
    MetaData,
    Table,
    func,
    insert,
    select,
    update,
)

from floki_core import domain
from floki_core.domain import Principal, to_plain
from floki_core.register_audit import (
    STAGED_AUDIT,
    STAGED_LINKS,
    append_staged_audit,
    stage_audit,
)
from floki_core.register_write import (
    ASSETS,
    CLASSES,
    NEW_ASSET,
    SET_FIELDS,
    ImportPlan,
    RegisterMarks,
    RegisterSnapshot,
    StoredAsset,
    StoredClass,
)
from floki_core.storage.audit import entry_values
from floki_core.storage.database import Database

CHUNK = 5000
ATTEMPTS = 3  # plans made outside the lock before one is made under it
Plain = dict[str, Any]
_NEW_FIELDS = ("id", "asset_number", *SET_FIELDS, "state", "created_at", "updated_at")
_STAGING = MetaData()
_STAGED_ASSETS = Table(
    "floki_import_new_assets",
    _STAGING,
    *(Column(n, ASSETS.c[n].type, primary_key=n == "id") for n in _NEW_FIELDS),
    prefixes=["TEMPORARY"],
)
_STAGED_CHANGES = Table(
    "floki_import_changed_assets",
    _STAGING,
    Column("id", Integer, primary_key=True),
    *(Column(n, ASSETS.c[n].type) for n in (*SET_FIELDS, "updated_at")),
    Column("giai_changed", Boolean, nullable=False),
    Column("columns", Integer, nullable=False),  # which columns change: see _change_sets
    prefixes=["TEMPORARY"],
)
_STAGED = (_STAGED_ASSETS, _STAGED_CHANGES, STAGED_AUDIT, STAGED_LINKS)
Replan = Callable[[RegisterSnapshot], ImportPlan]


def apply_plan(
    db: Database,
    conn: Connection,
    seen: RegisterSnapshot,
    plan: ImportPlan,
    replan: Replan,
    *,
    actor: Principal,
    now: dt.datetime,
    summary: Callable[[ImportPlan], dict[str, Any]],
    on_merge: Callable[[Connection, ImportPlan], None] | None = None,
) -> ImportPlan:
    """Stage ``plan`` (made from ``seen``) and merge it; returns the plan applied.

    If the register changed meanwhile in a way the plan depends on (another import, an
    asset added or edited), the lock is let go and ``replan`` plans again from a new
    snapshot, staged again with no lock held. Only after ``ATTEMPTS`` such changes is
    the last plan made and staged under the lock (slower for others, still right).
    ``summary`` gives the import's own audit entry for the plan applied; ``on_merge``
    writes what else belongs with the merge in its transaction (the import's event, kept
    for the trust hub).
    """
    _create_staging(conn)
    try:
        for attempt in range(1, ATTEMPTS + 1):
            digests = _stage(conn, plan, actor, now, chunk=CHUNK)
            with db.locked_transaction(conn, ASSETS.name, CLASSES.name):
                holds = seen.still_holds(plan, RegisterMarks.load(conn))
                if not holds and attempt == ATTEMPTS:
                    seen = RegisterSnapshot.load(conn)
                    plan = replan(seen)
                    _clear_staging(conn)
                    digests = _stage(conn, plan, actor, now)
                    holds = True
                if holds:
                    _merge(conn, plan)
                    own = entry_values(actor=actor.label, at=now, **summary(plan))
                    digests += stage_audit(conn, [own], chunk=None, start=len(digests))
                    append_staged_audit(conn, digests)
                    if on_merge is not None:
                        on_merge(conn, plan)
                    return plan
            with db.snapshot_transaction(conn):
                seen = RegisterSnapshot.load(conn)
            plan = replan(seen)
            with conn.begin():
                _clear_staging(conn)
        raise AssertionError("unreachable: the last attempt plans under the lock")
    finally:
        _drop_staging(conn)


def _clear_staging(conn: Connection) -> None:
    for table in _STAGED:
        conn.execute(table.delete())


def _create_staging(conn: Connection) -> None:
    _drop_staging(conn)  # left by an import on this pooled connection that stopped short
    with conn.begin():
        for table in _STAGED:
            table.create(conn)


def _drop_staging(conn: Connection) -> None:
    if conn.in_transaction():
        conn.rollback()
    # Named in the temporary schema, so that nothing but a staging table can be dropped.
    schema = "pg_temp" if conn.dialect.name == "postgresql" else "temp"
    with conn.begin():
        for table in _STAGED:
            conn.exec_driver_sql(f"DROP TABLE IF EXISTS {schema}.{table.name}")


def _stage(
    conn: Connection,
    plan: ImportPlan,
    actor: Principal,
    now: dt.datetime,
    *,
    chunk: int | None = None,
) -> list[str]:
    """Stage the plan's asset rows and audit entries; returns the entries' digests.

    With ``chunk``, in chunks of that many rows, each its own short transaction on the
    temporary tables only; without, in the caller's transaction.
    """
    changed, created, audit = _staged_rows(plan, actor, now)
    for table, rows in ((_STAGED_CHANGES, changed), (_STAGED_ASSETS, created)):
        if chunk is None:
            if rows:
                conn.execute(insert(table), rows)
            continue
        for start in range(0, len(rows), chunk):
            with conn.begin():
                conn.execute(insert(table), rows[start : start + chunk])
    return stage_audit(conn, audit, chunk=chunk)


def _staged_rows(
    plan: ImportPlan, actor: Principal, now: dt.datetime
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    """(changed assets, new assets, audit entries) as they are staged and appended."""
    audit: list[dict[str, Any]] = []

    def entry(action: str, entity: str, entity_id: int, before: Plain | None, after: Plain) -> None:
        audit.append(
            entry_values(
                actor=actor.label,
                at=now,
                action=action,
                entity=entity,
                entity_id=entity_id,
                before=before,
                after=after,
            )
        )

    for values in plan.new_classes:
        entry("create", "asset-classes", values["id"], None, _class(values))
    for class_id, (before, fill) in plan.class_fills.items():
        entry("update", "asset-classes", class_id, _class(before), _class(before._replace(**fill)))
    changed = []
    change_sets = _change_sets(plan)
    for asset, changes in plan.updates:
        after = asset._replace(**changes, updated_at=now)
        changed.append(
            {name: getattr(after, name) for name in ("id", *SET_FIELDS, "updated_at")}
            | {"giai_changed": "giai" in changes, "columns": change_sets[_change_set(changes)]}
        )
        entry("update", "assets", asset.id, _asset(asset), _asset(after))
    stamps = {"state": "available", "created_at": now, "updated_at": now}
    created = [{**NEW_ASSET, **values, **stamps} for values in plan.creates]
    for row in created:
        entry("create", "assets", row["id"], None, _asset(row))
    return changed, created, audit


def _merge(conn: Connection, plan: ImportPlan) -> None:
    """Copy the staged rows into the register (the caller holds the write lock)."""
    if plan.new_classes:
        conn.execute(insert(CLASSES), plan.new_classes)
    for class_id, (_, fill) in plan.class_fills.items():
        conn.execute(update(CLASSES).where(CLASSES.c.id == class_id).values(**fill))
    changed = _STAGED_CHANGES
    if plan.updates:
        # A GIAI may pass from one asset to another in one file: release the old ones first,
        # so no row of the update meets a GIAI another has not let go of yet.
        released = select(changed.c.id).where(changed.c.giai_changed)
        conn.execute(update(ASSETS).where(ASSETS.c.id.in_(released)).values(giai=None))
        # One statement per set of columns changed: a column not set is an index not touched.
        for names, number in _change_sets(plan).items():
            conn.execute(
                update(ASSETS)
                .where(ASSETS.c.id == changed.c.id, changed.c.columns == number)
                .values({name: changed.c[name] for name in (*names, "updated_at")})
            )
    if plan.creates:
        staged = _STAGED_ASSETS
        conn.execute(
            insert(ASSETS).from_select(
                list(_NEW_FIELDS), select(*(staged.c[n] for n in _NEW_FIELDS)).order_by(staged.c.id)
            )
        )
    if conn.dialect.name == "postgresql" and (plan.creates or plan.new_classes):
        # The ids were given explicitly: move the sequences past them.
        for table in (ASSETS, CLASSES):
            conn.execute(
                select(
                    func.setval(
                        func.pg_get_serial_sequence(table.name, "id"),
                        select(func.coalesce(func.max(table.c.id), 1)).scalar_subquery(),
                    )
                )
            )


def _change_set(changes: dict[str, Any]) -> tuple[str, ...]:
    return tuple(name for name in SET_FIELDS if name in changes)


def _change_sets(plan: ImportPlan) -> dict[tuple[str, ...], int]:
    """Each set of columns some update changes, numbered (a big file has a few)."""
    sets: dict[tuple[str, ...], int] = {}
    for _, changes in plan.updates:
        sets.setdefault(_change_set(changes), len(sets))
    return sets


def _asset(values: StoredAsset | dict[str, Any]) -> dict[str, Any]:
    fields = values._asdict() if isinstance(values, StoredAsset) else values
    return to_plain(msgspec.convert(fields, domain.Asset, strict=False))


def _class(values: StoredClass | dict[str, Any]) -> dict[str, Any]:
    fields = values._asdict() if isinstance(values, StoredClass) else values
    return to_plain(msgspec.convert(fields, domain.AssetClass, strict=False))
