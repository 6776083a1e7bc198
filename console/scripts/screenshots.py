"""Screenshots of the console's main views against the demo hospital, for the docs.

    .venv/bin/python console/scripts/screenshots.py [--out docs/screenshots]

Starts Xvfb (unless a DISPLAY is given), a fresh demo appliance on loopback with network
discovery switched off (nothing is announced on the LAN), then the real console window:
connect, confirm the fingerprint, log in, and one PNG per view. Everything it starts is
stopped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PASSWORD = "screenshots-Passw0rd"
FINGERPRINT = re.compile(r"Certificate SHA-256 fingerprint: (\S+)")
SIZE = (1440, 900)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def xvfb() -> Iterator[None]:
    if os.environ.get("DISPLAY"):
        yield
        return
    binary = shutil.which("Xvfb") or "/usr/bin/Xvfb"
    display = next(n for n in range(90, 200) if not Path(f"/tmp/.X11-unix/X{n}").exists())
    server = subprocess.Popen(
        [binary, f":{display}", "-screen", "0", f"{SIZE[0]}x{SIZE[1]}x24", "-nolisten", "tcp"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while not Path(f"/tmp/.X11-unix/X{display}").exists():
            if time.monotonic() > deadline or server.poll() is not None:
                raise SystemExit("screenshots: Xvfb did not start")
            time.sleep(0.05)
        os.environ["DISPLAY"] = f":{display}"
        os.environ["QT_QPA_PLATFORM"] = "xcb"
        yield
    finally:
        server.terminate()
        server.wait(10)


@contextlib.contextmanager
def demo_appliance(work: Path) -> Iterator[tuple[int, str]]:
    """``floki-core init`` (discovery off), then ``floki-core demo`` on a loopback port."""
    floki = str(Path(sys.executable).with_name("floki-core"))
    data_dir = work / "var"
    env = {**os.environ, "FLOKI_ADMIN_PASSWORD": PASSWORD, "PYTHONUNBUFFERED": "1"}
    subprocess.run(
        [floki, "init", "--data-dir", str(data_dir), "--site", "St Floki General Hospital"],
        check=True,
        env=env,
        capture_output=True,
    )
    config = data_dir / "floki.toml"
    text = config.read_text(encoding="utf-8")
    config.write_text(text.replace("\n[discovery]\n", "\n[discovery]\nenabled = false\n"))
    port = free_port()
    log = (work / "demo.log").open("wb")
    demo = subprocess.Popen(
        [floki, "--data-dir", str(data_dir), "demo", "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=log,
        env=env,
        text=True,
    )
    try:
        assert demo.stdout is not None
        fingerprint = None
        deadline = time.monotonic() + 120
        while fingerprint is None:
            line = demo.stdout.readline()
            if not line or time.monotonic() > deadline:
                raise SystemExit(f"screenshots: the demo did not start (see {work}/demo.log)")
            found = FINGERPRINT.search(line)
            fingerprint = found.group(1) if found else None
        yield port, fingerprint
    finally:
        demo.send_signal(signal.SIGTERM)
        try:
            demo.wait(20)
        except subprocess.TimeoutExpired:
            demo.kill()
        log.close()


async def until(condition: Callable[[], bool], seconds: float = 20.0) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.1)
    return True


async def take(out: Path, port: int, fingerprint: str) -> list[Path]:
    from PySide6.QtWidgets import QWidget

    from floki_console.api import ApiError
    from floki_console.context import ConsoleContext
    from floki_console.credentials import TokenStore
    from floki_console.trust import PinStore
    from floki_console.widgets.main_window import MainWindow

    shots: list[Path] = []

    def shot(widget: QWidget, name: str) -> None:
        path = out / f"{name}.png"
        widget.grab().save(str(path))
        shots.append(path)

    work = Path(tempfile.mkdtemp(prefix="floki-shots-"))
    context = ConsoleContext(
        pins=PinStore(work / "pins.json"), tokens=TokenStore(use_keyring=False), discover=False
    )
    window = MainWindow(context)
    window.resize(*SIZE)
    window.show()
    dialog = window.open_connect()
    dialog.set_search_status("Searching the network for appliances\u2026 (type the address)")
    dialog.address_edit.setText(f"127.0.0.1:{port}")
    await asyncio.sleep(0.3)
    shot(dialog, "connect")
    dialog.connect_button.click()
    await until(lambda: window.trust_dialog is not None)
    trust = window.trust_dialog
    assert trust is not None
    if trust.fingerprint_label.text().replace("\n", "") != fingerprint:
        raise SystemExit("screenshots: the console saw another fingerprint than serve printed")
    await asyncio.sleep(0.2)
    shot(trust, "trust")
    trust.trust_button.click()
    await until(lambda: window.login_dialog is not None)
    login = window.login_dialog
    assert login is not None
    login.username_edit.setText("admin")
    login.password_edit.setText(PASSWORD)
    login.login_button.click()
    await until(lambda: window.session is not None and window.session.online)
    session = window.session
    assert session is not None
    await session.client.post_json(
        "/alert-rules",
        {
            "name": "Equipment away from its home ward",
            "type": "geofence_exit",
            "params": {"dwell_seconds": 0},
        },
    )
    await until(lambda: bool(window.map_view.data.assets) and not window.map_view.loading)

    window.find_view.search_edit.setText("infusion pump")
    window.find_view.search_edit.returnPressed.emit()
    await until(lambda: window.find_view.model.rowCount() > 0)
    window.find_view.results.selectRow(0)
    await until(lambda: "Why Floki" in window.find_view.detail.toPlainText(), 10)
    shot(window, "find")

    window.find_view.map_button.click()
    await until(lambda: window.map_view.scene.has_plan)
    await asyncio.sleep(1.0)
    shot(window, "map")

    window.tabs.setCurrentWidget(window.alerts_view)
    await until(lambda: window.alerts_view.model.rowCount() > 0, 30)
    window.alerts_view.table.selectRow(0)
    shot(window, "alerts")

    window.tabs.setCurrentWidget(window.ppm_view)
    await until(lambda: bool(window.ppm_view.queue))
    shot(window, "ppm")

    window.tabs.setCurrentWidget(window.health_view)
    await until(lambda: window.health_view.loads > 0)
    shot(window, "health")

    # A few community loans, so the Loans view shows what it is for.
    due = dt.date.today() + dt.timedelta(days=14)
    ready = await session.client.get_json("/assets", {"state": "available", "limit": "60"})
    made = 0
    for i, asset in enumerate(ready.get("items", [])):
        if made == 3:
            break
        body = {
            "asset_id": asset["id"],
            "reference": f"L-{1201 + i}",
            "destination_type": ("home", "hospice", "virtual_ward")[made],
            "due_back": due.isoformat(),
        }
        with contextlib.suppress(ApiError):  # e.g. PPM due before the loan ends
            await session.client.post_json("/loans", body)
            made += 1
    window.tabs.setCurrentWidget(window.loans_view)
    await until(lambda: window.loans_view.model.rowCount() >= made, 30)
    shot(window, "loans")

    window.tabs.setCurrentWidget(window.reports_view)
    await until(lambda: bool(window.reports_view.compliance), 30)
    await asyncio.sleep(0.5)
    shot(window, "reports")

    await window.shutdown()
    window.close()
    return shots


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "screenshots")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    with xvfb(), tempfile.TemporaryDirectory(prefix="floki-demo-") as tmp:
        import qasync
        from PySide6.QtWidgets import QApplication

        from floki_console.binding import guard_qt_binding

        app = QApplication(sys.argv[:1])
        guard_qt_binding()
        with demo_appliance(Path(tmp)) as (port, fingerprint):
            loop = qasync.QEventLoop(app)
            asyncio.set_event_loop(loop)
            with loop:
                shots = loop.run_until_complete(take(args.out, port, fingerprint))
    for path in shots:
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
