"""The location tests' register (register_builder.py), built once per session: a test
that asks for ``reg`` starts its appliance on a copy of the database it was built in,
with the test users' tokens, instead of building it through the API again (about thirty
requests). The appliance reads its register from the database at start (as after any
restart), so it begins in the state a build in the test itself would have left."""

from __future__ import annotations

import asyncio
import copy
import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import pytest

from floki_core.clock import ManualClock
from floki_core.config import parse_config
from floki_core.storage.database import DB_FILE
from floki_core.testing import Floki, running_appliance
from tests.core.location.register_builder import Register, build_register


@dataclass(frozen=True)
class PreparedRegister:
    database: Path  # an SQLite file holding the register; copy it, never change it
    built_at: dt.datetime
    register: Register
    tokens: dict[str, str]  # the test users' tokens the build made (Floki.tokens)


@pytest.fixture(scope="session")
def prepared_register(
    tmp_path_factory: pytest.TempPathFactory, floki_migrated_database: Path
) -> PreparedRegister:
    data_dir = tmp_path_factory.mktemp("location-register") / "data"
    clock = ManualClock(dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC))  # the kit's default
    config = parse_config({"discovery": {"enabled": False}, "server": {"tls": False}})

    async def build() -> tuple[Register, dict[str, str]]:
        async with running_appliance(
            data_dir, config, clock=clock, database=floki_migrated_database
        ) as floki:
            return await build_register(floki), dict(floki.tokens)

    register, tokens = asyncio.run(build())
    # Stopped: the last connection out wrote the WAL back, so the file is all of it.
    wal = data_dir / f"{DB_FILE}-wal"
    assert not wal.exists() or wal.stat().st_size == 0, "the register is not all in the file"
    return PreparedRegister(data_dir / DB_FILE, clock.now(), register, tokens)


@pytest.fixture
def floki_database(request: pytest.FixtureRequest, floki_migrated_database: Path) -> Path:
    """A test with ``reg`` starts on a copy of the prepared register; others on an empty
    register, as everywhere."""
    if "reg" in request.fixturenames:
        prepared: PreparedRegister = request.getfixturevalue("prepared_register")
        return prepared.database
    return floki_migrated_database


@pytest.fixture
def reg(floki: Floki, prepared_register: PreparedRegister) -> Register:
    """The register every location test starts from (register_builder.build_register)."""
    assert floki.clock.now() == prepared_register.built_at, (
        "the prepared register was built at the kit's default time; a module that moves "
        "floki_clock builds its own with build_register"
    )
    floki.tokens.update(prepared_register.tokens)
    return copy.deepcopy(prepared_register.register)  # a test may change its own
