"""``--scenario rfid`` at a tiny size: emulated LLRP readers through the RFID plugin's
sources print the figures and lose nothing. The figures themselves are not judged (this
machine may be busy with other tests); docs/performance.md records them."""

from __future__ import annotations

import json
import time

import pytest

from bench.cli import main

pytestmark = pytest.mark.product

NUMBERS = (
    "rfid_reports_per_s",
    "baseline_reports_per_s",
    "ratio",
    "nominal_reports_per_s",
    "latency_p99_ms",
    "lost",
    "sent",
    "aggregated",
    "observations",
    "max_reports",
    "cpu_event_loop_us_per_report",
    "cpu_us_per_nominal_report",
)


def test_rfid_scenario_prints_the_figures_and_loses_nothing(
    capsys: pytest.CaptureFixture[str],
) -> None:
    started = time.monotonic()
    size = ["--readers", "2", "--tags", "40", "--movers", "4", "--read-rate", "200"]
    # The baseline's figure is not judged here: a fifth of a second is enough to print one.
    figures = ["--seconds", "0.5", "--baseline-seconds", "0.2", "--reports-per-frame", "20"]
    code = main(["--scenario", "rfid", *size, *figures, "--rate", "max", "--json"])
    took = time.monotonic() - started
    out, err = capsys.readouterr()
    assert code == 0, err
    lines = out.strip().splitlines()
    assert len(lines) == 1, out
    result = json.loads(lines[0])
    missing = [k for k in ("scenario", "latency_event", "targets_met", *NUMBERS) if k not in result]
    assert not missing, missing
    assert result["scenario"] == "rfid"
    for key in NUMBERS:
        assert isinstance(result[key], int | float) and not isinstance(result[key], bool), key
    assert result["rfid_reports_per_s"] > 0 and result["baseline_reports_per_s"] > 0
    assert result["latency_event"] == "rfid.portal"
    assert result["latency_samples"] == 4, result
    assert result["antennas"] == 8
    assert result["lost"] == 0, result
    # Every report sent reached the core, folded into fewer observations than reports.
    assert result["aggregated"] == result["sent"] > result["max_reports"] > 0
    assert 0 < result["observations"] < result["sent"]
    assert set(result["targets_met"]) == {"rfid_reports_per_s", "ratio", "latency_p99_ms", "lost"}
    assert took < 60


def test_a_nominal_rate_for_the_rfid_scenario_is_one_line_and_exit_1(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["--scenario", "rfid", "--rate", "500", "--json"]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err == (
        "floki-core bench: error: --rate is max for the rfid scenario "
        "(the nominal rate is --read-rate)\n"
    )


def test_fewer_tags_than_readers_is_one_line_and_exit_1(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["--scenario", "rfid", "--readers", "5", "--tags", "3", "--json"]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err == (
        "floki-core bench: error: --tags must be at least --readers "
        "(each reader has tags in view)\n"
    )
