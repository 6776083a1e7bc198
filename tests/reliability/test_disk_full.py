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
import re
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any, Protocol

import pytest
import pytest_asyncio
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import event

from floki_core.api.app import create_app
from floki_core.clock import ManualClock
from floki_core.config import parse_config
from floki_core.core import Core
from floki_core.storage import health as storage_health
from floki_core.testing import TEST_PASSWORD, Floki
from tests.fixtures.full_disk import no_room_for_probe, portal_read

SIZE = "6m"
# The background writers at a brisk pace, so that a test sees many of their rounds.
CONFIG: dict[str, Any] = {
    "discovery": {"enabled": False},
    "server": {"tls": False},
    # Reads a second apart move the asset at once (no read-zone dwell).
    "plugin": {"rfid": {"placement": {"dwell_seconds": 0}}},
    "location": {
        "flush_seconds": 0.01,
        "battery": {"write_seconds": 0.05},
        "resolver": {"dwell_seconds": {"default": 0}},  # every portal read a move
    },
    "workflow": {
        "ppm": {"check_seconds": 0.05},
        "alerts": {
            "sweep_seconds": 0.05,
            "settle_seconds": 0,
            "rules": [{"name": "Tag batteries", "type": "low_battery"}],
        },
    },
}


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
        # Unbuffered, so that nothing is left to flush (and fail) on close; big writes,
        # then small ones to use up the last partly used block too.
        with self.filler.open("ab", buffering=0) as out:
            for size in (65536, 512):
                while True:
                    try:
                        if not out.write(b"\0" * size):
                            break
                    except OSError as exc:
                        assert exc.errno == errno.ENOSPC
                        break

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
        no_room_for_probe(monkeypatch, lambda: self.full)

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
    config = parse_config(CONFIG)
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
    said = [r for r in caplog.records if r.name == storage_health.__name__]
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


# --- gateway traffic alone ------------------------------------------------------------

EPC = "E28011606000020000000001"
PORTALS = ("PORTAL-WARD-1", "PORTAL-WARD-2")


async def _rfid_ward(floki: Floki, admin: dict[str, str]) -> int:
    """Two zones with an RFID portal reader each, and one asset with an RFID tag."""

    async def post(path: str, body: dict[str, Any]) -> int:
        resp = await floki.client.post(f"/api/v1{path}", json=body, headers=admin)
        assert resp.status == 201, await resp.text()
        made: int = (await resp.json())["id"]
        return made

    site = await post("/sites", {"name": "General"})
    for n, portal in enumerate(PORTALS, 1):
        zone = await post("/zones", {"site_id": site, "name": f"Ward {n}"})
        await post(
            "/receivers",
            {"name": portal, "technology": "rfid", "identifier": portal, "zone_id": zone},
        )
    asset = await post("/assets", {"asset_number": "PUMP-1"})
    await post("/identifiers", {"asset_id": asset, "technology": "rfid", "value": EPC})
    return asset


async def _status(floki: Floki) -> str:
    status: str = (await (await floki.client.get("/api/v1/health")).json())["status"]
    return status


async def _refused_so_far(floki: Floki, admin: dict[str, str]) -> float:
    text = await (await floki.client.get("/metrics", headers=admin)).text()
    [line] = [x for x in text.splitlines() if x.startswith("floki_writes_refused_total")]
    return float(line.rsplit(" ", 1)[1])


async def test_gateway_traffic_alone_shows_a_full_disk_logs_it_once_and_recovers(
    appliance: tuple[Floki, FullDisk], caplog: pytest.LogCaptureFixture
) -> None:
    """No API writes at all: the background writers (locations, tag batteries, the alert
    engine, the daily PPM work) meet the full disk, and say so as the API would."""
    floki, disk = appliance
    admin = await floki.headers("admin")
    asset = await _rfid_ward(floki, admin)
    await portal_read(floki, EPC, PORTALS[0], 90)
    assert await _status(floki) == "ok"

    moved_before = floki.core.locations.transitions
    disk.fill()
    caplog.clear()
    floki.advance(15 * 3600)  # past midnight: the daily PPM work runs
    # The tag goes back and forth between the wards, its battery running down.
    reads = 0
    while await _status(floki) == "ok":
        reads += 1
        assert reads < 30, f"health still ok after {reads} reads ({disk.how})"
        await portal_read(floki, EPC, PORTALS[reads % 2], max(90 - reads * 10, 5))
    health = await (await floki.client.get("/api/v1/health")).json()
    assert any("disk is full" in p for p in health["problems"])
    metrics = await (await floki.client.get("/metrics", headers=admin)).text()
    assert 'floki_degraded{reason="disk_full"} 1' in metrics
    refused = await _refused_so_far(floki, admin)

    def still() -> list[str]:
        return [r.getMessage() for r in caplog.records if "still full" in r.getMessage()]

    # Half a second of traffic on the full disk, reads a second apart on the appliance's
    # clock: the writers meet it many times, and the log says so once ...
    started = time.monotonic()
    while time.monotonic() - started < 0.5:
        reads += 1
        await portal_read(floki, EPC, PORTALS[reads % 2], 5)
    assert still() == []
    # ... then once a minute, with the count and which writers were refused. Which
    # they are depends on the space SQLite's files still have (a small write may fit);
    # the location writer's batch only grows. tests/core/test_disk_full_writers.py
    # shows each background writer refused, with a full disk injected.
    floki.advance(61)
    reads += 1
    await portal_read(floki, EPC, PORTALS[reads % 2], 5)

    async def said_again() -> bool:
        return len(still()) == 1

    await floki.eventually(said_again, "the disk still full line")
    said = re.match(r"disk still full: (\d+) writes refused in the last \d+ s \(", still()[0])
    assert said, still()
    assert int(said.group(1)) >= 1  # refused again since, and said once for all of them
    if disk.how == "tmpfs":  # SQLite's page limit still lets a batch fit in its pages
        assert "writing locations" in still()[0], still()
    assert await _refused_so_far(floki, admin) > refused
    said_by_health = [r for r in caplog.records if r.name == storage_health.__name__]
    full = [r for r in said_by_health if "disk is full" in r.getMessage()]
    assert len(full) == 1, [r.getMessage() for r in full]
    others = [
        r
        for r in caplog.records
        if r.exc_info or (r.levelname == "ERROR" and r not in said_by_health)
    ]
    assert not others, [r.getMessage() for r in others]

    disk.free()

    # What waited is written by the writers themselves, with no request to help them:
    # a stay for every move the appliance made (the first fix too).
    async def history_written() -> bool:
        resp = await floki.client.get(f"/api/v1/assets/{asset}/history", headers=admin)
        total: int = (await resp.json())["total"]
        return total == floki.core.locations.transitions

    await floki.eventually(history_written, "the moves to be written")
    assert floki.core.locations.transitions > moved_before + 2
    floki.advance(10)
    assert await _status(floki) == "ok"
    assert any("space" in r.getMessage() and "again" in r.getMessage() for r in caplog.records)
