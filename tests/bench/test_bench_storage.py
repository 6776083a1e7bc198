"""``make bench``'s storage figures, run tiny: each prints one JSON line of its figures.

The figures themselves are not judged here (this machine may be busy with other tests);
docs/operations.md records them.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench import durability, register_import


def test_the_durability_benchmark_prints_both_kinds_of_write_both_ways(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    argv = ["--json", "--edits", "5", "--flushes", "3", "--batch", "20", "--dir", str(tmp_path)]
    assert durability.main(argv) == 0
    figures = json.loads(capsys.readouterr().out)
    for kind in ("edit_full", "edit_normal", "flush_full", "flush_normal"):
        assert figures[kind]["median_ms"] > 0, kind


def test_the_register_import_benchmark_creates_then_updates_every_row(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert register_import.main(["--json", "--rows", "300", "--dir", str(tmp_path)]) == 0
    figures = json.loads(capsys.readouterr().out)
    assert (figures["create"]["created"], figures["update"]["updated"]) == (300, 300)
    assert figures["create"]["lock_held_s"] <= figures["create"]["total_s"]
