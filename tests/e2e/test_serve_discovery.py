"""``floki-core init`` + ``serve`` announce the appliance the way a console finds it.

Each scenario runs a small driver inside its own ``unshare --net`` namespace whose only
interface is loopback, so the appliance and the browsing console share a network and nothing
is multicast onto the real LAN. The driver runs the real CLI: ``init``, then ``serve``, then
browses as the console does, checks the appliance answers, and stops it with SIGTERM.
Scenarios take a few seconds each, so they all start together when the module starts.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from floki_core import __version__
from tests.fixtures.requirements import missing, require_binary

REPO = Path(__file__).resolve().parents[2]
ADMIN_PASSWORD = "e2e-admin-Passw0rd"
SITE = "Ward 7 theatres \u2014 North"

LOOPBACK_UP = "ip link set lo up && ip link set lo multicast on"

DRIVER = r"""
import asyncio, dataclasses, json, os, re, signal, socket, ssl, subprocess, sys, urllib.request
from pathlib import Path

from floki_core.discovery import browse_appliances

floki, work, site, discovery, password = sys.argv[1:]
work = Path(work)
data_dir = work / "var"
env = {**os.environ, "FLOKI_ADMIN_PASSWORD": password, "PYTHONUNBUFFERED": "1"}
outcome = {}

def finish():
    print(json.dumps(outcome))
    sys.exit(0)

init = subprocess.run(
    [floki, "init", "--data-dir", str(data_dir), "--site", site],
    capture_output=True, text=True, env=env, timeout=60,
)
outcome["init"] = {"code": init.returncode, "stdout": init.stdout, "stderr": init.stderr}
if init.returncode != 0:
    finish()

config = data_dir / "floki.toml"
text = config.read_text(encoding="utf-8")
assert text.count("\n[discovery]\n") == 1, text
config.write_text(text.replace("\n[discovery]\n", "\n[discovery]\n" + discovery + "\n"))

with socket.socket() as sock:
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
outcome["port"] = port

log_path = work / "serve.log"
with log_path.open("wb") as log:
    serve = subprocess.Popen(
        [floki, "serve", "--data-dir", str(data_dir), "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.PIPE, stderr=log, env=env, text=True,
    )
printed = []
while not printed or "Press Ctrl+C" not in printed[-1]:
    line = serve.stdout.readline()
    if not line:
        break
    printed.append(line)
outcome["serve_stdout"] = "".join(printed)

try:
    if serve.poll() is None:
        found = asyncio.run(browse_appliances(timeout=2.0, interfaces=["127.0.0.1"]))
        outcome["found"] = [dataclasses.asdict(appliance) for appliance in found]
        # Proof the appliance was up while nothing was found, over the certificate init made.
        pinned = ssl.create_default_context(cafile=str(data_dir / "tls" / "cert.pem"))
        with urllib.request.urlopen(
            f"https://127.0.0.1:{port}/api/v1/health", context=pinned, timeout=10
        ) as resp:
            outcome["health"] = resp.status
finally:
    if serve.poll() is None:
        serve.send_signal(signal.SIGTERM)
try:
    outcome["serve_code"] = serve.wait(timeout=10)
except subprocess.TimeoutExpired:
    serve.kill()
    outcome["serve_code"] = "still running 10 s after SIGTERM"
outcome["serve_stderr"] = log_path.read_text()
finish()
"""

SCENARIOS: dict[str, tuple[str, str]] = {
    # interfaces only: announcing is what serve does unless told otherwise.
    "announced": (SITE, 'interfaces = ["127.0.0.1"]'),
    "disabled": (SITE, 'enabled = false\ninterfaces = ["127.0.0.1"]'),
    # Hospital names carry apostrophes; the announced site must be the one given to init.
    "apostrophe": ("St Olaf's", 'interfaces = ["127.0.0.1"]'),
}


def _require_network_namespaces() -> None:
    for tool in ("unshare", "ip"):
        if shutil.which(tool) is None:
            missing(f"{tool} not found; needed for a private network namespace")
    probe = subprocess.run(["unshare", "--net", "true"], capture_output=True, text=True)
    if probe.returncode != 0:
        missing(f"cannot create a network namespace: {probe.stderr.strip()}")


def _spawn(floki: str, work: Path, site: str, discovery: str) -> subprocess.Popen[str]:
    # Python, the driver and its arguments travel as sh's positional parameters, out of reach
    # of shell quoting.
    python_path = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    work.mkdir(parents=True)
    return subprocess.Popen(
        [
            "unshare",
            "--net",
            "sh",
            "-c",
            f'{LOOPBACK_UP} && exec "$0" -c "$@"',
            sys.executable,
            DRIVER,
            floki,
            str(work),
            site,
            discovery,
            ADMIN_PASSWORD,
        ],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": python_path},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # Its own process group, so a hung scenario can be killed together with its server.
        start_new_session=True,
    )


@pytest.fixture(scope="module")
def scenarios(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[dict[str, subprocess.Popen[str]]]:
    _require_network_namespaces()
    floki = require_binary(str(Path(sys.executable).parent / "floki-core"))
    base = tmp_path_factory.mktemp("discovery")
    running = {
        name: _spawn(floki, base / name, site, discovery)
        for name, (site, discovery) in SCENARIOS.items()
    }
    yield running
    for process in running.values():
        # The whole group: a driver that died may have left its server behind.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.communicate()


def _outcome(scenarios: dict[str, subprocess.Popen[str]], name: str) -> dict[str, Any]:
    process = scenarios[name]
    try:
        out, err = process.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        out, err = process.communicate()
        pytest.fail(f"scenario {name} did not finish in 30 s:\n{out}\n{err}")
    assert process.returncode == 0, f"scenario {name} failed:\n{err}"
    outcome: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return outcome


def _init_fingerprint(outcome: dict[str, Any]) -> str:
    init = outcome["init"]
    assert init["code"] == 0, init["stderr"]
    prefix = "Certificate SHA-256 fingerprint: "
    [line] = [line for line in init["stdout"].splitlines() if line.startswith(prefix)]
    return line.removeprefix(prefix)


def _served_and_stopped_cleanly(outcome: dict[str, Any]) -> None:
    assert "serving at" in outcome["serve_stdout"], outcome["serve_stderr"]
    assert outcome["health"] == 200
    assert outcome["serve_code"] == 0, outcome["serve_stderr"]
    assert "Traceback" not in outcome["serve_stderr"]


def test_served_appliance_is_found_as_init_and_serve_set_it_up(
    scenarios: dict[str, subprocess.Popen[str]],
) -> None:
    outcome = _outcome(scenarios, "announced")
    fingerprint = _init_fingerprint(outcome)

    _served_and_stopped_cleanly(outcome)
    assert outcome["found"] == [
        {
            "name": SITE,
            "host": "127.0.0.1",
            "addresses": ["127.0.0.1"],
            "port": outcome["port"],
            "version": __version__,
            "site": SITE,
            "fingerprint": fingerprint,
            "api_path": "/api/v1",
            "tls": True,
        }
    ]


def test_disabled_discovery_announces_nothing(
    scenarios: dict[str, subprocess.Popen[str]],
) -> None:
    outcome = _outcome(scenarios, "disabled")

    _init_fingerprint(outcome)
    _served_and_stopped_cleanly(outcome)
    assert outcome["found"] == []


def test_site_name_with_an_apostrophe_is_announced_as_given(
    scenarios: dict[str, subprocess.Popen[str]],
) -> None:
    outcome = _outcome(scenarios, "apostrophe")

    _init_fingerprint(outcome)
    _served_and_stopped_cleanly(outcome)
    [found] = outcome["found"]
    assert found["site"] == "St Olaf's"
    assert found["name"] == "St Olaf's"
