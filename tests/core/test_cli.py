"""``floki-core``: the commands an installer and an administrator type (issue 2, §5, §7).

Most commands run in-process through ``floki_core.cli.main``; a few run as the installed
console script to see the real exit status and stderr. Every user error must be one line
on stderr, a non-zero exit and no traceback.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import os
import ssl
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from floki_core import __version__
from floki_core.cli import main
from floki_core.domain import Principal, Role
from floki_core.storage import accounts
from floki_core.storage.accounts import LockoutPolicy, LoginRefused
from floki_core.storage.database import Database, default_url
from floki_core.storage.models import (
    AssetRow,
    AuditRow,
    IdentifierRow,
    ReceiverRow,
    SiteRow,
    ZoneRow,
)
from tests.fixtures.requirements import require_binary

REPO = Path(__file__).resolve().parents[2]
ADMIN_PASSWORD = "correct-horse-battery-staple"
NOW = dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC)


Cli = Callable[..., "Result"]


class Result:
    def __init__(self, code: int, out: str, err: str) -> None:
        self.code, self.out, self.err = code, out, err

    def one_line_error(self, *fragments: str) -> str:
        """The single stderr line of a refused command, checked for ``fragments``."""
        assert self.code != 0, self.out
        assert "Traceback" not in self.err and "Traceback" not in self.out
        lines = self.err.splitlines()
        assert len(lines) == 1, self.err
        assert lines[0].startswith("floki-core: error: "), lines[0]
        for fragment in fragments:
            assert fragment in lines[0], (fragment, lines[0])
        return lines[0]


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Cli:
    """Run ``floki-core ARGS`` in-process and return its exit code and output."""

    def run(*args: str | Path) -> Result:
        capsys.readouterr()
        try:
            code = main([str(a) for a in args])
        except SystemExit as exc:  # argparse refusing the command line
            code = exc.code if isinstance(exc.code, int) else 1
        out, err = capsys.readouterr()
        return Result(code, out, err)

    return run


def floki_core_binary() -> str:
    return require_binary(str(Path(sys.executable).parent / "floki-core"))


def run_binary(*args: str | Path, env: dict[str, str] | None = None) -> Result:
    done = subprocess.run(
        [floki_core_binary(), *[str(a) for a in args]],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **(env or {})},
        cwd=REPO,
    )
    return Result(done.returncode, done.stdout, done.stderr)


@contextlib.contextmanager
def admin_password(value: str | None) -> Iterator[None]:
    with pytest.MonkeyPatch.context() as mp:
        if value is None:
            mp.delenv("FLOKI_ADMIN_PASSWORD", raising=False)
        else:
            mp.setenv("FLOKI_ADMIN_PASSWORD", value)
        yield


@contextlib.contextmanager
def database(data_dir: Path) -> Iterator[Database]:
    db = Database(default_url(data_dir))
    try:
        yield db
    finally:
        db.close()


def login(data_dir: Path, username: str, password: str) -> None:
    """Raises ``LoginRefused`` unless the password is accepted; failures are counted."""
    refused: LoginRefused | None = None
    with database(data_dir) as db, db.transaction() as session:
        try:
            accounts.authenticate(
                session,
                username,
                password,
                now=dt.datetime.now(dt.UTC),
                policy=LockoutPolicy(5, 15.0),
            )
        except LoginRefused as exc:
            refused = exc  # committed like the API does, so the failure counts
    if refused is not None:
        raise refused


def token_owner(data_dir: Path, secret: str) -> Principal | None:
    with database(data_dir) as db, db.transaction() as session:
        return accounts.resolve_token(session, secret, now=dt.datetime.now(dt.UTC))


@pytest.fixture(scope="module")
def shared_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One initialised appliance for the commands that only add to it."""
    data_dir = tmp_path_factory.mktemp("cli") / "var"
    with admin_password(ADMIN_PASSWORD):
        assert main(["--data-dir", str(data_dir), "init"]) == 0
    return data_dir


def value_after(text: str, label: str) -> str:
    [line] = [line for line in text.splitlines() if line.startswith(label)]
    return line[len(label) :].strip()


# --- init -----------------------------------------------------------------------------


def test_init_prints_a_generated_password_and_the_certificate_fingerprint(
    cli: Cli, tmp_path: Path
) -> None:
    data_dir = tmp_path / "var"
    with admin_password(None):
        result = cli("--data-dir", data_dir, "init")
    assert result.code == 0, result.err

    password = value_after(result.out, "Password (shown once, store it now):")
    assert len(password) >= 16
    login(data_dir, "admin", password)  # the printed password is the admin's

    fingerprint = value_after(result.out, "Certificate SHA-256 fingerprint:")
    der = ssl.PEM_cert_to_DER_cert((data_dir / "tls" / "cert.pem").read_text())
    digest = hashlib.sha256(der).hexdigest().upper()
    assert fingerprint == ":".join(digest[i : i + 2] for i in range(0, 64, 2))

    assert (data_dir / "floki.toml").is_file()
    assert (data_dir / "floki.db").is_file()
    assert (data_dir / "tls" / "key.pem").stat().st_mode & 0o777 == 0o600


def test_two_installs_get_different_passwords_and_certificates(cli: Cli, tmp_path: Path) -> None:
    with admin_password(None):
        first = cli("--data-dir", tmp_path / "a", "init")
        second = cli("--data-dir", tmp_path / "b", "init")
    for label in ("Password (shown once, store it now):", "Certificate SHA-256 fingerprint:"):
        assert value_after(first.out, label) != value_after(second.out, label)


def test_init_takes_the_password_from_the_environment_and_does_not_print_it(
    cli: Cli, tmp_path: Path
) -> None:
    data_dir = tmp_path / "var"
    with admin_password(ADMIN_PASSWORD):
        result = cli("--data-dir", data_dir, "init")
    assert result.code == 0, result.err
    assert ADMIN_PASSWORD not in result.out + result.err
    assert "Password (shown once" not in result.out
    login(data_dir, "admin", ADMIN_PASSWORD)


def test_init_refuses_a_too_short_environment_password_and_creates_nothing(
    tmp_path: Path,
) -> None:
    data_dir = tmp_path / "var"
    result = run_binary("--data-dir", data_dir, "init", env={"FLOKI_ADMIN_PASSWORD": "short"})
    assert result.code == 1
    result.one_line_error("password", "10 characters")
    assert "short" not in result.out
    assert not (data_dir / "floki.toml").exists()  # so init can simply be run again


def test_init_twice_is_refused_in_one_line(shared_dir: Path) -> None:
    before = (shared_dir / "floki.toml").read_bytes(), (shared_dir / "tls/cert.pem").read_bytes()
    result = run_binary("--data-dir", shared_dir, "init")
    assert result.code == 1
    result.one_line_error("already initialised")
    after = (shared_dir / "floki.toml").read_bytes(), (shared_dir / "tls/cert.pem").read_bytes()
    assert after == before


@pytest.mark.parametrize(
    "command",
    [
        ["user", "list"],
        ["token", "create", "--user", "admin"],
        ["check"],
        ["plugins"],
    ],
    ids=lambda c: " ".join(c),
)
def test_data_dir_may_follow_the_command(cli: Cli, shared_dir: Path, command: list[str]) -> None:
    # Issue 2 §7: every command takes --data-dir, e.g. `floki-core init --data-dir D`.
    after = cli(*command, "--data-dir", shared_dir)
    before = cli("--data-dir", shared_dir, *command)
    assert after.code == 0, after.err
    assert before.code == 0, before.err
    if command[0] != "token":  # a token is new every time
        assert after.out == before.out


def test_init_accepts_data_dir_after_the_command(cli: Cli, tmp_path: Path) -> None:
    with admin_password(ADMIN_PASSWORD):
        result = cli("init", "--data-dir", tmp_path / "var")
    assert result.code == 0, result.err
    assert (tmp_path / "var" / "floki.toml").is_file()


# --- users ----------------------------------------------------------------------------


def test_user_add_prints_a_password_that_logs_in(cli: Cli, shared_dir: Path) -> None:
    result = cli("--data-dir", shared_dir, "user", "add", "nurse.jones", "--role", "staff")
    assert result.code == 0, result.err
    assert "staff" in result.out and "nurse.jones" in result.out
    login(shared_dir, "nurse.jones", value_after(result.out, "Password (shown once):"))

    listed = cli("--data-dir", shared_dir, "user", "list")
    assert listed.code == 0
    rows = {line.split()[0]: line.split()[1:] for line in listed.out.splitlines()[1:]}
    assert rows["admin"][:2] == ["admin", "active"]
    assert rows["nurse.jones"][:2] == ["staff", "active"]


def test_adding_an_existing_user_is_refused_in_one_line(cli: Cli, shared_dir: Path) -> None:
    assert cli("--data-dir", shared_dir, "user", "add", "eng.patel", "--role", "engineer").code == 0
    again = cli("--data-dir", shared_dir, "user", "add", "eng.patel", "--role", "viewer")
    assert again.code == 1
    again.one_line_error("eng.patel", "already exists")


def test_reset_password_clears_a_lockout(cli: Cli, tmp_path: Path) -> None:
    data_dir = tmp_path / "var"
    with admin_password(ADMIN_PASSWORD):
        assert cli("--data-dir", data_dir, "init").code == 0
    for _ in range(5):
        with pytest.raises(LoginRefused):
            login(data_dir, "admin", "not-the-password")
    with pytest.raises(LoginRefused, match="locked"):
        login(data_dir, "admin", ADMIN_PASSWORD)
    assert "locked until" in cli("--data-dir", data_dir, "user", "list").out

    result = cli("--data-dir", data_dir, "user", "reset-password", "admin")
    assert result.code == 0, result.err
    new_password = value_after(result.out, "New password (shown once):")
    assert "locked" not in cli("--data-dir", data_dir, "user", "list").out
    login(data_dir, "admin", new_password)
    with pytest.raises(LoginRefused):
        login(data_dir, "admin", ADMIN_PASSWORD)  # the old password no longer works


def test_reset_password_of_an_unknown_user_is_one_line(cli: Cli, shared_dir: Path) -> None:
    result = cli("--data-dir", shared_dir, "user", "reset-password", "ghost")
    assert result.code == 1
    result.one_line_error("ghost")


# --- tokens ---------------------------------------------------------------------------


def test_token_create_prints_an_api_token_for_the_user(cli: Cli, shared_dir: Path) -> None:
    result = cli("--data-dir", shared_dir, "token", "create", "--user", "admin")
    assert result.code == 0, result.err
    secret = result.out.strip()
    assert secret.startswith("flk_") and "\n" not in secret
    who = token_owner(shared_dir, secret)
    assert who is not None
    assert (who.username, who.role, who.is_device) == ("admin", Role.ADMIN, False)


def test_token_create_device_prints_an_ingest_only_token(cli: Cli, shared_dir: Path) -> None:
    result = cli("--data-dir", shared_dir, "token", "create", "--user", "admin", "--device")
    assert result.code == 0, result.err
    secret = result.out.strip()
    assert secret.startswith("flk_")
    who = token_owner(shared_dir, secret)
    assert who is not None
    assert who.is_device and who.role is None  # reaches ingest and nothing else


def test_token_for_an_unknown_user_is_refused_in_one_line(shared_dir: Path) -> None:
    result = run_binary("--data-dir", shared_dir, "token", "create", "--user", "nobody")
    assert result.code == 1
    result.one_line_error("nobody")
    assert "flk_" not in result.out


# --- check, plugins, version ----------------------------------------------------------


def test_check_passes_on_a_good_data_dir(cli: Cli, shared_dir: Path) -> None:
    result = cli("--data-dir", shared_dir, "check")
    assert result.code == 0, result.err
    assert "config: ok" in result.out
    assert "database: sqlite" in result.out
    assert "certificate: ok" in result.out
    assert result.err == ""


def _fresh_dir(cli: Cli, tmp_path: Path) -> Path:
    data_dir = tmp_path / "var"
    with admin_password(ADMIN_PASSWORD):
        assert cli("--data-dir", data_dir, "init").code == 0
    return data_dir


def test_check_names_an_audit_entry_edited_in_the_database(cli: Cli, tmp_path: Path) -> None:
    data_dir = _fresh_dir(cli, tmp_path)
    db = Database(default_url(data_dir))
    with db.transaction() as session:
        first = session.scalars(select(AuditRow).order_by(AuditRow.id)).first()
        assert first is not None
        first.actor = "someone-else"  # as a hand-edit of the file would
        edited = first.id
    db.close()
    result = cli("--data-dir", data_dir, "check")
    assert result.code == 1
    assert f"problem: audit entry {edited} was edited after it was written" in result.err
    assert "Traceback" not in result.err


def test_check_names_one_tag_stored_in_two_spellings(cli: Cli, tmp_path: Path) -> None:
    data_dir = _fresh_dir(cli, tmp_path)
    db = Database(default_url(data_dir))
    with db.transaction() as session:
        for number, value in (("E1", "FLK-0001"), ("E2", "flk-0001")):
            asset = AssetRow(asset_number=number, created_at=NOW, updated_at=NOW)
            session.add(asset)
            session.flush()
            # As rows an earlier release stored, which the upgrade could not respell.
            session.add(IdentifierRow(asset_id=asset.id, technology="qr", value=value))
    db.close()
    result = cli("--data-dir", data_dir, "check")
    assert result.code == 1
    assert "FLK-0001" in result.err and "flk-0001" in result.err
    assert "Traceback" not in result.err


def test_check_on_a_data_dir_never_initialised_says_so(tmp_path: Path) -> None:
    result = run_binary("--data-dir", tmp_path / "empty", "check")
    assert result.code != 0
    result.one_line_error("not initialised", "init")


def test_plugins_lists_the_ble_plugin(cli: Cli, shared_dir: Path) -> None:
    result = cli("--data-dir", shared_dir, "plugins")
    assert result.code == 0, result.err
    rows = {line.split()[0]: line.split()[1:] for line in result.out.splitlines()[1:]}
    assert rows["ble"][0] == "0.1.0"
    assert rows["ble"][1] in ("loaded", "running")


def test_plugins_shows_a_plugin_disabled_in_the_config(cli: Cli, tmp_path: Path) -> None:
    data_dir = tmp_path / "var"
    with admin_password(ADMIN_PASSWORD):
        assert cli("--data-dir", data_dir, "init").code == 0
    config = (data_dir / "floki.toml").read_text()
    (data_dir / "floki.toml").write_text(
        config.replace("[plugins]\n", '[plugins]\ndisabled = ["ble"]\n', 1)
    )
    result = cli("--data-dir", data_dir, "plugins")
    assert result.code == 0, result.err
    [ble] = [line for line in result.out.splitlines() if line.startswith("ble ")]
    assert "disabled" in ble.split()


def test_plugins_shows_why_a_plugin_failed(cli: Cli, tmp_path: Path) -> None:
    data_dir = tmp_path / "var"
    with admin_password(ADMIN_PASSWORD):
        assert cli("--data-dir", data_dir, "init").code == 0
    with (data_dir / "floki.toml").open("a") as config:
        config.write('\n[plugin.ble]\nbatch_seconds = "fast"\n')
    result = cli("--data-dir", data_dir, "plugins")
    assert result.code == 0, result.err
    [ble] = [line for line in result.out.splitlines() if line.startswith("ble ")]
    assert ble.split()[1:3] == ["0.1.0", "failed"]
    assert "plugin.ble.batch_seconds" in ble


def test_version(cli: Cli) -> None:
    result = cli("version")
    assert (result.code, result.out.strip()) == (0, f"floki-core {__version__}")


def test_a_core_command_starts_without_importing_the_plugins() -> None:
    # The plugins' commands are looked for only when the command is not the core's own:
    # importing every plugin took over a second of each `check` or `user add`.
    script = (
        "import sys; from floki_core.cli import main; code = main(['version']); "
        "print(sorted(m for m in sys.modules if m.split('.')[0].startswith('floki_')"
        " and m.split('.')[0] != 'floki_core'))"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, cwd=REPO
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [f"floki-core {__version__}", "[]"]


@pytest.mark.parametrize(
    ("argv", "said", "not_said"),
    [
        # The whole list names both plugins' commands.
        (["--help"], ["(plugin rfid)", "(plugin qr)"], []),
        # A plugin's command after options that look like command words.
        (["-v", "--data-dir", "check", "rfid", "--help"], ["(plugin rfid)"], []),
        (["--data-dir=var", "labels", "--help"], ["(plugin qr)"], []),
        # A core command's help: no plugin is looked at.
        (["--data-dir", "rfid", "check", "--help"], ["--audit-head"], ["plugin"]),
    ],
)
def test_help_and_plugin_commands_bring_the_plugins_commands(
    argv: list[str], said: list[str], not_said: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as ended:
        main(argv)
    assert ended.value.code == 0
    out = capsys.readouterr().out
    assert [s for s in said if s not in out] == []
    assert [s for s in not_said if s in out] == []


# --- serve and configuration errors ---------------------------------------------------


def test_serve_on_a_data_dir_never_initialised_is_one_line(tmp_path: Path) -> None:
    data_dir = tmp_path / "never"
    result = run_binary("--data-dir", data_dir, "serve", "--port", "0")
    assert result.code == 1
    result.one_line_error("not initialised")
    assert not data_dir.exists()


def test_unknown_config_key_is_one_line_naming_section_and_key(cli: Cli, tmp_path: Path) -> None:
    data_dir = tmp_path / "var"
    with admin_password(ADMIN_PASSWORD):
        assert cli("--data-dir", data_dir, "init").code == 0
    path = data_dir / "floki.toml"
    path.write_text(path.read_text().replace("[server]\n", "[server]\nprot = 1\n", 1))

    served = run_binary("--data-dir", data_dir, "serve", "--port", "0")
    assert served.code == 1
    served.one_line_error("server", "prot")
    for command in (["check"], ["user", "list"]):
        result = cli("--data-dir", data_dir, *command)
        assert result.code == 1
        result.one_line_error("server", "prot")


# --- import-site ----------------------------------------------------------------------

SITE = """
[[sites]]
name = "St Olaf General"

[[buildings]]
name = "Main Block"

[[floors]]
name = "Ground"
building = "Main Block"
level = 0
metres_per_pixel = 0.05

# The bay comes before its ward: the importer puts parents first.
[[zones]]
name = "Ward 7 bay 1"
type = "bay"
parent = "Ward 7"
floor = "Main Block/Ground"
polygon = [[0, 0], [100, 0], [100, 80], [0, 80]]

[[zones]]
name = "Ward 7"
type = "ward"
floor = "Main Block/Ground"
polygon = [[0, 0], [200, 0], [200, 160], [0, 160]]

[[receivers]]
name = "Bay 1 gateway"
technology = "ble"
identifier = "AA:BB:CC:DD:EE:01"
zone = "Ward 7 bay 1"
x = 50
y = 40
"""


def test_import_site_creates_the_records_and_reimport_changes_nothing(
    cli: Cli, tmp_path: Path
) -> None:
    data_dir = tmp_path / "var"
    with admin_password(ADMIN_PASSWORD):
        assert cli("--data-dir", data_dir, "init").code == 0
    site_file = tmp_path / "site.toml"
    site_file.write_text(SITE)

    first = cli("--data-dir", data_dir, "import-site", site_file)
    assert first.code == 0, first.err
    for created in ("1 sites created", "1 buildings created", "1 floors created"):
        assert created in first.out
    assert "2 zones created" in first.out and "1 receivers created" in first.out

    with database(data_dir) as db, db.sessions() as session:
        zones = {z.name: z for z in session.scalars(select(ZoneRow))}
        receiver = session.scalar(select(ReceiverRow))
    assert zones["Ward 7 bay 1"].parent_id == zones["Ward 7"].id
    assert zones["Ward 7 bay 1"].type == "bay"
    assert zones["Ward 7 bay 1"].polygon == [[0, 0], [100, 0], [100, 80], [0, 80]]
    assert receiver is not None
    assert (receiver.zone_id, receiver.x, receiver.y) == (zones["Ward 7 bay 1"].id, 50, 40)

    again = cli("--data-dir", data_dir, "import-site", site_file)
    assert again.code == 0, again.err
    assert "created" not in again.out and "updated" not in again.out
    assert "2 zones unchanged" in again.out

    site_file.write_text(SITE.replace("x = 50", "x = 55"))
    moved = cli("--data-dir", data_dir, "import-site", site_file)
    assert "1 receivers updated" in moved.out


def test_import_site_with_a_missing_parent_writes_nothing(cli: Cli, tmp_path: Path) -> None:
    data_dir = tmp_path / "var"
    with admin_password(ADMIN_PASSWORD):
        assert cli("--data-dir", data_dir, "init").code == 0
    site_file = tmp_path / "site.toml"
    site_file.write_text(SITE.replace('parent = "Ward 7"', 'parent = "Ward 9"'))

    result = cli("--data-dir", data_dir, "import-site", site_file)
    assert result.code == 1
    result.one_line_error("Ward 7 bay 1", "Ward 9")
    with database(data_dir) as db, db.sessions() as session:
        assert session.scalars(select(SiteRow)).all() == []
        assert session.scalars(select(ZoneRow)).all() == []


def test_import_site_with_a_bad_file_is_one_line(tmp_path: Path, shared_dir: Path) -> None:
    site_file = tmp_path / "site.toml"
    site_file.write_text('[[zones]]\nname = "Ward 7"\ncolour = "blue"\n')
    result = run_binary("--data-dir", shared_dir, "import-site", site_file)
    assert result.code == 1
    result.one_line_error("colour")
