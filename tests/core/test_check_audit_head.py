"""``floki-core check`` and where the audit trail ends.

``check`` prints the trail's head (its number and hash, and how many entries there are)
so that it can be kept off the appliance; ``check --audit-head SEQ:HASH`` later says
whether that head is still in the trail, so entries cut from its end, or a trail
rewritten, are found even when the database was made to look whole. In an initialised
data directory an empty trail is a problem by itself: ``init`` writes the first entries.

The tampering is done with plain SQL on a copy of a data directory made by ``init``.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
import sqlite3
from pathlib import Path

import pytest

from floki_core.cli import main
from floki_core.storage.audit import write_audit
from floki_core.storage.database import Database, default_url

ADMIN_PASSWORD = "correct-horse-battery-staple"
AT = dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC)
HEAD_LINE = re.compile(r"^audit head: (\d+):([0-9a-f]{64}) \((\d+) entr(?:y|ies)\b", re.M)


@pytest.fixture(scope="module")
def initialised(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data_dir = tmp_path_factory.mktemp("audit-head") / "var"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("FLOKI_ADMIN_PASSWORD", ADMIN_PASSWORD)
        assert main(["--data-dir", str(data_dir), "init"]) == 0
    return data_dir


@pytest.fixture
def data_dir(initialised: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "var"
    shutil.copytree(initialised, copy)
    return copy


def check(capsys: pytest.CaptureFixture[str], data_dir: Path, *extra: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(["--data-dir", str(data_dir), "check", *extra])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


def short(head: str) -> str:
    """How messages name a head: its number and the start of its hash."""
    seq, entry_hash = head.split(":")
    return f"{seq}:{entry_hash[:12]}..."


def printed_head(out: str) -> tuple[str, int]:
    """The head as printed ("SEQ:HASH") and the number of entries."""
    found = HEAD_LINE.search(out)
    assert found is not None, out
    return f"{found.group(1)}:{found.group(2)}", int(found.group(3))


def write_entries(data_dir: Path, count: int) -> None:
    db = Database(default_url(data_dir))
    try:
        for n in range(count):
            with db.transaction() as session:
                write_audit(
                    session,
                    at=AT + dt.timedelta(minutes=n),
                    actor="eng.patel",
                    action="update",
                    entity="assets",
                    entity_id=n + 1,
                    after={"state": "faulty"},
                )
    finally:
        db.close()


def sql(data_dir: Path, script: str) -> None:
    db = sqlite3.connect(data_dir / "floki.db")
    try:
        db.executescript(script)
        db.commit()
    finally:
        db.close()


CUT_TO_TWO = """
DELETE FROM audit_entries WHERE seq > 2;
UPDATE audit_chain SET seq = 2,
    entry_hash = (SELECT entry_hash FROM audit_entries WHERE seq = 2) WHERE id = 1;
"""


def test_check_prints_the_head_with_its_number_hash_and_entries(
    capsys: pytest.CaptureFixture[str], data_dir: Path
) -> None:
    write_entries(data_dir, 3)

    code, out, err = check(capsys, data_dir)

    assert (code, err) == (0, "")
    head, entries = printed_head(out)
    with sqlite3.connect(data_dir / "floki.db") as db:
        seq, entry_hash = db.execute("SELECT seq, entry_hash FROM audit_chain").fetchone()
        count = db.execute("SELECT count(*) FROM audit_entries").fetchone()[0]
    assert (head, entries) == (f"{seq}:{entry_hash}", count)
    assert count >= 4  # init's own entries and the three written here


def test_a_recorded_head_still_in_the_trail_passes(
    capsys: pytest.CaptureFixture[str], data_dir: Path
) -> None:
    recorded, _ = printed_head(check(capsys, data_dir)[1])
    write_entries(data_dir, 2)

    code, out, err = check(capsys, data_dir, "--audit-head", recorded)

    assert (code, err) == (0, "")
    assert f"audit head {short(recorded)}: " in out and "still in the trail" in out
    assert "2 entries written since" in out


def test_entries_cut_from_the_end_are_found_against_the_recorded_head(
    capsys: pytest.CaptureFixture[str], data_dir: Path
) -> None:
    write_entries(data_dir, 4)
    recorded, entries = printed_head(check(capsys, data_dir)[1])
    assert entries > 2
    sql(data_dir, CUT_TO_TWO)

    # Without the recorded head the shorter trail looks whole: the documented limit.
    assert check(capsys, data_dir)[0] == 0
    code, _, err = check(capsys, data_dir, "--audit-head", recorded)

    assert code == 1
    [line] = err.splitlines()
    assert line.startswith("floki-core: problem: ")
    assert f"head recorded as {short(recorded)}" in line
    assert "ends at number 2" in line and "removed" in line


def test_a_trail_wiped_with_its_head_row_is_a_problem(
    capsys: pytest.CaptureFixture[str], data_dir: Path
) -> None:
    sql(data_dir, "DELETE FROM audit_entries; DELETE FROM audit_chain;")

    code, out, err = check(capsys, data_dir)

    assert code == 1
    [line] = err.splitlines()
    assert line.startswith("floki-core: problem: the audit trail is empty")
    assert HEAD_LINE.search(out) is None


def test_a_badly_written_audit_head_is_one_line(
    capsys: pytest.CaptureFixture[str], data_dir: Path
) -> None:
    code, _, err = check(capsys, data_dir, "--audit-head", "12:not-a-hash")

    assert code == 1
    [line] = err.splitlines()
    assert line.startswith("floki-core: error: --audit-head: ")
    assert "SEQ:HASH" in line and "'12:not-a-hash'" in line
