"""Migration 0009 rewrites the tag and receiver identifiers earlier releases stored in
other spellings into their kind's one spelling, on SQLite and on PostgreSQL. A row whose
new spelling is another row's is left as stored and named: in the log at upgrade and by
``identifier_spelling_problems`` (what ``floki-core check`` reports). One audit entry,
on the hash chain, records every value changed."""

from __future__ import annotations

import importlib.util
import logging
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import text

from floki_core.schemas import IDENTIFIER_KINDS, normalise_identifier
from floki_core.storage.audit import audit_chain_problems
from floki_core.storage.database import MIGRATIONS, Database
from floki_core.storage.identifier_spelling import identifier_spelling_problems

MIGRATION = MIGRATIONS / "versions" / "0009_identifier_spelling.py"
UUID = "f7826da6-4fa2-4e98-8024-bc5b71e0893e"
ALT = "f7826da64fa24e988024bc5b71e0893e00010102"


def _migration() -> ModuleType:
    spec = importlib.util.spec_from_file_location("floki_migration_0009", MIGRATION)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# Every value is spelled by every technology: the ways people and devices write each
# kind, text of no kind, and edge cases (spaces, out-of-range numbers, wrong lengths).
VALUES = [
    "aabbccddeeff",
    "AA-BB-CC-DD-EE-FF",
    " aa:bb:cc:dd:ee:ff ",
    "aabb.ccdd.eeff",
    "aa bb cc dd ee ff",
    "aa:bb-cc:dd:ee:ff",
    "aabbccddeef",
    f"{UUID}:100:7",
    f"{{{UUID.replace('-', '').upper()}}}/0100/0007",
    f"iBeacon:{UUID}-100-7",
    f"{UUID}, 5, 6",
    f"{UUID}:70000:1",
    "edd1ebeac04e5defa017:0123456789ab",
    "eddy:edd1ebeac04e5defa017-0123456789ab",
    "0xEDD1EBEAC04E5DEFA0170x0123456789ab",
    "EDD1EBEAC04E5DEFA0170123456789AB",
    ALT,
    f"altBeacon:{UUID}-1-258",
    f"altbeacon:{UUID}-70000-1",
    "0xF7826DA6 4FA24E98 8024BC5B 71E0893E 00010102",
    ":".join(ALT[i : i + 2] for i in range(0, 40, 2)),
    ALT[:38],
    "0x3034257bf7194e4000001a85",
    "3034 257B F719 4E40 0000 1A85",
    "3034-257b",
    "-3034",
    "urn:epc:id:sgtin:0614141.107346.2017",
    "k7m2abcd",
    " E1001 ",
    "straße",
    "pump 7",
    " Kitchen ",
    "   ",
    "",
]
TECHNOLOGIES = [*IDENTIFIER_KINDS, "wifi_mac", "bt_mac", "espresense", "gps", "udi", "gln"]


def test_the_frozen_spelling_agrees_with_schemas() -> None:
    frozen = _migration().normalise_identifier
    for technology in TECHNOLOGIES:
        for value in VALUES:
            spelled = frozen(technology, value)
            assert spelled == normalise_identifier(technology, value), (technology, value)
            # Spelling twice changes nothing: a row in its spelling is never rewritten.
            assert frozen(technology, spelled) == spelled, (technology, value)


@pytest.fixture(params=["sqlite", "postgresql"])
def old_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A database as the release before 0009 left it (schema 0008)."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path}/floki.db"
    else:
        url = request.getfixturevalue("postgres_url")
    db = Database(url)
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = db.engine
    command.upgrade(cfg, "0008")
    yield db
    db.close()


def _seed(
    db: Database, identifiers: list[tuple[int, str, str]], receivers: list[tuple[str, str]]
) -> None:
    """Rows as an earlier release stored them: identifiers (asset, technology, value) on
    assets E1001, E1002, E1003 (ids 1-3); receivers (technology, identifier) in Ward 7,
    named ``receiver-<n>``. Ids count from 1 in the order given."""
    at = {"at": "2026-01-05 09:00:00"}
    with db.engine.begin() as conn:
        conn.execute(text("INSERT INTO sites (id, name, timezone) VALUES (1, 'St E', 'UTC')"))
        conn.execute(
            text("INSERT INTO zones (id, site_id, name, type) VALUES (1, 1, 'W7', 'ward')")
        )
        for n in (1, 2, 3):
            conn.execute(
                text(
                    "INSERT INTO assets (id, asset_number, description, serial, department, "
                    "state, created_at, updated_at) "
                    f"VALUES ({n}, 'E100{n}', '', '', '', 'available', :at, :at)"
                ),
                at,
            )
        for n, (asset, technology, value) in enumerate(identifiers, start=1):
            conn.execute(
                text(
                    "INSERT INTO identifiers (id, asset_id, technology, value) "
                    "VALUES (:id, :asset, :technology, :value)"
                ),
                {"id": n, "asset": asset, "technology": technology, "value": value},
            )
        for n, (technology, identifier) in enumerate(receivers, start=1):
            conn.execute(
                text(
                    "INSERT INTO receivers (id, name, technology, identifier, zone_id, notes) "
                    "VALUES (:id, :name, :technology, :identifier, 1, '')"
                ),
                {
                    "id": n,
                    "name": f"receiver-{n}",
                    "technology": technology,
                    "identifier": identifier,
                },
            )


def _values(db: Database) -> tuple[dict[int, str], dict[int, str]]:
    with db.engine.connect() as conn:
        identifiers = {i: v for i, v in conn.execute(text("SELECT id, value FROM identifiers"))}
        receivers = {i: v for i, v in conn.execute(text("SELECT id, identifier FROM receivers"))}
    return identifiers, receivers


def _audit(db: Database) -> list[dict[str, Any]]:
    with db.engine.connect() as conn:
        rows = conn.execute(
            text("SELECT actor, action, entity, entity_id, detail FROM audit_entries")
        ).mappings()
        return [dict(row) for row in rows]


def _problems(db: Database) -> tuple[list[str], list[str]]:
    with db.sessions() as session:
        return identifier_spelling_problems(session), audit_chain_problems(session)


def test_the_upgrade_rewrites_old_spellings_and_audits_them(
    old_database: Database, caplog: pytest.LogCaptureFixture
) -> None:
    identifiers = [
        (1, "altbeacon", ALT),  # typed in lower case: never matched the decoders
        (1, "qr", "k7m2abcd"),
        (2, "ibeacon", f"{UUID.replace('-', '')}/0100/0007"),
        (2, "ble", "aa-bb-cc-dd-ee-01"),
        (3, "rfid", "0x3034 257b f719 4e40 0000 1a85"),
        (3, "udi", " (01)05012345678900(21)SN1 "),
        (3, "qr", "E1003"),  # already in its spelling
    ]
    receivers = [("ble", "aabbccddee02"), ("qr", "w7door01"), ("espresense", "kitchen")]
    _seed(old_database, identifiers, receivers)

    with caplog.at_level(logging.WARNING):
        applied = old_database.migrate()

    assert "0009" in applied
    assert _values(old_database) == (
        {
            1: ALT.upper(),
            2: "K7M2ABCD",
            3: f"{UUID.upper()}:100:7",
            4: "AA:BB:CC:DD:EE:01",
            5: "3034257BF7194E4000001A85",
            6: "(01)05012345678900(21)SN1",
            7: "E1003",
        },
        {1: "AA:BB:CC:DD:EE:02", 2: "W7DOOR01", 3: "kitchen"},
    )
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []
    ((entry),) = _audit(old_database)
    assert (entry["actor"], entry["action"], entry["entity"]) == ("system", "respell", "register")
    assert "6 identifiers and 2 receivers" in entry["detail"], entry["detail"]
    with old_database.engine.connect() as conn:
        before, after = conn.execute(text("SELECT before, after FROM audit_entries")).one()
    before, after = (_json(v) for v in (before, after))
    assert before["identifiers"]["2"] == "k7m2abcd" and after["identifiers"]["2"] == "K7M2ABCD"
    assert before["receivers"] == {"1": "aabbccddee02", "2": "w7door01"}
    assert "7" not in before["identifiers"]
    assert _problems(old_database) == ([], [])


def _json(value: Any) -> Any:
    import json

    return json.loads(value) if isinstance(value, str) else value


def test_rows_whose_spelling_is_taken_are_left_and_named(
    old_database: Database, caplog: pytest.LogCaptureFixture
) -> None:
    identifiers = [
        (1, "qr", "abc12345"),  # 1: its spelling is identifier 2's, on another asset
        (2, "qr", "ABC12345"),  # 2: already in its spelling
        (1, "altbeacon", ALT),  # 3 and 4: one beacon typed two ways, neither in spelling
        (3, "altbeacon", "0x" + ALT.upper()),
        (3, "eddystone", "edd1ebeac04e5defa017:0123456789ab"),  # 5: free to respell
    ]
    receivers = [("ble", "aa:bb:cc:dd:ee:03"), ("ble", "AABBCCDDEE03"), ("qr", "w7door01")]
    _seed(old_database, identifiers, receivers)

    with caplog.at_level(logging.WARNING):
        applied = old_database.migrate()

    assert "0009" in applied and old_database.current_revision() == applied[-1]
    assert _values(old_database) == (
        {
            1: "abc12345",
            2: "ABC12345",
            3: ALT,
            4: "0x" + ALT.upper(),
            5: "EDD1EBEAC04E5DEFA017:0123456789AB",
        },
        {1: "aa:bb:cc:dd:ee:03", 2: "AABBCCDDEE03", 3: "W7DOOR01"},
    )
    warnings = "\n".join(r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING)
    for row in ("identifier 1 ", "identifier 3 ", "identifier 4 ", "receiver 1 ", "receiver 2 "):
        assert row in warnings, warnings
    assert "identifier 2 " not in warnings and "identifier 5 " not in warnings
    assert "floki-core check" in warnings

    problems, chain = _problems(old_database)
    assert chain == []
    assert len(problems) == 3, problems
    qr, alt, ble = sorted(problems, key=lambda p: (" qr " not in p, " altbeacon " not in p))
    assert "identifiers 1 ('abc12345', asset E1001) and 2 ('ABC12345', asset E1002)" in qr
    assert "one qr tag spelled two ways" in qr and "/api/v1/identifiers/" in qr
    assert "identifiers 3 " in alt and "asset E1001" in alt and "asset E1003" in alt
    assert "receivers 1 ('aa:bb:cc:dd:ee:03', receiver-1) and 2" in ble
    (entry,) = _audit(old_database)
    assert "1 identifier and 1 receiver" in entry["detail"], entry["detail"]
    assert "3 identifiers and 2 receivers left as stored" in entry["detail"], entry["detail"]


def test_a_register_in_its_spelling_is_left_alone(old_database: Database) -> None:
    _seed(old_database, [(1, "qr", "E1001"), (2, "ble", "AA:BB:CC:DD:EE:04")], [])
    old_database.migrate()
    assert _values(old_database) == ({1: "E1001", 2: "AA:BB:CC:DD:EE:04"}, {})
    assert _audit(old_database) == []  # nothing changed, nothing to audit
    assert _problems(old_database) == ([], [])


def test_check_names_a_row_written_around_the_register(database: Database) -> None:
    _seed(database, [(2, "altbeacon", ALT)], [("qr", "  ")])
    problems, _chain = _problems(database)
    assert problems == [
        f"identifier 1 (altbeacon, asset E1002) is stored as '{ALT}', not in its spelling "
        f"'{ALT.upper()}': delete it and add it again (DELETE /api/v1/identifiers/1)",
        "receiver 1 (qr, receiver-1) is only spaces: correct or delete it (/api/v1/receivers/1)",
    ]


def test_check_names_a_tag_and_a_giai_the_register_now_refuses(database: Database) -> None:
    # Stored before the register checked their kind: a MAC with a stray colon and a
    # GIAI with brackets (ambiguous when typed in the bracketed form).
    _seed(database, [(1, "ble", "c0:ff:ee:00:aa:01:")], [])
    with database.engine.begin() as conn:
        conn.execute(text("UPDATE assets SET giai = '50123456(10)ABC' WHERE id = 1"))
    problems, _chain = _problems(database)
    assert problems == [
        "identifier 1 (ble, asset E1001): 'c0:ff:ee:00:aa:01:' is not a MAC address of 6 "
        "bytes in hex, e.g. C0:FF:EE:00:AA:01 (any case; also with -, . or a space between "
        "the bytes, or as C0FF.EE00.AA01 or C0FFEE00AA01); correct it (delete it and add it "
        "again: /api/v1/identifiers/1)",
        "asset E1001: GIAI '50123456(10)ABC' has '(', which would be ambiguous in the "
        "bracketed form people type ((8004)50123456(10)ABC): brackets there mark the AIs; "
        "correct it (PATCH /api/v1/assets/1)",
    ]
