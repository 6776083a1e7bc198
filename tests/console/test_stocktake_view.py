"""The Stock-take view against an appliance serving the stock-take API: a handheld's CSV
imported for a zone (with a header map) and its report shown — counts, found, missing,
unexpected with where last seen, unknown tags; a refusal shown with the appliance's reason
and nothing stored; the list filtered by zone; the report exported as the appliance's CSV
and PDF; a viewer reads but cannot import or export."""

from __future__ import annotations

import asyncio
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import qasync
from floki_rfid.encoding import giai_96_epc
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from floki_console.api import ApiError
from floki_console.context import ConsoleContext
from floki_console.stocktake_data import HeaderMapError, columns_param
from floki_console.widgets.main_window import MainWindow
from floki_console.widgets.stocktake_view import NOT_SERVED, StocktakeView
from tests.console.appliance import Register, ThreadedAppliance
from tests.console.flow import WAIT_MS, connect_and_log_in
from tests.console.test_workflow_views import texts

PREFIX = "5012345"  # the trust's GS1 Company Prefix: asset labels carry GIAI-96 EPCs
GIAIS = {"PUMP-001": "501234510001", "PUMP-002": "501234510002", "HOIST-001": "501234510003"}
PUMP_1, PUMP_2, HOIST = (
    giai_96_epc(GIAIS[n], PREFIX) for n in ("PUMP-001", "PUMP-002", "HOIST-001")
)
FACTORY = "E2801160600002A0B0C0D0E0"  # a chip's factory EPC: no asset has it
SWEEP = f"Tag,Signal,When\r\n{PUMP_1},-52,09:01\r\n{HOIST},-60,09:01\r\n{FACTORY},-71,09:02\r\n"


@pytest.fixture
def store(appliance: ThreadedAppliance, register: Register) -> Register:
    """Labelled kit for a sweep of the equipment store:

    - PUMP-001 lives in the store and has not been seen: expected there;
    - PUMP-002 was last seen in the store (a QR scan): expected there;
    - HOIST-001 was last seen in Room 7A: expected there, not in the store.
    """
    home = register.zones["store"]
    for number, giai in GIAIS.items():
        appliance.admin(
            "PATCH", f"/assets/{register.assets[number]}", {"giai": giai, "home_zone_id": home}
        )
    appliance.scan("PUMP-002", "QR-READER-STORE")
    appliance.scan("HOIST-001", "QR-READER-7A")
    return register


def open_view(qtbot: QtBot, window: MainWindow) -> StocktakeView:
    view = window.stocktake_view
    assert window.tabs.indexOf(view) >= 0
    window.tabs.setCurrentWidget(view)
    qtbot.waitUntil(lambda: view.loads >= 1 and view.import_zone_combo.count() > 0, timeout=WAIT_MS)
    return view


def rows(model: Any) -> list[list[str]]:
    return [texts(model, r) for r in range(model.rowCount())]


def import_sweep(
    qtbot: QtBot, view: StocktakeView, path: Path, zone_id: int, epc_header: str
) -> None:
    view.file_edit.setText(str(path))
    view.import_zone_combo.setCurrentIndex(view.import_zone_combo.findData(zone_id))
    view.header_edits["epc"].setText(epc_header)
    before = view.imports
    qtbot.mouseClick(view.import_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: view.imports > before, timeout=WAIT_MS)


def stocktakes(appliance: ThreadedAppliance) -> int:
    status, page = appliance.get("/rfid/stocktakes")
    assert status == 200, page
    return int(page["total"])


def test_a_sweep_is_imported_its_report_shown_filtered_and_exported(
    qtbot: QtBot,
    qloop: qasync.QEventLoop,
    context: ConsoleContext,
    store: Register,
    appliance: ThreadedAppliance,
    tmp_path: Path,
) -> None:
    zone = store.zones["store"]
    window = connect_and_log_in(qtbot, context, appliance)
    view = open_view(qtbot, window)
    assert view.list_model.rowCount() == 0
    assert view.import_button.isEnabled() and not view.csv_button.isEnabled()

    # A file whose EPC column is not one the appliance knows, without a map: refused.
    sweep = tmp_path / "sweep.csv"
    sweep.write_text(SWEEP)
    import_sweep(qtbot, view, sweep, zone, "")
    assert view.status.text().startswith("Not imported (HTTP 400): no EPC column")
    assert "'Tag', 'Signal', 'When'" in view.status.text()
    assert stocktakes(appliance) == 0 and view.report is None

    # Mapped: recorded, and the report shown.
    view.device_edit.setText("RFD40 store handheld")
    import_sweep(qtbot, view, sweep, zone, "Tag")
    report = view.report
    assert report is not None and stocktakes(appliance) == 1
    assert view.status.text() == f"Recorded stock-take #{report['id']} of Equipment store."
    assert view.counts_label.text() == (
        "2 expected: 1 found, 1 missing; 1 unexpected, 1 unknown tags"
    )
    assert view.heading.text().startswith(f"Stock-take #{report['id']} of Equipment store")
    assert "by ce-lead" in view.heading.text()
    assert "with RFD40 store handheld" in view.heading.text()
    assert rows(view.section_models["found"]) == [
        ["PUMP-001", "Volumetric infusion pump", "Infusion pump", PUMP_1]
    ]
    [missing] = rows(view.section_models["missing"])
    assert missing[0] == "PUMP-002" and missing[3].startswith("Equipment store, ")
    [unexpected] = rows(view.section_models["unexpected"])
    assert unexpected[0] == "HOIST-001" and unexpected[3:5] == [HOIST, "Room 7A"]
    assert unexpected[5].startswith("Room 7A, ")
    assert rows(view.section_models["unknown"]) == [[FACTORY, "raw"]]
    titles = [view.sections.tabText(i) for i in range(view.sections.count())]
    assert titles == ["Found (1)", "Missing (1)", "Unexpected (1)", "Unknown tags (1)"]

    # The list follows; filtered by zone.
    qtbot.waitUntil(lambda: view.list_model.rowCount() == 1, timeout=WAIT_MS)
    assert texts(view.list_model, 0)[1:9] == [
        "Equipment store",
        "ce-lead",
        "RFD40 store handheld",
        "2",
        "1",
        "1",
        "1",
        "1",
    ]
    view.zone_filter.setCurrentIndex(view.zone_filter.findData(store.zones["ward7"]))
    qtbot.waitUntil(lambda: view.list_model.rowCount() == 0 and not view.loading, timeout=WAIT_MS)
    view.zone_filter.setCurrentIndex(view.zone_filter.findData(zone))
    qtbot.waitUntil(lambda: view.list_model.rowCount() == 1, timeout=WAIT_MS)

    # Opening it from the list loads the report again.
    view.clear_report()
    view.list_table.selectRow(0)
    qtbot.waitUntil(lambda: view.report is not None, timeout=WAIT_MS)
    assert view.section_models["missing"].rowCount() == 1

    # Exports save what the appliance answers.
    assert view.csv_button.isEnabled() and view.pdf_button.isEnabled()
    csv_path, pdf_path = tmp_path / "out.csv", tmp_path / "out.pdf"
    task = qloop.create_task(view.export_report("csv", csv_path))
    qtbot.waitUntil(task.done, timeout=WAIT_MS)
    task = qloop.create_task(view.export_report("pdf", pdf_path))
    qtbot.waitUntil(task.done, timeout=WAIT_MS)
    assert csv_path.read_bytes() == appliance.get_bytes(f"/rfid/stocktakes/{report['id']}.csv")
    lists = [line.split(",")[:2] for line in csv_path.read_text().splitlines()[1:]]
    assert lists == [
        ["found", "PUMP-001"],
        ["missing", "PUMP-002"],
        ["unexpected", "HOIST-001"],
        ["unknown", ""],
    ]
    assert pdf_path.read_bytes().startswith(b"%PDF")
    assert view.status.text() == f"Saved the report to {pdf_path}."

    # Logged out, the report goes with the session.
    with qtbot.waitSignal(window.signed_out, timeout=WAIT_MS):
        window.logout_action.trigger()
    assert view.report is None and view.list_model.rowCount() == 0


def test_a_viewer_reads_stocktakes_but_cannot_import_or_export(
    qtbot: QtBot,
    qloop: qasync.QEventLoop,
    context: ConsoleContext,
    store: Register,
    appliance: ThreadedAppliance,
) -> None:
    appliance.admin(
        "POST",
        "/rfid/stocktakes",
        {"zone_id": store.zones["store"], "reads": [{"epc": PUMP_1}], "device": "RFD40"},
    )
    window = connect_and_log_in(qtbot, context, appliance, username="viewer")
    view = open_view(qtbot, window)
    qtbot.waitUntil(lambda: view.list_model.rowCount() == 1, timeout=WAIT_MS)
    view.list_table.selectRow(0)
    qtbot.waitUntil(lambda: view.report is not None, timeout=WAIT_MS)
    assert view.section_models["found"].rowCount() == 1
    for button in (view.import_button, view.csv_button, view.pdf_button):
        assert not button.isEnabled()
        assert button.toolTip() == "Engineers and admins only"


def test_a_header_map_becomes_the_columns_parameter() -> None:
    assert columns_param({"epc": " Tag ", "rssi": "", "count": "Reads"}) == "epc=Tag,count=Reads"
    assert columns_param({"epc": ""}) is None
    with pytest.raises(HeaderMapError, match="comma"):
        columns_param({"epc": "Tag, id"})


class _NoStocktakes:
    """An appliance without the stock-take API: zones, and 404 for the rest."""

    def __init__(self) -> None:
        self.zones = [{"id": 3, "name": "Main stores"}]

    async def get_all(self, path: str, params: Any = None) -> list[Any]:
        assert path == "/zones"
        return list(self.zones)

    async def get_json(self, path: str, params: Any = None) -> Any:
        raise ApiError(404, f"no route {path}")


def test_an_appliance_without_stocktakes_says_so(qtbot: QtBot) -> None:
    view = StocktakeView()
    qtbot.addWidget(view)
    view.session = SimpleNamespace(client=_NoStocktakes(), role="engineer")  # type: ignore[assignment]
    asyncio.run(view.load())
    assert view.list_note.text() == NOT_SERVED
    assert "RFID plugin" in NOT_SERVED
    assert [view.import_zone_combo.itemText(i) for i in range(view.import_zone_combo.count())] == [
        "Main stores"
    ]


@pytest.mark.parametrize(("role", "allowed"), [("staff", False), ("engineer", True)])
def test_importing_is_for_engineers_and_up(qtbot: QtBot, role: str, allowed: bool) -> None:
    view = StocktakeView()
    qtbot.addWidget(view)
    view.session = SimpleNamespace(client=_NoStocktakes(), role=role)  # type: ignore[assignment]
    view.show_report({"id": 1, "zone": "Main stores", "counts": {}})
    assert [b.isEnabled() for b in (view.import_button, view.csv_button, view.pdf_button)] == [
        allowed
    ] * 3


def test_a_file_that_cannot_be_read_is_said_and_nothing_is_sent(
    qtbot: QtBot, tmp_path: Path
) -> None:
    view = StocktakeView()
    qtbot.addWidget(view)
    view.session = SimpleNamespace(client=_NoStocktakes(), role="engineer")  # type: ignore[assignment]
    view._set_zones([{"id": 3, "name": "Main stores"}])
    view.file_edit.setText(str(tmp_path / "gone.csv"))
    assert asyncio.run(view.run_import()) is None
    assert view.status.text() == f"Cannot read {tmp_path / 'gone.csv'}: No such file or directory"
    view.file_edit.setText(str(tmp_path))
    view.header_edits["epc"].setText("Tag=ID")
    assert asyncio.run(view.run_import()) is None
    assert view.status.text().startswith("Not imported: the epc header 'Tag=ID' has a comma or '='")
    assert view.imports == 2 and view.import_button.isEnabled()


def test_refresh_picks_up_a_zone_added_since(qtbot: QtBot, qloop: qasync.QEventLoop) -> None:
    client = _NoStocktakes()
    view = StocktakeView()
    qtbot.addWidget(view)
    view.session = SimpleNamespace(client=client, role="engineer")  # type: ignore[assignment]
    view.reload()
    qtbot.waitUntil(lambda: view.import_zone_combo.count() == 1, timeout=WAIT_MS)
    client.zones.append({"id": 4, "name": "Theatre store"})
    view.reload()  # the list again, the zones as they were
    qtbot.waitUntil(lambda: not view.loading, timeout=WAIT_MS)
    assert view.import_zone_combo.count() == 1
    qtbot.mouseClick(view.refresh_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: view.import_zone_combo.count() == 2, timeout=WAIT_MS)
    assert view.zone_filter.findData(4) > 0
