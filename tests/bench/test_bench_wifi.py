"""``--scenario wifi`` at a tiny size: a controller's syslog through the Wi-Fi plugin's
listener prints the figures, counts every phone and loses no pump's line over TCP. The
figures themselves are not judged (this machine may be busy with other tests);
docs/performance.md records them."""

from __future__ import annotations

import json
import time

import pytest

from bench.cli import main

pytestmark = pytest.mark.product

NUMBERS = (
    "syslog_lines_per_s",
    "baseline_lines_per_s",
    "ratio",
    "nominal_lines_per_s",
    "nominal_lost",
    "udp_receive_buffer_drops",
    "lost",
    "max_lines",
    "known_sent",
    "known_observed",
    "unknown_sent",
    "unknown_counted",
    "cpu_event_loop_us_per_line",
    "latency_p50_ms",
    "latency_p99_ms",
    "latency_samples",
)


def test_wifi_scenario_prints_the_figures_counts_every_phone_and_loses_no_pump(
    capsys: pytest.CaptureFixture[str],
) -> None:
    started = time.monotonic()
    size = ["--pumps", "20", "--phones", "400", "--access-points", "6", "--streams", "2"]
    # A slow nominal rate, so a busy machine drops no datagram; the baseline is not judged.
    figures = ["--seconds", "0.5", "--rate", "2000", "--baseline-seconds", "0.2"]
    code = main(["--scenario", "wifi", *size, *figures, "--json"])
    took = time.monotonic() - started
    out, err = capsys.readouterr()
    assert code == 0, err
    lines = out.strip().splitlines()
    assert len(lines) == 1, out
    result = json.loads(lines[0])
    missing = [k for k in ("scenario", "targets_met", *NUMBERS) if k not in result]
    assert not missing, missing
    assert result["scenario"] == "wifi"
    for key in NUMBERS:
        assert isinstance(result[key], int | float) and not isinstance(result[key], bool), key
    assert result["syslog_lines_per_s"] > 0 and result["baseline_lines_per_s"] > 0
    assert result["latency_event"] == "location.changed" and result["latency_samples"] > 0
    # Every pump's line sent over TCP reached the core; every phone was counted, none kept.
    assert result["lost"] == 0, result
    assert result["known_observed"] == result["known_sent"] > 0
    assert result["unknown_counted"] == result["unknown_sent"] > 0
    assert set(result["targets_met"]) == {"syslog_lines_per_s", "ratio", "lost", "nominal_lost"}
    assert took < 60


def test_max_rate_for_the_wifi_scenario_is_one_line_and_exit_1(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["--scenario", "wifi", "--rate", "max", "--json"]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err == (
        "floki-core bench: error: --rate is the UDP phase's lines a second for the wifi scenario\n"
    )


def test_no_pumps_is_one_line_and_exit_1(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--scenario", "wifi", "--pumps", "0", "--json"]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err == "floki-core bench: error: --pumps must be at least 1\n"
