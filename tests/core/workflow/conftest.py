"""The workflow tests' small hospital (``workflow_builder.build_hospital``), built through
the API once per session: a test whose module's ``hospital`` fixture starts from it
starts its appliance on a copy (tests/fixtures/prepared.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.core.workflow.workflow_builder import Hospital, build_hospital
from tests.fixtures.prepared import Prepared, build_once


@pytest.fixture(scope="session")
def prepared_hospital(
    tmp_path_factory: pytest.TempPathFactory, floki_migrated_database: Path
) -> Prepared[Hospital]:
    return build_once(tmp_path_factory, floki_migrated_database, "hospital", build_hospital)


@pytest.fixture
def floki_database(request: pytest.FixtureRequest, floki_database: Path) -> Path:
    """A copy of the prepared hospital for a test with ``hospital``, else the file the
    outer ``floki_database`` names (the location tests' register for a test with ``reg``,
    or the kit's empty one)."""
    if "hospital" in request.fixturenames:
        prepared: Prepared[Hospital] = request.getfixturevalue("prepared_hospital")
        return prepared.database
    return floki_database
