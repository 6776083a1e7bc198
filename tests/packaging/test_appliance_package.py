"""The appliance's Debian package, built from this tree and installed on this machine for
real, as an IT team would: ``apt install ./floki_*.deb``.

One story, in order (each step needs the one before, and the machine holds one
installation at a time): build and inspect the package (``dpkg-deb --info/--contents``,
lintian clean); install it (the floki user, the data directory initialised, the first
admin's password in a root-only file, the HTTPS address and certificate fingerprint
printed); ``floki-core check``; start the unit's ``ExecStart`` as the floki user with the
unit's environment (systemd is not PID 1 here) and reach it over HTTPS; upgrade to a
higher version (a backup taken first, data and the edited conffile kept); upgrade to a
version whose migration fails (the backup restored, the previous version serving again
from the unit's rollback drop-in); recover with a good version; purge (data and
configuration gone, backups and the user kept, and said so).

The higher versions are the built package repacked by ``dpkg-deb`` with a new version
(and, for the failing one, one more migration that raises): building from scratch three
times would add minutes and test nothing more. The machine is left as it was found.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import pwd
import re
import shutil
import sqlite3
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from floki_core import __version__
from floki_core.storage.database import migration_scripts
from tests.fixtures.packages import (
    configure_pending,
    install,
    installed_version,
    purge,
    require_root,
)
from tests.fixtures.processes import free_port
from tests.fixtures.requirements import missing, require_binary

REPO = Path(__file__).resolve().parents[2]
BUILD = REPO / "packaging" / "deb" / "build.py"
DATA = Path("/var/lib/floki")
CONFIG = Path("/etc/floki/floki.toml")
PASSWORD_FILE = Path("/etc/floki/initial-admin-password")
UNIT = Path("/lib/systemd/system/floki.service")
DROPIN = Path("/etc/systemd/system/floki.service.d/50-rollback.conf")
KEPT_BACKUPS = Path("/var/backups/floki")
SITE = "opt/floki/lib/python3.11/site-packages"
FINGERPRINT = re.compile(r"Certificate SHA-256 fingerprint[^:]*: ((?:[0-9A-F]{2}:){31}[0-9A-F]{2})")
BROKEN_MIGRATION = '''\
"""a migration that fails, as a broken release's would"""

revision = "0099_broken"
down_revision = "{head}"
branch_labels = None
depends_on = None


def upgrade() -> None:
    raise RuntimeError("this release's migration is broken")


def downgrade() -> None:
    pass
'''


@pytest.fixture
def clean_machine() -> Iterator[None]:
    """Root, the tools, no floki package already here; afterwards, nothing of ours left."""
    require_root()
    for tool in ("dpkg-deb", "apt-get", "runuser", "lintian"):
        require_binary(tool)
    if not Path("/usr/bin/python3.11").exists():
        missing("Debian's python3.11 (the package's interpreter)")
    if installed_version("floki") is not None:
        pytest.skip("a floki package is installed on this machine; this test installs its own")
    user_existed = _user_exists("floki")
    try:
        yield
    finally:
        if installed_version("floki") is not None:
            purge("floki")
        shutil.rmtree(KEPT_BACKUPS, ignore_errors=True)
        if not user_existed and _user_exists("floki"):
            subprocess.run(["deluser", "--quiet", "--system", "floki"], check=False)
            subprocess.run(["delgroup", "--quiet", "--system", "floki"], check=False)


def _user_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


def build(out: Path) -> Path:
    done = subprocess.run(
        [sys.executable, BUILD, "--version", f"{__version__}+t1", "--out", out],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return Path(done.stdout.strip().splitlines()[-1])


def repack(deb: Path, version: str, work: Path, broken: bool = False) -> Path:
    """The package with another version (and, if ``broken``, a migration that fails)."""
    tree = work / f"tree-{version}"
    subprocess.run(["dpkg-deb", "-R", deb, tree], check=True)
    control = tree / "DEBIAN" / "control"
    text = control.read_text(encoding="utf-8")
    control.write_text(re.sub(r"(?m)^Version: .*$", f"Version: {version}", text))
    if broken:
        versions = tree / SITE / "floki_core" / "storage" / "migrations" / "versions"
        head = migration_scripts().get_current_head()
        (versions / "0099_broken.py").write_text(BROKEN_MIGRATION.format(head=head))
    out = work / f"floki_{version}.deb"
    subprocess.run(
        ["dpkg-deb", "--root-owner-group", "-Zgzip", "-z1", "--build", tree, out],
        check=True,
        capture_output=True,
    )
    shutil.rmtree(tree)
    return out


def as_floki(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["runuser", "-u", "floki", "--", "env", f"FLOKI_CONFIG={CONFIG}",
         "/opt/floki/bin/floki-core", "--data-dir", str(DATA), *args],
        capture_output=True,
        text=True,
        timeout=120,
    )  # fmt: skip


def unit_command(unit_text: str) -> tuple[list[str], dict[str, str]]:
    """The last ExecStart and the Environment of a unit (or drop-in) file."""
    command: list[str] = []
    environment: dict[str, str] = {}
    for line in unit_text.splitlines():
        key, _, value = line.partition("=")
        if key == "ExecStart" and value:
            command = value.split()
        elif key == "Environment":
            name, _, setting = value.partition("=")
            environment[name] = setting
    return command, environment


@contextmanager
def serving(command: list[str], environment: dict[str, str]) -> Iterator[None]:
    """The unit's command as its user, with the unit's environment (and no shell's)."""
    env = [f"{k}={v}" for k, v in environment.items()]
    process = subprocess.Popen(
        ["runuser", "-u", "floki", "--", "env", "-i", "PATH=/usr/bin:/bin", *env, *command],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        yield
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def https(
    port: int, method: str, path: str, body: dict[str, str] | None = None
) -> tuple[int, dict[str, object], str]:
    """One request; the certificate's SHA-256 fingerprint is returned beside the answer."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # checked below against the printed fingerprint
    deadline = time.monotonic() + 60
    while True:
        connection = http.client.HTTPSConnection("127.0.0.1", port, context=context, timeout=10)
        try:
            payload = json.dumps(body) if body is not None else None
            connection.request(
                method, path, body=payload, headers={"Content-Type": "application/json"}
            )
            response = connection.getresponse()
            answer = json.loads(response.read() or b"{}")
            assert connection.sock is not None
            der = connection.sock.getpeercert(binary_form=True)
            assert der is not None
            digest = hashlib.sha256(der).hexdigest().upper()
            fingerprint = ":".join(digest[i : i + 2] for i in range(0, 64, 2))
            return response.status, answer, fingerprint
        except (TimeoutError, ConnectionRefusedError, ssl.SSLError, http.client.RemoteDisconnected):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)
        finally:
            connection.close()


def schema_level() -> str:
    with sqlite3.connect(f"file:{DATA / 'floki.db'}?mode=ro", uri=True) as db:
        (level,) = db.execute("SELECT version_num FROM alembic_version").fetchone()
    db.close()
    return str(level)


def login(port: int, password: str) -> int:
    status, _answer, _ = https(
        port, "POST", "/api/v1/auth/login", {"username": "admin", "password": password}
    )
    return status


@pytest.mark.packages
@pytest.mark.timeout(900)  # a build, five installs, lintian: minutes, not the usual budget
def test_install_serve_upgrade_roll_back_and_purge(clean_machine: None, tmp_path: Path) -> None:
    # --- build and inspect ----------------------------------------------------------
    deb = build(tmp_path)
    # binaries/spelling can only give informational tags (spelling in compiled
    # libraries), and is a quarter of lintian's time; errors and warnings fail the test.
    lint = subprocess.Popen(
        ["lintian", "--fail-on", "error,warning", "-X", "binaries/spelling", deb],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    info = subprocess.run(
        ["dpkg-deb", "--info", deb], capture_output=True, text=True, check=True
    ).stdout
    assert "Package: floki" in info and "python3.11" in info
    conffiles = subprocess.run(
        ["dpkg-deb", "--info", deb, "conffiles"], capture_output=True, text=True, check=True
    ).stdout
    assert conffiles.split() == [str(CONFIG)]
    contents = subprocess.run(
        ["dpkg-deb", "--contents", deb], capture_output=True, text=True, check=True
    ).stdout
    expected = (
        "./opt/floki/bin/floki-core",
        "./usr/bin/floki-core",
        "./etc/floki/floki.toml",
        "./lib/systemd/system/floki.service",
        "./lib/systemd/system/floki-backup.timer",
        "./usr/share/doc/floki/copyright",
        f"./{SITE}/floki_wifi/__init__.py",
    )
    for path in expected:
        assert f" {path}" in contents, path
    v2 = repack(deb, f"{__version__}+t2", tmp_path)
    broken = repack(deb, f"{__version__}+t3", tmp_path, broken=True)

    # --- first install ----------------------------------------------------------------
    done = install(deb)
    assert done.returncode == 0, done.stdout
    assert re.search(r"floki is installed: https://\S+:8443/", done.stdout), done.stdout
    printed = FINGERPRINT.search(done.stdout)
    assert printed, done.stdout
    assert f"password in {PASSWORD_FILE}" in done.stdout
    assert PASSWORD_FILE.stat().st_mode & 0o777 == 0o600 and PASSWORD_FILE.stat().st_uid == 0
    password = PASSWORD_FILE.read_text(encoding="utf-8").strip()
    assert DATA.stat().st_mode & 0o777 == 0o700 and DATA.owner() == "floki"
    assert (DATA / "floki.db").stat().st_mode & 0o077 == 0, "the database is readable by others"
    assert CONFIG.stat().st_mode & 0o777 == 0o640 and CONFIG.group() == "floki"
    check = as_floki("check")
    assert check.returncode == 0, check.stderr
    assert f"config: ok ({CONFIG})" in check.stdout
    # Root's floki-core runs as floki on the installed appliance's data and configuration.
    wrapped = subprocess.run(
        ["/usr/bin/floki-core", "user", "list"], capture_output=True, text=True
    )
    assert wrapped.returncode == 0 and "admin" in wrapped.stdout, wrapped.stderr
    assert all(p.owner() == "floki" for p in DATA.rglob("*"))

    # --- the service's command, as its user, over HTTPS -------------------------------
    port = free_port()
    CONFIG.write_text(
        CONFIG.read_text(encoding="utf-8")
        .replace("\n[server]\n", f"\n[server]\nport = {port}\n")
        .replace("\n[discovery]\n", "\n[discovery]\nenabled = false\n"),  # no LAN noise
        encoding="utf-8",
    )
    command, environment = unit_command(UNIT.read_text(encoding="utf-8"))
    assert command[0] == "/opt/floki/bin/floki-core" and environment == {
        "FLOKI_CONFIG": str(CONFIG)
    }
    with serving(command, environment):
        status, health, served = https(port, "GET", "/api/v1/health")
        assert status == 200 and health["status"] == "ok", health
        assert served == printed.group(1)
        assert login(port, password) == 200
    add_user = ["/usr/bin/floki-core", "user", "add", "sister.jones", "--role", "staff"]
    added = subprocess.run(add_user, capture_output=True, text=True)
    assert added.returncode == 0, added.stderr

    # --- upgrade: backup first, data and the edited conffile kept ----------------------
    done = install(v2)
    assert done.returncode == 0, done.stdout
    assert "backing up the appliance before the upgrade" in done.stdout
    backups = sorted((DATA / "backups").glob(f"pre-upgrade-{__version__}+t1-*.tar.gz"))
    assert len(backups) == 1, done.stdout
    assert installed_version("floki") == f"{__version__}+t2"
    assert f"port = {port}" in CONFIG.read_text(encoding="utf-8")
    assert "sister.jones" in as_floki("user", "list").stdout
    assert not Path("/opt/floki-previous").exists()

    # --- a release whose migration fails: rolled back, the previous version serves -----
    head = migration_scripts().get_current_head()
    done = install(broken)
    assert done.returncode != 0, done.stdout
    assert "this release's migration is broken" in done.stdout
    assert "the upgrade failed and was rolled back" in done.stdout
    assert "Traceback" not in done.stdout
    assert schema_level() == head
    command, environment = unit_command(
        UNIT.read_text(encoding="utf-8") + DROPIN.read_text(encoding="utf-8")
    )
    assert command[0] == "/opt/floki-previous/bin/python3"
    with serving(command, environment):
        status, health, _ = https(port, "GET", "/api/v1/health")
        assert status == 200 and health["version"] == __version__
        assert login(port, password) == 200

    # While rolled back, root's floki-core is the serving version's (the installed one
    # would run the failing migration on the live database).
    add_user = ["/usr/bin/floki-core", "user", "add", "after.rollback", "--role", "staff"]
    added = subprocess.run(add_user, capture_output=True, text=True)
    assert added.returncode == 0, added.stderr
    assert schema_level() == head
    # Configured again (apt -f install): fails again, rolls back again from a fresh
    # backup, so what was written since the first rollback is kept.
    done = configure_pending()
    assert done.returncode != 0, done.stdout
    assert "the upgrade failed and was rolled back" in done.stdout
    assert (
        "after.rollback"
        in subprocess.run(
            ["/usr/bin/floki-core", "user", "list"], capture_output=True, text=True
        ).stdout
    )
    assert schema_level() == head

    # --- a good version again settles it ------------------------------------------------
    done = install(v2)
    assert done.returncode == 0, done.stdout
    assert not DROPIN.exists() and not Path("/opt/floki-previous").exists()
    assert "sister.jones" in as_floki("user", "list").stdout

    # --- purge --------------------------------------------------------------------------
    done = purge("floki")
    assert done.returncode == 0, done.stdout
    assert "floki purged: removed /var/lib/floki" in done.stdout
    assert not DATA.exists() and not Path("/etc/floki").exists() and not Path("/opt/floki").exists()
    assert not Path("/usr/bin/floki-core").exists()
    # One per upgrade, one per configuration again; the newest three are kept.
    assert len(list(KEPT_BACKUPS.glob("pre-upgrade-*.tar.gz"))) == 3
    assert _user_exists("floki")

    # --- lintian, run beside all of the above ----------------------------------------------
    out, _ = lint.communicate(timeout=600)
    problems = [line for line in out.splitlines() if re.match(r"[EW]: ", line)]
    assert problems == [] and lint.returncode == 0, out
