"""``floki-core backup``: one consistent archive of a running appliance's data directory.

The SQLite databases (the appliance's and each plugin's under ``plugins/<name>/``) are
copied with SQLite's online backup API, which reads one consistent snapshot while writers
carry on (WAL mode: a reader never blocks them); everything else the appliance needs to
serve (config, certificate and key, plans, plugin files) is copied as it is. The archive
holds a ``manifest.json`` naming every file with its size and SHA-256, and is written to
a temporary file, made readable by its owner only (it holds the key and the password
hashes) and renamed into place.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url

from floki_core import __version__
from floki_core.config import CONFIG_FILE, AppConfig, config_path, load_config
from floki_core.errors import FlokiError
from floki_core.storage.database import DB_FILE, Database

FORMAT = 1
MANIFEST = "manifest.json"
PG_DUMP_FILE = "database.pgdump"
NAME = re.compile(r"^floki-backup-(\d{8}T\d{6}Z)\.tar\.gz$")
SQLITE_HEADER = b"SQLite format 3\x00"
# Not part of a backup: SQLite's own side files (the copy is made through SQLite), the
# raw capture (diagnostics, large), logs, and what a restore left aside.
SKIPPED_SUFFIXES = ("-wal", "-shm", "-journal", ".log", ".tmp")
SKIPPED_DIRS = ("capture",)
STAGING_PREFIX = ".floki-backup-"  # a backup being written


@dataclass(frozen=True)
class BackupResult:
    path: Path
    sha256: str
    removed: list[str]


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def is_sqlite(path: Path) -> bool:
    with path.open("rb") as f:
        return f.read(len(SQLITE_HEADER)) == SQLITE_HEADER


def _data_files(data_dir: Path, leave_out: Path | None) -> Iterator[Path]:
    for root, dirs, files in os.walk(data_dir):
        here = Path(root)
        dirs[:] = sorted(
            d
            for d in dirs
            if not (here == data_dir and d in SKIPPED_DIRS)
            and not d.startswith(STAGING_PREFIX)
            and (leave_out is None or (here / d).resolve() != leave_out)
        )
        for name in sorted(files):
            path = here / name
            if name.endswith(SKIPPED_SUFFIXES) or NAME.match(name) or not path.is_file():
                continue
            yield path


def _copy_sqlite(source: Path, target: Path) -> None:
    """SQLite's online backup: one consistent snapshot, writers not stopped."""
    src = sqlite3.connect(source, timeout=30)
    try:
        dst = sqlite3.connect(target)
        try:
            src.backup(dst)
        finally:
            dst.close()
    finally:
        src.close()
    # The copy is a plain rollback-journal file: no -wal beside it to lose.
    with sqlite3.connect(target) as conn:
        conn.execute("PRAGMA journal_mode=DELETE")
    conn.close()


def sqlite_damage(database: Path) -> str | None:
    """What SQLite's full ``integrity_check`` finds in ``database``, in one line; None if
    it is sound."""
    try:
        conn = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
        try:
            found = [str(row[0]) for row in conn.execute("PRAGMA integrity_check")]
        finally:
            conn.close()
    except sqlite3.Error as error:
        found = [str(error)]
    if found == ["ok"]:
        return None
    return " ".join(found[0].split())


def migration_level(database: Path) -> str | None:
    conn = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    try:
        row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.Error:
        return None
    finally:
        conn.close()
    return None if row is None else str(row[0])


def _pg_dump(url: str, target: Path) -> None:
    if shutil.which("pg_dump") is None:
        raise FlokiError(
            "the database is PostgreSQL and pg_dump is not on PATH; install the "
            "postgresql-client package (or back the server up with its own tools)"
        )
    plain = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    done = subprocess.run(
        ["pg_dump", "--format=custom", "--file", str(target), "--dbname", plain],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        reason = (done.stderr.strip().splitlines() or ["no reason given"])[-1]
        raise FlokiError(f"pg_dump failed: {reason}")


def _postgres_level(url: str) -> str | None:
    db = Database(url)
    try:
        return db.current_revision()
    finally:
        db.close()


def take_backup(data_dir: Path, out: Path, now: dt.datetime | None = None) -> BackupResult:
    """Write one backup archive of ``data_dir`` to ``out`` (replaced atomically)."""
    config = load_config(data_dir)
    now = now or dt.datetime.now(dt.UTC)
    out = out.absolute()
    if not out.parent.is_dir():
        raise FlokiError(f"--out: folder {out.parent} does not exist")
    if out.is_dir():
        raise FlokiError(f"--out: {out} is a folder; name the archive file")
    try:
        return _write_archive(data_dir, out, config, now)
    except OSError as error:  # a full disk, a folder it may not write: nothing left behind
        where = f": {error.filename}" if error.filename else ""
        raise FlokiError(f"backup not written ({error.strerror or error}{where})") from None


def _write_archive(data_dir: Path, out: Path, config: AppConfig, now: dt.datetime) -> BackupResult:
    postgres = config.database.url is not None and not config.database.url.startswith("sqlite")
    with tempfile.TemporaryDirectory(prefix=STAGING_PREFIX, dir=out.parent) as staging_name:
        staging = Path(staging_name)
        os.chmod(staging, 0o700)
        files: list[Path] = []
        for source in _data_files(data_dir, leave_out=out.parent.resolve()):
            if source.resolve() == out.resolve():
                continue  # an earlier archive of the same name, about to be replaced
            relative = source.relative_to(data_dir)
            target = staging / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            if is_sqlite(source):
                # A copy that restore would refuse is no backup: checked here, not later.
                try:
                    _copy_sqlite(source, target)
                    damage = sqlite_damage(target)
                except sqlite3.DatabaseError as error:
                    damage = str(error)
                if damage is not None:
                    raise FlokiError(
                        f"{source} is damaged (integrity_check: {damage}); backup not "
                        "written: restore the appliance from an earlier backup"
                    )
                shutil.copymode(source, target)  # restored with the mode it had
            else:
                shutil.copy2(source, target)
            files.append(relative)
        named = config_path(data_dir)
        if named != data_dir / CONFIG_FILE and named.is_file():
            # Kept outside the data directory (the package's /etc/floki/floki.toml): carried
            # as the data directory's own, and put back where it is read from by restore.
            shutil.copy2(named, staging / CONFIG_FILE)
            if Path(CONFIG_FILE) not in files:
                files.append(Path(CONFIG_FILE))
        head = None
        if postgres:
            assert config.database.url is not None
            _pg_dump(config.database.url, staging / PG_DUMP_FILE)
            files.append(Path(PG_DUMP_FILE))
            head = _postgres_level(config.database.url)
        elif (staging / DB_FILE).exists():
            head = migration_level(staging / DB_FILE)
        else:
            raise FlokiError(f"no database at {data_dir / DB_FILE}: nothing to back up")
        manifest = {
            "format": FORMAT,
            "floki_core": __version__,
            "alembic_head": head,
            "database": PG_DUMP_FILE if postgres else DB_FILE,
            "created_at": now.isoformat(),
            "files": [
                {
                    "path": relative.as_posix(),
                    "size": (staging / relative).stat().st_size,
                    "sha256": sha256_of(staging / relative),
                }
                for relative in files
            ],
        }
        (staging / MANIFEST).write_text(json.dumps(manifest, indent=2), encoding="utf-8")
        partial = staging / "archive.tar.gz"
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as raw:
            with tarfile.open(fileobj=raw, mode="w:gz") as archive:
                archive.add(staging / MANIFEST, arcname=MANIFEST)
                for relative in files:
                    archive.add(staging / relative, arcname=relative.as_posix())
            raw.flush()
            os.fsync(raw.fileno())
        os.replace(partial, out)
        _sync_folder(out.parent)
    return BackupResult(out, sha256_of(out), [])


def _sync_folder(folder: Path) -> None:
    """The rename itself kept through a power cut."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def stamped_name(now: dt.datetime) -> str:
    return f"floki-backup-{now.astimezone(dt.UTC):%Y%m%dT%H%M%SZ}.tar.gz"


def backup_into(data_dir: Path, folder: Path, keep: int) -> BackupResult:
    """A stamped backup in ``folder``; then the oldest stamped ones beyond ``keep`` go."""
    if keep < 1:
        raise FlokiError("--keep: at least 1 backup must be kept")
    if not folder.is_dir():
        raise FlokiError(f"--dir: folder {folder} does not exist")
    now = dt.datetime.now(dt.UTC)
    result = take_backup(data_dir, folder / stamped_name(now), now)
    stamped = sorted(p.name for p in folder.iterdir() if NAME.match(p.name))
    removed = stamped[: max(0, len(stamped) - keep)]
    for name in removed:
        (folder / name).unlink()
    return BackupResult(result.path, result.sha256, removed)
