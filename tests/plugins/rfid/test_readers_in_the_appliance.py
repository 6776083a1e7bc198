"""The readers as the appliance runs them: a configured reader is a source of the rfid
plugin, and a mistaken reader setting fails the plugin with a message naming the key."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import floki_rfid
import pytest

from floki_core.config import AppConfig, parse_config
from floki_core.testing import Floki
from tests.plugins.rfid.llrp_peer import EmulatedReader, tag_report

pytestmark = pytest.mark.floki_entry_points("rfid")
FAST = {"backoff_initial": 0.02, "backoff_max": 0.1, "max_failures": 1000}


@pytest.fixture
def readers(llrp_reader: EmulatedReader) -> list[dict[str, Any]]:
    return [{"name": "store-1", "host": "127.0.0.1", "port": llrp_reader.port}]


@pytest.fixture
def floki_config(readers: list[dict[str, Any]]) -> AppConfig:
    return parse_config(
        {
            "discovery": {"enabled": False},
            "server": {"tls": False},
            "plugins": {"supervision": FAST},
            "plugin": {"rfid": {"readers": readers}},
        }
    )


async def plugin(floki: Floki) -> dict[str, Any]:
    resp = await floki.client.get("/api/v1/plugins", headers=await floki.headers("viewer"))
    found: dict[str, Any] = next(p for p in (await resp.json())["items"] if p["name"] == "rfid")
    return found


async def test_a_configured_reader_is_a_running_source_that_inventories(
    floki: Floki, llrp_reader: EmulatedReader
) -> None:
    await floki.eventually(lambda: llrp_reader.inventorying, "the reader to inventory")
    entry = await plugin(floki)
    assert entry["status"] == "running", entry
    assert [s["name"] for s in entry["sources"]] == ["rfid-llrp-store-1"]


async def test_the_reader_s_health_is_listed_with_its_source(
    floki: Floki, llrp_reader: EmulatedReader
) -> None:
    await floki.eventually(lambda: llrp_reader.inventorying, "the reader to inventory")
    [source] = (await plugin(floki))["sources"]
    assert source["details"] == {
        "kind": "llrp",
        "connected": True,
        "address": f"127.0.0.1:{llrp_reader.port}",
        "antennas": [],
        "reads_per_s": 0.0,
        "tags_per_s": 0.0,
        "reports": 0,
        "last_report": None,
    }

    epc = "E280689400005009A7E1F2C3"
    await llrp_reader.report(tag_report(epc, 1, -61, seen=7), tag_report(epc, 2, -70, seen=3))

    async def handed_over() -> bool:
        return bool((await plugin(floki))["sources"][0]["details"]["reports"])

    await floki.eventually(handed_over, "the reads to be handed over")
    details = (await plugin(floki))["sources"][0]["details"]
    assert details["antennas"] == [1, 2]  # none configured: those heard
    assert details["reports"] == 2
    assert details["reads_per_s"] == 1.0  # 10 reads over the last 10 s
    assert details["tags_per_s"] == 0.2
    assert details["last_report"] == floki.clock.now().isoformat()

    await llrp_reader.close()
    await floki.eventually(
        lambda: not floki.core.plugins.plugins["rfid"].sources[0].details()["connected"],  # type: ignore[index]
        "the reader to be seen gone",
    )


@pytest.fixture
def twice_named(readers: list[dict[str, Any]]) -> None:
    readers[0]["antennas"] = [1, 2, 1]


@pytest.mark.usefixtures("twice_named")
async def test_a_mistaken_reader_setting_fails_the_plugin_naming_it(floki: Floki) -> None:
    entry = await plugin(floki)
    assert entry["status"] == "failed"
    assert "plugin.rfid.readers[0]: antennas lists port 1 twice" in entry["reason"], entry


def test_only_the_adapter_imports_the_llrp_client() -> None:
    package = Path(floki_rfid.__file__).parent
    importers = []
    for module in sorted(package.glob("*.py")):
        for node in ast.walk(ast.parse(module.read_text(encoding="utf-8"))):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            if any(n == "llrpkit" or n.startswith("llrpkit.") for n in names):
                importers.append(module.name)
                break
    # The adapter is the one client of a real reader; simulator_readers.py runs llrpkit's
    # reader emulator (the server side) for the demo, never as a client.
    assert importers == ["llrp_adapter.py", "simulator_readers.py"]
