"""``floki-console --check ADDRESS``: proof that a deployed console reaches its appliance.

IT staff run it on a staff PC after installing the console. It starts Qt as the window
would (the display plugin, and every view's Qt modules), connects over HTTPS the way the
console does, trusting the certificate only if it is the one given with ``--fingerprint``
or the one this console already trusts for that address, and reads the appliance's public
``/api/v1/health``. It says what it found in one line, with exit status 0, or why not in
one line on stderr with status 1 (2 for what was typed).
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Coroutine
from typing import Any

from floki_console.api import (
    Address,
    AddressError,
    ApiError,
    ApplianceClient,
    ApplianceUnreachable,
    ConsoleError,
    normalise_fingerprint,
    presented_fingerprint,
)

USAGE_ERROR = 2
FAILED = 1


class CheckFailed(ConsoleError):
    """What the check says instead of "connected", in words."""


def error(message: str) -> None:
    print(f"floki-console: error: {message}", file=sys.stderr)


def check(address_text: str, fingerprint_text: str | None = None) -> int:
    try:
        address = Address.parse(address_text)
    except AddressError as exc:
        error(str(exc))
        return USAGE_ERROR
    given: str | None = None
    if fingerprint_text is not None:
        given = normalise_fingerprint(fingerprint_text)
        if given is None:
            error(
                f"{fingerprint_text!r} is not a SHA-256 fingerprint "
                "(64 hexadecimal digits, with or without colons)"
            )
            return USAGE_ERROR
    qt = start_qt()
    try:
        line = run_on_qt(connect(address, address_text, given))
    except ConsoleError as exc:
        error(str(exc))
        return FAILED
    print(f"{line}; {qt})")
    return 0


def start_qt() -> str:
    """Load Qt as the window does; a session without a display (ssh) gets offscreen Qt."""
    if (
        sys.platform.startswith("linux")
        and not os.environ.get("QT_QPA_PLATFORM")
        and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    ):
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
    from PySide6.QtCore import qVersion
    from PySide6.QtWidgets import QApplication

    # Every view's Qt modules, so a console installed without one of them fails here.
    import floki_console.widgets.main_window  # noqa: F401
    from floki_console.binding import guard_qt_binding

    guard_qt_binding()
    existing = QApplication.instance()
    app = existing if isinstance(existing, QApplication) else QApplication(sys.argv[:1])
    return f"Qt {qVersion()} on {app.platformName()}"


def run_on_qt(work: Coroutine[Any, Any, str]) -> str:
    """Run ``work`` on the console's own event loop: asyncio on Qt's, through qasync."""
    import qasync
    from PySide6.QtWidgets import QApplication

    loop = qasync.QEventLoop(QApplication.instance())
    try:
        return str(loop.run_until_complete(work))
    finally:
        loop.close()
        asyncio.set_event_loop(None)
        # The loop's Qt timers must not be collected by a garbage collection that runs on
        # another thread (a caller's, in process): they would dangle and crash Qt.
        _SPENT_LOOPS.append(loop)


_SPENT_LOOPS: list[Any] = []


async def connect(address: Address, typed: str, given: str | None) -> str:
    certificate = "plain HTTP, no certificate"
    fingerprint: str | None = None
    if address.tls:
        try:
            fingerprint = await presented_fingerprint(address, timeout=10.0)
        except ApplianceUnreachable as exc:
            detail = str(exc).removeprefix(f"{address} is not answering: ")
            raise CheckFailed(f"{typed} did not answer: {detail}") from None
        certificate = trust(address, fingerprint, given)
    client = ApplianceClient(address, fingerprint, timeout=10.0)
    try:
        health = await client.health()
    except ApplianceUnreachable as exc:
        raise CheckFailed(str(exc)) from None
    except (ApiError, ValueError):  # an error status, or not JSON
        health = {}
    finally:
        await client.close()
    if not {"status", "version"} <= health.keys():
        raise CheckFailed(f"{address} answered, but it is not a Floki appliance")
    return (
        f"{health.get('site') or 'Floki appliance'}: Floki {health['version']} is "
        f"{health['status']}, connected to {address} ({certificate}"
    )


def trust(address: Address, presented: str, given: str | None) -> str:
    """The words for the certificate presented, or CheckFailed if it is not the trusted one."""
    if given is not None:
        expected, which = given, "the given fingerprint"
    else:
        from floki_console.context import config_dir
        from floki_console.trust import PINS_FILE, PinStore

        pin = PinStore(config_dir() / PINS_FILE).get(address.key)
        if pin is None:
            return (
                f"certificate not checked: SHA-256 {presented}; compare it with the "
                "appliance's and pass --fingerprint"
            )
        expected, which = pin.fingerprint, "the certificate this console trusts for it"
    if presented != expected:
        raise CheckFailed(
            f"refused {address}: its certificate is SHA-256 {presented}, not {expected} ({which})"
        )
    return f"certificate matches {which}"
