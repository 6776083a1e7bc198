"""Engine set-up, migrations on start, and running blocking work off the event loop."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.orm import Session, sessionmaker

from floki_core.errors import ConfigError

log = logging.getLogger(__name__)
T = TypeVar("T")
MIGRATIONS = Path(__file__).parent / "migrations"
DB_FILE = "floki.db"


def default_url(data_dir: Path) -> str:
    return f"sqlite:///{(data_dir / DB_FILE).resolve()}"


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    # WAL lets the API read while the hot path writes; NORMAL is durable at checkpoints,
    # foreign keys are off by default in SQLite.
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.close()


def make_engine(url: str) -> Engine:
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ConfigError(f"database.url: not a database URL: {url!r}") from None
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() == "sqlite":
        engine = create_engine(parsed, connect_args={"check_same_thread": False})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if parsed.get_backend_name() != "postgresql":
        raise ConfigError(f"database.url: only sqlite and postgresql are supported, got {url!r}")
    return create_engine(parsed, pool_pre_ping=True, pool_size=5, max_overflow=5)


def _alembic_config(engine: Engine) -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


class Database:
    """One engine and its sessions. Blocking calls go through ``run`` in a worker thread."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)

    @property
    def backend(self) -> str:
        return self.engine.dialect.name

    def migrate(self) -> list[str]:
        """Upgrade to the newest schema; returns the revisions applied."""
        before = self.current_revision()
        command.upgrade(_alembic_config(self.engine), "head")
        after = self.current_revision()
        if before == after:
            return []
        script = ScriptDirectory.from_config(_alembic_config(self.engine))
        return [rev.revision for rev in script.iterate_revisions(after, before) if rev is not None][
            ::-1
        ]

    def current_revision(self) -> str | None:
        with self.engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()

    def head_revision(self) -> str | None:
        return ScriptDirectory.from_config(_alembic_config(self.engine)).get_current_head()

    def integrity_problems(self) -> list[str]:
        """What ``floki-core check`` reports: schema behind, SQLite corruption."""
        problems = []
        current, head = self.current_revision(), self.head_revision()
        if current != head:
            problems.append(f"database schema at {current or 'nothing'}, code expects {head}")
        if self.backend == "sqlite":
            with self.engine.connect() as conn:
                result = conn.execute(text("PRAGMA integrity_check")).scalar()
                if result != "ok":
                    problems.append(f"sqlite integrity check: {result}")
                fk = conn.execute(text("PRAGMA foreign_key_check")).fetchall()
                if fk:
                    problems.append(f"{len(fk)} rows break foreign keys")
        return problems

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session whose work commits together or not at all."""
        with self.sessions() as session, session.begin():
            yield session

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.to_thread(fn, *args)

    def close(self) -> None:
        self.engine.dispose()
