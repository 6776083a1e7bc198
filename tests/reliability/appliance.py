"""A real ``floki-core`` for reliability tests: ``init`` a data directory, ``serve`` it on
a free loopback port as a separate process, run CLI commands, kill it.

Plain HTTP and no LAN announcement, so that a test is about what it tests; everything
else is the appliance as installed.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import subprocess
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from tests.fixtures.processes import floki_core, free_port, serve_command

REPO = Path(__file__).resolve().parents[2]
ADMIN_PASSWORD = "reliability-admin-Passw0rd"
START_TIMEOUT = 60.0  # generous: the machine running the suite may be busy


def environment() -> dict[str, str]:
    return {**os.environ, "FLOKI_ADMIN_PASSWORD": ADMIN_PASSWORD, "PYTHONUNBUFFERED": "1"}


@dataclass
class Finished:
    code: int
    out: str
    err: str


async def cli(*args: str | Path, timeout: float = 120.0) -> Finished:
    """Run ``floki-core ARGS`` to the end."""
    proc = await asyncio.create_subprocess_exec(
        floki_core(),
        *[str(a) for a in args],
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=environment(),
        cwd=REPO,
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(), timeout)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise
    return Finished(proc.returncode or 0, out.decode(), err.decode())


def init_data_dir(data_dir: Path) -> Path:
    """``floki-core init`` with TLS and mDNS switched off in the config it writes."""
    done = subprocess.run(
        [floki_core(), "init", "--data-dir", str(data_dir)],
        capture_output=True,
        text=True,
        env=environment(),
        cwd=REPO,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    config = data_dir / "floki.toml"
    text = config.read_text(encoding="utf-8")
    for section, setting in (("server", "tls = false"), ("discovery", "enabled = false")):
        assert text.count(f"\n[{section}]\n") == 1, text
        text = text.replace(f"\n[{section}]\n", f"\n[{section}]\n{setting}\n")
    config.write_text(text, encoding="utf-8")
    return data_dir


def copy_data_dir(source: Path, target: Path) -> Path:
    shutil.copytree(source, target)
    return target


@dataclass
class Served:
    """A ``floki-core serve`` process and what it printed."""

    data_dir: Path
    port: int
    proc: asyncio.subprocess.Process
    log: Path
    started_in: float  # seconds from launch to answering /api/v1/health
    output: list[str] = field(default_factory=list)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def kill9(self) -> None:
        if self.proc.returncode is None:
            self.proc.kill()  # SIGKILL: no shutdown, no flush, as a crash would

    async def stop(self) -> None:
        if self.proc.returncode is None:
            self.proc.terminate()
            try:
                await asyncio.wait_for(self.proc.wait(), 30)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()


async def serve(data_dir: Path, *, port: int | None = None) -> Served:
    """Start ``floki-core serve`` and wait until /api/v1/health answers."""
    port = port or free_port()
    log = data_dir.parent / f"serve-{port}.log"
    started = time.monotonic()
    with log.open("ab") as err:
        proc = await asyncio.create_subprocess_exec(
            *serve_command(data_dir, port),
            stdout=asyncio.subprocess.DEVNULL,
            stderr=err,
            env=environment(),
            cwd=REPO,
        )
    served = Served(data_dir, port, proc, log, 0.0)
    async with aiohttp.ClientSession() as http:
        while True:
            if proc.returncode is not None:
                raise AssertionError(f"serve exited ({proc.returncode}):\n{log.read_text()}")
            if time.monotonic() - started > START_TIMEOUT:
                await served.stop()
                raise AssertionError(f"no answer in {START_TIMEOUT} s:\n{log.read_text()}")
            with contextlib.suppress(aiohttp.ClientError, OSError):
                async with http.get(f"{served.base}/api/v1/health") as resp:
                    if resp.status == 200:
                        break
            await asyncio.sleep(0.05)
    served.started_in = time.monotonic() - started
    return served


@contextlib.asynccontextmanager
async def serving(data_dir: Path) -> AsyncIterator[Served]:
    served = await serve(data_dir)
    try:
        yield served
    finally:
        await served.stop()


class Client:
    """An HTTP session signed in as the administrator (a token from the CLI)."""

    def __init__(self, served: Served, token: str) -> None:
        self.served = served
        self.headers = {"Authorization": f"Bearer {token}"}
        self.http = aiohttp.ClientSession(
            base_url=served.base, timeout=aiohttp.ClientTimeout(total=120)
        )

    @classmethod
    async def admin(cls, served: Served) -> Client:
        made = await cli("token", "create", "--user", "admin", "--data-dir", served.data_dir)
        assert made.code == 0, made.err
        return cls(served, made.out.strip())

    async def call(self, method: str, path: str, **kwargs: Any) -> tuple[int, Any]:
        headers = {**self.headers, **kwargs.pop("headers", {})}
        async with self.http.request(method, path, headers=headers, **kwargs) as resp:
            body = await resp.json() if resp.content_type == "application/json" else None
            return resp.status, body

    async def close(self) -> None:
        await self.http.close()
