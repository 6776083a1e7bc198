"""Engine set-up, migrations on start, and running blocking work off the event loop."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import functools
import grp
import logging
import os
import pwd
import re
import sqlite3
import stat
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event, exc, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

if TYPE_CHECKING:
    from alembic.config import Config as AlembicConfig
    from alembic.script import ScriptDirectory

from floki_core import __version__
from floki_core.errors import ConfigError, FlokiError

log = logging.getLogger(__name__)
T = TypeVar("T")
MIGRATIONS = Path(__file__).parent / "migrations"
DB_FILE = "floki.db"
RESTORE = "restore it from a backup (floki-core restore, docs/backup.md)"


def default_url(data_dir: Path) -> str:
    return f"sqlite:///{(data_dir / DB_FILE).resolve()}"


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    # WAL lets the API read while the hot path writes. FULL syncs the log at every commit,
    # so what was committed survives an OS crash or a power cut, not only a crashed
    # process (NORMAL syncs only at checkpoints); the location writer relaxes it for its
    # own batches (``Database.transaction(durable=False)``). Foreign keys are off by
    # default in SQLite.
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=FULL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.close()


_RELAXED = "floki_relaxed"  # set in a pooled connection's info while it is not synced


def _sync_again(dbapi_conn: Any, record: Any) -> None:
    """Back in the pool, a relaxed connection syncs its commits again."""
    if record.info.pop(_RELAXED, False):
        dbapi_conn.execute("PRAGMA synchronous=FULL")


# The first SQLite engine's dialect and compiled-statement cache, which later SQLite
# engines in this process share (see _share_compiled_statements).
_sqlite_statements: tuple[Any, Any] | None = None


def _share_compiled_statements(engine: Engine) -> None:
    """Let ``engine`` use the statements already compiled for SQLite in this process.

    SQLAlchemy compiles each statement once per engine (its cache is keyed by the engine's
    dialect object); an appliance runs one engine, but a process that starts appliance
    after appliance on fresh files (the test kit, ``demo`` then ``serve``, the benchmarks)
    would compile every statement again each time. Every SQLite engine is made alike here
    (same driver, same library, no per-engine dialect options), so they can share one.
    """
    global _sqlite_statements
    # A dialect is set up by its engine's first connection: until one has been (a file
    # that could not be opened never is), the next engine's is the one to share.
    if _sqlite_statements is None or _sqlite_statements[0].server_version_info is None:
        _sqlite_statements = (engine.dialect, engine._compiled_cache)
        return
    engine.dialect, engine._compiled_cache = _sqlite_statements


def make_engine(url: str) -> Engine:
    try:
        parsed = make_url(url)
    except exc.ArgumentError:
        raise ConfigError(f"database.url: not a database URL: {url!r}") from None
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() == "sqlite":
        engine = create_engine(parsed, connect_args={"check_same_thread": False})
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "checkin", _sync_again)
        _share_compiled_statements(engine)
        return engine
    if parsed.get_backend_name() != "postgresql":
        raise ConfigError(f"database.url: only sqlite and postgresql are supported, got {url!r}")
    return create_engine(parsed, pool_pre_ping=True, pool_size=5, max_overflow=5)


def _sqlite_check(conn: Connection, pragma: str, budget_seconds: float | None) -> str | None:
    """What ``PRAGMA quick_check``/``integrity_check`` finds, None if all is well. Given a
    budget, a check still running after it is stopped and passed: a start must not wait
    minutes on a big database, and ``floki-core check`` runs the full check."""
    raw = conn.connection.driver_connection
    assert raw is not None
    if budget_seconds is not None:
        deadline = time.monotonic() + budget_seconds
        raw.set_progress_handler(lambda: int(time.monotonic() > deadline), 100_000)
    try:
        found = [r[0] for r in conn.exec_driver_sql(f"PRAGMA {pragma}")]
    except exc.OperationalError as error:
        if budget_seconds is None or "interrupted" not in str(error.orig):
            raise
        log.warning(
            "the database's quick check stopped after %.0f s; "
            "run 'floki-core check' for the full check",
            budget_seconds,
        )
        return None
    finally:
        if budget_seconds is not None:
            raw.set_progress_handler(None, 0)
    if found == ["ok"]:
        return None
    more = f" and {len(found) - 1} more" if len(found) > 1 else ""
    return f"{pragma.split('(')[0]}: {_one_line(found[0])}{more}"


def _first_line(error: object) -> str:
    return (str(error).strip().splitlines() or ["unknown error"])[0]


def _one_line(report: str) -> str:
    """SQLite's check reports as one line ("*** in database main ***" and a page on the next)."""
    lines = [line.strip() for line in report.splitlines()]
    return "; ".join(line for line in lines if line and not line.startswith("***"))


def _busy(error: BaseException | None) -> bool:
    if isinstance(error, sqlite3.Error):
        code = getattr(error, "sqlite_errorcode", 0) & 0xFF  # the primary code
        return code in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
    return getattr(error, "sqlstate", None) == "55P03"  # PostgreSQL's lock_not_available


def _user_name(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def _group_name(gid: int) -> str:
    try:
        return grp.getgrgid(gid).gr_name
    except KeyError:
        return str(gid)


def write_obstacle(path: Path) -> str | None:
    """What keeps this process from writing the SQLite database ``path``, as the reason
    to give and what to do; None if nothing is found. SQLite writes the file, and its
    ``-wal`` and ``-shm`` files beside it in the same folder."""
    me = _user_name(os.geteuid())
    for target in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        try:
            fd = os.open(target, os.O_RDWR)  # opening changes nothing
        except FileNotFoundError:
            continue  # -wal and -shm come and go
        except OSError as error:
            return _open_refused(target, error, me)
        os.close(fd)
    folder = path.parent
    if not os.access(folder, os.W_OK | os.X_OK):
        info = folder.stat()
        return (
            f"its folder {folder} is not writable by user {me} (owner "
            f"{_user_name(info.st_uid)}:{_group_name(info.st_gid)}, mode "
            f"{stat.S_IMODE(info.st_mode):04o}), and SQLite keeps its write-ahead log "
            f"there; give the folder to {me} (chown {me}: {folder})"
        )
    return None


def _open_refused(target: Path, error: OSError, me: str) -> str:
    what = "it" if not target.name.endswith(("-wal", "-shm")) else f"{target.name} beside it"
    if error.errno == errno.EROFS:
        return (
            f"the filesystem it is on is mounted read-only ({error.strerror}); "
            "remount it read-write or move the data directory"
        )
    if error.errno == errno.EPERM:
        return (
            f"{what} is marked immutable or append-only ({error.strerror}); "
            f"'lsattr {target}' shows it and 'chattr -i -a {target}' clears it"
        )
    if error.errno == errno.EACCES:
        info = target.stat()
        return (
            f"user {me} may not write {what} (owner {_user_name(info.st_uid)}:"
            f"{_group_name(info.st_gid)}, mode {stat.S_IMODE(info.st_mode):04o}), as after a "
            f"backup restored by another user; give it to {me} "
            f"(chown {me}: {target.parent}/{path_stem(target)}*)"
        )
    return f"{what} cannot be opened for writing ({error.strerror})"


def path_stem(target: Path) -> str:
    """The database file's name, from its own or its ``-wal``/``-shm`` file's."""
    name = target.name
    for suffix in ("-wal", "-shm"):
        name = name.removesuffix(suffix)
    return name


# Alembic (~12 MB once loaded) is imported only to migrate, or to read the scripts for a
# database not at this release's level: the usual start reads the level with one query
# and the newest from the scripts' own lines (``_head_revision``), and never loads it.


def _alembic_config(engine: Engine) -> AlembicConfig:
    from alembic.config import Config as AlembicConfig

    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


@functools.cache
def migration_scripts() -> ScriptDirectory:
    """The migration scripts shipped with this build: read once per process."""
    from alembic.config import Config as AlembicConfig
    from alembic.script import ScriptDirectory

    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return ScriptDirectory.from_config(cfg)


@functools.cache
def known_revisions() -> frozenset[str]:
    """Every schema level the shipped migrations lead through."""
    return frozenset(rev.revision for rev in migration_scripts().walk_revisions())


def newer_schema(level: str) -> str:
    """Why a database at ``level`` (unknown to this code) is refused, in one line."""
    return (
        f"the database is at schema {level}, written by a newer release than this one "
        f"(floki-core {__version__} knows up to {_head_revision()}): install that release "
        "again, or restore a backup taken before it (floki-core restore, docs/backup.md)"
    )


_REVISION_LINE = re.compile(r'^(down_revision|revision)\b[^=]*=\s*(?:"([^"]*)"|None)', re.M)


@functools.cache
def _head_revision() -> str | None:
    """The newest schema level the shipped scripts reach: the one no script revises,
    read from the scripts' ``revision``/``down_revision`` lines (as Alembic would)."""
    revisions: set[str] = set()
    revised: set[str] = set()
    for script in (MIGRATIONS / "versions").glob("*.py"):
        found = dict((key, value) for key, value in _REVISION_LINE.findall(script.read_text()))
        if found.get("revision"):
            revisions.add(found["revision"])
        if found.get("down_revision"):
            revised.add(found["down_revision"])
    heads = revisions - revised
    if len(heads) != 1:  # a branch: Alembic says which
        head: str | None = migration_scripts().get_current_head()
        return head
    return heads.pop()


def _current_revision(conn: Connection) -> str | None:
    """The schema level recorded in the database (None: no Floki schema in it)."""
    dialect = conn.dialect
    if not dialect.has_table(conn, "alembic_version"):
        return None
    row = conn.execute(text("SELECT version_num FROM alembic_version")).first()
    return None if row is None else str(row[0])


class Database:
    """One engine and its sessions. Blocking calls go through ``run`` in a worker thread."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        # Work handed to threads by ``run`` and not finished: a task cancelled while
        # awaiting it does not stop the thread, which still holds its connection.
        self._busy = 0
        self._busy_lock = threading.Lock()

    @property
    def backend(self) -> str:
        return self.engine.dialect.name

    def migrate(self) -> list[str]:
        """Upgrade to the newest schema; returns the revisions applied.

        A database at a level these migrations do not know was written by a newer
        release (e.g. the package was downgraded): it is refused, never touched."""
        before = self.current_revision()
        if before is not None and before == _head_revision():
            return []  # the usual start: nothing to read the migration scripts for
        if before is not None and before not in known_revisions():
            raise FlokiError(newer_schema(before))
        from alembic import command

        command.upgrade(_alembic_config(self.engine), "head")
        after = self.current_revision()
        if before == after:
            return []
        script = migration_scripts()
        return [rev.revision for rev in script.iterate_revisions(after, before) if rev is not None][
            ::-1
        ]

    def current_revision(self) -> str | None:
        with self.engine.connect() as conn:
            return _current_revision(conn)

    def head_revision(self) -> str | None:
        return _head_revision()

    def sqlite_file(self) -> Path | None:
        """The SQLite database file; None for PostgreSQL (or a database in memory)."""
        url = self.engine.url
        if self.backend != "sqlite" or url.database in (None, "", ":memory:"):
            return None
        return Path(url.database)

    def start_problem(self, *, initialised: bool, budget_seconds: float) -> str | None:
        """Why the appliance must not start on this database, in one line; None if it may.

        In an initialised data directory the database must hold Floki's register: a
        missing or empty SQLite file, or one (SQLite or PostgreSQL) without Floki's
        schema, is refused (only ``init`` makes one: an appliance that starts empty has
        silently lost its register), and so is one this process cannot write (it would
        start, then fail at its first write). ``PRAGMA quick_check`` runs for up to
        ``budget_seconds`` (0: not at all). Nothing here creates or changes the database.
        """
        path = self.sqlite_file()
        if path is not None and initialised:
            if path.is_dir():
                return f"database {path} is a directory, not a database file: {RESTORE}"
            if not path.exists():
                return (
                    f"database {path} is missing; only 'floki-core init' makes one, and this "
                    f"data directory is already initialised: {RESTORE}"
                )
            if path.stat().st_size == 0:
                return f"database {path} is empty (0 bytes): {RESTORE}"
            # Before SQLite opens it: on a read-only filesystem it cannot even open a
            # database in WAL mode, and would only say "unable to open database file".
            if (cause := write_obstacle(path)) is not None:
                return f"database {path} cannot be written: {cause}"
        if path is None:
            try:
                with self.engine.connect() as conn:
                    conn.execute(text("SELECT 1"))
            except exc.DBAPIError as error:
                return f"cannot open the database: {_first_line(error.orig)}"
        elif budget_seconds > 0 and (damage := self._damage("quick_check(1)", budget_seconds)):
            return damage
        if not initialised:
            return None  # a new appliance: the migrations make the schema
        return self._register_problem()

    def _register_problem(self) -> str | None:
        """Whether the database holds Floki's schema (at any revision; older ones are
        upgraded) and takes a write: one line, or None."""
        where = f"database {self.sqlite_file()}" if self.backend == "sqlite" else "the database"
        try:
            with self.engine.connect() as conn:
                revision = _current_revision(conn)
        except (exc.DBAPIError, sqlite3.Error) as error:
            found = _first_line(error.orig if isinstance(error, exc.DBAPIError) else error)
            return f"{where} is damaged ({found}): {RESTORE}"
        if revision is None:
            return (
                f"{where} holds no Floki register (no schema in it: an empty or another "
                "program's database); only 'floki-core init' makes one, and this data "
                f"directory is already initialised: {RESTORE}"
            )
        return self._write_problem(where)

    def _write_problem(self, where: str) -> str | None:
        """Try a write that changes nothing. SQLite opens a file it may not write
        read-only without a word, and even takes ``BEGIN IMMEDIATE``; only a statement
        that writes is refused ("attempt to write a readonly database")."""
        sqlite = self.backend == "sqlite"
        try:
            with self.engine.connect() as conn:
                trans = conn.begin()
                try:
                    if sqlite:  # waiting long for another writer's lock tells nothing here
                        conn.exec_driver_sql("PRAGMA busy_timeout=2000")
                        conn.exec_driver_sql("BEGIN IMMEDIATE")
                    conn.execute(
                        text("UPDATE alembic_version SET version_num = version_num WHERE 1 = 0")
                    )
                finally:
                    trans.rollback()
                    if sqlite:
                        conn.exec_driver_sql("PRAGMA busy_timeout=10000")
        except exc.DBAPIError as error:
            message = _first_line(error.orig)
            if _busy(error.orig):
                return None  # another writer holds the lock: the database takes writes
            path = self.sqlite_file()
            cause = write_obstacle(path) if path is not None else None
            return f"{where} cannot be written: {cause or message}"
        return None

    def _damage(self, pragma: str, budget_seconds: float | None) -> str | None:
        """SQLite's quick or full check, as one line naming the file and what to do."""
        path = self.sqlite_file()
        try:
            with self.engine.connect() as conn:
                found = _sqlite_check(conn, pragma, budget_seconds)
        except (exc.DBAPIError, sqlite3.Error) as error:
            found = _first_line(error.orig if isinstance(error, exc.DBAPIError) else error)
        if found is None:
            return None
        return f"database {path} is damaged ({found}): {RESTORE}"

    def integrity_problems(self) -> list[str]:
        """What ``floki-core check`` reports: SQLite damage (alone: nothing else read from a
        damaged file can be trusted), else a schema behind the code and broken references."""
        if self.backend == "sqlite" and (damage := self._damage("integrity_check", None)):
            return [damage]
        problems = []
        current, head = self.current_revision(), self.head_revision()
        if current != head:
            problems.append(f"database schema at {current or 'nothing'}, code expects {head}")
        if self.backend == "sqlite":
            with self.engine.connect() as conn:
                fk = conn.execute(text("PRAGMA foreign_key_check")).fetchall()
            if fk:
                problems.append(f"{len(fk)} rows break foreign keys")
        return problems

    @contextlib.contextmanager
    def transaction(self, *, durable: bool = True) -> Iterator[Session]:
        """A session whose work commits together or not at all.

        Committed means kept through an OS crash or a power cut. ``durable=False`` (SQLite,
        for the location writer's batches only) keeps it through a crash of the process at
        once, and through a power cut from the next durable commit or checkpoint on: the
        sightings that keep arriving rebuild it, and an fsync per batch is not needed.
        """
        with self.sessions() as session, session.begin():
            if not durable and self.backend == "sqlite":
                conn = session.connection()  # no statement yet, so not inside a transaction
                conn.exec_driver_sql("PRAGMA synchronous=NORMAL")
                conn.connection.info[_RELAXED] = True
            yield session

    @contextlib.contextmanager
    def snapshot_transaction(self, conn: Connection) -> Iterator[Connection]:
        """A read-only transaction on ``conn`` whose statements all see the database as
        it was at the first of them."""
        with conn.begin():
            if self.backend == "sqlite":
                conn.exec_driver_sql("BEGIN")  # pysqlite would run each SELECT on its own
            else:
                conn.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            yield conn

    @contextlib.contextmanager
    def locked_transaction(self, conn: Connection, *tables: str) -> Iterator[Connection]:
        """A transaction on ``conn`` that holds the write lock on ``tables`` from its first
        statement, so what it reads stays as read until it commits. Keep it short: other
        writers wait for it.

        SQLite locks the whole database (``BEGIN IMMEDIATE``, waiting up to the busy
        timeout for it); PostgreSQL locks the tables against other writers, not readers.
        """
        with conn.begin():
            if self.backend == "sqlite":
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            elif tables:
                names = ", ".join(self.engine.dialect.identifier_preparer.quote(t) for t in tables)
                conn.exec_driver_sql(f"LOCK TABLE {names} IN SHARE ROW EXCLUSIVE MODE")
            yield conn

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.to_thread(self._counted, fn, *args)

    def _counted(self, fn: Callable[..., T], *args: Any) -> T:
        with self._busy_lock:
            self._busy += 1
        try:
            return fn(*args)
        finally:
            with self._busy_lock:
                self._busy -= 1

    async def aclose(self, timeout: float = 5.0) -> None:
        """Close once the work already handed to threads is done (at most ``timeout``
        seconds), off the event loop: a connection still checked out when the pool is
        disposed would stay open, with its files, until garbage collection."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self._busy and loop.time() < deadline:
            await asyncio.sleep(0.01)
        await asyncio.to_thread(self.close)

    def close(self) -> None:
        self.engine.dispose()
