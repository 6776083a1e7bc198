"""The console as installable products: the Debian package and the one-folder build.

``floki-console --check ADDRESS`` is how IT staff prove a deployed console reaches the
appliance, so it is tested twice: in process (quick, every refusal it gives), then as the
installed ``/usr/bin/floki-console`` of a real ``dpkg -i`` and as the one-folder build's
executable, each against a real appliance on loopback.
"""

from __future__ import annotations

import http.server
import json
import os
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from floki_console.__main__ import main
from floki_core.security import tls
from tests.console.appliance import SITE, ThreadedAppliance

OTHER_FINGERPRINT = ":".join(["AB"] * 32)


@pytest.fixture(scope="module")
def appliance(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ThreadedAppliance]:
    running = ThreadedAppliance(tmp_path_factory.mktemp("appliance"))
    running.start()
    try:
        yield running
    finally:
        running.close()


@pytest.fixture
def no_pins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The check reads the console's own pins; a test starts with none."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))


class _NotFloki(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = json.dumps({"hello": "a web server"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def not_floki(tmp_path: Path) -> Iterator[tuple[str, str]]:
    """Another HTTPS server on loopback: its address and certificate fingerprint."""
    cert, key = tls.generate_self_signed(tmp_path, "printer")
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _NotFloki)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}", tls.fingerprint(cert)
    finally:
        server.shutdown()
        server.server_close()


# --- floki-console --check, in process -------------------------------------------------


def test_check_with_the_appliance_fingerprint_says_it_is_connected(
    appliance: ThreadedAppliance, no_pins: None, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["--check", appliance.address, "--fingerprint", appliance.fingerprint])

    out, err = capsys.readouterr()
    assert code == 0, err
    assert out.startswith(f"{SITE}: Floki ")
    assert f"connected to {appliance.address}" in out
    assert "certificate matches" in out
    assert out.count("\n") == 1


def test_check_accepts_a_fingerprint_typed_without_colons(
    appliance: ThreadedAppliance, no_pins: None, capsys: pytest.CaptureFixture[str]
) -> None:
    typed = appliance.fingerprint.replace(":", "").lower()

    code = main(["--check", f"https://{appliance.address}", "--fingerprint", typed])

    assert code == 0
    assert "certificate matches" in capsys.readouterr().out


def test_check_refuses_an_appliance_whose_certificate_is_not_the_given_one(
    appliance: ThreadedAppliance, no_pins: None, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["--check", appliance.address, "--fingerprint", OTHER_FINGERPRINT])

    out, err = capsys.readouterr()
    assert code == 1
    assert out == ""
    assert err.startswith(f"floki-console: error: refused {appliance.address}: its certificate")
    assert appliance.fingerprint in err and OTHER_FINGERPRINT in err
    assert err.count("\n") == 1


def test_check_without_a_fingerprint_shows_the_certificate_to_compare(
    appliance: ThreadedAppliance, no_pins: None, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["--check", appliance.address])

    out = capsys.readouterr().out
    assert code == 0
    assert f"certificate not checked: SHA-256 {appliance.fingerprint}" in out


def test_check_trusts_the_fingerprint_the_console_pinned(
    appliance: ThreadedAppliance, no_pins: None, capsys: pytest.CaptureFixture[str]
) -> None:
    from floki_console.context import config_dir
    from floki_console.trust import PINS_FILE, PinStore

    PinStore(config_dir() / PINS_FILE).pin(appliance.address, OTHER_FINGERPRINT, SITE)

    code = main(["--check", appliance.address])

    assert code == 1
    assert "the certificate this console trusts for it" in capsys.readouterr().err


def test_check_of_a_server_that_is_not_an_appliance_says_so(
    not_floki: tuple[str, str], no_pins: None, capsys: pytest.CaptureFixture[str]
) -> None:
    address, fingerprint = not_floki

    code = main(["--check", address, "--fingerprint", fingerprint])

    err = capsys.readouterr().err
    assert code == 1
    assert err == f"floki-console: error: {address} answered, but it is not a Floki appliance\n"


@pytest.mark.parametrize(
    ("argv", "reason"),
    [
        (["--check", "127.0.0.1:1", "--fingerprint", "12:34"], "is not a SHA-256 fingerprint"),
        (["--check", "ftp://printer"], "ftp:// is not supported"),
        (["--fingerprint", OTHER_FINGERPRINT], "--fingerprint is only for --check"),
    ],
)
def test_check_with_bad_arguments_is_one_line_and_exit_2(
    argv: list[str], reason: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(argv)

    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("floki-console: error: ") and reason in err
    assert err.count("\n") == 1
