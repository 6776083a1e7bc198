"""The workflow tests' small hospital (``workflow_builder.build_hospital``) and the loans
tests' fleet (``loans_builder.build_fleet``), each built through the API once per session:
a test whose module's ``hospital`` or ``fleet`` fixture starts from one starts its
appliance on a copy (tests/fixtures/prepared.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.core.workflow.loans_builder import Fleet, build_fleet
from tests.core.workflow.workflow_builder import Hospital, build_hospital
from tests.fixtures.prepared import Prepared, build_once


@pytest.fixture(scope="session")
def prepared_hospital(
    tmp_path_factory: pytest.TempPathFactory, floki_migrated_database: Path
) -> Prepared[Hospital]:
    return build_once(tmp_path_factory, floki_migrated_database, "hospital", build_hospital)


@pytest.fixture(scope="session")
def prepared_fleet(
    tmp_path_factory: pytest.TempPathFactory, floki_migrated_database: Path
) -> Prepared[Fleet]:
    return build_once(tmp_path_factory, floki_migrated_database, "fleet", build_fleet)


@pytest.fixture
def floki_database(request: pytest.FixtureRequest, floki_database: Path) -> Path:
    """A copy of the prepared hospital for a test with ``hospital``, of the prepared fleet
    for one with ``fleet``, else the file the outer ``floki_database`` names (the location
    tests' register for a test with ``reg``, or the kit's empty one)."""
    wanted = [name for name in ("hospital", "fleet") if name in request.fixturenames]
    assert len(wanted) < 2, "hospital and fleet are two registers: use one"
    if wanted:
        prepared: Prepared[Any] = request.getfixturevalue(f"prepared_{wanted[0]}")
        return prepared.database
    return floki_database
