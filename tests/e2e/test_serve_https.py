"""The two-command front door, end to end, as issue 2 is judged.

``floki-core init`` on a fresh data directory, then ``floki-core serve``: the appliance
answers over HTTPS with its own certificate (the fingerprint it prints is the one it
serves), refuses the register without a token, accepts a token made by the CLI, lists
the BLE plugin, lets the admin log in, and stops cleanly on SIGTERM.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import re
import signal
import ssl
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest
import pytest_asyncio

from tests.fixtures.processes import floki_core, free_port, serve_command

REPO = Path(__file__).resolve().parents[2]
ADMIN_PASSWORD = "e2e-admin-Passw0rd"
# One appliance serves the read-only checks (module loop); the shutdown test starts its own.
pytestmark = pytest.mark.asyncio(loop_scope="module")
FINGERPRINT = re.compile(r"Certificate SHA-256 fingerprint: ((?:[0-9A-F]{2}:){31}[0-9A-F]{2})")


def environment() -> dict[str, str]:
    return {**os.environ, "FLOKI_ADMIN_PASSWORD": ADMIN_PASSWORD, "PYTHONUNBUFFERED": "1"}


async def run(*args: str | Path) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        floki_core(),
        *[str(a) for a in args],
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=environment(),
        cwd=REPO,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    return proc.returncode or 0, out.decode(), err.decode()


def sha256_fingerprint(der: bytes) -> str:
    digest = hashlib.sha256(der).hexdigest().upper()
    return ":".join(digest[i : i + 2] for i in range(0, len(digest), 2))


def disable_discovery(config: Path) -> None:
    """Switch mDNS off in the ``[discovery]`` section ``init`` wrote (no LAN noise)."""
    text = config.read_text(encoding="utf-8")
    assert text.count("\n[discovery]\n") == 1, text
    config.write_text(text.replace("\n[discovery]\n", "\n[discovery]\nenabled = false\n"))


@dataclass
class Appliance:
    data_dir: Path
    port: int
    proc: asyncio.subprocess.Process
    init_output: str
    serve_output: str
    pinned: ssl.SSLContext
    log: Path

    @property
    def base(self) -> str:
        return f"https://127.0.0.1:{self.port}"


@contextlib.asynccontextmanager
async def start_appliance(workdir: Path) -> AsyncIterator[Appliance]:
    """``floki-core init`` then ``floki-core serve`` on a free port, until it says it serves."""
    data_dir = workdir / "var"
    code, init_out, init_err = await run("init", "--data-dir", data_dir)
    assert code == 0, init_err
    disable_discovery(data_dir / "floki.toml")

    port = free_port()
    log_path = workdir / "serve.log"
    log = log_path.open("wb")
    proc = await asyncio.create_subprocess_exec(
        *serve_command(data_dir, port),
        stdout=asyncio.subprocess.PIPE,
        stderr=log,
        env=environment(),
        cwd=REPO,
    )
    assert proc.stdout is not None
    printed: list[str] = []
    try:
        async with asyncio.timeout(30):
            while not any("serving at" in line for line in printed):
                line = (await proc.stdout.readline()).decode()
                if not line:
                    raise AssertionError(
                        "serve exited before serving:\n" + "".join(printed) + log_path.read_text()
                    )
                printed.append(line)
            # The fingerprint line follows the "serving at" line.
            printed.append((await proc.stdout.readline()).decode())

        pinned = ssl.create_default_context(cafile=str(data_dir / "tls" / "cert.pem"))
        pinned.check_hostname = False
        yield Appliance(data_dir, port, proc, init_out, "".join(printed), pinned, log_path)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        log.close()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def appliance(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Appliance]:
    async with start_appliance(tmp_path_factory.mktemp("e2e")) as running:
        yield running


@pytest_asyncio.fixture(loop_scope="module")
async def own_appliance(tmp_path: Path) -> AsyncIterator[Appliance]:
    async with start_appliance(tmp_path) as running:
        yield running


async def test_init_then_serve_answers_health_over_pinned_https(appliance: Appliance) -> None:
    assert f"serving at https://localhost:{appliance.port}/api/v1/health" in appliance.serve_output
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{appliance.base}/api/v1/health", ssl=appliance.pinned) as resp,
    ):
        assert resp.status == 200
        body = await resp.json()
    assert body["status"] == "ok"
    assert body["version"] == "0.1.0"


async def test_printed_fingerprint_is_the_served_certificate(appliance: Appliance) -> None:
    pem = await asyncio.to_thread(ssl.get_server_certificate, ("127.0.0.1", appliance.port))
    served = sha256_fingerprint(ssl.PEM_cert_to_DER_cert(pem))
    [at_init] = FINGERPRINT.findall(appliance.init_output)
    [at_start] = FINGERPRINT.findall(appliance.serve_output)
    assert served == at_init == at_start


async def test_plain_http_and_unpinned_https_are_refused(appliance: Appliance) -> None:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as http:
        with pytest.raises(aiohttp.ClientError):
            async with http.get(f"http://127.0.0.1:{appliance.port}/api/v1/health") as resp:
                await resp.read()
        # The self-signed certificate is trusted only where it has been pinned.
        with pytest.raises(aiohttp.ClientConnectorCertificateError):
            async with http.get(f"{appliance.base}/api/v1/health") as resp:
                await resp.read()


async def test_register_needs_a_token_and_a_cli_token_opens_it(appliance: Appliance) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{appliance.base}/api/v1/assets", ssl=appliance.pinned) as resp:
            assert resp.status == 401

        # Made by the CLI while the appliance is running, as an administrator would.
        code, out, err = await run(
            "token", "create", "--user", "admin", "--data-dir", appliance.data_dir
        )
        assert code == 0, err
        headers = {"Authorization": f"Bearer {out.strip()}"}
        async with http.get(
            f"{appliance.base}/api/v1/assets", ssl=appliance.pinned, headers=headers
        ) as resp:
            assert resp.status == 200
            assert "items" in await resp.json()

        async with http.get(
            f"{appliance.base}/api/v1/plugins", ssl=appliance.pinned, headers=headers
        ) as resp:
            assert resp.status == 200
            plugins = {p["name"]: p for p in (await resp.json())["items"]}
        assert plugins["ble"]["version"] == "0.1.0"
        assert plugins["ble"]["status"] == "running"


async def test_admin_logs_in_with_the_init_password_and_sigterm_stops_cleanly(
    own_appliance: Appliance,
) -> None:
    appliance = own_appliance
    async with aiohttp.ClientSession() as http:
        async with http.post(
            f"{appliance.base}/api/v1/auth/login",
            json={"username": "admin", "password": ADMIN_PASSWORD},
            ssl=appliance.pinned,
        ) as resp:
            assert resp.status == 200, await resp.text()
            login = await resp.json()
        assert login["token"].startswith("flk_")
        assert login["expires_at"]
        async with http.get(
            f"{appliance.base}/api/v1/assets",
            ssl=appliance.pinned,
            headers={"Authorization": f"Bearer {login['token']}"},
        ) as resp:
            assert resp.status == 200

    appliance.proc.send_signal(signal.SIGTERM)
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(appliance.proc.wait(), 10)
    assert appliance.proc.returncode == 0, appliance.log.read_text()
    assert "Traceback" not in appliance.log.read_text()
