"""The newest schema level read from the migration scripts' own lines is Alembic's, and
a database already at it starts without loading Alembic (it is ~12 MB of the empty
appliance's memory)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from floki_core.storage import database


def test_the_head_read_from_the_scripts_is_alembics() -> None:
    assert database._head_revision() == database.migration_scripts().get_current_head()


def test_a_database_at_this_level_opens_without_alembic(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'floki.db'}"
    first = database.Database(url)
    try:
        assert first.migrate()  # a new database: migrated, with Alembic
    finally:
        first.close()
    probe = (
        "import sys\n"
        "from floki_core.storage.database import Database\n"
        f"db = Database({url!r})\n"
        "assert db.migrate() == [], 'nothing to apply'\n"
        "assert db.current_revision() == db.head_revision()\n"
        "db.close()\n"
        "print('alembic' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"
