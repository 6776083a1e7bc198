"""Password hashing: argon2's production parameters on an appliance, its cheapest in tests.

The test kit (``floki_core.testing``) makes every password hash in a pytest run use
argon2's cheapest profile, because a production hash costs about half a second here and
every ``floki.token_for`` and login makes one. An appliance must never see that: the
first administrator that ``floki-core init`` writes is hashed with the real parameters.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from argon2 import extract_parameters, profiles
from sqlalchemy import select

from floki_core.storage.database import Database, default_url
from floki_core.storage.models import UserRow
from floki_core.testing import TEST_PASSWORD, Floki
from tests.fixtures.requirements import require_binary

ADMIN_PASSWORD = "production-strength-9"


def stored_hash(db: Database, username: str) -> str:
    with db.sessions() as session:
        stored = session.scalar(select(UserRow.password_hash).where(UserRow.username == username))
    assert stored is not None
    return stored


async def test_the_test_kit_hashes_passwords_with_argon2s_cheapest_parameters(
    floki: Floki,
) -> None:
    await floki.token_for("staff")
    assert extract_parameters(stored_hash(floki.core.db, "test-staff")) == profiles.CHEAPEST
    login = {"username": "test-staff", "password": TEST_PASSWORD}
    resp = await floki.client.post("/api/v1/auth/login", json=login)
    assert resp.status == 200, await resp.text()  # a cheap hash is still checked properly
    resp = await floki.client.post(
        "/api/v1/auth/login", json={**login, "password": "not-the-password-1"}
    )
    assert resp.status == 401, await resp.text()


@pytest.mark.product  # runs the CLI in its own process
def test_floki_core_init_hashes_the_first_admin_with_argon2s_production_parameters(
    tmp_path: Path,
) -> None:
    floki_core = require_binary(str(Path(sys.executable).parent / "floki-core"))
    data_dir = tmp_path / "data"
    done = subprocess.run(
        [floki_core, "--data-dir", str(data_dir), "init"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "FLOKI_ADMIN_PASSWORD": ADMIN_PASSWORD},
    )
    assert done.returncode == 0, done.stderr
    db = Database(default_url(data_dir))
    try:
        stored = stored_hash(db, "admin")
    finally:
        db.close()
    # argon2-cffi's default, RFC 9106's low-memory profile: 64 MiB, three passes, four lanes.
    assert extract_parameters(stored) == profiles.RFC_9106_LOW_MEMORY
