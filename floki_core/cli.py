"""``floki-core``: install, run and administer the appliance from a shell.

User mistakes end in one line on stderr and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import logging
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError

from floki_core import __version__
from floki_core.clock import SystemClock
from floki_core.config import CONFIG_ENV, AppConfig, config_path, load_config
from floki_core.domain import SYSTEM, Role, TokenKind
from floki_core.errors import FlokiError
from floki_core.initialise import init_data_dir, is_initialised
from floki_core.new_plugin import KINDS
from floki_core.plugins.registry import CommandSpec
from floki_core.storage import accounts, audit
from floki_core.storage.audit import AuditHead, parse_audit_head
from floki_core.storage.database import Database, default_url

PROG = "floki-core"
DATA_DIR_ENV = "FLOKI_DATA_DIR"
DEMO_SITE = "St Floki General Hospital"


def _out(text: str = "") -> None:
    print(text, flush=True)


def _require_init(data_dir: Path) -> AppConfig:
    if not is_initialised(data_dir):
        raise FlokiError(f"{data_dir} is not initialised; run '{PROG} init --data-dir {data_dir}'")
    return load_config(data_dir)


@contextmanager
def _opened(data_dir: Path) -> Iterator[Database]:
    """The initialised appliance's database, once it passes the start checks."""
    config = _require_init(data_dir)
    db = Database(config.database.url or default_url(data_dir))
    try:
        problem = db.start_problem(
            initialised=True, budget_seconds=config.database.start_check_seconds
        )
        if problem is not None:
            raise FlokiError(problem)
        yield db
    finally:
        db.close()


def _migrate(db: Database) -> list[str]:
    """``db.migrate()``; a release's migration that fails is one line (what, not where:
    ``-v`` logs where)."""
    before = db.current_revision()
    try:
        return db.migrate()
    except FlokiError:
        raise
    except Exception as error:
        logging.getLogger(__name__).debug("migration failed", exc_info=True)
        raise FlokiError(
            f"migrating the database from {before} to {db.head_revision()} failed: "
            f"{type(error).__name__}: {error} ('{PROG} -v migrate' shows where)"
        ) from None


@contextmanager
def _database(data_dir: Path) -> Iterator[Database]:
    """:func:`_opened`, brought to this version's schema."""
    with _opened(data_dir) as db:
        _migrate(db)
        yield db


def _print_init(result: object) -> None:
    from floki_core.initialise import InitResult

    assert isinstance(result, InitResult)
    _out(f"Initialised {result.data_dir}")
    _out(f"Certificate SHA-256 fingerprint: {result.fingerprint}")
    if result.admin_password:
        _out("First administrator: admin")
        _out(f"Password (shown once, store it now): {result.admin_password}")
    else:
        _out("First administrator: admin (password from FLOKI_ADMIN_PASSWORD)")


# --- commands ------------------------------------------------------------------


def cmd_init(args: argparse.Namespace) -> int:
    _print_init(init_data_dir(args.data_dir, args.site, args.database_url))
    return 0


def _serve(args: argparse.Namespace) -> int:
    from floki_core.appliance import ServingInfo, run

    def ready(info: ServingInfo) -> None:
        _out(f"Floki {__version__} serving at {info.url}/api/v1/health")
        if info.fingerprint:
            _out(f"Certificate SHA-256 fingerprint: {info.fingerprint}")
        _out("Press Ctrl+C to stop.")

    run(args.data_dir, host=args.host, port=args.port, on_ready=ready)
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    _require_init(args.data_dir)
    return _serve(args)


def cmd_demo(args: argparse.Namespace) -> int:
    from floki_core.demo import (
        enable_community_simulation,
        enable_rfid_simulation,
        enable_simulation,
        enable_wifi_simulation,
        holds_demo_site,
        load_demo,
    )
    from floki_core.storage.models import SiteRow

    if not is_initialised(args.data_dir):
        _print_init(init_data_dir(args.data_dir, DEMO_SITE))
    with _database(args.data_dir) as db, db.transaction() as session:
        if session.query(SiteRow).count() == 0:
            summary = load_demo(session, args.data_dir, now=SystemClock().now())
            _out(f"Loaded the demo site: {summary}")
        else:
            _out("The register already holds data; serving it as it is.")
        demo_site = holds_demo_site(session)
    # Simulated sightings of a real register's tags would be taken for real ones.
    if demo_site:
        _out(enable_simulation(args.data_dir).message)
        _out(enable_community_simulation(args.data_dir).message)
        _out(enable_rfid_simulation(args.data_dir).message)
        _out(enable_wifi_simulation(args.data_dir).message)
    return _serve(args)


def cmd_openapi(args: argparse.Namespace) -> int:
    import json

    from floki_core.api.app import core_openapi

    _out(json.dumps(core_openapi(), indent=2, sort_keys=True))
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    # The benchmarks live beside the package in a source checkout, not in the wheel.
    root = Path(__file__).resolve().parents[1]
    if not (root / "bench" / "cli.py").is_file():
        raise FlokiError("the benchmarks come with the source checkout (bench/); run from there")
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    from bench.cli import main as bench_main

    return bench_main(list(args.bench_args))


def cmd_new_plugin(args: argparse.Namespace) -> int:
    from floki_core.new_plugin import NewPluginError, generate

    try:
        target = generate(args.name, args.kind, args.directory)
    except NewPluginError as exc:
        # A name or place that cannot be used: said in one line, nothing written.
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 2
    _out(f"Wrote the {args.kind} plugin {target.name} in {target}")
    _out(f"Next: pip install -e '{target}[test]' && cd {target} && pytest")
    return 0


def cmd_version(args: argparse.Namespace) -> int:
    _out(f"{PROG} {__version__}")
    return 0


def cmd_user_add(args: argparse.Namespace) -> int:
    from floki_core.security.passwords import generate_password

    password = _read_password(args) or generate_password()
    with _database(args.data_dir) as db, db.transaction() as session:
        user = accounts.create_user(
            session,
            username=args.username,
            role=Role(args.role),
            password=password,
            display_name=args.display_name or "",
            actor=SYSTEM,
            now=SystemClock().now(),
        )
    _out(f"Created {user.role} user {user.username}")
    if not args.password_stdin:
        _out(f"Password (shown once): {password}")
    return 0


def _read_password(args: argparse.Namespace) -> str | None:
    if not args.password_stdin:
        return None
    if sys.stdin.isatty():
        return getpass.getpass("Password: ")
    return sys.stdin.readline().rstrip("\n")


def cmd_user_list(args: argparse.Namespace) -> int:
    with _database(args.data_dir) as db, db.sessions() as session:
        users = accounts.list_users(session)
    _out(f"{'USERNAME':<24} {'ROLE':<9} STATUS")
    for user in users:
        status = "disabled" if user.disabled else "active"
        if user.locked_until:
            status += f", locked until {user.locked_until:%Y-%m-%d %H:%M} UTC"
        _out(f"{user.username:<24} {user.role.value:<9} {status}")
    return 0


def cmd_user_reset(args: argparse.Namespace) -> int:
    from floki_core.security.passwords import generate_password

    password = _read_password(args) or generate_password()
    with _database(args.data_dir) as db, db.transaction() as session:
        accounts.set_password(
            session, args.username, password, actor=SYSTEM, now=SystemClock().now()
        )
    _out(f"Password of {args.username} reset; any lockout cleared.")
    if not args.password_stdin:
        _out(f"New password (shown once): {password}")
    return 0


def cmd_token_create(args: argparse.Namespace) -> int:
    import datetime as dt

    now = SystemClock().now()
    kind = TokenKind.DEVICE if args.device else TokenKind.API
    expires = now + dt.timedelta(days=args.expires_days) if args.expires_days else None
    with _database(args.data_dir) as db, db.transaction() as session:
        user = accounts.get_user(session, args.user)
        _, secret = accounts.issue_token(
            session,
            user_id=user.id,
            name=args.name or f"{kind.value} token",
            kind=kind,
            now=now,
            expires_at=expires,
            actor=SYSTEM,
        )
    _out(secret)
    return 0


def cmd_plugins(args: argparse.Namespace) -> int:
    from floki_core.api.app import core_route_keys
    from floki_core.core import Core

    config = load_config(args.data_dir) if is_initialised(args.data_dir) else AppConfig()
    core = Core(args.data_dir, config, reserved_routes=core_route_keys())
    core.plugins.load()
    asyncio.run(core.plugins.register(set(core.reserved_routes), services=core.plugin_services()))
    core.db.close()
    _out(f"{'NAME':<16} {'VERSION':<10} {'STATUS':<9} DETAIL")
    for info in core.plugins.infos():
        _out(f"{info.name:<16} {info.version or '-':<10} {info.status:<9} {info.reason or ''}")
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    config = _require_init(args.data_dir)
    recorded: AuditHead | None = None
    if args.audit_head is not None:
        try:
            recorded = parse_audit_head(args.audit_head)
        except ValueError as exc:
            raise FlokiError(f"--audit-head: {exc}") from None
    _out(f"config: ok ({config_path(args.data_dir)})")
    db = Database(config.database.url or default_url(args.data_dir))
    try:
        # Missing, empty, a directory, unwritable: the one problem to report (and nothing
        # is created).
        refused = db.start_problem(initialised=True, budget_seconds=0)
        if refused is not None:
            print(f"{PROG}: problem: {refused}", file=sys.stderr)
            return 1
        problems = _database_problems(db, recorded)
    finally:
        db.close()
    if config.server.tls:
        from floki_core.appliance import tls_paths
        from floki_core.security import tls

        cert, key = tls_paths(args.data_dir, config)
        tls.server_context(cert, key)
        _out(f"certificate: ok, SHA-256 {tls.fingerprint(cert)}")
    for problem in problems:
        print(f"{PROG}: problem: {problem}", file=sys.stderr)
    return 1 if problems else 0


def _database_problems(db: Database, recorded: AuditHead | None) -> list[str]:
    """SQLite damage alone (nothing else can be read from a damaged file: not even its
    schema version), else the schema and references, then the records themselves."""
    problems = db.integrity_problems()
    path = db.sqlite_file()
    if path is not None and any(p.startswith(f"database {path} is damaged") for p in problems):
        return problems
    _out(f"database: {db.backend}, schema {db.current_revision()} (code: {db.head_revision()})")
    if problems:  # an older schema is what to fix first
        return problems
    return _record_problems(db, recorded)


def _record_problems(db: Database, recorded: AuditHead | None) -> list[str]:
    from floki_core.storage.identifier_spelling import identifier_spelling_problems

    with db.sessions() as session:
        chain = audit.audit_chain_problems(session, initialised=True)
        spelling = identifier_spelling_problems(session)
        head, entries = audit.read_audit_head(session), audit.count_audit_entries(session)
        against = [] if recorded is None else audit.recorded_head_problems(session, recorded)
    if not chain and not spelling:
        _out("records: ok (audit trail chained, identifiers in their spelling)")
    if not chain and head is not None:
        # Kept elsewhere, the head finds entries later cut from the trail's end, which the
        # database alone cannot show (docs/security.md, Audit trail).
        _out(f"audit head: {head} ({_entries(entries)}; keep it off the appliance)")
        if recorded is not None and not against:
            since = _entries(head.seq - recorded.seq)
            _out(f"audit head {recorded.short}: still in the trail ({since} written since)")
    return chain + against + spelling


def _entries(count: int) -> str:
    return f"{count} entr{'y' if count == 1 else 'ies'}"


def cmd_migrate(args: argparse.Namespace) -> int:
    with _opened(args.data_dir) as db:
        before = db.current_revision()
        applied = _migrate(db)
    if applied:
        _out(f"database migrated from {before} to {applied[-1]} ({', '.join(applied)})")
    else:
        _out(f"database already at {before}")
    return 0


def cmd_import_assets(args: argparse.Namespace) -> int:
    from floki_core.register_io import import_assets_file, summary_lines
    from floki_core.storage.outbox import Outbox

    with _database(args.data_dir) as db:
        config = load_config(args.data_dir)
        federation = config.federation
        report = import_assets_file(
            db,
            args.file,
            config.import_,
            skip_bad=args.skip_bad,
            keep_for_hub=(
                Outbox(federation.site_id, federation.subject_prefix) if federation else None
            ),
        )
    for line in summary_lines(report):
        _out(line)
    return 0


def cmd_federation_status(args: argparse.Namespace) -> int:
    from floki_core.federation.report import status_lines

    with _database(args.data_dir) as db:
        config = load_config(args.data_dir)
        lines = status_lines(db, config.federation, config_path(args.data_dir))
    for line in lines:
        _out(line)
    return 0


def cmd_export_assets(args: argparse.Namespace) -> int:
    from floki_core.register_io import export_assets_file

    with _database(args.data_dir) as db:
        count = export_assets_file(db, args.file)
    print(f"Exported {count} assets to {args.file}", file=sys.stderr)
    return 0


def cmd_import_site(args: argparse.Namespace) -> int:
    from floki_core.site_import import import_site_file

    with _database(args.data_dir) as db:
        summary = import_site_file(db, args.file, args.data_dir)
    _out(f"Imported site from {args.file}: {summary}")
    return 0


def cmd_backup(args: argparse.Namespace) -> int:
    from floki_core.backup import backup_into, take_backup

    config = _require_init(args.data_dir)
    if (args.out is None) == (args.dir is None):
        raise FlokiError("backup: give either --out FILE or --dir BACKUPS")
    if args.out is not None:
        result = take_backup(args.data_dir, args.out)
    else:
        result = backup_into(args.data_dir, args.dir, args.keep)
    _out(f"Backup written: {result.path}")
    _out(f"SHA-256: {result.sha256}")
    for name in result.removed:
        _out(f"removed {name} (more than --keep {args.keep})")
    # One short transaction after the copy: the backup never waits for the write lock.
    db = Database(config.database.url or default_url(args.data_dir))
    try:
        with db.transaction() as session:
            audit.write_audit(
                session,
                at=SystemClock().now(),
                actor=SYSTEM.username,
                action="backup",
                entity="appliance",
                detail=f"backup taken: {result.path.name} sha256 {result.sha256}",
            )
    except SQLAlchemyError as exc:  # the archive is good; say what is missing
        reason = (str(getattr(exc, "orig", exc)).splitlines() or ["unknown error"])[0]
        print(
            f"{PROG}: warning: backup not recorded in the audit trail ({reason})", file=sys.stderr
        )
    finally:
        db.close()
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    from floki_core.backup_restore import restore

    files = restore(args.file, args.data_dir)
    _out(f"Restored {len(files)} files from {args.file} into {args.data_dir}")
    named = config_path(args.data_dir)
    if named.as_posix() in files:
        _out(f"configuration restored to {named}")
    _out(f"Start the appliance (systemctl start floki); '{PROG} check' verifies it.")
    return 0


# --- parser --------------------------------------------------------------------


def build_parser(*, plugin_commands: bool = True) -> argparse.ArgumentParser:
    """The command line; ``plugin_commands=False`` leaves out the plugins' commands (and
    importing every plugin to find them)."""
    # No abbreviated options: the installed wrapper reads the words before the command.
    parser = argparse.ArgumentParser(prog=PROG, description="Floki appliance", allow_abbrev=False)
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=Path(os.environ.get(DATA_DIR_ENV, "").strip() or "var"),
        help=f"where config, database and certificate live (default: ${DATA_DIR_ENV}, else ./var)",
    )
    parser.add_argument(
        "--config",
        type=Path,
        default=None,
        help=f"the configuration file (default: ${CONFIG_ENV}, else floki.toml in the data "
        "directory)",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(
        name: str,
        fn: Callable[[argparse.Namespace], int],
        help_: str,
        parent: argparse._SubParsersAction[argparse.ArgumentParser] = sub,
    ) -> argparse.ArgumentParser:
        p = parent.add_parser(name, help=help_, description=help_)
        p.set_defaults(func=fn)
        # Accepted after the command too; SUPPRESS keeps an earlier --data-dir in force.
        p.add_argument(
            "--data-dir", type=Path, default=argparse.SUPPRESS, help="as before the command"
        )
        return p

    p = command("init", cmd_init, "create the data directory, certificate and first admin")
    p.add_argument("--site", default="Floki", help="site name shown to users")
    p.add_argument(
        "--database-url", help="PostgreSQL URL (default: SQLite under the data directory)"
    )
    for name, fn, help_ in (
        ("serve", cmd_serve, "run the appliance"),
        ("demo", cmd_demo, "init if needed, load the demo hospital, serve"),
    ):
        p = command(name, fn, help_)
        p.add_argument("--host", default=None, help="address to listen on (config: server.host)")
        p.add_argument("--port", type=int, default=None, help="port (config: server.port)")
    command("migrate", cmd_migrate, "bring the database to this version's schema (serve does too)")
    p = command("import-assets", cmd_import_assets, "import an asset register CSV (e.g. e-Quip)")
    p.add_argument("file", type=Path)
    p.add_argument("--skip-bad", action="store_true", help="import good rows, report bad ones")
    p = command("import-site", cmd_import_site, "import sites, buildings, floors, zones, receivers")
    p.add_argument("file", type=Path, help="a TOML or JSON site file (docs/operations.md)")
    p = command("export-assets", cmd_export_assets, "export the asset register as CSV")
    p.add_argument("file", type=Path, help="output file, or - for standard output")

    user = command("user", lambda a: 0, "manage users").add_subparsers(
        dest="user_command", required=True, metavar="ACTION"
    )
    p = command("add", cmd_user_add, "add a user (a password is generated)", user)
    p.add_argument("username")
    p.add_argument("--role", required=True, choices=[r.value for r in Role])
    p.add_argument("--display-name")
    p.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    command("list", cmd_user_list, "list users", user)
    p = command("reset-password", cmd_user_reset, "set a new password, clear lockout", user)
    p.add_argument("username")
    p.add_argument("--password-stdin", action="store_true", help="read the password from stdin")

    token = command("token", lambda a: 0, "manage tokens").add_subparsers(
        dest="token_command", required=True, metavar="ACTION"
    )
    p = command("create", cmd_token_create, "create a token and print it once", token)
    p.add_argument("--user", required=True, help="the user the token acts as")
    p.add_argument("--device", action="store_true", help="a gateway token: ingest only")
    p.add_argument("--name", help="what the token is for, e.g. 'ward 7 gateway'")
    p.add_argument("--expires-days", type=int)

    federation = command(
        "federation", lambda a: 0, "this site's link to a trust hub"
    ).add_subparsers(dest="federation_command", required=True, metavar="ACTION")
    command(
        "status", cmd_federation_status, "events kept for the hub, sent and waiting", federation
    )
    command("plugins", cmd_plugins, "list plugins with version and status")
    p = command("check", cmd_check, "check config, database integrity, migrations, certificate")
    p.add_argument(
        "--audit-head",
        metavar="SEQ:HASH",
        help="an audit head printed by an earlier check: fail if it is no longer in the trail",
    )
    p = command("backup", cmd_backup, "write a consistent backup archive while serving")
    p.add_argument("--out", type=Path, help="the archive to write")
    p.add_argument("--dir", type=Path, help="write BACKUPS/floki-backup-<UTC stamp>.tar.gz instead")
    p.add_argument("--keep", type=int, default=7, help="with --dir: backups kept (default 7)")
    p = command("restore", cmd_restore, "restore a backup archive into a stopped appliance")
    p.add_argument("file", type=Path, help="a floki-backup-*.tar.gz")
    command("openapi", cmd_openapi, "print the core API's OpenAPI document")
    p = command("bench", cmd_bench, "run a benchmark scenario (see docs/performance.md)")
    p.add_argument("bench_args", nargs=argparse.REMAINDER, help="--scenario NAME --rate N|max ...")
    command("version", cmd_version, "print the version")
    p = command(
        "new-plugin",
        cmd_new_plugin,
        "write a new plugin distribution that passes its own tests (docs/plugin-kit.md)",
    )
    p.add_argument("name", help="the plugin's name: lower-case words joined by '-', e.g. demo-gw")
    p.add_argument("--kind", required=True, choices=KINDS, help="what the plugin adds")
    p.add_argument(
        "--directory", type=Path, help="where to write it (default: ./floki-NAME); must not exist"
    )

    if not plugin_commands:
        return parser
    from floki_core.plugins.commands import plugin_commands as installed_commands

    for plugin, spec in installed_commands(set(sub.choices)):
        p = command(spec.name, _plugin_command(plugin, spec), f"{spec.help} (plugin {plugin})")
        spec.configure(p)
    return parser


def _core_commands(parser: argparse.ArgumentParser) -> set[str]:
    return {
        name
        for action in parser._actions
        if isinstance(action, argparse._SubParsersAction)
        for name in action.choices
    }


def _command_word(argv: Sequence[str]) -> str | None:
    """The command ``argv`` names (the first word that is not an option before it), or
    None (no command, or help asked for first)."""
    words = iter(argv)
    for word in words:
        if word in ("--data-dir", "--config"):
            next(words, None)
        elif word.startswith(("--data-dir=", "--config=")) or word in ("-v", "--verbose"):
            continue
        elif word.startswith("-"):
            return None
        else:
            return word
    return None


def command_parser(argv: Sequence[str]) -> argparse.ArgumentParser:
    """The parser for ``argv``: a core command is parsed without importing the plugins
    (a second or more of start-up for ``check`` or ``user add``); anything else (a
    plugin's command, ``--help``, a mistake) with every plugin's commands."""
    core = build_parser(plugin_commands=False)
    if _command_word(argv) in _core_commands(core):
        return core
    return build_parser()


def _plugin_command(plugin: str, spec: CommandSpec) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        from floki_core.plugins.registry import CommandContext

        with _database(args.data_dir) as db:
            config = load_config(args.data_dir)
            if plugin in config.plugins.disabled:
                raise FlokiError(f"plugin {plugin} is disabled in the configuration")
            return spec.run(args, CommandContext(data_dir=args.data_dir, config=config, db=db))

    return run


def _bench_at(words: Sequence[str]) -> int | None:
    """Where ``bench`` is, when it is the command: what follows it is the benchmark's own
    options (``--scenario hospital``), which argparse would take for ours."""
    i = 0
    while i < len(words):
        word = words[i]
        if word in ("--data-dir", "--config"):
            i += 2
        elif word.startswith("-"):
            i += 1
        else:
            return i if word == "bench" else None
    return None


def main(argv: Sequence[str] | None = None) -> int:
    words = sys.argv[1:] if argv is None else list(argv)
    at = _bench_at(words)
    if at is None:
        args = command_parser(words).parse_args(words)
    else:
        args = command_parser(words).parse_args(words[: at + 1])
        args.bench_args = words[at + 1 :]
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # Migration chatter on every command would bury what the user asked for.
    logging.getLogger("alembic").setLevel(logging.DEBUG if args.verbose else logging.WARNING)
    before = os.environ.get(CONFIG_ENV)
    if args.config is not None:  # the environment carries it to everything this command runs
        os.environ[CONFIG_ENV] = str(args.config.absolute())
    try:
        return int(args.func(args))
    except FlokiError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    finally:
        if before is None:
            os.environ.pop(CONFIG_ENV, None)
        else:
            os.environ[CONFIG_ENV] = before


if __name__ == "__main__":
    sys.exit(main())
