"""The test kit's ways to pay for a cost once: an appliance started on a copy of a
database prepared once (``floki_database``, ``running_appliance``, ``Floki.tokens``),
and the installed plugins looked up once per ``sys.path`` (``installed_plugins``)."""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import func, select

from floki_core.clock import ManualClock
from floki_core.config import parse_config
from floki_core.errors import Conflict
from floki_core.storage.database import DB_FILE, Database, default_url
from floki_core.storage.models import SiteRow, UserRow
from floki_core.testing import Floki, installed_plugins, running_appliance

PREPARED_SITE = "Prepared General"


@dataclass(frozen=True)
class Prepared:
    database: Path
    tokens: dict[str, str]


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory, floki_migrated_database: Path) -> Prepared:
    """A register holding one site, made through the API of an appliance of its own."""
    data_dir = tmp_path_factory.mktemp("prepared") / "data"
    config = parse_config({"discovery": {"enabled": False}, "server": {"tls": False}})
    clock = ManualClock(dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC))

    async def build() -> dict[str, str]:
        async with running_appliance(
            data_dir, config, clock=clock, database=floki_migrated_database
        ) as floki:
            resp = await floki.client.post(
                "/api/v1/sites", json={"name": PREPARED_SITE}, headers=await floki.headers()
            )
            assert resp.status == 201, await resp.text()
            return dict(floki.tokens)

    tokens = asyncio.run(build())
    return Prepared(data_dir / DB_FILE, tokens)


@pytest.fixture
def floki_database(prepared: Prepared) -> Path:
    return prepared.database


def counts(database: Path) -> tuple[int, int]:
    """(sites, users) in an SQLite file."""
    db = Database(default_url(database.parent))
    try:
        with db.sessions() as session:
            sites = session.scalar(select(func.count()).select_from(SiteRow))
            users = session.scalar(select(func.count()).select_from(UserRow))
    finally:
        db.close()
    return int(sites or 0), int(users or 0)


async def sites(floki: Floki) -> list[str]:
    resp = await floki.client.get("/api/v1/sites", headers=await floki.headers())
    assert resp.status == 200, await resp.text()
    return [item["name"] for item in (await resp.json())["items"]]


async def test_an_appliance_starts_on_a_copy_of_the_prepared_database(
    floki: Floki, prepared: Prepared
) -> None:
    floki.tokens.update(prepared.tokens)
    assert await sites(floki) == [PREPARED_SITE]
    # The prepared admin's token works here, so no second test-admin was made.
    users = await floki.core.read(lambda s: [u.username for u in s.scalars(select(UserRow))])
    assert users.count("test-admin") == 1


async def test_without_the_prepared_tokens_the_test_user_is_refused_by_name(
    floki: Floki,
) -> None:
    with pytest.raises(Conflict, match="a user named 'test-admin' already exists"):
        await floki.token_for("admin")


async def test_what_a_test_writes_stays_in_its_own_copy(floki: Floki, prepared: Prepared) -> None:
    floki.tokens.update(prepared.tokens)
    resp = await floki.client.post(
        "/api/v1/sites", json={"name": "Annexe"}, headers=await floki.headers()
    )
    assert resp.status == 201, await resp.text()
    assert sorted(await sites(floki)) == ["Annexe", PREPARED_SITE]
    assert counts(prepared.database) == (1, 1)  # the prepared file is as it was made


def test_a_plugin_put_on_the_path_is_seen_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = installed_plugins()
    assert installed_plugins() is before  # looked up once for this path
    info = tmp_path / "floki_kit_probe-0.1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: floki-kit-probe\nVersion: 0.1.0\n")
    (info / "entry_points.txt").write_text("[floki]\nkit-probe = json\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert "kit-probe" not in before
    assert installed_plugins() == tuple(sorted([*before, "kit-probe"]))
