"""What else a tag is known by: an asset's own GIAI in the location index, and the keys a
plugin registers for its technology (floki_register_tag_keys), tried only when no
identifier holds the tag."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

import pytest

from floki_core.location.register_index import RegisterIndex
from floki_core.sdk import TagKeyRegistry, hookimpl
from floki_core.testing import Floki

GIAI = "501234510001"


def _keys(tag: str) -> Sequence[tuple[str, str]]:
    return [("giai", tag.removeprefix("EPC-"))] if tag.startswith("EPC-") else []


TECH = "demo-epc"  # a technology of this test's own plugin


def index_with(tags: dict[tuple[str, str], int]) -> RegisterIndex:
    index = RegisterIndex(tags=dict(tags))
    index.tag_keys = {TECH: _keys}
    return index


def test_an_identifier_holding_the_tag_wins_over_its_other_keys() -> None:
    index = index_with({(TECH, "EPC-9"): 7, ("giai", "9"): 8})
    assert index.asset_for(TECH, "EPC-9") == 7


def test_another_key_finds_the_asset_and_a_miss_stays_none() -> None:
    index = index_with({("giai", GIAI): 3})
    assert index.asset_for(TECH, f"EPC-{GIAI}") == 3
    assert index.asset_for(TECH, "EPC-404") is None
    assert index.asset_for("ibeacon", f"EPC-{GIAI}") is None  # keys are per technology


def test_keys_that_raise_count_as_none(caplog: pytest.LogCaptureFixture) -> None:
    def broken(tag: str) -> Sequence[tuple[str, str]]:
        raise ValueError("no")

    index = RegisterIndex(tags={("giai", GIAI): 3})
    index.tag_keys = {TECH: broken}
    with caplog.at_level(logging.WARNING):
        assert index.asset_for(TECH, GIAI) is None
    assert f"tag keys for {TECH} failed" in caplog.text


class _EpcKeys:
    """A plugin saying its tag "EPC-<giai>" carries that GIAI."""

    FLOKI_PLUGIN_API = ">=1.1,<2"

    @hookimpl
    def floki_register_tag_keys(self, registry: TagKeyRegistry, context: Any) -> None:
        registry.add(TECH, _keys)


@pytest.fixture
def floki_plugins() -> list[tuple[str, object]]:
    return [("epc-keys", _EpcKeys())]


async def _post(floki: Floki, path: str, body: dict[str, Any], method: str = "POST") -> Any:
    resp = await floki.client.request(
        method, "/api/v1" + path, json=body, headers=await floki.headers("admin")
    )
    assert resp.status < 300, await resp.text()
    return await resp.json()


async def test_an_assets_own_giai_finds_it_and_follows_an_edit(floki: Floki) -> None:
    asset = await _post(floki, "/assets", {"asset_number": "E1", "giai": GIAI})
    locations = floki.core.locations

    async def finds(tag: str, expected: int | None) -> bool:
        return locations.index.asset_for(TECH, tag) == expected

    await floki.eventually(lambda: finds(f"EPC-{GIAI}", asset["id"]), "the GIAI in the index")
    await _post(floki, f"/assets/{asset['id']}", {"giai": "501234510002"}, method="PATCH")
    await floki.eventually(lambda: finds("EPC-501234510002", asset["id"]), "the new GIAI")
    assert locations.index.asset_for(TECH, f"EPC-{GIAI}") is None


async def test_a_state_change_does_not_rebuild_the_index(floki: Floki) -> None:
    asset = await _post(floki, "/assets", {"asset_number": "E1", "giai": GIAI})
    locations = floki.core.locations
    await floki.eventually(
        lambda: locations.index.giais.get(asset["id"]) == GIAI, "the GIAI in the index"
    )
    await floki.settle()
    index = locations.index
    await _post(floki, f"/assets/{asset['id']}/state", {"state": "in_use"})
    await floki.settle()
    await asyncio.sleep(0.3)  # a rebuild, had one been asked for, takes milliseconds
    assert locations.index is index
