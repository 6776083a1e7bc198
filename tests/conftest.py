"""Shared fixtures: a real PostgreSQL server, and a database per backend."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from floki_core.storage.database import Database

pytest_plugins = ["tests.fixtures.postgres"]


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path) -> Iterator[Database]:  # type: ignore[no-untyped-def]
    """A migrated database on each supported backend."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path}/floki.db"
    else:
        url = request.getfixturevalue("postgres_url")
    db = Database(url)
    db.migrate()
    yield db
    db.close()
