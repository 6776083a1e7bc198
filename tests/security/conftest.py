"""One live appliance for the whole security suite.

It is started when the suite is collected, because the tests are generated from its
route table and its served OpenAPI document (a new route is covered without editing a
test), and stopped when the session ends.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.security.live import LiveAppliance

_started: list[LiveAppliance] = []


def appliance() -> LiveAppliance:
    """The suite's appliance, started on first use."""
    if not _started:
        # Logins and user creation are fuzzed too: the test kit's cheapest argon2
        # parameters (floki_core.testing) keep them inside the time budget.
        live = LiveAppliance(Path(tempfile.mkdtemp(prefix="floki-security-")) / "data")
        _started.append(live)
        atexit.register(_stop)
        live.start()
        live.seed()
    return _started[0]


def _stop() -> None:
    if _started:
        live = _started.pop()
        live.stop()
        shutil.rmtree(live.data_dir.parent, ignore_errors=True)


def pytest_sessionfinish(session: pytest.Session) -> None:
    # Stopped while the interpreter still runs thread pools: at exit (the fallback for a
    # run ended otherwise) the database's closing thread can no longer be started.
    _stop()


@pytest.fixture(scope="session")
def live() -> Iterator[LiveAppliance]:
    yield appliance()
    _stop()
