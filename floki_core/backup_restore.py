"""``floki-core restore``: a backup archive into a stopped appliance's data directory.

Everything is checked before the data directory is touched: the archive reads, each file
matches its checksum in the manifest, the database passes SQLite's full integrity check
and its migration level is one this code knows. Then the data directory's entries are
moved aside to ``<data-dir>.before-restore-<stamp>`` and the restored ones moved in (a
rename each, on one filesystem); if anything fails the previous ones are put back, and
once all are in place the set-aside folder is removed.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import gzip
import json
import os
import shutil
import sqlite3
import tarfile
import zlib
from pathlib import Path, PurePosixPath
from typing import Any

from floki_core.backup import (
    FORMAT,
    MANIFEST,
    PG_DUMP_FILE,
    is_sqlite,
    migration_level,
    sha256_of,
    sqlite_damage,
)
from floki_core.config import CONFIG_FILE, config_path
from floki_core.errors import FlokiError
from floki_core.initialise import INITIALISED_MARK
from floki_core.storage.database import DB_FILE, known_revisions, migration_scripts

# SQLite's unix VFS: every connection to a WAL database holds a shared lock on this byte
# of the -shm file while it has the database open (the "DMS" lock), so a lock on it that
# cannot be taken means another process has the database open.
_SHM_DMS_BYTE = 128


def in_use(database: Path) -> bool:
    """Whether another process has the SQLite database ``database`` open. (Call it with no
    connection to that database open in this process: closing the descriptor opened here
    drops every POSIX lock this process holds on the file.)"""
    try:
        fd = os.open(f"{database}-shm", os.O_RDWR)
    except FileNotFoundError:
        return False  # the last connection to close removes it
    except OSError:
        fd = -1
    try:
        if fd >= 0:
            try:
                fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, _SHM_DMS_BYTE)
            except OSError:
                return True
            fcntl.lockf(fd, fcntl.LOCK_UN, 1, _SHM_DMS_BYTE)
    finally:
        if fd >= 0:
            os.close(fd)
    # Not in WAL mode, or the -shm not ours to lock: ask SQLite for an exclusive lock.
    conn = sqlite3.connect(database, timeout=0)
    try:
        conn.execute("BEGIN EXCLUSIVE")
        conn.rollback()
    except sqlite3.OperationalError:
        return True
    finally:
        conn.close()
    return False


def _read_manifest(archive: tarfile.TarFile, name: Path) -> dict[str, Any]:
    member = archive.extractfile(MANIFEST) if MANIFEST in archive.getnames() else None
    if member is None:
        raise FlokiError(f"{name} is not a Floki backup (no {MANIFEST} in it)")
    try:
        manifest = json.loads(member.read())
        files = manifest["files"]
        fmt = manifest["format"]
    except (ValueError, KeyError, TypeError):
        raise FlokiError(f"{name}: its {MANIFEST} cannot be read") from None
    if fmt != FORMAT:
        raise FlokiError(f"{name}: backup format {fmt} is not one this version reads ({FORMAT})")
    for entry in files:
        path = PurePosixPath(str(entry.get("path", "")))
        if path.is_absolute() or ".." in path.parts or not path.parts:
            raise FlokiError(f"{name}: the manifest names a file outside the data directory")
    return dict(manifest)


def _unpack(archive_path: Path, staging: Path) -> dict[str, Any]:
    """Every file of the manifest into ``staging``, each checked against its checksum."""
    try:
        with tarfile.open(archive_path, "r:gz") as archive:
            manifest = _read_manifest(archive, archive_path)
            members = {m.name: m for m in archive.getmembers()}
            for entry in manifest["files"]:
                member = members.get(entry["path"])
                if member is None or not member.isfile():
                    raise FlokiError(f"{archive_path}: {entry['path']} is missing from it")
                source = archive.extractfile(member)
                assert source is not None
                target = staging / entry["path"]
                target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
                fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, "wb") as f:
                    shutil.copyfileobj(source, f)
                os.chmod(target, member.mode & 0o777)
                if sha256_of(target) != entry["sha256"] or target.stat().st_size != entry["size"]:
                    raise FlokiError(
                        f"{archive_path}: {entry['path']} does not match its checksum in the "
                        "manifest (the archive was changed or damaged)"
                    )
    except (tarfile.TarError, EOFError, zlib.error, gzip.BadGzipFile) as error:
        raise FlokiError(f"{archive_path} is not a readable backup archive ({error})") from None
    return manifest


def _check_database(staging: Path, manifest: dict[str, Any]) -> None:
    if manifest.get("database") == PG_DUMP_FILE:
        raise FlokiError(
            "this backup holds a PostgreSQL dump: restore it with pg_restore into the server "
            "(docs/backup.md), then restore the rest of the data directory"
        )
    database = staging / DB_FILE
    if not database.is_file():
        raise FlokiError(f"the backup holds no {DB_FILE}")
    for entry in manifest["files"]:
        path = staging / entry["path"]
        if is_sqlite(path) and (damage := sqlite_damage(path)) is not None:
            raise FlokiError(
                f"{entry['path']} in the backup is damaged (integrity_check: {damage})"
            )
    level = migration_level(database)
    if level is None:
        raise FlokiError(f"{DB_FILE} in the backup holds no Floki register (no schema level)")
    if level not in known_revisions():
        raise FlokiError(
            f"the backup's database is at migration {level}, newer than this version of "
            f"floki-core knows (its newest is {migration_scripts().get_current_head()}); "
            "install the version that took it"
        )


def _restore_owner(staging: Path, data_dir: Path) -> None:
    """Restored by root, the files go to the data directory's owner, who serves them."""
    if os.geteuid() != 0 or not data_dir.exists():
        return
    info = data_dir.stat()
    for root, dirs, files in os.walk(staging):
        for name in [*dirs, *files]:
            os.chown(Path(root) / name, info.st_uid, info.st_gid)


def restore(archive_path: Path, data_dir: Path, now: dt.datetime | None = None) -> list[str]:
    """Replace ``data_dir``'s files with the backup's; returns the restored paths."""
    now = now or dt.datetime.now(dt.UTC)
    data_dir = data_dir.absolute()
    database = data_dir / DB_FILE
    if database.exists() and in_use(database):
        raise FlokiError(
            f"the appliance at {data_dir} is running (its database is open in another "
            "process); stop it first (systemctl stop floki)"
        )
    if not archive_path.is_file():
        raise FlokiError(f"{archive_path}: no such backup file")
    stamp = f"{now:%Y%m%dT%H%M%SZ}"
    staging = data_dir.parent / f".{data_dir.name}.restore-{stamp}"
    aside = data_dir.parent / f"{data_dir.name}.before-restore-{stamp}"
    try:
        data_dir.parent.mkdir(parents=True, exist_ok=True)
        staging.mkdir(mode=0o700)
    except FileExistsError:
        raise FlokiError(
            f"another restore of {data_dir} is under way ({staging} exists); wait for it "
            "to finish, or remove that folder if it was left by one that was killed"
        ) from None
    except OSError as error:
        raise FlokiError(
            f"cannot unpack beside {data_dir} ({error.strerror or error}): restore "
            f"needs to write in {data_dir.parent} (run it as root)"
        ) from None
    try:
        try:
            manifest = _unpack(archive_path, staging)
        except OSError as error:  # e.g. a full disk: the data directory not yet touched
            raise FlokiError(
                f"cannot unpack {archive_path} beside {data_dir} ({error.strerror or error}); "
                "nothing was changed"
            ) from None
        _check_database(staging, manifest)
        _restore_owner(staging, data_dir)
        _swap(staging, data_dir, aside, keep=archive_path.absolute())
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    restored = [entry["path"] for entry in manifest["files"]]
    named = config_path(data_dir)
    if named != data_dir / CONFIG_FILE:
        (data_dir / INITIALISED_MARK).touch()
        if (data_dir / CONFIG_FILE).exists():
            _config_back(data_dir / CONFIG_FILE, named, stamp)
            restored = [named.as_posix() if p == CONFIG_FILE else p for p in restored]
    return restored


def _config_back(restored: Path, named: Path, stamp: str) -> None:
    """The backup's configuration to where it is read from; a different one found there
    is kept beside it (``<name>.before-restore-<stamp>``), with its owner and mode."""
    if named.exists():
        if named.read_bytes() == restored.read_bytes():
            restored.unlink()
            return
        info = named.stat()
        shutil.copy2(named, named.with_name(f"{named.name}.before-restore-{stamp}"))
        shutil.copyfile(restored, named)  # in place: its owner and mode stay
        os.chmod(named, info.st_mode & 0o7777)
        restored.unlink()
    else:
        named.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(restored, named)


def _swap(staging: Path, data_dir: Path, aside: Path, keep: Path) -> None:
    """Move the data directory's entries aside and the staged ones in; on any failure,
    the moved-in ones out and the previous ones back."""
    data_dir.mkdir(mode=0o700, exist_ok=True)
    aside.mkdir(mode=0o700)
    moved_aside: list[str] = []
    moved_in: list[str] = []
    try:
        for entry in sorted(os.listdir(data_dir)):
            if keep.is_relative_to(data_dir / entry):
                continue  # the archive being restored (a backups folder inside)
            os.rename(data_dir / entry, aside / entry)
            moved_aside.append(entry)
        for entry in sorted(os.listdir(staging)):
            if (data_dir / entry).exists():
                raise FlokiError(f"{data_dir / entry} is in the way of the restored one")
            os.rename(staging / entry, data_dir / entry)
            moved_in.append(entry)
    except BaseException as error:
        for entry in moved_in:
            os.rename(data_dir / entry, staging / entry)
        for entry in moved_aside:
            os.rename(aside / entry, data_dir / entry)
        aside.rmdir()
        if isinstance(error, OSError):
            raise FlokiError(
                f"restore stopped while moving files ({error.strerror or error}); "
                f"the previous files of {data_dir} are back in place"
            ) from None
        raise
    shutil.rmtree(aside)
