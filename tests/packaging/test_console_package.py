"""The console as installable products: the Debian package and the one-folder build.

``floki-console --check ADDRESS`` is how IT staff prove a deployed console reaches the
appliance, so it is tested twice: in process (quick, every refusal it gives), then as the
installed ``/usr/bin/floki-console`` of a real ``dpkg -i`` and as the one-folder build's
executable, each against a real appliance on loopback.
"""

from __future__ import annotations

import fcntl
import http.server
import json
import marshal
import os
import shutil
import ssl
import subprocess
import sys
import tarfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from floki_console.__main__ import main
from floki_core.security import tls
from tests.console.appliance import SITE, ThreadedAppliance, serving
from tests.fixtures.packages import install, installed_version, purge, require_root
from tests.fixtures.requirements import missing, require, require_binary

# The products take a minute or two to build (both at once), once for the module.
pytestmark = pytest.mark.timeout(1200)

OTHER_FINGERPRINT = ":".join(["AB"] * 32)


@pytest.fixture(scope="module")
def appliance(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ThreadedAppliance]:
    with serving(tmp_path_factory.mktemp("appliance")) as running:
        yield running


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


# --- the products: the Debian package and the one-folder build -------------------------

REPO = Path(__file__).resolve().parents[2]
SCRIPTS = REPO / "packaging" / "console"
PREFIX = "/opt/floki-console"
BUILD_TIMEOUT = 900


@dataclass
class Products:
    deb: Path
    folder: Path
    archive: Path
    lintian: subprocess.Popen[str] | None


def _finished(process: subprocess.Popen[str], log: Path, what: str) -> str:
    try:
        process.wait(BUILD_TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    text = log.read_text(errors="replace")
    assert process.returncode == 0, f"{what} failed:\n{text[-4000:]}"
    return text.strip().splitlines()[-1]


def _build(out: Path) -> Products:
    """Both builds at once, as `make package` runs them (wheels cached in packaging/build);
    lintian starts on the .deb while the one-folder build is still running."""

    def start(script: str) -> tuple[subprocess.Popen[str], Path]:
        log = out / f"{script}.log"
        with log.open("w") as fh:
            process = subprocess.Popen(
                [sys.executable, str(SCRIPTS / script), "--out", str(out)],
                stdout=fh,
                stderr=subprocess.STDOUT,
                text=True,
            )
        return process, log

    one_folder = start("build_pyinstaller.py")
    try:
        deb = Path(_finished(*start("build_deb.py"), "build_deb.py"))
        lintian = _start_lintian(deb) if shutil.which("lintian") else None
        folder = Path(_finished(*one_folder, "build_pyinstaller.py"))
    finally:
        if one_folder[0].poll() is None:
            one_folder[0].kill()
            one_folder[0].wait()
    return Products(deb, folder, folder.with_name(folder.name + ".tar.gz"), lintian)


def _start_lintian(deb: Path) -> subprocess.Popen[str]:
    # binaries/spelling alone takes a quarter of lintian's minute and can only give
    # informational tags (spelling in Qt's binaries); errors and warnings fail the test.
    return subprocess.Popen(
        ["lintian", "--fail-on", "error,warning", "-X", "binaries/spelling", str(deb)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


@pytest.fixture(scope="module")
def products(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Products]:
    """Built once per test run: an xdist worker that takes some of this module's tests
    from another waits for that worker's build and uses it."""
    for tool in ("dpkg-deb", "readelf", "/usr/bin/python3"):
        require_binary(tool)
    base = tmp_path_factory.getbasetemp()
    shared = (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / "console-products"
    shared.mkdir(exist_ok=True)
    record = shared / "built.json"
    with (shared / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if record.exists():
            paths = {k: Path(v) for k, v in json.loads(record.read_text()).items()}
            built = Products(paths["deb"], paths["folder"], paths["archive"], None)
        else:
            built = _build(shared)
            record.write_text(
                json.dumps(
                    {
                        "deb": str(built.deb),
                        "folder": str(built.folder),
                        "archive": str(built.archive),
                    }
                )
            )
    try:
        yield built
    finally:
        if built.lintian is not None and built.lintian.poll() is None:
            built.lintian.kill()
            built.lintian.communicate()


def _contents(deb: Path) -> dict[str, tuple[str, str, str]]:
    """path -> (mode, owner, link target) as dpkg-deb --contents lists them."""
    listing = subprocess.run(
        ["dpkg-deb", "--contents", str(deb)], capture_output=True, text=True, check=True
    ).stdout
    entries = {}
    for line in listing.splitlines():
        mode, owner, _size, _date, _time, rest = line.split(None, 5)
        path, _, target = rest.partition(" -> ")
        entries[path.removeprefix(".").rstrip("/") or "/"] = (mode, owner, target)
    return entries


@pytest.fixture(scope="module")
def extracted(products: Products, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("extracted")
    subprocess.run(["dpkg-deb", "-x", str(products.deb), str(root)], check=True)
    return root


@pytest.mark.packages
def test_the_deb_says_what_it_needs(products: Products, extracted: Path) -> None:
    info = subprocess.run(
        ["dpkg-deb", "--info", str(products.deb)], capture_output=True, text=True, check=True
    ).stdout
    fields = dict(
        line.strip().split(": ", 1)
        for line in info.splitlines()
        if line.startswith(" ") and ": " in line
    )
    arch = subprocess.run(
        ["dpkg", "--print-architecture"], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert fields["Package"] == "floki-console"
    assert products.deb.name == f"floki-console_{fields['Version']}_{arch}.deb"
    depends = [d.strip() for d in fields["Depends"].split(",")]
    minor = sys.version_info[1]
    assert f"python3 (>= 3.{minor})" in depends and f"python3 (<< 3.{minor + 1})" in depends
    # What Qt needs from a desktop: OpenGL, fonts, X11 (xcb) and Wayland, D-Bus.
    for library in (
        "libegl1", "libfontconfig1", "libxkbcommon0", "libxkbcommon-x11-0", "libdbus-1-3",
        "libxcb-cursor0", "libxcb-icccm4", "libxcb-keysyms1", "libwayland-client0",
    ):  # fmt: skip
        assert library in depends
    # Installed-Size is what the files take, in KiB (du counts whole blocks: a little more).
    du = subprocess.run(["du", "-sk", str(extracted)], capture_output=True, text=True, check=True)
    used = int(du.stdout.split()[0])
    assert 0.9 * used <= int(fields["Installed-Size"]) <= used


@pytest.mark.packages
def test_the_deb_holds_the_console_its_launcher_and_its_papers(products: Products) -> None:
    entries = _contents(products.deb)
    expected = {
        "/usr/bin/floki-console": "lrwxrwxrwx",
        f"{PREFIX}/bin/floki-console": "-rwxr-xr-x",
        f"{PREFIX}/pyvenv.cfg": "-rw-r--r--",
        "/usr/share/applications/floki-console.desktop": "-rw-r--r--",
        "/usr/share/icons/hicolor/scalable/apps/floki-console.svg": "-rw-r--r--",
        "/usr/share/doc/floki-console/copyright": "-rw-r--r--",
        "/usr/share/doc/floki-console/changelog.Debian.gz": "-rw-r--r--",
        "/usr/share/man/man1/floki-console.1.gz": "-rw-r--r--",
        "/usr/share/lintian/overrides/floki-console": "-rw-r--r--",
    }
    for path, mode in expected.items():
        assert entries[path][0] == mode, path
    assert entries["/usr/bin/floki-console"][2] == f"{PREFIX}/bin/floki-console"
    assert {owner for _, owner, _ in entries.values()} == {"root/root"}
    assert not [p for p, (mode, _, _) in entries.items() if mode[0] != "l" and mode[8] == "w"]
    # Left out: Qt the console never loads.
    assert not [p for p in entries if "WebEngine" in p or "/Qt/qml/" in p or "Qt/translations" in p]


@pytest.mark.packages
def test_the_venv_names_only_its_installed_place(extracted: Path) -> None:
    venv = extracted / PREFIX.lstrip("/")
    build = str(REPO / "packaging" / "build").encode()
    texts = [p for p in (venv / "bin").iterdir() if p.is_file() and not p.is_symlink()]
    for path in [*texts, venv / "pyvenv.cfg"]:
        assert build not in path.read_bytes(), path
    assert (venv / "bin" / "floki-console").read_text().startswith(f"#!{PREFIX}/bin/python\n")
    assert f"{PREFIX}\n" in (venv / "pyvenv.cfg").read_text()
    assert os.readlink(venv / "bin" / "python3") in ("/usr/bin/python3", "python")
    # Tracebacks name the installed file.
    pyc = next((venv / "lib").glob("python3.*/site-packages/floki_console/__pycache__/check.*.pyc"))
    code = marshal.loads(pyc.read_bytes()[16:])
    assert code.co_filename.startswith(f"{PREFIX}/lib/python3.")


@pytest.mark.packages
def test_the_desktop_entry_is_valid_and_finds_its_icon(extracted: Path) -> None:
    entry = extracted / "usr/share/applications/floki-console.desktop"
    validator = require_binary("desktop-file-validate")
    checked = subprocess.run([validator, str(entry)], capture_output=True, text=True)
    assert checked.returncode == 0 and "error" not in checked.stdout, checked.stdout
    keys = dict(line.split("=", 1) for line in entry.read_text().splitlines() if "=" in line)
    assert keys["Exec"].split()[0] == "floki-console"
    assert (extracted / f"usr/share/icons/hicolor/scalable/apps/{keys['Icon']}.svg").exists()


@pytest.mark.packages
def test_lintian_finds_nothing_unexplained(products: Products) -> None:
    require_binary("lintian")
    # Started beside the one-folder build, unless another worker built the products.
    lintian = products.lintian or _start_lintian(products.deb)
    output, _ = lintian.communicate(timeout=BUILD_TIMEOUT)
    assert lintian.returncode == 0, output


def _dpkg(*arguments: str) -> subprocess.CompletedProcess[str]:
    """A dpkg query (it reads the package database, takes no lock)."""
    return subprocess.run(["dpkg", *arguments], capture_output=True, text=True)


def _uninstalled_dependencies(deb: Path) -> str:
    depends = subprocess.run(
        ["dpkg-deb", "--field", str(deb), "Depends"], capture_output=True, text=True, check=True
    ).stdout
    names = sorted({d.split("(")[0].strip() for d in depends.split(",")})
    listed = subprocess.run(
        ["dpkg-query", "--show", "--showformat", "${Package} ${db:Status-Status}\\n", *names],
        capture_output=True,
        text=True,
    ).stdout
    installed = {line.split()[0] for line in listed.splitlines() if line.endswith(" installed")}
    return " ".join(n for n in names if n not in installed)


def _check(
    command: str, appliance: ThreadedAppliance, home: Path, fingerprint: str
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "HOME": str(home)}
    env["XDG_CONFIG_HOME"] = str(home / ".config")
    return subprocess.run(
        [command, "--check", appliance.address, "--fingerprint", fingerprint],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


@pytest.mark.packages
def test_the_installed_console_connects_to_an_appliance(
    products: Products, appliance: ThreadedAppliance, tmp_path: Path
) -> None:
    require_root()
    if installed_version("floki-console") is not None:
        missing("floki-console is already installed on this machine; not replacing it")
    absent = _uninstalled_dependencies(products.deb)
    require(not absent, f"the console's dependencies, to install it: apt install {absent}")
    installed = install(products.deb)
    try:
        assert installed.returncode == 0, installed.stdout

        connected = _check("/usr/bin/floki-console", appliance, tmp_path, appliance.fingerprint)
        refused = _check("/usr/bin/floki-console", appliance, tmp_path, OTHER_FINGERPRINT)
        # Running it (as root, here) wrote nothing into the package: the shipped
        # bytecode is used as it is, and every file is the package's own.
        verified = _dpkg("--verify", "floki-console")
        listed = set(_dpkg("--listfiles", "floki-console").stdout.split())
        on_disk = {str(p) for p in Path(PREFIX).rglob("*")}
    finally:
        purged = purge("floki-console")
    assert verified.returncode == 0 and verified.stdout == "", verified.stdout
    assert on_disk <= listed, sorted(on_disk - listed)[:5]
    assert connected.returncode == 0, connected.stderr
    assert connected.stdout.startswith(f"{SITE}: Floki ")
    assert f"connected to {appliance.address}" in connected.stdout
    assert refused.returncode == 1
    assert refused.stderr.startswith(f"floki-console: error: refused {appliance.address}")
    assert purged.returncode == 0, purged.stdout
    assert not Path(PREFIX).exists() and not Path("/usr/bin/floki-console").is_symlink()


@pytest.mark.packages
def test_the_one_folder_build_connects_to_an_appliance(
    products: Products, appliance: ThreadedAppliance, tmp_path: Path
) -> None:
    program = str(products.folder / "floki-console")

    connected = _check(program, appliance, tmp_path, appliance.fingerprint)

    assert connected.returncode == 0, connected.stderr
    assert connected.stdout.startswith(f"{SITE}: Floki ")
    assert "Qt 6." in connected.stdout and "offscreen" in connected.stdout
    with tarfile.open(products.archive) as archive:
        assert f"{products.folder.name}/floki-console" in archive.getnames()
