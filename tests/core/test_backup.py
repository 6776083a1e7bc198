"""``floki-core backup`` and ``restore``: a round trip through the command line, each
refusal in one line with the data directory left as it was, rotation, permissions."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import os
import shutil
import sqlite3
import stat
import subprocess
import sys
import tarfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from floki_core.backup_restore import restore
from floki_core.cli import main
from floki_core.errors import FlokiError
from floki_core.storage.database import Database
from tests.fixtures.archives import stored

PASSWORD = "backup-admin-Passw0rd"


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data_dir = tmp_path_factory.mktemp("made") / "var"
    os.environ["FLOKI_ADMIN_PASSWORD"] = PASSWORD
    try:
        assert main(["--data-dir", str(data_dir), "init", "--site", "Ward 7"]) == 0
    finally:
        del os.environ["FLOKI_ADMIN_PASSWORD"]
    (data_dir / "plans").mkdir()
    (data_dir / "plans" / "ground.png").write_bytes(b"\x89PNG plan")
    plugin = data_dir / "plugins" / "rfid"
    plugin.mkdir(parents=True)
    with sqlite3.connect(plugin / "stocktakes.sqlite") as conn:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("CREATE TABLE stocktakes (id INTEGER PRIMARY KEY, name TEXT)")
        conn.execute("INSERT INTO stocktakes (name) VALUES ('ward 7')")
    conn.close()
    return data_dir


@pytest.fixture
def data_dir(made: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(made, tmp_path / "var"))


def run(capsys: pytest.CaptureFixture[str], *args: str | Path) -> tuple[int, str, str]:
    code = main([str(a) for a in args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def snapshot(directory: Path) -> dict[str, str]:
    return {
        str(p.relative_to(directory)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(directory.rglob("*"))
        if p.is_file()
    }


def users(data_dir: Path) -> list[str]:
    with sqlite3.connect(data_dir / "floki.db") as conn:
        return [r[0] for r in conn.execute("SELECT username FROM users ORDER BY username")]


def backup(capsys: pytest.CaptureFixture[str], data_dir: Path, out: Path) -> Path:
    code, _printed, err = run(capsys, "--data-dir", data_dir, "backup", "--out", out)
    assert code == 0, err
    return out


def test_round_trip_restores_the_register_config_certificate_plans_and_plugin_files(
    capsys: pytest.CaptureFixture[str], data_dir: Path, tmp_path: Path
) -> None:
    code, printed, err = run(capsys, "--data-dir", data_dir, "backup", "--out", tmp_path / "b.tgz")
    assert code == 0, err
    digest = hashlib.sha256((tmp_path / "b.tgz").read_bytes()).hexdigest()
    assert str(tmp_path / "b.tgz") in printed and digest in printed
    with tarfile.open(tmp_path / "b.tgz") as archive:
        manifest = json.load(archive.extractfile("manifest.json"))  # type: ignore[arg-type]
    names = {f["path"] for f in manifest["files"]}
    assert {"floki.db", "floki.toml", "tls/cert.pem", "tls/key.pem", "plans/ground.png"} <= names
    assert "plugins/rfid/stocktakes.sqlite" in names
    assert not any(n.endswith(("-wal", "-shm")) for n in names)
    assert manifest["alembic_head"] and manifest["format"] == 1

    expected_config = (data_dir / "floki.toml").read_text()
    target = tmp_path / "elsewhere"
    code, printed, err = run(capsys, "--data-dir", target, "restore", tmp_path / "b.tgz")
    assert code == 0, err
    assert "Restored" in printed
    assert (target / "floki.toml").read_text() == expected_config
    assert (target / "tls" / "key.pem").read_bytes() == (data_dir / "tls" / "key.pem").read_bytes()
    assert (target / "plans" / "ground.png").read_bytes() == b"\x89PNG plan"
    assert users(target) == ["admin"]
    with sqlite3.connect(target / "plugins" / "rfid" / "stocktakes.sqlite") as conn:
        assert conn.execute("SELECT name FROM stocktakes").fetchall() == [("ward 7",)]
    assert not list(tmp_path.glob("elsewhere.before-restore-*"))
    code, printed, err = run(capsys, "--data-dir", target, "check")
    assert code == 0, err


def test_restore_replaces_an_existing_data_directory(
    capsys: pytest.CaptureFixture[str], data_dir: Path, tmp_path: Path
) -> None:
    archive = backup(capsys, data_dir, tmp_path / "b.tgz")
    os.environ["FLOKI_ADMIN_PASSWORD"] = PASSWORD
    try:
        code, _, err = run(capsys, "--data-dir", data_dir, "user", "add", "late", "--role", "staff")
    finally:
        del os.environ["FLOKI_ADMIN_PASSWORD"]
    assert code == 0, err
    assert users(data_dir) == ["admin", "late"]
    code, _, err = run(capsys, "--data-dir", data_dir, "restore", archive)
    assert code == 0, err
    assert users(data_dir) == ["admin"]


def test_the_backup_is_audited(
    capsys: pytest.CaptureFixture[str], data_dir: Path, tmp_path: Path
) -> None:
    backup(capsys, data_dir, tmp_path / "b.tgz")
    with sqlite3.connect(data_dir / "floki.db") as conn:
        found = conn.execute("SELECT action, detail FROM audit_entries WHERE action = 'backup'")
        rows = found.fetchall()
    assert len(rows) == 1 and "backup taken" in rows[0][1]


def test_archive_is_readable_by_its_owner_only(
    capsys: pytest.CaptureFixture[str], data_dir: Path, tmp_path: Path
) -> None:
    archive = backup(capsys, data_dir, tmp_path / "b.tgz")
    assert stat.S_IMODE(archive.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_keep_removes_the_oldest_beyond_n(
    capsys: pytest.CaptureFixture[str], data_dir: Path, tmp_path: Path
) -> None:
    backups = tmp_path / "backups"
    backups.mkdir()
    for stamp in ("20260101T000000Z", "20260102T000000Z", "20260103T000000Z"):
        (backups / f"floki-backup-{stamp}.tar.gz").write_bytes(b"old")
    (backups / "notes.txt").write_text("not a backup")
    code, printed, err = run(
        capsys, "--data-dir", data_dir, "backup", "--dir", backups, "--keep", "2"
    )
    assert code == 0, err
    left = sorted(p.name for p in backups.iterdir())
    assert left[0] == "floki-backup-20260103T000000Z.tar.gz" and left[2] == "notes.txt"
    assert len(left) == 3 and left[1].startswith("floki-backup-2") and left[1] in printed
    assert "removed floki-backup-20260101T000000Z.tar.gz" in printed


def test_keep_must_be_at_least_one(
    capsys: pytest.CaptureFixture[str], data_dir: Path, tmp_path: Path
) -> None:
    code, _, err = run(capsys, "--data-dir", data_dir, "backup", "--dir", tmp_path, "--keep", "0")
    assert code != 0 and "--keep" in err
    assert list(tmp_path.glob("floki-backup-*")) == []


# --- refusals: one line, non-zero, the data directory as it was ---------------------


def refused(
    capsys: pytest.CaptureFixture[str], data_dir: Path, archive: Path, expected: str
) -> None:
    before = snapshot(data_dir)
    code, _out, err = run(capsys, "--data-dir", data_dir, "restore", archive)
    assert code == 1
    assert err.count("\n") == 1 and expected in err, err
    assert "Traceback" not in err
    assert snapshot(data_dir) == before
    leftovers = [p.name for p in data_dir.parent.iterdir() if p.name not in {data_dir.name}]
    assert not [n for n in leftovers if "restore" in n], leftovers


def rewrite(archive: Path, change: dict[str, bytes], manifest_edit: object = None) -> Path:
    """A copy of ``archive`` with members replaced (the manifest left as it was unless
    ``manifest_edit`` changes it)."""
    target = archive.with_name("changed.tgz")
    with tarfile.open(archive) as src, tarfile.open(target, "w:gz") as dst:
        for member in src.getmembers():
            data = src.extractfile(member).read()  # type: ignore[union-attr]
            if member.name == "manifest.json" and callable(manifest_edit):
                manifest = json.loads(data)
                manifest_edit(manifest)
                data = json.dumps(manifest).encode()
            data = change.get(member.name, data)
            member.size = len(data)
            dst.addfile(member, io.BytesIO(data))
    return target


def reseal(manifest: dict[str, object], name: str, data: bytes) -> None:
    for entry in manifest["files"]:  # type: ignore[attr-defined]
        if entry["path"] == name:
            entry["size"], entry["sha256"] = len(data), hashlib.sha256(data).hexdigest()


def test_refuses_an_archive_that_does_not_read(
    capsys: pytest.CaptureFixture[str], data_dir: Path, tmp_path: Path
) -> None:
    archive = backup(capsys, data_dir, tmp_path / "b.tgz")
    cut = tmp_path / "cut.tgz"
    cut.write_bytes(archive.read_bytes()[: archive.stat().st_size // 2])
    refused(capsys, data_dir, cut, "is not a readable backup archive")


def test_refuses_a_checksum_mismatch(
    capsys: pytest.CaptureFixture[str], data_dir: Path, tmp_path: Path
) -> None:
    archive = backup(capsys, data_dir, tmp_path / "b.tgz")
    changed = rewrite(archive, {"floki.toml": b"[site]\nname = 'tampered'\n"})
    refused(capsys, data_dir, changed, "floki.toml does not match its checksum")


def test_refuses_a_damaged_database(
    capsys: pytest.CaptureFixture[str], data_dir: Path, tmp_path: Path
) -> None:
    archive = backup(capsys, data_dir, tmp_path / "b.tgz")
    db = bytearray(stored(archive, "floki.db"))
    page = 4096
    db[page * 2 : page * 6] = b"\x07" * (page * 4)  # pages of tables overwritten
    damaged = bytes(db)
    changed = rewrite(archive, {"floki.db": damaged}, lambda m: reseal(m, "floki.db", damaged))
    refused(capsys, data_dir, changed, "floki.db in the backup is damaged")


def test_refuses_a_database_newer_than_the_code(
    capsys: pytest.CaptureFixture[str], data_dir: Path, tmp_path: Path
) -> None:
    archive = backup(capsys, data_dir, tmp_path / "b.tgz")
    (tmp_path / "x.db").write_bytes(stored(archive, "floki.db"))
    with sqlite3.connect(tmp_path / "x.db") as conn:
        current = conn.execute("SELECT version_num FROM alembic_version").fetchone()[0]
        conn.execute("UPDATE alembic_version SET version_num = 'f00dfeed9999'")
    conn.close()
    newer = (tmp_path / "x.db").read_bytes()
    changed = rewrite(archive, {"floki.db": newer}, lambda m: reseal(m, "floki.db", newer))
    refused(capsys, data_dir, changed, "f00dfeed9999")
    _code, _, err = run(capsys, "--data-dir", data_dir, "restore", changed)
    assert "newer than this version" in err and current in err


@pytest.fixture
def appliance_holding(data_dir: Path) -> Iterator[Path]:
    """Another process with the database open, as a running appliance has."""
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sqlite3, sys, time; c = sqlite3.connect(sys.argv[1]); "
            "c.execute('SELECT 1 FROM alembic_version').fetchall(); print('open', flush=True); "
            "time.sleep(60)",
            str(data_dir / "floki.db"),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None and holder.stdout.readline() == "open\n"
    try:
        yield data_dir
    finally:
        holder.kill()
        holder.wait()


def test_refuses_a_running_appliance(
    capsys: pytest.CaptureFixture[str], appliance_holding: Path, tmp_path: Path
) -> None:
    archive = backup(capsys, appliance_holding, tmp_path / "b.tgz")
    time.sleep(0)  # the backup itself runs beside the open database
    refused(capsys, appliance_holding, archive, "is running")


def test_a_failure_while_moving_files_puts_the_previous_ones_back(
    capsys: pytest.CaptureFixture[str],
    data_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    archive = backup(capsys, data_dir, tmp_path / "b.tgz")
    real_rename = os.rename
    moves: list[str] = []

    def rename_failing_midway(src: str | Path, dst: str | Path) -> None:
        moves.append(str(src))
        if ".restore-" in str(src) and Path(src).name == "plugins":
            raise OSError(28, "No space left on device")
        real_rename(src, dst)

    monkeypatch.setattr(os, "rename", rename_failing_midway)
    refused(capsys, data_dir, archive, "No space left on device")
    assert any(".restore-" in m for m in moves)


def test_refuses_a_file_that_is_not_a_backup(
    capsys: pytest.CaptureFixture[str], data_dir: Path, tmp_path: Path
) -> None:
    other = tmp_path / "other.tar.gz"
    with tarfile.open(other, "w:gz") as archive:
        archive.add(data_dir / "floki.toml", arcname="floki.toml")
    refused(capsys, data_dir, other, "is not a Floki backup (no manifest.json in it)")
    refused(capsys, data_dir, tmp_path / "missing.tgz", "no such backup file")


def test_commits_still_in_the_write_ahead_log_are_in_the_backup(
    capsys: pytest.CaptureFixture[str], data_dir: Path, tmp_path: Path
) -> None:
    """A running appliance's latest commits may be in ``floki.db-wal`` only (not yet
    checkpointed into the file); the backup holds them, and a copy of the files would not."""
    script = (
        "import sqlite3, sys, time\n"
        "for path, sql in ((sys.argv[1], 'CREATE TABLE probe (x)'),"
        " (sys.argv[2], 'INSERT INTO stocktakes (name) VALUES (\"ward 8\")')):\n"
        "    c = sqlite3.connect(path, isolation_level=None)\n"
        "    c.execute('PRAGMA wal_autocheckpoint=0')\n"
        "    c.execute(sql)\n"
        "    globals().setdefault('held', []).append(c)\n"
        "print('committed', flush=True)\n"
        "time.sleep(60)\n"
    )
    plugin_db = data_dir / "plugins" / "rfid" / "stocktakes.sqlite"
    holder = subprocess.Popen(
        [sys.executable, "-c", script, str(data_dir / "floki.db"), str(plugin_db)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "committed\n"
        assert (data_dir / "floki.db-wal").stat().st_size > 0
        archive = backup(capsys, data_dir, tmp_path / "b.tgz")
    finally:
        holder.kill()
        holder.wait()
    target = tmp_path / "elsewhere"
    code, _, err = run(capsys, "--data-dir", target, "restore", archive)
    assert code == 0, err
    with sqlite3.connect(target / "floki.db") as conn:
        assert conn.execute("SELECT count(*) FROM probe").fetchone() == (0,)
    with sqlite3.connect(target / "plugins" / "rfid" / "stocktakes.sqlite") as conn:
        names = [r[0] for r in conn.execute("SELECT name FROM stocktakes ORDER BY id")]
    assert names == ["ward 7", "ward 8"]


def test_a_backup_written_into_the_data_directory_leaves_itself_out(
    capsys: pytest.CaptureFixture[str], data_dir: Path, tmp_path: Path
) -> None:
    archive = backup(capsys, data_dir, data_dir / "b.tgz")
    with tarfile.open(archive) as opened:
        names = opened.getnames()
    assert "b.tgz" not in names and not [n for n in names if "floki-backup" in n]
    assert "floki.db" in names


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ((), "give either --out FILE or --dir BACKUPS"),
        (("--out", "{tmp}/missing/b.tgz"), "--out: folder {tmp}/missing does not exist"),
        (("--dir", "{tmp}/missing"), "--dir: folder {tmp}/missing does not exist"),
    ],
)
def test_backup_refuses_in_one_line(
    capsys: pytest.CaptureFixture[str],
    data_dir: Path,
    tmp_path: Path,
    args: tuple[str, ...],
    expected: str,
) -> None:
    words = [a.format(tmp=tmp_path) for a in args]
    code, _, err = run(capsys, "--data-dir", data_dir, "backup", *words)
    assert code == 1 and err.count("\n") == 1
    assert expected.format(tmp=tmp_path) in err


def test_backup_of_an_uninitialised_directory_is_refused(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, _, err = run(capsys, "--data-dir", tmp_path / "none", "backup", "--out", tmp_path / "b")
    assert code == 1 and "is not initialised" in err
    assert not (tmp_path / "b").exists()


def test_postgresql_without_pg_dump_is_refused(
    capsys: pytest.CaptureFixture[str],
    data_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    config = data_dir / "floki.toml"
    text = config.read_text().replace(
        "\n[database]\n", '\n[database]\nurl = "postgresql://floki@127.0.0.1:1/floki"\n'
    )
    config.write_text(text)
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    code, _, err = run(capsys, "--data-dir", data_dir, "backup", "--out", tmp_path / "b.tgz")
    assert code == 1 and err.count("\n") == 1
    assert "the database is PostgreSQL and pg_dump is not on PATH" in err
    assert list(tmp_path.iterdir()) == [data_dir]


def test_postgresql_is_dumped_with_pg_dump_and_its_restore_is_left_to_pg_restore(
    capsys: pytest.CaptureFixture[str],
    data_dir: Path,
    tmp_path: Path,
    postgres_migrated_url: str,
) -> None:
    config = data_dir / "floki.toml"
    text = config.read_text().replace(
        "\n[database]\n", f'\n[database]\nurl = "{postgres_migrated_url}"\n'
    )
    config.write_text(text)
    archive = backup(capsys, data_dir, tmp_path / "b.tgz")
    with tarfile.open(archive) as opened:
        manifest = json.load(opened.extractfile("manifest.json"))  # type: ignore[arg-type]
        dump = opened.extractfile("database.pgdump").read()  # type: ignore[union-attr]
    assert manifest["database"] == "database.pgdump" and dump.startswith(b"PGDMP")
    assert manifest["alembic_head"] == Database(postgres_migrated_url).head_revision()
    refused(capsys, data_dir, archive, "restore it with pg_restore")


def test_restore_from_the_backups_folder_inside_the_data_directory_keeps_that_folder(
    capsys: pytest.CaptureFixture[str], data_dir: Path
) -> None:
    backups = data_dir / "backups"
    backups.mkdir()
    code, _, err = run(capsys, "--data-dir", data_dir, "backup", "--dir", backups)
    assert code == 0, err
    (archive,) = backups.iterdir()
    with tarfile.open(archive) as opened:
        assert not [n for n in opened.getnames() if n.startswith("backups")]
    (data_dir / "plans" / "ground.png").write_bytes(b"changed since")
    code, _, err = run(capsys, "--data-dir", data_dir, "restore", archive)
    assert code == 0, err
    assert list(backups.iterdir()) == [archive]
    assert (data_dir / "plans" / "ground.png").read_bytes() == b"\x89PNG plan"


def test_backup_out_that_is_a_folder_is_refused(
    capsys: pytest.CaptureFixture[str], data_dir: Path, tmp_path: Path
) -> None:
    (tmp_path / "folder").mkdir()
    code, _, err = run(capsys, "--data-dir", data_dir, "backup", "--out", tmp_path / "folder")
    assert code == 1 and err.count("\n") == 1, err
    assert f"--out: {tmp_path / 'folder'} is a folder; name the archive file" in err
    assert list((tmp_path / "folder").iterdir()) == []


def test_files_are_restored_with_their_modes(
    capsys: pytest.CaptureFixture[str], data_dir: Path, tmp_path: Path
) -> None:
    os.chmod(data_dir / "floki.db", 0o600)
    archive = backup(capsys, data_dir, tmp_path / "b.tgz")
    code, _, err = run(capsys, "--data-dir", tmp_path / "elsewhere", "restore", archive)
    assert code == 0, err
    for name in ("floki.db", "tls/key.pem"):
        assert stat.S_IMODE((tmp_path / "elsewhere" / name).stat().st_mode) == 0o600, name


def test_a_damaged_database_is_not_backed_up_as_if_it_were_good(
    capsys: pytest.CaptureFixture[str], data_dir: Path, tmp_path: Path
) -> None:
    db = bytearray((data_dir / "floki.db").read_bytes())
    db[4096 * 2 : 4096 * 6] = b"\x07" * (4096 * 4)
    (data_dir / "floki.db").write_bytes(bytes(db))
    code, _, err = run(capsys, "--data-dir", data_dir, "backup", "--out", tmp_path / "b.tgz")
    assert code == 1 and err.count("\n") == 1, err
    assert "floki.db is damaged (integrity_check:" in err and "not written" in err
    assert list(tmp_path.iterdir()) == [data_dir]


def test_a_second_restore_under_way_is_named_as_such(
    capsys: pytest.CaptureFixture[str], data_dir: Path, tmp_path: Path
) -> None:
    archive = backup(capsys, data_dir, tmp_path / "b.tgz")
    now = dt.datetime(2026, 12, 7, 22, 0, tzinfo=dt.UTC)
    # Another restore of the same directory started in the same second is unpacking here.
    (data_dir.parent / f".{data_dir.name}.restore-20261207T220000Z").mkdir()
    before = snapshot(data_dir)
    with pytest.raises(FlokiError, match=r"another restore of .* is under way") as refusal:
        restore(archive, data_dir, now=now)
    assert "run it as root" not in str(refusal.value)
    assert snapshot(data_dir) == before
