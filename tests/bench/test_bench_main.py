"""``python -m bench`` runs every scenario of ``make bench``; given arguments, just that one."""

from __future__ import annotations

import pytest

import bench.__main__ as bench_main


def test_arguments_run_the_one_scenario_they_name(monkeypatch: pytest.MonkeyPatch) -> None:
    ran: list[list[str]] = []
    monkeypatch.setattr(bench_main, "bench", lambda argv: ran.append(argv) or 3)
    monkeypatch.setattr("sys.argv", ["python -m bench", "--scenario", "rfid", "--json"])
    assert bench_main.main() == 3
    assert ran == [["--scenario", "rfid", "--json"]]


def test_make_bench_includes_the_rfid_scenario() -> None:
    assert ["--scenario", "rfid", "--json"] in bench_main.RUNS


def test_make_bench_includes_the_wifi_scenario() -> None:
    assert ["--scenario", "wifi", "--json"] in bench_main.RUNS
