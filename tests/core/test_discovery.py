"""mDNS announcing and browsing, run for real inside throwaway network namespaces.

Every scenario runs in its own ``unshare --net`` namespace whose only interface is loopback,
so nothing is ever multicast onto the real LAN. Scenarios take a few seconds each (probing
for a unique name alone takes over a second), so they all start together when the module
starts and each test collects its own.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NoReturn

import pytest

REPO = Path(__file__).resolve().parents[2]
FINGERPRINT = ":".join(f"{b:02X}" for b in range(0x10, 0x30))  # SHA-256 sized, colon separated

# Loopback with multicast, plus two more addresses so two advertisers can act as two hosts.
LOOPBACK_UP = (
    "ip link set lo up && ip link set lo multicast on"
    " && ip addr add 127.0.0.2/8 dev lo && ip addr add 127.0.0.3/8 dev lo"
)

PRELUDE = (
    f"FINGERPRINT = {FINGERPRINT!r}\n"
    + """
import asyncio, dataclasses, json
from floki_core.discovery import SERVICE_TYPE, ApplianceAdvertiser, browse_appliances
from floki_core.errors import FlokiError

# Above the one second an mDNS responder waits before answering the same question again.
BROWSE = 2.0

def appliance(address, **changes):
    settings = dict(
        instance_name="Ward 7 theatres", port=8443, version="1.4.0", site="St Olaf's \u2014 North",
        fingerprint=FINGERPRINT, interfaces=[address],
    )
    return ApplianceAdvertiser(**{**settings, **changes})

async def browse():
    found = await browse_appliances(timeout=BROWSE, interfaces=["127.0.0.1"])
    return [dataclasses.asdict(a) for a in found]
"""
)

SCENARIOS: dict[str, tuple[str, str]] = {
    "round_trip": (
        LOOPBACK_UP,
        """
async def main():
    advertiser = appliance("127.0.0.1")
    await advertiser.start()
    try:
        return await browse()
    finally:
        await advertiser.stop()
""",
    ),
    "stop": (
        LOOPBACK_UP,
        """
from zeroconf import DNSQuestionType
from zeroconf.asyncio import AsyncServiceBrowser, AsyncZeroconf

async def main():
    events = []
    changed = asyncio.Event()

    def on_change(zeroconf, service_type, name, state_change):
        events.append([name, state_change.name])
        changed.set()

    async def until(state):
        while not any(event[1] == state for event in events):
            changed.clear()
            await asyncio.wait_for(changed.wait(), 5)

    watcher = AsyncZeroconf(interfaces=["127.0.0.1"])
    browser = AsyncServiceBrowser(
        watcher.zeroconf, SERVICE_TYPE, handlers=[on_change], question_type=DNSQuestionType.QM
    )
    advertiser = appliance("127.0.0.1")
    await advertiser.start()
    await until("Added")
    await advertiser.stop()
    await until("Removed")
    await browser.async_cancel()
    await watcher.async_close()
    return {"events": events, "after_stop": await browse()}
""",
    ),
    "same_name": (
        LOOPBACK_UP,
        # Two addresses, as two appliances would have. On one shared address the defender's
        # unicast reply to the newcomer's probe lands on whichever socket the kernel picks
        # among those bound to 127.0.0.1:5353, so the clash could go unnoticed.
        """
async def main():
    first = appliance("127.0.0.2")
    second = appliance(
        "127.0.0.3", port=9443, fingerprint=None, api_path="/floki/api", tls=False
    )
    await first.start()
    await second.start()
    try:
        return {"names": [first.service_name, second.service_name], "found": await browse()}
    finally:
        await second.stop()
        await first.stop()
""",
    ),
    "no_network": (
        "",  # loopback left down: no interface at all
        """
async def main():
    attempts = {
        "advertise on an address": appliance("127.0.0.1").start,
        "advertise on all interfaces": appliance(None, interfaces=None).start,
        "browse an address": lambda: browse_appliances(0.1, interfaces=["127.0.0.1"]),
        "browse all interfaces": lambda: browse_appliances(0.1),
    }
    outcome = {}
    for label, attempt in attempts.items():
        try:
            await attempt()
            outcome[label] = "no error"
        except FlokiError as exc:
            outcome[label] = str(exc)
        except Exception as exc:
            outcome[label] = f"{type(exc).__name__}: {exc}"
    return outcome
""",
    ),
}

EPILOGUE = "\nprint(json.dumps(asyncio.run(main())))\n"


def _skip_or_fail(reason: str) -> NoReturn:
    # A missing system tool skips on a developer machine but fails in CI (DESIGN.md section 9).
    if os.environ.get("CI"):
        pytest.fail(f"missing in CI: {reason}", pytrace=False)
    pytest.skip(reason)


def _require_network_namespaces() -> None:
    for tool in ("unshare", "ip"):
        if shutil.which(tool) is None:
            _skip_or_fail(f"{tool} not found; needed for a private network namespace")
    probe = subprocess.run(["unshare", "--net", "true"], capture_output=True, text=True)
    if probe.returncode != 0:
        _skip_or_fail(f"cannot create a network namespace: {probe.stderr.strip()}")


def _spawn(setup: str, body: str) -> subprocess.Popen[str]:
    # Python and the script travel as sh's $0 and $1, out of reach of shell quoting.
    command = f'{setup} && exec "$0" -c "$1"' if setup else 'exec "$0" -c "$1"'
    python_path = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    return subprocess.Popen(
        ["unshare", "--net", "sh", "-c", command, sys.executable, PRELUDE + body + EPILOGUE],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": python_path},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.fixture(scope="module")
def scenarios() -> Iterator[dict[str, subprocess.Popen[str]]]:
    _require_network_namespaces()
    running = {name: _spawn(setup, body) for name, (setup, body) in SCENARIOS.items()}
    yield running
    for process in running.values():
        if process.poll() is None:
            process.kill()
            process.communicate()


def _outcome(scenarios: dict[str, subprocess.Popen[str]], name: str) -> Any:
    out, err = scenarios[name].communicate(timeout=30)
    assert scenarios[name].returncode == 0, f"scenario {name} failed:\n{err}"
    return json.loads(out.strip().splitlines()[-1])


def test_announced_appliance_is_found_with_everything_it_announced(
    scenarios: dict[str, subprocess.Popen[str]],
) -> None:
    found = _outcome(scenarios, "round_trip")

    assert found == [
        {
            "name": "Ward 7 theatres",
            "host": "127.0.0.1",
            "addresses": ["127.0.0.1"],
            "port": 8443,
            "version": "1.4.0",
            "site": "St Olaf's \u2014 North",
            "fingerprint": FINGERPRINT,
            "api_path": "/api/v1",
            "tls": True,
        }
    ]


def test_stop_says_goodbye(scenarios: dict[str, subprocess.Popen[str]]) -> None:
    outcome = _outcome(scenarios, "stop")

    name = "Ward 7 theatres._floki._tcp.local."
    assert [name, "Added"] in outcome["events"]
    assert outcome["events"][-1] == [name, "Removed"]
    assert outcome["after_stop"] == []


def test_two_appliances_with_one_name_are_both_found(
    scenarios: dict[str, subprocess.Popen[str]],
) -> None:
    outcome = _outcome(scenarios, "same_name")

    first, second = outcome["names"]
    assert first == "Ward 7 theatres._floki._tcp.local."
    assert second != first
    assert second.startswith("Ward 7 theatres")
    by_host = {appliance["host"]: appliance for appliance in outcome["found"]}
    assert sorted(by_host) == ["127.0.0.2", "127.0.0.3"]
    assert by_host["127.0.0.2"]["name"] + "._floki._tcp.local." == first
    assert by_host["127.0.0.3"] == {
        "name": second.removesuffix("._floki._tcp.local."),
        "host": "127.0.0.3",
        "addresses": ["127.0.0.3"],
        "port": 9443,
        "version": "1.4.0",
        "site": "St Olaf's \u2014 North",
        "fingerprint": None,
        "api_path": "/floki/api",
        "tls": False,
    }


def test_no_usable_network_is_a_clear_error(scenarios: dict[str, subprocess.Popen[str]]) -> None:
    outcome = _outcome(scenarios, "no_network")

    assert len(outcome) == 4
    for attempt, message in outcome.items():
        assert message.startswith("discovery: "), f"{attempt}: {message}"
