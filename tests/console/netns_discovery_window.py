"""Run by test_discovery_netns.py inside a loopback-only network namespace (never collected
on its own): the connect dialog lists an announced appliance, and picking it leads through
the fingerprint confirmation to a login."""

from __future__ import annotations

import os

import qasync
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from floki_console.context import ConsoleContext
from floki_core import __version__
from floki_core.discovery import ApplianceAdvertiser
from tests.console.appliance import SITE, Register, ThreadedAppliance
from tests.console.flow import WAIT_MS, log_in, open_window, signed_in

assert os.environ.get("QT_QPA_PLATFORM") == "offscreen"


def test_an_announced_appliance_is_found_trusted_and_logged_in_to(
    qtbot: QtBot,
    qloop: qasync.QEventLoop,
    context: ConsoleContext,
    register: Register,
    appliance: ThreadedAppliance,
) -> None:
    advertiser = ApplianceAdvertiser(
        instance_name="Ward 7 appliance",
        port=appliance.port,
        version=__version__,
        site=SITE,
        fingerprint=appliance.fingerprint,
        interfaces=["127.0.0.1"],
    )
    appliance.call(advertiser.start)
    try:
        context.discover = True
        context.discovery_interfaces = ["127.0.0.1"]
        window = open_window(qtbot, context)
        dialog = window.connect_dialog
        assert dialog is not None
        qtbot.waitUntil(lambda: dialog.model.rowCount() == 1, timeout=WAIT_MS)
        model = dialog.model
        row = [model.data(model.index(0, c)) for c in range(model.columnCount())]
        assert row == [SITE, appliance.address, __version__, appliance.fingerprint]

        dialog.found_view.selectRow(0)
        assert dialog.address_edit.text() == appliance.address
        qtbot.mouseClick(dialog.connect_button, Qt.MouseButton.LeftButton)

        qtbot.waitUntil(lambda: window.trust_dialog is not None, timeout=WAIT_MS)
        trust = window.trust_dialog
        assert trust is not None
        assert trust.fingerprint_label.text().replace("\n", "") == appliance.fingerprint
        assert "matches the fingerprint announced" in trust.warning.text()
        qtbot.mouseClick(trust.trust_button, Qt.MouseButton.LeftButton)
        log_in(qtbot, window)
        signed_in(qtbot, window)
        pin = context.pins.get(appliance.address)
        assert pin is not None and pin.name == SITE
    finally:
        appliance.call(advertiser.stop)
