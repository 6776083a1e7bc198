"""``--scenario community`` at a tiny size: GPS trackers through the plugin's listeners
print the figures and lose nothing. The figures themselves are not judged (this machine
may be busy with other tests); docs/performance.md records them."""

from __future__ import annotations

import json
import time

import pytest

from bench.cli import main

pytestmark = pytest.mark.product

NUMBERS = (
    "teltonika_fixes_per_s",
    "baseline_fixes_per_s",
    "ratio",
    "nominal_fixes_per_s",
    "backlog_fixes_per_s",
    "lost",
    "acked",
    "handed_on",
    "idle_connections",
    "kb_per_connection",
    "records_per_packet",
    "cpu_event_loop_us_per_fix",
)
MAYBE_NONE = ("latency_p50_ms", "latency_p99_ms")  # None when no first fix was timed


def test_community_scenario_prints_the_figures_and_loses_nothing(
    capsys: pytest.CaptureFixture[str],
) -> None:
    started = time.monotonic()
    argv = ["--scenario", "community", "--trackers", "20", "--posters", "10", "--idle", "30"]
    # The baseline's figure is not judged here: half a second is enough to print one.
    figures = ["--backlog", "2", "--seconds", "3", "--baseline-seconds", "0.5"]
    code = main([*argv, *figures, "--rate", "max", "--json"])
    took = time.monotonic() - started
    out, err = capsys.readouterr()
    assert code == 0, err
    lines = out.strip().splitlines()
    assert len(lines) == 1, out
    result = json.loads(lines[0])
    missing = [k for k in ("scenario", *NUMBERS, *MAYBE_NONE) if k not in result]
    assert not missing, missing
    assert result["scenario"] == "community"
    for key in NUMBERS:
        assert isinstance(result[key], int | float) and not isinstance(result[key], bool), key
    for key in MAYBE_NONE:
        assert result[key] is None or isinstance(result[key], float), (key, result[key])
    assert result["teltonika_fixes_per_s"] > 0 and result["baseline_fixes_per_s"] > 0
    assert result["backlog_fixes"] == 2 * 255
    assert result["lost"] == 0, result
    assert result["acked"] == result["handed_on"] > 0
    assert result["idle_connections"] == 30
    assert result["records_per_packet"] == 4
    assert took < 90


def test_a_negative_size_is_one_line_and_exit_1(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--scenario", "community", "--idle", "-5", "--json"]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err == "floki-core bench: error: --idle must be 0 or more\n"


@pytest.mark.parametrize("records", ["0", "256"])
def test_records_outside_an_avl_packets_range_is_one_line_and_exit_1(
    records: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--scenario", "community", "--records", records, "--json"]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err == "floki-core bench: error: --records must be 1 to 255 (an AVL packet's records)\n"
