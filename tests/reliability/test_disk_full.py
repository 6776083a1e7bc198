"""A full disk: writes and logins answer 503 with the reason, health and metrics say
``degraded`` and why, the log says so once per interval, and all of it recovers by itself
when space is freed.

The data directory is a real, small tmpfs mount filled to the last byte, where the
machine allows mounting (root with CAP_SYS_ADMIN, as on the development machines).
Where it does not (an unprivileged CI container), the disk cannot really fill, so the
fault is injected as low as a test can reach without a mount: SQLite itself is told the
database may not grow (``PRAGMA max_page_count``), so it fails with its own
SQLITE_FULL "database or disk is full", and the appliance's free-space probe meets
ENOSPC until the test "frees" space.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any, Protocol

import pytest
import pytest_asyncio
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import event

from floki_core.api import middleware
from floki_core.api.app import create_app
from floki_core.clock import ManualClock
from floki_core.config import parse_config
from floki_core.core import Core
from floki_core.testing import TEST_PASSWORD, Floki

SIZE = "6m"


class FullDisk(Protocol):
    how: str

    def fill(self) -> None: ...
    def free(self) -> None: ...


class TmpfsDisk:
    """A real filesystem of a few megabytes, filled with one file."""

    how = "tmpfs"

    def __init__(self, mount: Path) -> None:
        self.filler = mount / "filler"

    def fill(self) -> None:
        with self.filler.open("ab") as out:
            chunk = b"\0" * 65536
            while True:
                try:
                    out.write(chunk)
                    out.flush()
                except OSError as exc:
                    assert exc.errno == errno.ENOSPC
                    break
        # Small writes may still fit in the last partly used block: use those up too.
        with contextlib.suppress(OSError), self.filler.open("ab", buffering=0) as out:
            while out.write(b"\0" * 512):
                pass

    def free(self) -> None:
        self.filler.unlink(missing_ok=True)


class InjectedFullDisk:
    """No mount possible: SQLite's own page limit, and ENOSPC for the space probe."""

    how = "injected"

    def __init__(self, core: Core, monkeypatch: pytest.MonkeyPatch) -> None:
        self.core = core
        self.monkeypatch = monkeypatch
        self.full = False

        def limit(dbapi_conn: Any, _record: Any) -> None:
            if self.full:
                cur = dbapi_conn.cursor()
                pages = cur.execute("PRAGMA page_count").fetchone()[0]
                cur.execute(f"PRAGMA max_page_count = {pages}")
                cur.close()

        event.listen(core.db.engine, "connect", limit)
        real_probe = middleware.probe_free_space

        def probe(directory: Path) -> None:
            if self.full:
                raise OSError(errno.ENOSPC, "No space left on device")
            real_probe(directory)

        monkeypatch.setattr(middleware, "probe_free_space", probe)

    def fill(self) -> None:
        self.full = True
        self.core.db.engine.dispose()  # new connections carry the page limit

    def free(self) -> None:
        self.full = False
        self.core.db.engine.dispose()


@contextlib.contextmanager
def tmpfs(path: Path) -> Iterator[bool]:
    """Mount a small tmpfs on ``path``; yields whether that worked."""
    path.mkdir(parents=True, exist_ok=True)
    try:
        done = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={SIZE}", "tmpfs", str(path)],
            capture_output=True,
            check=False,
        )
    except FileNotFoundError:  # no mount command at all
        yield False
        return
    try:
        yield done.returncode == 0
    finally:
        if done.returncode == 0:
            subprocess.run(["umount", "-l", str(path)], check=False)


@pytest_asyncio.fixture(params=["tmpfs", "injected"])
async def appliance(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[tuple[Floki, FullDisk]]:
    """The appliance on a disk that the test fills: a real tmpfs where mounting works
    (else injected), and injected in any case, so the fallback is known to work too."""
    clock = ManualClock(dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC))
    config = parse_config({"discovery": {"enabled": False}, "server": {"tls": False}})
    disk_path = tmp_path / "disk"
    mount = tmpfs(disk_path) if request.param == "tmpfs" else contextlib.nullcontext(False)
    with mount as mounted:
        core = Core(disk_path / "data", config, clock=clock)
        await core.start()
        disk: FullDisk = TmpfsDisk(disk_path) if mounted else InjectedFullDisk(core, monkeypatch)
        try:
            async with TestClient(TestServer(create_app(core))) as client:
                yield Floki(core, client, clock), disk
        finally:
            disk.free()  # whatever the test left, the appliance stops cleanly
            await core.stop()


async def _write_until_refused(floki: Floki, headers: dict[str, str]) -> Any:
    """Register sites until one is refused: space left in SQLite's files (free pages, the
    write-ahead log) takes a few writes to use up."""
    for n in range(200):
        resp = await floki.client.post(
            "/api/v1/sites", json={"name": f"Site {n} {'x' * 150}"}, headers=headers
        )
        if resp.status != 201:
            return resp
    raise AssertionError("the disk never filled up")


async def test_a_full_disk_is_503_and_degraded_until_space_is_freed(
    appliance: tuple[Floki, FullDisk], caplog: pytest.LogCaptureFixture
) -> None:
    floki, disk = appliance
    admin = await floki.headers("admin")
    await floki.token_for("engineer")
    health = await (await floki.client.get("/api/v1/health")).json()
    assert health["status"] == "ok"

    disk.fill()
    caplog.clear()
    refused = await _write_until_refused(floki, admin)
    assert refused.status == 503, await refused.text()
    reason = (await refused.json())["error"]
    assert "disk is full" in reason and "free" in reason
    assert refused.headers["Retry-After"]

    login = await floki.client.post(
        "/api/v1/auth/login", json={"username": "test-engineer", "password": TEST_PASSWORD}
    )
    assert login.status == 503
    assert "disk is full" in (await login.json())["error"]
    again = await floki.client.post("/api/v1/sites", json={"name": "One more"}, headers=admin)
    assert again.status == 503

    health = await (await floki.client.get("/api/v1/health")).json()
    assert health["status"] == "degraded"
    assert any("disk is full" in p for p in health["problems"])
    metrics = await (await floki.client.get("/metrics", headers=admin)).text()
    assert 'floki_degraded{reason="disk_full"} 1' in metrics
    assert "floki_writes_refused_total" in metrics

    # Logged once, not once per refused request; no tracebacks.
    said = [r for r in caplog.records if r.name == middleware.__name__]
    assert len([r for r in said if "disk is full" in r.getMessage()]) == 1, disk.how
    assert not [r for r in caplog.records if r.exc_info]
    floki.advance(61)  # ... and again once the interval has passed, with the count
    await floki.client.post("/api/v1/sites", json={"name": "Still full"}, headers=admin)
    still = [r.getMessage() for r in caplog.records if "still full" in r.getMessage()]
    assert len(still) == 1 and "refused" in still[0]

    disk.free()
    floki.advance(10)
    health = await (await floki.client.get("/api/v1/health")).json()
    assert health["status"] == "ok", health
    metrics = await (await floki.client.get("/metrics", headers=admin)).text()
    assert "floki_degraded 0" in metrics
    resp = await floki.client.post("/api/v1/sites", json={"name": "After"}, headers=admin)
    assert resp.status == 201
    login = await floki.client.post(
        "/api/v1/auth/login", json={"username": "test-engineer", "password": TEST_PASSWORD}
    )
    assert login.status == 200
    assert any("space" in r.getMessage() and "again" in r.getMessage() for r in caplog.records)
