"""The appliance and its backup still run inside their units' sandboxes.

systemd is not PID 1 where these tests run, so ``systemd-run`` cannot start the units;
tests/packaging/sandbox.py rebuilds from each unit file what can be built without it
(read-only system, private /tmp, the state directory as the only writable place, the
capability bounding set, no_new_privs, W^X memory, the syscall filter, the umask) and
runs the unit's own ``ExecStart`` arguments in it with the environment systemd gives a
service. A setting that breaks Python, uvloop, numpy or shapely shows up here.
"""

from __future__ import annotations

import asyncio
import ctypes
import os
import platform
import shlex
import shutil
import signal
import ssl
import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest

from tests.fixtures.processes import floki_core, free_port
from tests.fixtures.requirements import require, require_binary

PACKAGING = Path(__file__).resolve().parents[2] / "packaging"
SANDBOX = Path(__file__).resolve().parent / "sandbox.py"
STATE = "/var/lib/floki"
PACKAGED_BINARY = "/opt/floki/bin/floki-core"
PR_GET_MDWE = 66
CAP_NET_BIND_SERVICE = 1 << 10
ADMIN_PASSWORD = "sandbox-admin-Passw0rd"

# A probe for the sandbox itself: each line is something the unit forbids.
PROBE = """
import ctypes, mmap, os
libc = ctypes.CDLL(None, use_errno=True)
try:
    mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
    print("wx-mapping: allowed")
except OSError as exc:
    print("wx-mapping:", os.strerror(exc.errno))
libc.sethostname(b"x", 1)
print("sethostname:", os.strerror(ctypes.get_errno()))
try:
    open("/usr/floki-probe", "w")
except OSError as exc:
    print("write-usr:", exc.strerror)
with open("/var/lib/floki/probe", "w") as f:
    f.write("x")
print("state-file-mode:", oct(os.stat("/var/lib/floki/probe").st_mode & 0o777))
status = open("/proc/self/status").read()
print("cpuinfo:", os.path.exists("/proc/cpuinfo"))
print("capabilities:", status.split("CapEff:")[1].split()[0])
import numpy, shapely.geometry, uvloop
print("area:", round(shapely.geometry.Point(0, 0).buffer(1).area + float(numpy.zeros(1)[0]), 2))
"""


def service_environment() -> dict[str, str]:
    """What systemd puts in a ``User=floki`` service's environment (no shell's)."""
    return {
        "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "HOME": "/nonexistent",
        "USER": "floki",
        "LOGNAME": "floki",
        "SHELL": "/usr/sbin/nologin",
        "STATE_DIRECTORY": STATE,
        "CONFIGURATION_DIRECTORY": "/etc/floki",
        "PYTHONUNBUFFERED": "1",
    }


def require_sandbox() -> None:
    require(os.geteuid() == 0, "root (to build the sandbox's mount namespace)")
    require(platform.machine() == "x86_64", "x86-64 (the sandbox's syscall filter)")
    require_binary("unshare")
    require_binary("mount")
    require_binary("systemd-analyze")
    libc = ctypes.CDLL(None, use_errno=True)
    require(libc.prctl(PR_GET_MDWE, 0, 0, 0, 0) >= 0, "a kernel with PR_SET_MDWE (6.3+)")


def exec_start(unit: str) -> list[str]:
    """The unit's ExecStart with the packaged binary replaced by this tree's."""
    line = next(
        raw.partition("=")[2]
        for raw in (PACKAGING / unit).read_text(encoding="utf-8").splitlines()
        if raw.startswith("ExecStart=")
    )
    words = shlex.split(line)
    assert words[0] == PACKAGED_BINARY, words
    return [floki_core(), *words[1:]]


def sandboxed(unit: str, state: Path, command: list[str]) -> list[str]:
    return [
        require_binary("unshare"),
        "--mount",
        "--propagation",
        "private",
        sys.executable,
        str(SANDBOX),
        str(PACKAGING / unit),
        str(state),
        "--",
        *command,
    ]


def run_sandboxed(unit: str, state: Path, command: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        sandboxed(unit, state, command),
        capture_output=True,
        text=True,
        timeout=120,
        env={**service_environment(), "FLOKI_ADMIN_PASSWORD": ADMIN_PASSWORD},
    )


def initialise(state: Path) -> None:
    """``floki-core init`` on the state directory, inside the appliance's sandbox."""
    result = run_sandboxed("floki.service", state, [floki_core(), "--data-dir", STATE, "init"])
    assert result.returncode == 0, result.stderr
    config = state / "floki.toml"
    text = config.read_text(encoding="utf-8")
    # mDNS off: tests use loopback only.
    config.write_text(text.replace("\n[discovery]\n", "\n[discovery]\nenabled = false\n"))


def loose_files(state: Path) -> list[str]:
    """Files or directories the group or others could read (UMask=0077 forbids it)."""
    return [
        f"{path} {oct(path.stat().st_mode & 0o777)}"
        for path in [state, *state.rglob("*")]
        if not path.is_symlink() and path.stat().st_mode & 0o077
    ]


@pytest.fixture
def state(tmp_path: Path) -> Path:
    require_sandbox()
    path = tmp_path / "state"
    path.mkdir(mode=0o700)
    return path


@pytest.fixture(scope="module")
def initialised_once(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One ``init`` for the module (it makes a certificate and hashes a password)."""
    require_sandbox()
    path = tmp_path_factory.mktemp("initialised") / "state"
    path.mkdir(mode=0o700)
    initialise(path)
    return path


@pytest.fixture
def initialised(initialised_once: Path, tmp_path: Path) -> Path:
    """A copy of the initialised state directory, modes kept, for one test to change."""
    path = tmp_path / "state"
    shutil.copytree(initialised_once, path)
    return path


def test_the_sandbox_enforces_the_units_settings(state: Path) -> None:
    """Without this the tests below could pass in a sandbox that restricts nothing."""
    result = run_sandboxed("floki.service", state, [sys.executable, "-c", PROBE])
    assert result.returncode == 0, result.stderr
    lines = dict(line.split(": ", 1) for line in result.stdout.splitlines())
    assert lines["wx-mapping"] == "Permission denied"
    assert lines["sethostname"] == "Operation not permitted"
    assert lines["write-usr"] == "Read-only file system"
    assert lines["state-file-mode"] == "0o600"
    assert lines["cpuinfo"] == "False"
    assert int(lines["capabilities"], 16) == CAP_NET_BIND_SERVICE
    assert lines["area"] == "3.14"


@pytest.mark.asyncio
async def test_appliance_serves_https_inside_its_sandbox(initialised: Path) -> None:
    state = initialised
    port = free_port()
    command = [*exec_start("floki.service"), "--host", "127.0.0.1", "--port", str(port)]
    proc = await asyncio.create_subprocess_exec(
        *sandboxed("floki.service", state, command),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=service_environment(),
    )
    assert proc.stdout is not None and proc.stderr is not None
    try:
        async with asyncio.timeout(60):
            printed = ""
            while "serving at" not in printed:
                line = (await proc.stdout.readline()).decode()
                if not line:
                    err = (await proc.stderr.read()).decode()
                    raise AssertionError(f"serve exited in its sandbox:\n{printed}{err}")
                printed += line
        pinned = ssl.create_default_context(cafile=str(state / "tls" / "cert.pem"))
        pinned.check_hostname = False
        async with (
            aiohttp.ClientSession() as http,
            http.get(f"https://127.0.0.1:{port}/api/v1/health", ssl=pinned) as resp,
        ):
            assert resp.status == 200, await resp.text()
        proc.send_signal(signal.SIGTERM)
        async with asyncio.timeout(30):
            _, stderr = await proc.communicate()
        assert proc.returncode == 0, stderr.decode()
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert loose_files(state) == []


def test_nightly_backup_runs_inside_its_sandbox(initialised: Path) -> None:
    state = initialised
    result = run_sandboxed("floki-backup.service", state, exec_start("floki-backup.service"))
    assert result.returncode == 0, result.stderr
    archives = sorted((state / "backups").glob("floki-backup-*.tar.gz"))
    assert len(archives) == 1, result.stdout
    assert f"{STATE}/backups/{archives[0].name}" in result.stdout
    assert loose_files(state) == []
