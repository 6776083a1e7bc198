"""A 50,000-row register import into a real ``floki-core serve``, over HTTP and from the
CLI, while people change states and sign in: every one of them is answered 2xx, and the
import ends whole - or, with a bad row and no skip_bad, not at all.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pytest
import pytest_asyncio

from tests.reliability.appliance import (
    ADMIN_PASSWORD,
    Client,
    Finished,
    Served,
    cli,
    copy_data_dir,
    serve,
)

pytestmark = pytest.mark.asyncio(loop_scope="module")
# Enough rows that the import holds the write lock while the department's writes arrive
# (the 50,000-row figures are the benchmark's: python -m bench.register_import).
ROWS = 20_000
HEADER = "Asset No,Description,Make,Model,Serial No,Department,Last PPM,Next PPM Due,GIAI"
T = TypeVar("T")


def register(prefix: str, *, description: str = "Pump", last_giai: str = "") -> bytes:
    rows = [
        f"{prefix}{n:06d},{description} {n},BD,Model {n % 40},SN{n},Ward {n % 9},"
        f"2025-01-01,2026-01-01,5012345{prefix}{n:06d}"
        for n in range(1, ROWS)
    ]
    rows.append(f"{prefix}{ROWS:06d},Last row,BD,Model 0,SN0,Ward 0,,,{last_giai}")
    return ("\r\n".join([HEADER, *rows]) + "\r\n").encode()


@dataclass
class Department:
    served: Served
    admin: Client
    assets: list[int]
    answers: list[tuple[str, int]] = field(default_factory=list)  # (what, status)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def department(
    initialised: Path, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Department]:
    data_dir = copy_data_dir(initialised, tmp_path_factory.mktemp("import") / "var")
    served = await serve(data_dir)
    admin = await Client.admin(served)
    try:
        ids = []
        for n in range(3):
            status, body = await admin.call(
                "POST", "/api/v1/assets", json={"asset_number": f"WARD-{n}"}
            )
            assert status == 201, body
            ids.append(int(body["id"]))
        yield Department(served, admin, ids)
    finally:
        await admin.close()
        await served.stop()


async def beside(dept: Department, work: Awaitable[T]) -> tuple[T, float]:
    """Run ``work`` while states change on the ward's assets and the admin signs in;
    returns what it gave and how long it took. Every answer is kept in ``dept.answers``."""
    dept.answers.clear()
    done = asyncio.Event()

    async def change_states(asset: int) -> None:
        status, body = await dept.admin.call("GET", f"/api/v1/assets/{asset}")
        assert status == 200, body
        state = "available" if body["state"] == "dirty" else "dirty"
        while not done.is_set():
            status, _ = await dept.admin.call(
                "POST", f"/api/v1/assets/{asset}/state", json={"state": state}
            )
            dept.answers.append(("state change", status))
            state = "available" if state == "dirty" else "dirty"
            await asyncio.sleep(0.2)  # a busy ward, not a load test

    async def sign_in() -> None:
        login = {"username": "admin", "password": ADMIN_PASSWORD}
        while not done.is_set():
            status, _ = await dept.admin.call("POST", "/api/v1/auth/login", json=login)
            dept.answers.append(("login", status))
            await asyncio.sleep(2)  # a password hash is meant to be slow

    others = [asyncio.create_task(change_states(a)) for a in dept.assets]
    others.append(asyncio.create_task(sign_in()))
    started = time.monotonic()
    try:
        result = await work
    finally:
        done.set()
        await asyncio.gather(*others)
    return result, time.monotonic() - started


def assert_all_answered(dept: Department) -> None:
    failed = [(what, status) for what, status in dept.answers if not 200 <= status < 300]
    assert failed == [], f"{len(failed)} of {len(dept.answers)} refused, e.g. {failed[:3]}"
    assert sum(what == "state change" for what, _ in dept.answers) >= len(dept.assets)
    assert any(what == "login" for what, _ in dept.answers)


async def asset_count(dept: Department) -> int:
    status, body = await dept.admin.call("GET", "/api/v1/assets", params={"limit": "1"})
    assert status == 200, body
    return int(body["total"])


async def http_import(dept: Department, data: bytes) -> tuple[int, Any]:
    return await dept.admin.call(
        "POST", "/api/v1/assets/import", data=data, headers={"Content-Type": "text/csv"}
    )


async def test_http_and_cli_imports_end_whole_while_every_write_is_answered(
    department: Department, tmp_path: Path
) -> None:
    source = tmp_path / "register.csv"
    source.write_bytes(register("C"))
    data_dir = department.served.data_dir
    before = await asset_count(department)

    async def one_then_the_other() -> tuple[tuple[int, Any], Finished]:
        over_http = await http_import(department, register("H"))
        from_cli = await cli("import-assets", str(source), "--data-dir", data_dir, timeout=300)
        return over_http, from_cli

    ((status, report), done), took = await beside(department, one_then_the_other())

    writes = len(department.answers)
    print(f"\n{ROWS} rows over HTTP, then {ROWS} from the CLI: {took:.1f} s, {writes} writes")
    assert status == 200, report
    assert (report["created"], report["skipped"]) == (ROWS, 0)
    assert done.code == 0, done.err
    assert f"created {ROWS}, updated 0, unchanged 0, skipped 0" in done.out
    assert_all_answered(department)
    assert await asset_count(department) == before + 2 * ROWS


async def test_a_file_with_a_bad_row_changes_nothing_while_every_write_is_answered(
    department: Department,
) -> None:
    # The last row names a GIAI another asset holds: found only against the register.
    status, holder = await department.admin.call(
        "POST", "/api/v1/assets", json={"asset_number": "HOLDER-1", "giai": "5012345HOLDER1"}
    )
    assert status == 201, holder
    bad = register("X", last_giai="5012345HOLDER1")
    before = await asset_count(department)

    (status, refused), _ = await beside(department, http_import(department, bad))

    assert status == 422, refused
    said = f"line {ROWS + 1}: GIAI: GIAI '5012345HOLDER1' belongs to asset HOLDER-1"
    assert said in refused["error"]
    assert "nothing was imported" in refused["error"]
    assert_all_answered(department)
    assert await asset_count(department) == before
    status, found = await department.admin.call("GET", "/api/v1/assets", params={"q": "X000001"})
    assert status == 200 and found["total"] == 0
