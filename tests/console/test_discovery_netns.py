"""Discovery for real, inside throwaway network namespaces whose only interface is loopback,
so nothing is ever multicast onto the real LAN (the approach of tests/core/test_discovery.py).

One scenario browses with the console's browser while a real appliance announcement and two
hostile ones (a malformed TXT record, an oversized one) are on the air. The other runs the
window itself in a namespace: the appliance appears in the connect dialog, is picked, its
fingerprint confirmed, and the user logs in. Both start when the module starts.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures.requirements import missing

REPO = Path(__file__).resolve().parents[2]
FINGERPRINT = ":".join(f"{b:02X}" for b in range(0x10, 0x30))
LOOPBACK_UP = "ip link set lo up && ip link set lo multicast on"
GUI_TEST = Path(__file__).with_name("netns_discovery_window.py")

BROWSE = f"""
import asyncio, json
from zeroconf import ServiceInfo
from zeroconf.asyncio import AsyncZeroconf
from floki_core.discovery import SERVICE_TYPE, ApplianceAdvertiser
from floki_console.discovery import ApplianceBrowser

def hostile(name, port, txt):
    return ServiceInfo(
        SERVICE_TYPE, f"{{name}}.{{SERVICE_TYPE}}", port=port, properties=txt,
        server=f"{{name.lower()}}.local.", parsed_addresses=["127.0.0.1"],
    )

async def main():
    good = ApplianceAdvertiser(
        instance_name="Ward 7 theatres", port=8443, version="1.4.0",
        site="St Olaf's \\u2014 North", fingerprint={FINGERPRINT!r}, interfaces=["127.0.0.1"],
    )
    await good.start()
    others = AsyncZeroconf(interfaces=["127.0.0.1"])
    for info in (
        hostile("Broken", 9000, b"\\x0dversion=1.0.0\\x40site=runs past the end"),
        hostile("Huge", 9001, b"".join(bytes([250]) + b"site=" + b"x" * 245 for _ in range(12))),
    ):
        await (await others.async_register_service(info))
    found, lost = {{}}, []

    def on_found(appliance):
        found[appliance.name] = {{
            "site": appliance.site, "host": appliance.host, "port": appliance.port,
            "version": appliance.version, "fingerprint": appliance.fingerprint,
            "problems": list(appliance.problems),
        }}

    browser = ApplianceBrowser(on_found, lost.append, interfaces=["127.0.0.1"])
    await browser.start()
    for _ in range(100):
        if len(found) == 3:
            break
        await asyncio.sleep(0.1)
    await good.stop()
    for _ in range(50):
        if lost:
            break
        await asyncio.sleep(0.1)
    await browser.stop()
    await others.async_close()
    return {{"found": found, "lost": lost}}

print(json.dumps(asyncio.run(main())))
"""


def _require_network_namespaces() -> None:
    for tool in ("unshare", "ip"):
        if shutil.which(tool) is None:
            missing(f"{tool} not found; needed for a private network namespace")
    probe = subprocess.run(["unshare", "--net", "true"], capture_output=True, text=True)
    if probe.returncode != 0:
        missing(f"cannot create a network namespace: {probe.stderr.strip()}")


def _spawn(*argv: str) -> subprocess.Popen[str]:
    # The program travels as sh's $0.. arguments, out of reach of shell quoting.
    python_path = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    return subprocess.Popen(
        ["unshare", "--net", "sh", "-c", f'{LOOPBACK_UP} && exec "$0" "$@"', *argv],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": python_path, "QT_QPA_PLATFORM": "offscreen"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.fixture(scope="module")
def scenarios() -> Iterator[dict[str, subprocess.Popen[str]]]:
    _require_network_namespaces()
    running = {
        "browse": _spawn(sys.executable, "-c", BROWSE),
        "window": _spawn(
            sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(GUI_TEST)
        ),
    }
    yield running
    for process in running.values():
        if process.poll() is None:
            process.kill()
            process.communicate()


def _finished(process: subprocess.Popen[str]) -> tuple[str, str]:
    out, err = process.communicate(timeout=90)
    return out, err


def test_the_browser_lists_the_appliance_and_survives_hostile_announcements(
    scenarios: dict[str, subprocess.Popen[str]],
) -> None:
    out, err = _finished(scenarios["browse"])
    assert scenarios["browse"].returncode == 0, err
    outcome: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    found = outcome["found"]

    assert found["Ward 7 theatres"] == {
        "site": "St Olaf's \u2014 North",
        "host": "127.0.0.1",
        "port": 8443,
        "version": "1.4.0",
        "fingerprint": FINGERPRINT,
        "problems": [],
    }
    assert found["Broken"]["version"] == "1.0.0"
    assert found["Broken"]["problems"] == ["part of the TXT record was malformed and was ignored"]
    assert found["Huge"]["site"] == "" and found["Huge"]["fingerprint"] is None
    assert "too large" in found["Huge"]["problems"][0]
    assert outcome["lost"] == ["Ward 7 theatres._floki._tcp.local."]


def test_the_window_finds_trusts_and_logs_in_to_an_announced_appliance(
    scenarios: dict[str, subprocess.Popen[str]],
) -> None:
    out, err = _finished(scenarios["window"])

    assert scenarios["window"].returncode == 0, out + err
    assert "1 passed" in out
