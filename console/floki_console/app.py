"""Starting the window on a qasync event loop: Qt and asyncio share one thread."""

from __future__ import annotations

import asyncio
import sys

import qasync
from PySide6.QtWidgets import QApplication

from floki_console import __version__
from floki_console.api import Address
from floki_console.binding import guard_qt_binding
from floki_console.context import ConsoleContext
from floki_console.widgets.main_window import MainWindow


def run(address: str | None = None, *, discover: bool = True) -> int:
    guard_qt_binding()
    existing = QApplication.instance()
    app = existing if isinstance(existing, QApplication) else QApplication(sys.argv[:1])
    app.setApplicationName("floki-console")
    app.setApplicationDisplayName("Floki console")
    app.setApplicationVersion(__version__)
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    context = ConsoleContext.default()
    context.discover = discover
    window = MainWindow(context)
    window.show()
    dialog = window.open_connect()
    if address:
        dialog.address_edit.setText(str(Address.parse(address)))
    closed = asyncio.Event()
    app.aboutToQuit.connect(closed.set)
    with loop:
        loop.run_until_complete(closed.wait())
        loop.run_until_complete(window.shutdown())
    return 0
