"""A label code is looked up in the register's one spelling: on an appliance upgraded
from a release that stored codes as typed, a code typed or scanned in any case names its
asset or place, and one code never names two assets."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import text

from floki_core.storage.database import DB_FILE, MIGRATIONS, Database, default_url
from floki_core.testing import Floki
from tests.plugins.qr.qr_register import API, BASE_URL, post

OLD_CODE = "k7m2abcd"  # a label code typed in lower case, stored so by an earlier release
OLD_PLACE = "w7loc001"


def _old_release_database(folder: Path) -> Path:
    """A database at schema 0008 (the release before 0009) holding asset E2001 with a
    ``qr`` code and a ``barcode`` in lower case, and Ward 7 with a lower-case location
    code, as that release stored what was typed."""
    db = Database(default_url(folder))
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = db.engine
    command.upgrade(cfg, "0008")
    at = {"at": "2026-01-05 09:00:00"}
    with db.engine.begin() as conn:
        conn.execute(text("INSERT INTO sites (id, name, timezone) VALUES (1, 'St E', 'UTC')"))
        conn.execute(
            text("INSERT INTO zones (id, site_id, name, type) VALUES (1, 1, 'Ward 7', 'ward')")
        )
        conn.execute(
            text(
                "INSERT INTO assets (id, asset_number, description, serial, department, "
                "state, created_at, updated_at) "
                "VALUES (1, 'E2001', 'Infusion pump', '', '', 'available', :at, :at)"
            ),
            at,
        )
        conn.execute(
            text(
                "INSERT INTO identifiers (id, asset_id, technology, value) "
                f"VALUES (1, 1, 'qr', '{OLD_CODE}'), (2, 1, 'barcode', 'bc-77x')"
            )
        )
        conn.execute(
            text(
                "INSERT INTO receivers (id, name, technology, identifier, zone_id, notes) "
                f"VALUES (1, 'Location label', 'qr', '{OLD_PLACE}', 1, '')"
            )
        )
    db.close()
    return folder / DB_FILE


@pytest.fixture
def floki_migrated_database(tmp_path: Path) -> Path:
    """The appliance starts on a database an earlier release wrote (and upgrades it)."""
    folder = tmp_path / "old-release"
    folder.mkdir()
    return _old_release_database(folder)


async def _resolve(floki: Floki, scan: str) -> dict[str, Any]:
    resp = await floki.client.get(
        f"{API}/qr/resolve", params={"text": scan}, headers=await floki.headers("viewer")
    )
    body = await resp.json()
    assert resp.status == 200, body
    assert isinstance(body, dict)
    return body


# Each test starts an appliance on a database migrated from 0008 (about a second), so
# the spellings are tried in a loop rather than one appliance each.
ASSET_SCANS = [
    OLD_CODE,  # typed as it was stored
    OLD_CODE.upper(),  # typed, or scanned by a scanner sending upper case
    "K7m2AbCd",
    f"{BASE_URL}/q/{OLD_CODE}",  # the label printed by the earlier release
    f"{BASE_URL}/q/{OLD_CODE.upper()}",
    "BC-77X",
    "bc-77x",
]


async def test_codes_stored_by_an_earlier_release_are_found_in_any_case(floki: Floki) -> None:
    for scan in ASSET_SCANS:
        found = await _resolve(floki, scan)
        assert (found["kind"], found.get("asset_number"), found.get("error")) == (
            "asset",
            "E2001",
            None,
        ), scan
        assert found["tag"] == OLD_CODE.upper(), scan  # what sightings from this label carry
    for scan in (OLD_PLACE, OLD_PLACE.upper(), f"{BASE_URL}/q/{OLD_PLACE}"):
        found = await _resolve(floki, scan)
        assert (found["kind"], found.get("zone_name"), found.get("receiver")) == (
            "zone",
            "Ward 7",
            OLD_PLACE.upper(),
        ), scan


async def test_one_code_names_one_asset_whatever_its_case(floki: Floki) -> None:
    """An earlier release let 'k7m2abcd' and 'K7M2ABCD' be two assets' codes; the upgrade
    leaves such a pair for an engineer to sort out (``floki-core check`` names it). Until
    then a scan names the asset whose code is in the register's spelling, in any case,
    and the label never names the other one."""
    second = await post(floki, "/assets", {"asset_number": "E2002"})
    with floki.core.db.engine.begin() as conn:  # left by the upgrade: its spelling is taken
        conn.execute(
            text(
                "INSERT INTO identifiers (asset_id, technology, value) "
                "VALUES (:asset, 'qr', 'k7m2abcd')"
            ),
            {"asset": second["id"]},
        )
    for scan in (OLD_CODE, OLD_CODE.upper(), f"{BASE_URL}/q/{OLD_CODE}"):
        found = await _resolve(floki, scan)
        assert (found["kind"], found.get("asset_number")) == ("asset", "E2001"), scan
