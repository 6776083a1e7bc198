"""The console's fixtures: Qt offscreen on a qasync loop, and a real appliance on loopback."""

from __future__ import annotations

import asyncio
import gc
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import qasync
from PySide6.QtWidgets import QApplication
from pytestqt.qt_compat import qt_api

from floki_console.binding import guard_qt_binding
from floki_console.context import ConsoleContext
from floki_console.credentials import TokenStore
from floki_console.trust import PinStore
from tests.console.appliance import (
    PreparedRegister,
    Register,
    ThreadedAppliance,
    prepare_register,
    serving,
)


@pytest.fixture(autouse=True, scope="session")
def _qt_binding() -> None:
    # pytest-qt picks the first binding installed; the console is PySide6 only.
    assert qt_api.pytest_qt_api == "pyside6", "set qt_api = pyside6 for pytest-qt"
    guard_qt_binding()  # as floki-console does at start


@pytest.fixture(autouse=True, scope="session")
def _modules_out_of_the_collector() -> None:
    # Each test ends with a full garbage collection (qloop, below). Walking every object
    # the imports made (Qt, SQLAlchemy, aiohttp ...) took a quarter of a second of it;
    # frozen, as the appliance freezes what its start built (floki_core.appliance), a
    # collection walks only what the tests made since.
    gc.collect()
    gc.freeze()


@pytest.fixture
def qloop(qapp: QApplication) -> Iterator[qasync.QEventLoop]:
    """asyncio on Qt's event loop, running whenever Qt processes events (as qtbot's waits
    do), as it runs under the console's own ``loop.run_until_complete``."""
    loop = qasync.QEventLoop(qapp, already_running=True)
    asyncio.set_event_loop(loop)
    try:
        yield loop
    finally:
        # Let closing windows finish (sessions closed, discovery stopped), then cancel
        # whatever is left, and keep the loop's timers from firing into the next test.
        _settle(qapp, loop, 5.0)
        for task in asyncio.all_tasks(loop):
            task.cancel()
        _settle(qapp, loop, 2.0)
        loop._timer.stop()  # type: ignore[attr-defined]
        asyncio.events._set_running_loop(None)
        # Not loop.stop(): that quits the QApplication, which later tests still need.
        loop._QEventLoop__is_running = False  # type: ignore[attr-defined]
        loop.close()
        asyncio.set_event_loop(None)
        # The loop's QObjects must die on this thread: collected by a garbage collection
        # that happens to run on the appliance's thread, their timers would dangle.
        _SPENT_LOOPS.append(loop)
        gc.collect()


_SPENT_LOOPS: list[qasync.QEventLoop] = []


def _settle(qapp: QApplication, loop: qasync.QEventLoop, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while any(not t.done() for t in asyncio.all_tasks(loop)) and time.monotonic() < deadline:
        qapp.processEvents()


@pytest.fixture
def context(tmp_path: Path) -> ConsoleContext:
    """Pins in a temporary file, tokens in memory, no multicast, quick reconnects."""
    return ConsoleContext(
        pins=PinStore(tmp_path / "console" / "pins.json"),
        tokens=TokenStore(use_keyring=False),
        discover=False,
        initial_backoff=0.2,
        maximum_backoff=0.5,
        request_timeout=10.0,
    )


@pytest.fixture(scope="session")
def prepared_register(
    tmp_path_factory: pytest.TempPathFactory, floki_migrated_database: Path
) -> PreparedRegister:
    """``ThreadedAppliance.populate()``'s register, built once per session."""
    return prepare_register(
        tmp_path_factory.mktemp("console-register") / "appliance", floki_migrated_database
    )


@pytest.fixture
def appliance(
    request: pytest.FixtureRequest, tmp_path: Path, floki_migrated_database: Path
) -> Iterator[ThreadedAppliance]:
    """A started appliance: on a copy of the prepared register for a test with
    ``register``, else on a copy of the test kit's empty one."""
    prepared = (
        request.getfixturevalue("prepared_register") if "register" in request.fixturenames else None
    )
    with serving(
        tmp_path / "appliance", database=floki_migrated_database, prepared=prepared
    ) as running:
        yield running


@pytest.fixture
def register(appliance: ThreadedAppliance) -> Register:
    """The register ``populate()`` makes, on the ``appliance`` (started on a copy of it)."""
    return appliance.register
