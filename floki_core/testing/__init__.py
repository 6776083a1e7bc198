"""A pytest plugin for plugin authors (and the core's own tests).

Installed with floki-core as the ``floki`` pytest plugin. It gives an in-process
appliance on a temporary data directory with a manual clock::

    async def test_my_source(floki):
        token = await floki.token_for("engineer")
        resp = await floki.client.get("/api/v1/assets", headers=floki.auth(token))

Override ``floki_config`` or ``floki_plugins`` in a test module to change the
configuration or add plugin objects (registered as if from an entry point). Every
installed plugin (the ``floki`` entry points) loads unless a test says which::

    @pytest.mark.floki_entry_points("qr")   # only floki-qr; no arguments: none at all
    async def test_label_page(floki): ...

or a module overrides the ``floki_entry_points`` fixture. The others are listed as
``disabled`` by ``GET /api/v1/plugins``, as ``[plugins] disabled`` would list them.

Each appliance starts on a copy of the SQLite file ``floki_database`` names (an empty
register migrated once per run); override it with one prepared once per session, e.g. a
register built in ``running_appliance``, so that tests copy it instead of rebuilding it.

Work the appliance does on its own tasks (a source's reconnect, a background writer)
is waited for with ``await floki.eventually(check, "what it waits for")``.

While pytest runs with this plugin, passwords are hashed with argon2's cheapest
parameters (a production hash costs about half a second); an appliance started any
other way keeps the production ones.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import functools
import inspect
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

import msgspec
import pytest
import pytest_asyncio
from aiohttp.test_utils import TestClient, TestServer
from argon2 import profiles

from floki_core.api.app import core_route_keys, create_app
from floki_core.clock import ManualClock
from floki_core.config import AppConfig, parse_config
from floki_core.core import Core
from floki_core.domain import SYSTEM, Role, TokenKind
from floki_core.observations import Observation
from floki_core.plugins.installed import plugin_entry_points
from floki_core.security import passwords
from floki_core.storage import accounts
from floki_core.storage.database import DB_FILE, Database, default_url

TEST_PASSWORD = "test-password-123"
EVENTUALLY_SECONDS = 10.0  # generous for a loaded CI box; a passing check returns at once
_POLL_SECONDS = 0.01
_PASSWORD_HASHING = pytest.StashKey[contextlib.ExitStack]()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "floki_entry_points(*names): the installed plugins the floki fixture loads "
        "(default: all of them)",
    )
    # Every hash in the run (token_for, logins, users made through the API) is cheap; a
    # stored hash keeps its parameters, so verifying works as in production.
    stack = contextlib.ExitStack()
    stack.enter_context(passwords.hashing_with(profiles.CHEAPEST))
    config.stash[_PASSWORD_HASHING] = stack


def pytest_unconfigure(config: pytest.Config) -> None:
    stack = config.stash.get(_PASSWORD_HASHING, None)
    if stack is not None:
        stack.close()


class Floki:
    """An in-process appliance and an HTTP client talking to it."""

    def __init__(self, core: Core, client: TestClient[Any, Any], clock: ManualClock) -> None:
        self.core = core
        self.client = client
        self.clock = clock
        # The secrets token_for made, by role ("admin", "staff:device"). An appliance
        # started on a copy of another's database takes them over (``tokens.update``),
        # so the test users already in it are not made a second time.
        self.tokens: dict[str, str] = {}

    async def token_for(self, role: str | Role, *, device: bool = False) -> str:
        """A fresh user of ``role`` (password ``TEST_PASSWORD``) and an API/device token."""
        role = Role(role)
        key = f"{role.value}{':device' if device else ''}"
        if key in self.tokens:
            return self.tokens[key]
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
        self.tokens[key] = secret
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

    @staticmethod
    async def eventually(
        check: Callable[[], bool | Awaitable[bool]],
        what: str,
        timeout: float = EVENTUALLY_SECONDS,
    ) -> None:
        """Wait until ``check()`` (plain or async) is true, polling every 10 ms of real
        time; after ``timeout`` real seconds raise ``AssertionError`` naming ``what``.

        For work on the appliance's own tasks (sources, supervisors, background writers,
        anything across a socket); the manual clock does not move while it waits. Also
        callable as ``Floki.eventually(...)`` in a test without the ``floki`` fixture.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            result = check()
            if inspect.isawaitable(result):
                result = await result
            if result:
                return
            if loop.time() >= deadline:
                raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
            await asyncio.sleep(_POLL_SECONDS)


@pytest.fixture
def floki_config() -> AppConfig:
    """Configuration for the ``floki`` fixture; override to change it."""
    return parse_config({"discovery": {"enabled": False}, "server": {"tls": False}})


@pytest.fixture
def floki_plugins() -> list[tuple[str, object]]:
    """Extra plugin objects as (name, object); override to add yours."""
    return []


@pytest.fixture
def floki_entry_points(request: pytest.FixtureRequest) -> Sequence[str] | None:
    """Names of the installed plugins the ``floki`` fixture loads, from the test's
    ``floki_entry_points`` marker; ``None`` (no marker) loads every one. Override to
    choose for a whole module."""
    marker = request.node.get_closest_marker("floki_entry_points")
    if marker is None:
        return None
    names = [str(name) for name in marker.args]
    installed = installed_plugins()
    missing = [name for name in names if name not in installed]
    if missing:
        raise pytest.UsageError(
            f"floki_entry_points names {', '.join(missing)}, which "
            f"{'is' if len(missing) == 1 else 'are'} not installed "
            f"(installed: {', '.join(installed) or 'none'})"
        )
    return names


def installed_plugins() -> tuple[str, ...]:
    """Names of the installed plugins (the ``floki`` entry points), sorted.

    The scan is made once for each ``sys.path`` (``floki_core.plugins.installed``); a test
    that installs a plugin by putting it on the path, or that replaces
    ``importlib.metadata.entry_points``, is seen at once."""
    return _names(plugin_entry_points())


@functools.lru_cache(maxsize=16)
def _names(points: tuple[object, ...]) -> tuple[str, ...]:
    return tuple(str(getattr(ep, "name", "")) for ep in points)


@functools.cache
def _core_route_keys() -> frozenset[tuple[str, str]]:
    """The core's own routes, which no plugin may take: the same for every appliance in
    the run, and building the table takes longer than the rest of an appliance's
    set-up, so it is built once."""
    return frozenset(core_route_keys())


def _loading_only(config: AppConfig, names: Sequence[str] | None) -> AppConfig:
    """``config`` with every installed plugin not in ``names`` disabled."""
    if names is None:
        return config
    others = [
        name
        for name in installed_plugins()
        if name not in names and name not in config.plugins.disabled
    ]
    plugins = msgspec.structs.replace(
        config.plugins, disabled=[*config.plugins.disabled, *sorted(others)]
    )
    return msgspec.structs.replace(config, plugins=plugins)


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


@pytest.fixture
def floki_database(floki_migrated_database: Path) -> Path:
    """The SQLite file each ``floki`` appliance starts on a copy of: the migrated, empty
    ``floki_migrated_database``. Override it with a file prepared once per session (a
    register built through ``running_appliance``) so that each test copies it instead of
    building it again."""
    return floki_migrated_database


@contextlib.asynccontextmanager
async def running_appliance(
    data_dir: Path,
    config: AppConfig,
    *,
    clock: ManualClock,
    database: Path | None = None,
    plugins: Sequence[tuple[str, object]] = (),
) -> AsyncIterator[Floki]:
    """An appliance started as the ``floki`` fixture starts one, on ``data_dir`` (on a
    copy of the SQLite file ``database``, unless the configuration names a database URL),
    with an HTTP client; stopped on leaving. For preparing something once per session::

        async with running_appliance(folder, parse_config({...}), clock=clock) as floki:
            ...  # build a register, then copy folder / "floki.db" for each test
    """
    if config.database.url is None and database is not None:
        data_dir.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(database, data_dir / DB_FILE)
    core = Core(
        data_dir,
        config,
        clock=clock,
        extra_plugins=plugins,
        reserved_routes=_core_route_keys(),
    )
    await core.start()
    try:
        async with TestClient(TestServer(create_app(core))) as client:
            yield Floki(core, client, clock)
    finally:
        await core.stop()


@pytest_asyncio.fixture
async def floki(
    tmp_path: Path,
    floki_config: AppConfig,
    floki_plugins: list[tuple[str, object]],
    floki_entry_points: Sequence[str] | None,
    floki_clock: ManualClock,
    floki_database: Path,
) -> AsyncIterator[Floki]:
    async with running_appliance(
        tmp_path / "data",
        _loading_only(floki_config, floki_entry_points),
        clock=floki_clock,
        database=floki_database,
        plugins=floki_plugins,
    ) as appliance:
        yield appliance
