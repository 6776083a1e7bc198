"""A pytest plugin for plugin authors (and the core's own tests).

Installed with floki-core as the ``floki`` pytest plugin. It gives an in-process
appliance on a temporary data directory with a manual clock::

    async def test_my_source(floki):
        token = await floki.token_for("engineer")
        resp = await floki.client.get("/api/v1/assets", headers=floki.auth(token))

Override ``floki_config`` or ``floki_plugins`` in a test module to change the
configuration or add plugin objects (registered as if from an entry point).
"""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from aiohttp.test_utils import TestClient, TestServer

from floki_core.api.app import create_app
from floki_core.clock import ManualClock
from floki_core.config import AppConfig, parse_config
from floki_core.core import Core
from floki_core.domain import SYSTEM, Role, TokenKind
from floki_core.observations import Observation
from floki_core.storage import accounts
from floki_core.storage.database import DB_FILE, Database, default_url

TEST_PASSWORD = "test-password-123"


class Floki:
    """An in-process appliance and an HTTP client talking to it."""

    def __init__(self, core: Core, client: TestClient[Any, Any], clock: ManualClock) -> None:
        self.core = core
        self.client = client
        self.clock = clock
        self._tokens: dict[str, str] = {}

    async def token_for(self, role: str | Role, *, device: bool = False) -> str:
        """A fresh user of ``role`` (password ``TEST_PASSWORD``) and an API/device token."""
        role = Role(role)
        key = f"{role.value}{':device' if device else ''}"
        if key in self._tokens:
            return self._tokens[key]
        username = f"test-{role.value}{'-device' if device else ''}"
        user = await self.core.write(
            accounts.create_user,
            username=username,
            role=role,
            password=TEST_PASSWORD,
            actor=SYSTEM,
            now=self.clock.now(),
        )
        _, secret = await self.core.write(
            accounts.issue_token,
            user_id=user.id,
            name="test",
            kind=TokenKind.DEVICE if device else TokenKind.API,
            now=self.clock.now(),
            expires_at=None,
            actor=SYSTEM,
        )
        self._tokens[key] = secret
        return secret

    @staticmethod
    def auth(token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}

    async def headers(self, role: str = "admin") -> dict[str, str]:
        return self.auth(await self.token_for(role))

    async def inject(self, batch: Sequence[Observation], source: str = "test") -> None:
        """Put observations on the ingest queue as a source would; wait till applied and
        written, so the API answers from them at once."""
        await self.core.ingest.put(source, batch)
        await self.settle()

    async def settle(self) -> None:
        """Wait until every queued batch is applied and every location is written."""
        await self.core.ingest.join()
        await self.core.locations.flush()

    def advance(self, seconds: float) -> None:
        self.clock.advance(seconds)


@pytest.fixture
def floki_config() -> AppConfig:
    """Configuration for the ``floki`` fixture; override to change it."""
    return parse_config({"discovery": {"enabled": False}, "server": {"tls": False}})


@pytest.fixture
def floki_plugins() -> list[tuple[str, object]]:
    """Extra plugin objects as (name, object); override to add yours."""
    return []


@pytest.fixture
def floki_clock() -> ManualClock:
    return ManualClock(dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC))


@pytest.fixture(scope="session")
def floki_migrated_database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An SQLite file migrated to the newest schema once per test run; each appliance
    starts on a copy, so a test pays for a file copy instead of every migration."""
    folder = tmp_path_factory.mktemp("floki-template")
    db = Database(default_url(folder))
    db.migrate()
    db.close()  # the last connection out checkpoints the WAL into the file
    return folder / DB_FILE


@pytest_asyncio.fixture
async def floki(
    tmp_path: Path,
    floki_config: AppConfig,
    floki_plugins: list[tuple[str, object]],
    floki_clock: ManualClock,
    floki_migrated_database: Path,
) -> AsyncIterator[Floki]:
    data_dir = tmp_path / "data"
    if floki_config.database.url is None:
        data_dir.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(floki_migrated_database, data_dir / DB_FILE)
    core = Core(data_dir, floki_config, clock=floki_clock, extra_plugins=floki_plugins)
    await core.start()
    try:
        async with TestClient(TestServer(create_app(core))) as client:
            yield Floki(core, client, floki_clock)
    finally:
        await core.stop()
