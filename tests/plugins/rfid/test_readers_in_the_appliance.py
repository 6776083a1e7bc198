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
from tests.plugins.rfid.llrp_peer import EmulatedReader

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
    assert importers == ["llrp_adapter.py"]
