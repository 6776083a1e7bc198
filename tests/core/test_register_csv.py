"""Asset register CSV import (from a CMMS such as e-Quip) and export."""

from __future__ import annotations

import csv
import datetime as dt
import io
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from floki_core.config import ImportConfig
from floki_core.domain import Principal, Role
from floki_core.errors import Invalid
from floki_core.register_csv import (
    ImportReport,
    RowProblem,
    export_assets,
    read_register,
)
from floki_core.register_csv import (
    import_register as import_csv_rows,
)
from floki_core.storage.database import Database
from floki_core.storage.models import AssetClassRow, AssetRow, AuditRow, ZoneRow
from floki_core.storage.register import ASSET_CLASSES, ASSETS, SITES, ZONES
from floki_core.storage.resources import create_record

NOW = dt.datetime(2025, 4, 1, 9, 30, tzinfo=dt.UTC)
ALICE = Principal(user_id=1, username="alice", role=Role.ENGINEER)
DEFAULTS = ImportConfig()
WARD_5_GLN = "5012345000015"
MARCH_31 = dt.date(2025, 3, 31)


@pytest.fixture
def db(tmp_path: Path, floki_migrated_database: Path) -> Iterator[Database]:
    """A migrated, empty register: a copy of the kit's, migrated once per run."""
    shutil.copyfile(floki_migrated_database, tmp_path / "t.db")
    database = Database(f"sqlite:///{tmp_path}/t.db")
    database.migrate()  # nothing to do: the copy is at the newest revision already
    yield database
    database.close()


def csv_text(*lines: str) -> str:
    return "\r\n".join(lines) + "\r\n"  # as Excel writes it


def import_register(
    db: Database,
    source: str | bytes | Path,
    *,
    config: ImportConfig = DEFAULTS,
    skip_bad: bool = False,
    progress: Any = None,
) -> ImportReport:
    parsed = read_register(source, config)
    return import_csv_rows(db, parsed, actor=ALICE, now=NOW, skip_bad=skip_bad, progress=progress)


def assets(db: Database) -> dict[str, AssetRow]:
    with db.transaction() as session:
        return {a.asset_number: a for a in session.scalars(select(AssetRow))}


def classes(db: Database) -> dict[str, AssetClassRow]:
    with db.transaction() as session:
        return {c.name: c for c in session.scalars(select(AssetClassRow))}


def zone_ids(db: Database) -> dict[str, int]:
    with db.transaction() as session:
        return {z.name: z.id for z in session.scalars(select(ZoneRow).order_by(ZoneRow.id))}


def audit(db: Database, action: str | None = None) -> list[AuditRow]:
    with db.transaction() as session:
        query = select(AuditRow).order_by(AuditRow.id)
        if action:
            query = query.where(AuditRow.action == action)
        return list(session.scalars(query))


def make_zones(db: Database) -> None:
    with db.transaction() as session:
        main = create_record(session, SITES, {"name": "St Elsewhere"}, actor=ALICE, now=NOW)
        annex = create_record(session, SITES, {"name": "Annex"}, actor=ALICE, now=NOW)
        for site, name, gln in (
            (main.id, "Ward 5", WARD_5_GLN),
            (main.id, "ICU", None),
            (main.id, "Store", None),
            (annex.id, "Store", None),
        ):
            values = {"site_id": site, "name": name, "gln": gln}
            create_record(session, ZONES, values, actor=ALICE, now=NOW)


def export_text(db: Database) -> str:
    out = io.StringIO(newline="")
    with db.transaction() as session:
        export_assets(session, out, actor=ALICE, now=NOW)
    return out.getvalue()


# --- headers ---------------------------------------------------------------------------


def test_an_equip_style_export_imports_with_the_default_headers(db: Database) -> None:
    make_zones(db)
    text = csv_text(
        "Equipment No,Equipment Description,Manufacturer,Model,Serial No,Equipment Type,"
        "Dept,Location,Last PPM Date,PPM Due Date,Status,Cost Centre",
        "EQ000123,Volumetric infusion pump,BD,Alaris GP,1234-5678,Infusion Pump,"
        "Critical Care,ICU,31/03/2025,31/03/2026,Active,CC100",
    )

    parsed = read_register(text, DEFAULTS)
    report = import_register(db, text)

    assert parsed.columns["asset_number"] == "Equipment No"
    assert parsed.columns["next_ppm_due"] == "PPM Due Date"
    assert parsed.ignored_headers == ["Status", "Cost Centre"]
    assert (report.created, report.problems, report.warnings) == (1, [], [])
    asset = assets(db)["EQ000123"]
    assert asset.description == "Volumetric infusion pump"
    assert asset.serial == "1234-5678"
    assert asset.department == "Critical Care"
    assert (asset.last_ppm, asset.next_ppm_due) == (MARCH_31, dt.date(2026, 3, 31))
    assert asset.home_zone_id == zone_ids(db)["ICU"]
    assert asset.class_id == classes(db)["Infusion Pump BD Alaris GP"].id


@pytest.mark.parametrize(
    ("number_header", "serial_header", "make_header"),
    [
        ("Asset Number", "Serial Number", "Make"),
        ("ASSET_NO", "serial_no", "MANUFACTURER"),
        ("  Asset No. ", " Serial No. ", "manufacturer "),
        ("equipment number", "Serial", "make"),
    ],
)
def test_header_aliases_ignore_case_spaces_and_punctuation(
    db: Database, number_header: str, serial_header: str, make_header: str
) -> None:
    import_register(db, csv_text(f"{number_header},{serial_header},{make_header}", "A1,SN9,GE"))

    asset = assets(db)["A1"]
    assert asset.serial == "SN9"
    assert classes(db)["GE"].id == asset.class_id


def test_configured_columns_replace_the_default_headers(db: Database) -> None:
    make_zones(db)
    config = ImportConfig(columns={"asset_number": "Tag", "location": "Ward Name"})
    text = csv_text("Asset No,Tag,Ward Name,Location", "OLD-1,NEW-1,icu,Nowhere")

    parsed = read_register(text, config)
    report = import_register(db, text, config=config)

    assert parsed.ignored_headers == ["Asset No", "Location"]
    assert list(assets(db)) == ["NEW-1"]
    assert assets(db)["NEW-1"].home_zone_id == zone_ids(db)["ICU"]
    assert report.warnings == []


def test_a_configured_header_missing_from_the_file_is_a_warning(db: Database) -> None:
    config = ImportConfig(columns={"serial": "Serial Code"})

    report = import_register(db, csv_text("Asset No,Serial No", "A1,S1"), config=config)

    assert report.created == 1
    assert report.warnings == [
        RowProblem(1, None, "import.columns.serial names 'Serial Code', which is not in the file")
    ]
    assert assets(db)["A1"].serial == ""  # the configured header replaced "Serial No"


def test_an_unknown_configured_column_is_refused() -> None:
    with pytest.raises(Invalid, match=r"import\.columns: unknown column 'asset_no'"):
        read_register(csv_text("Asset No", "A1"), ImportConfig(columns={"asset_no": "Tag"}))


def test_a_file_without_an_asset_number_column_names_the_headers_it_has() -> None:
    with pytest.raises(Invalid) as caught:
        read_register(csv_text("Serial No,Make,Model", "S1,BD,GP"), DEFAULTS)

    message = str(caught.value)
    assert "no asset number column" in message
    assert "'Equipment No'" in message
    assert "the headers on line 1 are: 'Serial No', 'Make', 'Model'" in message


def test_a_configured_asset_number_header_is_what_the_error_looks_for() -> None:
    config = ImportConfig(columns={"asset_number": "Tag"})
    with pytest.raises(Invalid, match=r"looked for 'Tag'\); the headers on line 1 are: 'Asset No'"):
        read_register(csv_text("Asset No", "A1"), config)


# --- encodings and dates ---------------------------------------------------------------


def test_utf8_with_a_byte_order_mark(db: Database, tmp_path: Path) -> None:
    path = tmp_path / "register.csv"
    path.write_bytes(
        csv_text("Asset Number,Description", "B-1,Défibrillateur ±").encode("utf-8-sig")
    )

    report = import_register(db, path)

    assert report.created == 1
    assert assets(db)["B-1"].description == "Défibrillateur ±"


def test_windows_1252_from_excel(db: Database) -> None:
    # The en dash is byte 0x96 in Windows-1252 and a control character in Latin-1.
    description = "Ventilator \u00a3250 \u2013 spare"
    data = csv_text("Asset Number,Description", f"C-1,{description}").encode("cp1252")

    import_register(db, data)

    assert assets(db)["C-1"].description == description


def test_bytes_that_are_neither_utf8_nor_cp1252_are_refused() -> None:
    with pytest.raises(Invalid) as caught:
        read_register(b"Asset Number\r\nA\x81\r\n", DEFAULTS)

    assert str(caught.value) == (
        "<upload>: line 2, column 'Asset Number': byte 0x81 is not UTF-8 or Windows-1252 "
        "text; save the file as CSV UTF-8"
    )


def test_iso_uk_and_month_name_dates(db: Database) -> None:
    text = csv_text(
        "Asset No,Last PPM,Next PPM Due",
        "D1,2025-03-31,31/03/2026",
        "D2,31-Mar-2025,1/4/2026",
    )

    import_register(db, text)

    found = assets(db)
    assert (found["D1"].last_ppm, found["D1"].next_ppm_due) == (MARCH_31, dt.date(2026, 3, 31))
    assert (found["D2"].last_ppm, found["D2"].next_ppm_due) == (MARCH_31, dt.date(2026, 4, 1))


def test_a_configured_date_format_is_the_only_one_accepted() -> None:
    config = ImportConfig(date_format="%d.%m.%Y")
    text = csv_text("Asset No,Last PPM", "E1,31.03.2025", "E2,31/03/2025")

    parsed = read_register(text, config)

    assert [r.last_ppm for r in parsed.rows] == [MARCH_31]
    assert parsed.problems == [
        RowProblem(3, "Last PPM", "'31/03/2025' is not a date (expected %d.%m.%Y)")
    ]


# --- bad rows --------------------------------------------------------------------------

BAD_REGISTER = csv_text(
    "Asset No,Description,Make,Model,Serial No,Last PPM Date,Next PPM Due,PPM Interval (days)",
    "EQ-1001,Infusion pump,BD,Alaris GP,S1,01/04/2024,01/04/2025,365",
    ",No number,BD,Alaris GP,S2,,,",
    "AB 12,Space in number,,,,,,",
    "EQ-1001,Repeated,,,,,,",
    'EQ-1002,"Syringe driver',  # a quoted cell running onto the next line
    'with a two-line description",BD,CC,S3,31/02/2025,,',
    "EQ-1003,Monitor,Philips,MX450,S4,01/06/2025,01/01/2025,",
    "EQ-1004,Pump,BD,Alaris GP,S5,,,twelve",
    "EQ-1005,Defibrillator,Zoll,R Series,S6,2025-03-31,31-Mar-2026,",
    "EQ-1006,Monitor,Philips,MX450,S7,03/31/2025,,",
)
BAD_PROBLEMS = [
    RowProblem(3, "Asset No", "asset number is empty"),
    RowProblem(
        4,
        "Asset No",
        "'AB 12' is not a valid asset number (up to 64 letters, digits and . _ / -, "
        "starting with a letter or digit)",
    ),
    RowProblem(5, "Asset No", "asset number 'EQ-1001' already appears on line 2"),
    RowProblem(
        6,
        "Last PPM Date",
        "'31/02/2025' is not a date (expected 2025-03-31, 31/03/2025 or 31-Mar-2025)",
    ),
    RowProblem(8, "Next PPM Due", "next PPM due 2025-01-01 is before the last PPM 2025-06-01"),
    RowProblem(9, "PPM Interval (days)", "'twelve' is not a whole number of days from 1 to 3650"),
    RowProblem(
        11,
        "Last PPM Date",
        "'03/31/2025' is not a date (expected 2025-03-31, 31/03/2025 or 31-Mar-2025)",
    ),
]


def test_bad_rows_are_reported_by_file_line_and_nothing_is_written(db: Database) -> None:
    parsed = read_register(BAD_REGISTER, DEFAULTS)
    assert parsed.problems == BAD_PROBLEMS

    with pytest.raises(Invalid) as caught:
        import_register(db, BAD_REGISTER)

    message = str(caught.value)
    assert message.startswith("<text>: 7 problems, nothing was imported:\n")
    assert "\nline 3: Asset No: asset number is empty\n" in message
    assert "\nline 9: PPM Interval (days): 'twelve' is not a whole number" in message
    assert assets(db) == {}
    assert classes(db) == {}
    assert audit(db) == []


def test_skip_bad_imports_the_good_rows_and_reports_the_rest(db: Database) -> None:
    report = import_register(db, BAD_REGISTER, skip_bad=True)

    assert (report.created, report.updated, report.unchanged, report.skipped) == (2, 0, 0, 7)
    assert report.problems == BAD_PROBLEMS
    assert sorted(assets(db)) == ["EQ-1001", "EQ-1005"]
    assert assets(db)["EQ-1001"].serial == "S1"
    [entry] = audit(db, "import")
    assert entry.actor == "alice"
    assert entry.after is not None
    assert (entry.after["created"], entry.after["skipped"]) == (2, 7)


def test_the_problem_list_in_the_error_stops_at_twenty(db: Database) -> None:
    rows = [f"P{n},{n:02d}/13/2025" for n in range(1, 26)]

    with pytest.raises(Invalid) as caught:
        import_register(db, csv_text("Asset No,Last PPM", *rows))

    lines = str(caught.value).splitlines()
    assert lines[0] == "<text>: 25 problems, nothing was imported:"
    assert lines[1].startswith("line 2: Last PPM: '01/13/2025' is not a date")
    assert lines[20].startswith("line 21: Last PPM: '20/13/2025'")
    assert lines[21:] == ["... and 5 more"]


def test_a_giai_no_scanner_reads_back_or_a_date_out_of_range_is_a_problem(db: Database) -> None:
    text = csv_text(
        "Asset No,GIAI,Next PPM Due",
        "G1,PUMP 7,2026-01-01",
        "G2,5012345A,9999-12-31",
        "G3,501234500000000000000000000001X,",
    )
    report = import_register(db, text, skip_bad=True)
    assert report.problems == [
        RowProblem(
            2, "GIAI", "GIAI 'PUMP 7' does not start with a GS1 Company Prefix (4 digits or more)"
        ),
        RowProblem(3, "Next PPM Due", "9999-12-31 is out of range; 1970-01-01 to 2999-12-31"),
        RowProblem(
            4, "GIAI", "GIAI '501234500000000000000000000001X' is 31 characters; at most 30"
        ),
    ]
    assert assets(db) == {}


def test_a_giai_held_by_another_asset_is_a_problem_for_that_row(db: Database) -> None:
    import_register(db, csv_text("Asset No,GIAI", "G1,5012345ABC123"))

    with pytest.raises(Invalid, match="line 3: GIAI: GIAI '5012345ABC123' belongs to asset G1"):
        import_register(db, csv_text("Asset No,GIAI", "G2,5012345XYZ", "G3,5012345ABC123"))
    assert sorted(assets(db)) == ["G1"]

    report = import_register(
        db, csv_text("Asset No,GIAI", "G2,5012345XYZ", "G3,5012345ABC123"), skip_bad=True
    )
    assert (report.created, report.skipped) == (1, 1)
    assert report.problems == [RowProblem(3, "GIAI", "GIAI '5012345ABC123' belongs to asset G1")]
    assert sorted(assets(db)) == ["G1", "G2"]


# --- re-import and updates -------------------------------------------------------------

REGISTER = csv_text(
    "Asset Number,Description,Make,Model,Serial Number,Department,Location,Last PPM,"
    "Next PPM Due,Category,GIAI",
    "EQ-1,Volumetric pump,BD,Alaris GP,S-1,Critical Care,ICU,2025-03-31,2026-03-31,"
    "Infusion Pump,5012345ABC1",
    "EQ-2,Volumetric pump,BD,Alaris GP,S-2,Critical Care,Ward 5,2025-01-10,2026-01-10,"
    "Infusion Pump,",
    "EQ-3,Patient monitor,Philips,MX450,S-3,Theatres,,,,,",
)


def test_importing_the_same_file_twice_changes_nothing_the_second_time(db: Database) -> None:
    make_zones(db)
    first = import_register(db, REGISTER)
    entries_after_first = len(audit(db))

    second = import_register(db, REGISTER)

    assert (first.created, first.updated, first.unchanged) == (3, 0, 0)
    assert (second.created, second.updated, second.unchanged) == (0, 0, 3)
    new_entries = audit(db)[entries_after_first:]
    assert [e.action for e in new_entries] == ["import"]
    assert new_entries[0].after is not None
    assert new_entries[0].after["unchanged"] == 3


def test_reimport_updates_by_asset_number_and_audits_before_and_after(db: Database) -> None:
    make_zones(db)
    import_register(db, REGISTER)
    eq1_id = assets(db)["EQ-1"].id
    changed = csv_text(
        "Asset Number,Serial Number,Location,Next PPM Due",
        "EQ-1,S-1-REPLACED,Ward 5,2026-06-30",
        "EQ-2,S-2,Ward 5,2026-01-10",
    )

    report = import_register(db, changed)

    assert (report.created, report.updated, report.unchanged) == (0, 1, 1)
    eq1 = assets(db)["EQ-1"]
    assert eq1.id == eq1_id
    assert eq1.serial == "S-1-REPLACED"
    assert eq1.home_zone_id == zone_ids(db)["Ward 5"]
    assert eq1.next_ppm_due == dt.date(2026, 6, 30)
    # Columns absent from the second file are left alone.
    assert (eq1.description, eq1.giai, eq1.last_ppm) == ("Volumetric pump", "5012345ABC1", MARCH_31)
    [update] = audit(db, "update")
    assert (update.entity, update.entity_id, update.actor) == ("assets", str(eq1_id), "alice")
    assert update.before is not None and update.after is not None
    assert (update.before["serial"], update.after["serial"]) == ("S-1", "S-1-REPLACED")
    assert (update.before["next_ppm_due"], update.after["next_ppm_due"]) == (
        "2026-03-31",
        "2026-06-30",
    )


# --- asset classes and locations -------------------------------------------------------


def test_classes_are_found_or_created_by_make_and_model(db: Database) -> None:
    with db.transaction() as session:
        taken = {"name": "Infusion Pump Baxter Sigma"}  # same name, no make/model
        create_record(session, ASSET_CLASSES, taken, actor=ALICE, now=NOW)
    text = csv_text(
        "Asset No,Description,Make,Model,Category,PPM Interval Days,Criticality",
        "K1,Volumetric pump,BD,Alaris GP,Infusion Pump,365,High",
        "K2,Volumetric pump,bd,ALARIS GP,,,",
        "K3,Syringe driver,BD,CC,,,",
        "K4,Hospital bed,,,,,",
        "K5,Large volume pump,Baxter,Sigma,Infusion Pump,,low",
    )

    import_register(db, text)

    found, by_name = assets(db), classes(db)
    assert sorted(by_name) == [
        "Infusion Pump BD Alaris GP",
        "Infusion Pump Baxter Sigma",
        "Infusion Pump Baxter Sigma (2)",
        "Syringe driver BD CC",
    ]
    alaris = by_name["Infusion Pump BD Alaris GP"]
    assert found["K1"].class_id == found["K2"].class_id == alaris.id
    assert (alaris.ppm_interval_days, alaris.criticality) == (365, "high")
    assert found["K3"].class_id == by_name["Syringe driver BD CC"].id
    assert found["K4"].class_id is None
    assert found["K5"].class_id == by_name["Infusion Pump Baxter Sigma (2)"].id
    assert by_name["Infusion Pump Baxter Sigma (2)"].criticality == "low"
    assert len(audit(db, "create")) == 4 + 5  # every class and asset created is audited


def test_a_later_import_fills_what_a_class_lacks_without_overwriting(db: Database) -> None:
    import_register(db, csv_text("Asset No,Make,Model,Category", "L1,GE,Dash 4000,Monitor"))
    text = csv_text(
        "Asset No,Make,Model,Category,PPM Interval Days",
        "L1,GE,Dash 4000,Telemetry,180",
    )

    import_register(db, text)

    [dash] = classes(db).values()
    assert (dash.name, dash.category, dash.ppm_interval_days) == (
        "Monitor GE Dash 4000",
        "Monitor",
        180,
    )


def test_locations_match_zone_names_or_glns_and_unmatched_ones_warn(db: Database) -> None:
    make_zones(db)
    zones = zone_ids(db)
    text = csv_text(
        "Asset No,Location",
        "Z1,ward 5",
        f"Z2,{WARD_5_GLN}",
        "Z3,Ward 99",
        "Z4,Store",
        "Z5,ICU",
    )

    report = import_register(db, text)

    found = assets(db)
    assert found["Z1"].home_zone_id == found["Z2"].home_zone_id == zones["Ward 5"]
    assert found["Z3"].home_zone_id is None
    assert found["Z4"].home_zone_id is None
    assert report.created == 5
    assert report.warnings == [
        RowProblem(4, "Location", "'Ward 99' matches no zone by name or GLN; no home zone set"),
        RowProblem(5, "Location", "'Store' names 2 zones; no home zone set"),
    ]

    moved = import_register(db, csv_text("Asset No,Location", "Z5,Car park"))

    assert assets(db)["Z5"].home_zone_id == zones["ICU"]
    assert moved.unchanged == 1
    assert [str(w) for w in moved.warnings] == [
        "line 2: Location: 'Car park' matches no zone by name or GLN; home zone left as it was"
    ]


# --- export ----------------------------------------------------------------------------

HOSTILE = {
    "H1": "=cmd|' /C calc'!A0",
    "H2": "+1",
    "H3": "-2",
    "H4": "@SUM(1)",
    "H5": "\tx",
    "H6": "\rx",
    "H7": "3-lead ECG - spare",
}


def add_hostile_assets(db: Database) -> None:
    with db.transaction() as session:
        for number, text in HOSTILE.items():
            values = {"asset_number": number, "description": text, "department": text}
            create_record(session, ASSETS, values, actor=ALICE, now=NOW)


def test_export_neutralises_cells_a_spreadsheet_would_run_as_formulas(db: Database) -> None:
    add_hostile_assets(db)

    out = io.StringIO(newline="")
    with db.transaction() as session:
        count = export_assets(session, out, actor=ALICE, now=NOW)

    rows = {r["asset_number"]: r for r in csv.DictReader(io.StringIO(out.getvalue(), newline=""))}
    assert count == 7
    assert {n: r["description"] for n, r in rows.items()} == {
        "H1": "'=cmd|' /C calc'!A0",
        "H2": "'+1",
        "H3": "'-2",
        "H4": "'@SUM(1)",
        "H5": "'\tx",
        "H6": "'\rx",
        "H7": "3-lead ECG - spare",
    }
    assert rows["H3"]["department"] == "'-2"
    [entry] = audit(db, "export")
    assert (entry.actor, entry.entity, entry.detail) == (
        "alice",
        "assets",
        "7 assets exported as CSV",
    )


def test_export_has_the_documented_columns(db: Database) -> None:
    make_zones(db)
    import_register(db, REGISTER)

    rows = list(csv.reader(io.StringIO(export_text(db), newline="")))

    assert rows[0] == [
        "asset_number",
        "description",
        "class",
        "category",
        "make",
        "model",
        "serial",
        "giai",
        "department",
        "home_zone",
        "state",
        "last_ppm",
        "next_ppm_due",
    ]
    assert rows[1] == [
        "EQ-1",
        "Volumetric pump",
        "Infusion Pump BD Alaris GP",
        "Infusion Pump",
        "BD",
        "Alaris GP",
        "S-1",
        "5012345ABC1",
        "Critical Care",
        "ICU",
        "available",
        "2025-03-31",
        "2026-03-31",
    ]


def snapshot(db: Database) -> list[tuple[Any, ...]]:
    with db.transaction() as session:
        query = (
            select(AssetRow, AssetClassRow.name, ZoneRow.name)
            .outerjoin(AssetClassRow, AssetRow.class_id == AssetClassRow.id)
            .outerjoin(ZoneRow, AssetRow.home_zone_id == ZoneRow.id)
            .order_by(AssetRow.asset_number)
        )
        return [
            (
                a.asset_number,
                a.description,
                a.serial,
                a.giai,
                a.department,
                a.last_ppm,
                a.next_ppm_due,
                class_name,
                zone,
            )
            for a, class_name, zone in session.execute(query)
        ]


def test_an_export_reimports_cleanly(db: Database, tmp_path: Path) -> None:
    make_zones(db)
    import_register(db, REGISTER)
    add_hostile_assets(db)
    before = snapshot(db)
    exported = export_text(db)

    again = import_register(db, exported)

    assert (again.created, again.updated, again.unchanged) == (0, 0, 10)
    assert (again.problems, again.warnings) == ([], [])
    assert snapshot(db) == before

    fresh = Database(f"sqlite:///{tmp_path}/fresh.db")
    fresh.migrate()
    try:
        make_zones(fresh)
        copied = import_register(fresh, exported.encode("utf-8"))
        assert copied.created == 10
        assert snapshot(fresh) == before
    finally:
        fresh.close()


# --- size and atomicity ----------------------------------------------------------------


def big_register(count: int, last_giai: str = "") -> str:
    rows = [
        f"BIG-{n:05d},Pump {n},BD,Model {n % 7},SN{n},Ward {n % 3},2025-01-01,2026-01-01,"
        for n in range(1, count)
    ]
    rows.append(f"BIG-{count:05d},Last row,BD,Model 0,SN{count},Ward 0,,,{last_giai}")
    header = "Asset No,Description,Make,Model,Serial No,Dept,Last PPM,Next PPM Due,GIAI"
    return csv_text(header, *rows)


def test_five_thousand_rows_import_in_one_transaction(db: Database) -> None:
    seen: list[int] = []

    report = import_register(db, big_register(5000), progress=seen.append)

    assert (report.created, report.skipped) == (5000, 0)
    assert len(assets(db)) == 5000
    assert len(classes(db)) == 7
    assert seen[-1] == 5000
    [entry] = audit(db, "import")
    assert entry.after is not None and entry.after["created"] == 5000


def test_a_failure_on_the_last_of_five_thousand_rows_leaves_nothing(db: Database) -> None:
    import_register(db, csv_text("Asset No,GIAI", "KEEP-1,5012345TAKEN"))
    audit_before = len(audit(db))

    with pytest.raises(
        Invalid, match="line 5001: GIAI: GIAI '5012345TAKEN' belongs to asset KEEP-1"
    ):
        import_register(db, big_register(5000, last_giai="5012345TAKEN"))

    assert list(assets(db)) == ["KEEP-1"]
    assert classes(db) == {}
    assert len(audit(db)) == audit_before


def test_numbers_stay_numbers_while_formula_text_is_neutralised() -> None:
    from floki_core.csv_cells import neutralise_cell

    assert neutralise_cell(-3) == "-3"  # days overdue, still a number in a spreadsheet
    assert neutralise_cell(2.5) == "2.5"
    assert neutralise_cell("-3+cmd|' /C calc'!A0") == "'-3+cmd|' /C calc'!A0"
    assert neutralise_cell(True) == "True"
